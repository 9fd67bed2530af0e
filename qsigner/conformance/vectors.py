"""Test vectors in the project's schema (``qsigner-vectors/1``) and ``run_case``, their engine.

A vector file holds cases for one operation of one coin: each case gives the
method's arguments and either the expected result (compared only for the keys
present) or the expected error (a class of ``qsigner.errors`` and a regular
expression). ``qsigner check`` and pytest call the same ``run_case``, so a coin
team's development loop and the exchange's acceptance test cannot drift apart.

Files are checked against ``schema.json`` (JSON Schema 2020-12) when the
``jsonschema`` package is installed, and always against the structural rules
below, so a malformed vector fails loudly instead of passing vacuously.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .. import errors
from ..protocol import CoinPlugin

__all__ = ["Case", "CaseFailure", "VectorFileError", "SCHEMA_ID", "load_schema", "load_file",
           "load_cases", "run_case"]

SCHEMA_ID = "qsigner-vectors/1"
OPERATIONS = ("generate_keypair", "derive_address", "sign_transaction")


class VectorFileError(errors.QsignerError):
    """A vector file that is not valid JSON or does not follow the schema."""


class CaseFailure(AssertionError):
    """A case whose outcome differs from the vector; the message names file, case, description."""


@dataclass(frozen=True)
class Case:
    """One case of one vector file."""

    file: str
    coin: str
    operation: str
    id: str
    given: dict[str, Any]
    expected: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    description: str = ""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        """Return ``file:id``, the name a report uses for this case."""
        return f"{self.coin}/{self.file}:{self.id}"


def load_schema() -> dict[str, Any]:
    """Return the JSON Schema of the vector format, shipped with the package."""
    text = resources.files("qsigner.conformance").joinpath("schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def _validate(document: Any, name: str) -> None:
    try:
        import jsonschema  # type: ignore[import-untyped]  # noqa: PLC0415 - optional
    except ImportError:  # pragma: no cover - jsonschema is a test dependency
        jsonschema = None
    if jsonschema is not None:
        try:
            jsonschema.validate(document, load_schema())
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
            raise VectorFileError(f"{name}: schema violation at {where}: {exc.message}") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_ID:
        raise VectorFileError(f"{name}: not a {SCHEMA_ID} file")
    if document.get("operation") not in OPERATIONS:
        raise VectorFileError(f"{name}: operation must be one of {', '.join(OPERATIONS)}")
    cases = document.get("cases")
    if not isinstance(cases, list) or not cases:
        raise VectorFileError(f"{name}: no cases")
    ids = [c.get("id") for c in cases if isinstance(c, dict)]
    if len(ids) != len(set(ids)) or len(ids) != len(cases):
        raise VectorFileError(f"{name}: case ids must be present and unique")
    for case in cases:
        if ("expected" in case) == ("error" in case):
            raise VectorFileError(f"{name}:{case['id']}: needs exactly one of expected / error")


def load_file(path: Path) -> list[Case]:
    """Return the cases of one vector file, after validating it.

    Raises:
        VectorFileError: unreadable, not JSON, or not following the schema.
    """
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise VectorFileError(f"{path}: cannot read vectors: {exc}") from None
    _validate(document, Path(path).name)
    return [Case(Path(path).name, document["coin"], document["operation"], c["id"], c["given"],
                 c.get("expected"), c.get("error"), c.get("description", ""),
                 c.get("source", document["source"]), {"intermediary": c.get("intermediary")})
            for c in document["cases"]]


def load_cases(directory: Path) -> list[Case]:
    """Return every case of every ``*.json`` file in ``directory`` (sorted by file name)."""
    cases: list[Case] = []
    for path in sorted(Path(directory).glob("*.json")):
        cases.extend(load_file(path))
    return cases


def _call(plugin: CoinPlugin, case: Case) -> Any:
    given = dict(case.given)
    options = dict(given.pop("options", {}))
    network = given.pop("network")
    if case.operation == "generate_keypair":
        entropy = bytes.fromhex(given["entropy"]) if "entropy" in given else None
        return plugin.generate_keypair(network=network, entropy=entropy, **options)
    if case.operation == "derive_address":
        return plugin.derive_address(given["key"], given["index"], network=network,
                                     change=given.get("change", False), **options)
    return plugin.sign_transaction(given["transaction"], given["secret"], network=network,
                                   **options)


def _as_dict(result: Any) -> dict[str, Any]:
    if isinstance(result, str):
        return {"address": result}
    fields = getattr(result, "__dataclass_fields__", {})
    out = {name: getattr(result, name) for name in fields}
    if isinstance(out.get("signed_inputs"), tuple):
        out["signed_inputs"] = list(out["signed_inputs"])
    return out


def run_case(plugin: CoinPlugin, case: Case) -> None:
    """Run one case against ``plugin``; return if it passes.

    Raises:
        CaseFailure: the result or error differs from the vector (message names
            the case, never a secret from the result).
    """
    what = f"{case.label} ({case.description or case.operation})"
    if case.error is not None:
        _expect_error(plugin, case, what)
        return
    try:
        result = _as_dict(_call(plugin, case))
    except errors.QsignerError as exc:
        raise CaseFailure(f"{what}: raised {type(exc).__name__}: {exc}") from exc
    for key, want in (case.expected or {}).items():
        if key not in result:
            raise CaseFailure(f"{what}: result has no field {key!r}")
        if result[key] != want:
            shown = "(secret hidden)" if key == "secret" else f"{result[key]!r}, expected {want!r}"
            raise CaseFailure(f"{what}: {key} mismatch: got {shown}")


def _expect_error(plugin: CoinPlugin, case: Case, what: str) -> None:
    error = case.error or {}
    wanted = getattr(errors, error["type"], None)
    if not (isinstance(wanted, type) and issubclass(wanted, errors.QsignerError)):
        raise CaseFailure(f"{what}: unknown error type {error['type']!r} in the vector")
    try:
        _call(plugin, case)
    except wanted as exc:
        pattern = error.get("match")
        if pattern and not re.search(pattern, str(exc)):
            raise CaseFailure(f"{what}: {type(exc).__name__} message {str(exc)!r} does not "
                              f"match {pattern!r}") from exc
        return
    except Exception as exc:
        raise CaseFailure(f"{what}: expected {wanted.__name__}, got {type(exc).__name__}: "
                          f"{exc}") from exc
    raise CaseFailure(f"{what}: expected {wanted.__name__}, but the call succeeded")
