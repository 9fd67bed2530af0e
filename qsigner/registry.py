"""Finding and loading coin plugins, and checking each against the protocol as it loads.

Installed plugins are entry points of the group ``qsigner.coins`` (pyproject:
``[project.entry-points."qsigner.coins"] bitcoin = "coins.bitcoin:plugin"``); a
plugin can also be loaded from a path to a module file or a package directory
that defines ``plugin``. Checking at load time (as pluggy's ``_verify_hook``
does) means a broken plugin fails with a ``PluginError`` that names the plugin,
the method and what is wrong -- not later, in the middle of a withdrawal.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import PluginError
from .protocol import PROTOCOL_METHODS, CoinPlugin

__all__ = ["ENTRY_POINT_GROUP", "available_coins", "load_coin", "check_plugin"]

ENTRY_POINT_GROUP = "qsigner.coins"


def available_coins() -> list[str]:
    """Return the names of the installed coin plugins, sorted."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def load_coin(name_or_path: str) -> CoinPlugin:
    """Return the plugin named ``name_or_path`` (entry point) or found at that path.

    Raises:
        PluginError: not found, failed to import, or does not meet the protocol.
    """
    if not isinstance(name_or_path, str) or not name_or_path:
        raise PluginError("plugin: expected a coin name or a path")
    if "/" in name_or_path or name_or_path.endswith(".py") or Path(name_or_path).exists():
        obj = _load_from_path(Path(name_or_path))
        label = name_or_path
    else:
        obj = _load_entry_point(name_or_path)
        label = name_or_path
    return check_plugin(obj, label)


def _load_entry_point(name: str) -> Any:
    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not matches:
        known = ", ".join(available_coins()) or "none"
        raise PluginError(f"plugin {name!r}: no such coin installed (installed: {known})",
                          plugin=name)
    try:
        return matches[0].load()
    except Exception as exc:  # an import error of any kind is the plugin's fault
        raise PluginError(f"plugin {name!r}: import failed: {type(exc).__name__}: {exc}",
                          plugin=name) from exc


def _load_from_path(path: Path) -> Any:
    label = str(path)
    target = path / "__init__.py" if path.is_dir() else path
    if not target.is_file():
        raise PluginError(f"plugin {label!r}: no module at {target}", plugin=label)
    module_name = f"qsigner_plugin_{abs(hash(str(target.resolve())))}"
    search = [str(path)] if path.is_dir() else None
    spec = importlib.util.spec_from_file_location(module_name, target,
                                                  submodule_search_locations=search)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin {label!r}: cannot be imported", plugin=label)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise PluginError(f"plugin {label!r}: import failed: {type(exc).__name__}: {exc}",
                          plugin=label) from exc
    return _plugin_attribute(module, label)


def _plugin_attribute(module: ModuleType, label: str) -> Any:
    if not hasattr(module, "plugin"):
        raise PluginError(f"plugin {label!r}: module defines no 'plugin' object", plugin=label)
    return module.plugin


def check_plugin(obj: Any, label: str) -> CoinPlugin:
    """Return ``obj`` if it meets ``CoinPlugin``; otherwise raise a ``PluginError``.

    Raises:
        PluginError: names the plugin, the attribute or method, and what is wrong.
    """
    for attr in ("name", "networks", "address_types"):
        _check_attribute(obj, label, attr)
    for method, params in PROTOCOL_METHODS.items():
        _check_method(obj, label, method, params)
    return obj  # type: ignore[no-any-return]


def _check_attribute(obj: Any, label: str, attr: str) -> None:
    value = getattr(obj, attr, None)
    if attr == "name":
        ok = isinstance(value, str) and value.isidentifier() and value == value.lower()
        expected = "a lower-case identifier string"
    else:
        ok = (isinstance(value, tuple) and len(value) > 0
              and all(isinstance(v, str) and v for v in value))
        expected = "a non-empty tuple of strings"
    if not ok:
        raise PluginError(f"plugin {label!r}: attribute {attr!r} must be {expected}, "
                          f"got {type(value).__name__}", plugin=label, method=attr)


def _check_method(obj: Any, label: str, method: str, params: dict[str, list[str]]) -> None:
    func = getattr(obj, method, None)
    if not callable(func):
        raise PluginError(f"plugin {label!r}: method {method!r} is missing", plugin=label,
                          method=method)
    signature = inspect.signature(func)
    expected = _expected_signature(method, params)
    problem = _signature_problem(signature, params)
    if problem:
        raise PluginError(f"plugin {label!r}: method {method!r} {problem}; expected "
                          f"{expected}, got {method}{signature}", plugin=label, method=method)


def _expected_signature(method: str, params: dict[str, list[str]]) -> str:
    positional = ", ".join(params["positional"])
    keyword = ", ".join(params["keyword"])
    head = f"{positional}, *, " if positional else "*, "
    return f"{method}({head}{keyword}, **options)"


def _signature_problem(signature: inspect.Signature, params: dict[str, list[str]]) -> str | None:
    found = signature.parameters
    names = list(found)
    positional = [n for n in names if found[n].kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    if positional[:len(params["positional"])] != params["positional"]:
        return f"must take positional parameters {params['positional']}"
    for name in params["keyword"]:
        if name not in found or found[name].kind not in (
                inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            return f"lacks keyword parameter {name!r}"
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in found.values()):
        return "must accept **options"
    return None
