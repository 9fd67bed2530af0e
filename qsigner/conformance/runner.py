"""The conformance kit: ``run_kit`` loads a coin plugin and runs every check on it.

One engine, two front ends: ``qsigner check`` (``commands.py``) and the pytest
plugin (``pytest --qsigner-plugin``, ``pytest_plugin.py``) both call ``run_kit``
and read its ``KitReport``. The checks, in order (docs/plugin-guide.md says what
each means and how to fix a failure):

1. ``protocol``: the plugin loads and meets ``qsigner.protocol`` (names,
   signatures, declared networks and address types), its optional methods have
   the right shape, and nothing it was asked to do is a stub;
2. ``vectors``: its vector files validate against the schema and every case
   passes ``run_case`` (the engine of ``tests/test_vectors.py``);
3. ``properties``: the generic properties of ``properties.py``;
4. ``verification``: every signature the run produced is checked by the
   plugin's ``verify_transaction`` (a plugin that declares none fails);
5. ``offline``: no call used the network (each ran under ``offline.guard()``);
6. ``secrets``: no generated secret in any error text, repr, log line or output;
7. a timing table (keygen, derive, sign), informational only.
"""

from __future__ import annotations

import importlib.util
import inspect
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ..protocol import PROTOCOL_METHODS, CoinPlugin
from ..registry import check_plugin, load_coin
from .properties import PROPERTIES, Failed, PropertyContext, Skipped, describe_error
from .session import InstrumentedPlugin, Session, Timing, exception_chain
from .vectors import OPERATIONS, Case, CaseFailure, VectorFileError, load_file, run_case

__all__ = ["run_kit", "KitReport", "CheckResult", "KitSettings", "Timing", "find_vectors",
           "GROUPS", "PASS", "FAIL", "SKIP", "REPORT_SCHEMA"]

PASS, FAIL, SKIP = "pass", "fail", "skip"
GROUPS = ("protocol", "vectors", "properties", "verification", "offline", "secrets")
REPORT_SCHEMA = "qsigner-kit-report/1"
OPTIONAL_METHODS = {"example_transaction": "(secret, *, network)",
                    "verify_transaction": "(signed, *, network)"}
NO_VERIFIER = ("the plugin declares no verify_transaction(signed, *, network) -> str: a plugin "
               "must declare how its signatures are verified, by code independent of its signer "
               "(e.g. the coin's reference node library), so the kit can cross-check every "
               "signature it produced")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``pass``, ``fail`` or ``skip``, with the reason."""

    group: str
    name: str
    status: str
    message: str = ""
    seconds: float = 0.0

    @property
    def id(self) -> str:
        """Return ``group/name``, the check's name in every report."""
        return f"{self.group}/{self.name}"


@dataclass(frozen=True)
class KitSettings:
    """How much the generic properties try; more finds more and takes longer.

    ``keys``: key pairs from fixed entropy (at least one per network, up to 8);
    ``indices``: random indices besides 0, 1, 2 and 2**31 - 1; ``garbage``: random
    strings per bad-input battery.
    """

    keys: int = 2
    indices: int = 3
    garbage: int = 6


@dataclass(frozen=True)
class KitReport:
    """The result of ``run_kit``: every check, the timings, and whether the plugin passed."""

    target: str
    plugin: str
    location: str
    vectors: str
    seed: int
    checks: tuple[CheckResult, ...]
    timings: tuple[Timing, ...] = ()
    settings: KitSettings = field(default_factory=KitSettings)

    @property
    def passed(self) -> bool:
        """Return True when no check failed (skipped checks do not fail a plugin)."""
        return all(c.status != FAIL for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        """Return the failed checks."""
        return [c for c in self.checks if c.status == FAIL]

    def counts(self) -> dict[str, int]:
        """Return how many checks passed, failed and were skipped."""
        return {s: sum(c.status == s for c in self.checks) for s in (PASS, FAIL, SKIP)}

    def check(self, check_id: str) -> CheckResult:
        """Return the check named ``group/name``.

        Raises:
            KeyError: no such check in this report.
        """
        for result in self.checks:
            if result.id == check_id:
                return result
        raise KeyError(check_id)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (the ``--report`` file)."""
        return {
            "schema": REPORT_SCHEMA, "target": self.target, "plugin": self.plugin,
            "location": self.location, "vectors": self.vectors, "seed": self.seed,
            "settings": vars(self.settings), "passed": self.passed, "summary": self.counts(),
            "checks": [{"id": c.id, "group": c.group, "name": c.name, "status": c.status,
                        "message": c.message, "seconds": round(c.seconds, 4)}
                       for c in self.checks],
            "timings": [vars(t) for t in self.timings],
        }


def run_kit(plugin: str | Any, *, vectors_dir: str | Path | None = None, seed: int = 0,
            settings: KitSettings | None = None) -> KitReport:
    """Run every check on ``plugin`` (an installed coin name, a path, or a plugin object).

    Never raises for the plugin's faults: each is a failed check in the report.

    Raises:
        VectorFileError: ``vectors_dir`` was given and is not a directory.
    """
    settings = settings or KitSettings()
    if vectors_dir is not None and not Path(vectors_dir).is_dir():
        raise VectorFileError(f"vectors: {vectors_dir} is not a directory")
    session = Session()
    target = plugin if isinstance(plugin, str) else repr(plugin)
    checks: list[CheckResult] = []
    loaded: CoinPlugin | None = None
    vectors = Path(vectors_dir) if vectors_dir is not None else None
    with session.active():
        loaded, result = _load(plugin, session)
        checks.append(result)
        if loaded is not None:
            proxy = InstrumentedPlugin(loaded, session)
            checks.append(_optional_methods(loaded))
            vectors = vectors or find_vectors(loaded, target)[0]
            checks += _vector_checks(proxy, vectors, target, loaded)
            checks += _property_checks(proxy, session, random.Random(seed), settings)
            checks.append(_timed("verification", "signatures", lambda: _verify(proxy, session)))
            checks.append(_implemented(session))
        checks.append(_offline(session))
        checks.append(_secrets(session))
        checks.append(_files(session))
    return KitReport(target, getattr(loaded, "name", "?"), _location(loaded, target),
                     str(vectors) if vectors else "", seed, _redact(checks, session),
                     tuple(session.timings()), settings)


def _load(plugin: str | Any, session: Session) -> tuple[CoinPlugin | None, CheckResult]:
    start = time.perf_counter()
    loader: Callable[[], CoinPlugin] = (
        (lambda: load_coin(plugin)) if isinstance(plugin, str)
        else (lambda: check_plugin(plugin, repr(plugin))))
    try:
        loaded = cast(CoinPlugin, session.invoke("load", loader))
    except Exception as exc:  # noqa: BLE001 - a plugin that fails to load fails the kit
        return None, CheckResult("protocol", "load", FAIL, describe_error(exc),
                                 time.perf_counter() - start)
    return loaded, CheckResult(
        "protocol", "load", PASS, f"plugin {loaded.name!r}: networks {', '.join(loaded.networks)}; "
        f"address types {', '.join(loaded.address_types)}", time.perf_counter() - start)


def _optional_methods(plugin: CoinPlugin) -> CheckResult:
    declared, problems = [], []
    for method, shape in OPTIONAL_METHODS.items():
        func = getattr(plugin, method, None)
        if func is None:
            continue
        declared.append(method)
        params = inspect.signature(func).parameters if callable(func) else {}
        positional = [p for p in params.values() if p.kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        network = params.get("network")
        if not callable(func) or not positional or network is None or network.kind not in (
                inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            problems.append(f"{method} must have the signature {method}{shape}")
    if problems:
        return CheckResult("protocol", "optional-methods", FAIL, "; ".join(problems))
    missing = [m for m in OPTIONAL_METHODS if m not in declared]
    note = f"; not declared: {', '.join(missing)}" if missing else ""
    return CheckResult("protocol", "optional-methods", PASS,
                       f"declared: {', '.join(declared) or 'none'}{note}")


def find_vectors(plugin: Any, target: str = "") -> tuple[Path | None, list[Path]]:
    """Return ``vectors/<name>/`` nearest above the plugin's module, and the folders tried.

    The search walks up from the module's folder and stops at the first folder
    holding ``pyproject.toml`` or ``.git`` (the plugin's project root).
    """
    name = getattr(plugin, "name", "")
    start = _module_file(plugin) or (Path(target) if target else None)
    tried: list[Path] = []
    if start is None:
        return None, tried
    for folder in [start.resolve().parent, *start.resolve().parents]:
        candidate = folder / "vectors" / name
        tried.append(candidate)
        if candidate.is_dir():
            return candidate, tried
        if (folder / "pyproject.toml").exists() or (folder / ".git").exists():
            break
    return None, tried


def _module_file(plugin: Any) -> Path | None:
    module = sys.modules.get(type(plugin).__module__)
    path = getattr(module, "__file__", None)
    return Path(path) if path else None


def _location(plugin: Any, target: str) -> str:
    path = _module_file(plugin) if plugin is not None else None
    return str(path) if path else target


def _vector_checks(proxy: InstrumentedPlugin, directory: Path | None, target: str,
                   plugin: CoinPlugin) -> list[CheckResult]:
    if directory is None:
        tried = ", ".join(str(p) for p in find_vectors(plugin, target)[1]) or "nowhere"
        return [CheckResult("vectors", "found", FAIL, f"no vectors/{plugin.name}/ folder "
                            f"found (looked at {tried}); ship known-answer vectors or pass "
                            "--vectors DIR")]
    files = sorted(directory.glob("*.json"))
    if not files:
        return [CheckResult("vectors", "found", FAIL, f"{directory}: no *.json vector files")]
    schema = ("validated with the JSON Schema" if importlib.util.find_spec("jsonschema")
              else "jsonschema not installed: structural checks only")
    checks = [CheckResult("vectors", "found", PASS, f"{len(files)} files in {directory}; "
                          f"{schema}")]
    cases: list[Case] = []
    for path in files:
        try:
            loaded = load_file(path)
        except VectorFileError as exc:
            checks.append(CheckResult("vectors", path.name, FAIL, str(exc)))
            continue
        checks.append(CheckResult("vectors", path.name, PASS,
                                  f"valid {loaded[0].operation} file, {len(loaded)} cases"))
        cases += loaded
    checks.append(_coverage(cases, plugin.name))
    for case in cases:
        checks.append(_timed("vectors", case.label, lambda: _run_case(proxy, case)))
    return checks


def _coverage(cases: list[Case], name: str) -> CheckResult:
    foreign = sorted({c.file for c in cases if c.coin != name})
    if foreign:
        return CheckResult("vectors", "coverage", FAIL,
                           f"files for another coin than {name!r}: {', '.join(foreign)}")
    placeholders = [c.label for c in cases if "REPLACE" in repr((c.given, c.expected))]
    if placeholders:
        return CheckResult("vectors", "coverage", FAIL, "placeholders (REPLACE) left in "
                           f"{', '.join(placeholders)}: put the coin's known-answer values there")
    missing = [op for op in OPERATIONS
               if not any(c.operation == op and c.expected is not None for c in cases)]
    if missing:
        return CheckResult("vectors", "coverage", FAIL, "no known-answer case (with expected) "
                           f"for {', '.join(missing)}: add one per operation")
    errors = sum(c.error is not None for c in cases)
    return CheckResult("vectors", "coverage", PASS, f"every operation has known-answer cases; "
                       f"{len(cases) - errors} with expected, {errors} with error")


def _run_case(proxy: InstrumentedPlugin, case: Case) -> str:
    with proxy.session.phase_as(f"vectors {case.label}"):
        try:
            run_case(cast(CoinPlugin, proxy), case)
        except CaseFailure as exc:
            raise Failed(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a crash in a vector case fails that case
            raise Failed(f"{case.label}: raised {describe_error(exc)}") from None
    return case.description or case.operation


def _property_checks(proxy: InstrumentedPlugin, session: Session, rng: random.Random,
                     settings: KitSettings) -> list[CheckResult]:
    ctx = PropertyContext(proxy, rng, settings.keys, settings.indices, settings.garbage)
    checks = []
    for name, prop in PROPERTIES:
        with session.phase_as(f"properties/{name}"):
            checks.append(_timed("properties", name, lambda: prop(ctx)))
    return checks


def _timed(group: str, name: str, body: Callable[[], str]) -> CheckResult:
    """Run ``body``: its text is a pass; ``Failed``/``Skipped`` say why; anything else fails."""
    start = time.perf_counter()
    try:
        status, message = PASS, body()
    except Failed as exc:
        status, message = FAIL, str(exc)
    except Skipped as exc:
        status, message = SKIP, str(exc)
    except Exception as exc:  # noqa: BLE001 - the kit reports, it does not crash
        status, message = FAIL, f"raised {describe_error(exc)}"
    return CheckResult(group, name, status, message, time.perf_counter() - start)


def _verify(proxy: InstrumentedPlugin, session: Session) -> str:
    """Cross-check every complete signed transaction of the run with ``verify_transaction``."""
    if not proxy.has("verify_transaction"):
        raise Failed(NO_VERIFIER)
    unique = {(s.psbt, s.raw, net): (s, net, phase) for s, net, phase in session.signed}
    complete = [v for v in unique.values() if not v[0].partial]
    if not complete:
        raise Failed("no complete signed transaction was produced, so nothing could be "
                     "verified: declare example_transaction or ship sign_transaction vectors")
    problems, verifiers = [], set()
    with session.phase_as("verification"):
        for signed, network, phase in complete:
            try:
                how = proxy.call("verify_transaction", signed, network=network)
            except Exception as exc:  # noqa: BLE001 - a failed verification, of any kind
                problems.append(f"{phase}: txid {signed.txid}: {describe_error(exc)}")
                continue
            if not isinstance(how, str) or not how or how.lower().startswith("unchecked"):
                problems.append(f"{phase}: txid {signed.txid}: not verified ({how!r})")
            else:
                verifiers.add(how)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise Failed(f"{len(problems)} of {len(complete)} signed transactions failed "
                     f"verification: {'; '.join(problems[:3])}{more}")
    partial = len(unique) - len(complete)
    note = f"; {partial} partial results not verifiable alone" if partial else ""
    return f"{len(complete)} signed transactions verified by {', '.join(sorted(verifiers))}{note}"


def _implemented(session: Session) -> CheckResult:
    stubs = {r.operation for r in session.records if r.error is not None
             and any(isinstance(e, NotImplementedError) for e in exception_chain(r.error))}
    if stubs:
        order = [*PROTOCOL_METHODS, *OPTIONAL_METHODS]
        names = sorted(stubs, key=lambda m: order.index(m) if m in order else len(order))
        return CheckResult("protocol", "implemented", FAIL,
                           f"not implemented yet: {', '.join(names)}")
    return CheckResult("protocol", "implemented", PASS, "no method raised NotImplementedError")


def _offline(session: Session) -> CheckResult:
    offending = [(r.where, r.events_of("network", "process")) for r in session.records]
    offending = [(where, events) for where, events in offending if events]
    outside = [e for kind, e in session.run_events if kind in ("network", "process")]
    if outside:
        offending.append(("outside any call", outside))
    if offending:
        shown = "; ".join(f"{where}: {events[0]}" for where, events in offending[:3])
        more = f" (and {len(offending) - 3} more)" if len(offending) > 3 else ""
        return CheckResult("offline", "no-network", FAIL,
                           f"{len(offending)} calls used the network or started a process "
                           f"(which the offline guard cannot see into): {shown}{more}")
    return CheckResult("offline", "no-network", PASS,
                       f"{len(session.records)} calls under the offline guard: no network use, "
                       "no process started")


def _files(session: Session) -> CheckResult:
    written = [(r.where, e) for r in session.records for e in r.events_of("file")]
    written += [("outside any call", e) for kind, e in session.run_events if kind == "file"]
    if written:
        shown = "; ".join(f"{where}: {event}" for where, event in written[:3])
        return CheckResult("secrets", "no-files", FAIL, f"{len(written)} files written: {shown}; "
                           "a signer plugin keeps nothing on disk (a secret there outlives the "
                           "process)")
    return CheckResult("secrets", "no-files", PASS, "no file written")


def _secrets(session: Session) -> CheckResult:
    leaks, _ = session.leaks()  # the words are for a caller that wants to redact them
    texts = sum(len(r.texts) for r in session.records) + len(session.stray)
    if leaks:
        shown = "; ".join(f"{what} in {kind} text of {where}" for what, kind, where in leaks[:3])
        more = f" (and {len(leaks) - 3} more)" if len(leaks) > 3 else ""
        return CheckResult("secrets", "no-leak", FAIL, f"{shown}{more}")
    return CheckResult("secrets", "no-leak", PASS,
                       f"{len(session.secrets)} secrets looked for in {texts} texts (errors, "
                       "reprs, log lines, output, warnings); none found")


def _redact(checks: list[CheckResult], session: Session) -> tuple[CheckResult, ...]:
    """Return the checks in group order, every whole secret and entropy blanked out.

    Single words are left alone: the kit's keys exist only for the run and hold
    nothing, and the ``secrets`` check already says where a word leaked.
    """
    tokens = sorted((t for t in [*session.secrets, *session.entropy] if len(t) >= 8),
                    key=len, reverse=True)
    out = []
    for check in sorted(checks, key=lambda c: GROUPS.index(c.group)):
        message = check.message
        for token in tokens:
            message = message.replace(token, "[secret]")
        out.append(CheckResult(check.group, check.name, check.status, message, check.seconds))
    return tuple(out)
