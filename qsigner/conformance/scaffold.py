"""``qsigner new-plugin``: a plugin package a coin team starts from, failing the kit until done.

The templates live in ``templates/`` (``string.Template``, ``$name`` and friends).
A fresh scaffold loads and meets the protocol, then fails the conformance kit
naming each stub (``not implemented yet: derive_address``) and each placeholder
vector, so the kit's report is the team's to-do list.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template

from ..errors import ConfigError

__all__ = ["FAMILIES", "new_plugin", "project_files"]

FAMILIES = ("utxo", "account")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def project_files(name: str, family: str) -> dict[str, str]:
    """Return the scaffold's files, relative path -> text, for coin ``name`` of ``family``.

    Raises:
        ConfigError: the name is not a lower-case identifier, or the family is unknown.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"new-plugin: name {str(name)[:40]!r} must be a lower-case identifier "
                          "(letters, digits, _; starting with a letter)")
    if family not in FAMILIES:
        raise ConfigError(f"new-plugin: --family must be one of {', '.join(FAMILIES)}")
    package = f"qsigner_{name}"
    values = {"name": name, "Name": "".join(p.capitalize() for p in name.split("_")),
              "family": family, "package": package, "project": f"qsigner-{name.replace('_', '-')}"}
    layout = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"{package}/__init__.py": "__init__.py.tmpl",
        f"{package}/plugin.py": f"plugin_{family}.py.tmpl",
        "tests/test_kit.py": "test_kit.py.tmpl",
        **{f"vectors/{name}/{op}.json": f"{op}.json.tmpl"
           for op in ("generate_keypair", "derive_address", "sign_transaction")},
    }
    templates = resources.files("qsigner.conformance").joinpath("templates")
    return {path: Template(templates.joinpath(source).read_text(encoding="utf-8"))
            .substitute(values) for path, source in layout.items()}


def new_plugin(name: str, family: str = "utxo", directory: str | Path = ".") -> Path:
    """Write the scaffold of coin ``name`` into ``directory/qsigner-<name>``; return that folder.

    Raises:
        ConfigError: bad name or family, or the target folder exists and is not empty,
            or it cannot be written.
    """
    files = project_files(name, family)
    root = Path(directory) / f"qsigner-{name.replace('_', '-')}"
    if root.exists() and any(root.iterdir()):
        raise ConfigError(f"new-plugin: {root} exists and is not empty; choose another --dir")
    try:
        for relative, text in files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"new-plugin: cannot write {root}: {exc.strerror}") from None
    return root
