"""Boundaries of STYLE.md section 2, checked by an ``ast`` scan of the source files.

* ``qsigner`` never imports ``coins``: coins arrive only through the registry.
* A module of coins/bitcoin imports from qsigner only ``qsigner.protocol`` and ``qsigner.errors``.
* Only coins/bitcoin/ecc.py imports coincurve.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = sorted((ROOT / "qsigner").rglob("*.py"))
BITCOIN = sorted((ROOT / "coins" / "bitcoin").rglob("*.py"))
ALLOWED_CORE = {"qsigner.protocol", "qsigner.errors"}


def imported_modules(path: Path) -> set[str]:
    """Return every absolute module name ``path`` imports, anywhere in the file.

    ``from x import y`` yields ``x`` and ``x.y`` (y may be a submodule); relative
    imports are resolved against the file's package.
    """
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(ROOT).parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_sources_found() -> None:
    assert ROOT / "qsigner" / "registry.py" in CORE
    assert ROOT / "coins" / "bitcoin" / "ecc.py" in BITCOIN


def test_import_scanner_resolves_relative_imports() -> None:
    modules = imported_modules(ROOT / "coins" / "bitcoin" / "script.py")
    assert "coins.bitcoin.ecc" in modules and "qsigner.errors" in modules


@pytest.mark.parametrize("path", CORE, ids=rel)
def test_core_never_imports_coins(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path) if m == "coins" or m.startswith("coins."))
    assert not bad, f"{rel(path)} imports {bad}"


@pytest.mark.parametrize("path", BITCOIN, ids=rel)
def test_plugin_imports_only_protocol_and_errors(path: Path) -> None:
    core = {m for m in imported_modules(path) if m == "qsigner" or m.startswith("qsigner.")}
    # "from qsigner.errors import InputError" also yields "qsigner.errors.InputError"
    bad = sorted(m for m in core if not any(m == a or m.startswith(a + ".") for a in ALLOWED_CORE))
    assert not bad, f"{rel(path)} imports {bad}"


@pytest.mark.parametrize("path", CORE + BITCOIN, ids=rel)
def test_only_ecc_imports_coincurve(path: Path) -> None:
    uses = any(m == "coincurve" or m.startswith("coincurve.") for m in imported_modules(path))
    assert uses == (path == ROOT / "coins" / "bitcoin" / "ecc.py"), rel(path)
