"""The kit's instrumented calls: offline guard, network recorder, captured text, timings.

Every call the conformance kit makes into a plugin goes through ``Session.invoke``:
it runs inside ``qsigner.offline.guard()`` with the kit's own audit hook recording
any network attempt, captures what the call left behind (its result's ``repr``,
its exception chain, log records at DEBUG, stdout/stderr, warnings) and times it.
The ``offline`` and ``secrets`` checks then read these records.

The recorder is a PEP 578 audit hook added when this module is first imported.
Hooks run in the order they were added and stop at the first that raises, so the
recorder sees a network attempt that a plugin swallows (``except Exception:
pass``) only if it was added before the offline guard's hook; importing
``qsigner.conformance`` before anything enables the guard (as ``qsigner check``
and pytest collection do) arranges that. An ``OfflineError`` that escapes a call,
or sits in its exception chain, is recorded whatever the order.
"""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

from .. import offline
from ..errors import OfflineError
from ..protocol import KeyPair, SignedTransaction

__all__ = ["CallRecord", "Session", "InstrumentedPlugin", "Timing", "PluginExitError",
           "exception_chain"]

_AF_UNIX: int | None = getattr(socket, "AF_UNIX", None)
_SOCKET_EVENTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind"})
_PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
                             "os.spawn", "os.fork", "os.forkpty", "pty.spawn"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND
_sinks: list[list[tuple[str, str]]] = []
"""Where the recorder appends (kind, event); the innermost active call or run is last."""


def _recorder(event: str, args: tuple[object, ...]) -> None:
    """Record network use, a started process or a written file while the kit runs (audit hook).

    Kinds: ``network`` (what the offline guard refuses), ``process`` (a child
    process escapes the guard), ``file`` (a file opened for writing, bytecode
    caches aside). Never raises.
    """
    if not _sinks:
        return
    try:
        if event in offline.REFUSED_EVENTS:
            if event in _SOCKET_EVENTS:
                if _AF_UNIX is not None and getattr(args[0], "family", None) == _AF_UNIX:
                    return
                target: object = args[1]
            else:
                target = args[:2]
            _sinks[-1].append(("network", f"{event} ({str(target)[:80]})"))
        elif event in _PROCESS_EVENTS:
            _sinks[-1].append(("process", f"{event} ({str(args[:2])[:80]})"))
        elif event == "open" and _writes(args):
            _sinks[-1].append(("file", f"open for writing ({str(args[0])[:80]})"))
    except Exception:  # noqa: BLE001 - an audit hook must not raise
        _sinks[-1].append(("network", event))


def _unsink(sink: list[tuple[str, str]]) -> None:
    """Stop recording into ``sink`` (found by identity: two empty lists are equal)."""
    for n in range(len(_sinks) - 1, -1, -1):
        if _sinks[n] is sink:
            del _sinks[n]
            return


def _writes(args: tuple[object, ...]) -> bool:
    """Return whether an ``open`` event writes a file other than a bytecode cache."""
    path, mode, flags = (list(args) + [None, None, None])[:3]
    if isinstance(path, (str, bytes)) and (b"__pycache__" in os.fsencode(path)):
        return False
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


sys.addaudithook(_recorder)


class PluginExitError(Exception):
    """A plugin called ``sys.exit``; the kit reports it as a crash instead of exiting."""


@dataclass
class CallRecord:
    """One call into the plugin: what the kit was doing, and what the call left behind."""

    operation: str
    phase: str
    seconds: float = 0.0
    error: BaseException | None = None
    texts: list[tuple[str, str]] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    events: list[tuple[str, str]] = field(default_factory=list)

    def events_of(self, *kinds: str) -> list[str]:
        """Return the recorded events of the given kinds (``network``, ``process``, ``file``)."""
        return [text for kind, text in self.events if kind in kinds]

    @property
    def where(self) -> str:
        """Return ``operation (phase)``, the name a report gives this call."""
        return f"{self.operation} ({self.phase})"


@dataclass(frozen=True)
class Timing:
    """Informational timing of one operation over the successful calls of a run."""

    operation: str
    calls: int
    median_ms: float
    max_ms: float


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield ``exc`` and its causes and contexts, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _format_record(record: logging.LogRecord) -> str:
    """Return a log record as a handler would print it, traceback included."""
    try:
        text = f"{record.levelname} {record.name} {record.getMessage()}"
    except Exception:  # noqa: BLE001 - a broken record is still text to scan
        text = f"{record.levelname} {record.name} {record.msg} {record.args}"
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    return text + (f"\n{record.stack_info}" if record.stack_info else "")


class Session:
    """The records of one kit run, and the instrumented way to call the plugin."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []
        self.secrets: dict[str, str] = {}
        """Every secret the run generated -> its label (``key pair #2 (made in ...)``)."""
        self.entropy: dict[str, str] = {}
        """Hex entropy the kit passed -> the secret it produced."""
        self.signed: list[tuple[SignedTransaction, str, str]] = []
        """Every successful signature: (result, network, phase)."""
        self.stray: list[tuple[str, str]] = []
        """Text produced outside any call (a plugin's thread logging later, say)."""
        self.run_events: list[tuple[str, str]] = []
        """Events recorded outside any call."""
        self.phase = "load"
        self._current: CallRecord | None = None

    @contextmanager
    def phase_as(self, phase: str) -> Iterator[None]:
        """Label the calls of a block (``vectors derive_address.json:x``)."""
        previous, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = previous

    @contextmanager
    def active(self) -> Iterator[None]:
        """Run a block as the kit's run: guard on, events recorded, every log record captured.

        Logging is captured at DEBUG for every logger, whatever its level,
        handlers or ``propagate``: ``Logger.isEnabledFor`` answers yes and
        ``Logger.handle`` files each record's text here first, then passes on
        only the records the logger would have emitted anyway. Both are
        restored when the block ends.
        """
        enabled, handle = logging.Logger.isEnabledFor, logging.Logger.handle
        session = self

        def capture(logger: logging.Logger, record: logging.LogRecord) -> None:
            session.add_text("log", _format_record(record))
            if enabled(logger, record.levelno):
                handle(logger, record)

        setattr(logging.Logger, "isEnabledFor", lambda logger, level: True)
        setattr(logging.Logger, "handle", capture)
        _sinks.append(self.run_events)
        try:
            with offline.guard():
                yield
        finally:
            _unsink(self.run_events)
            setattr(logging.Logger, "isEnabledFor", enabled)
            setattr(logging.Logger, "handle", handle)

    def add_text(self, kind: str, text: str) -> None:
        """File ``text`` under the running call, or as stray text outside any call."""
        if self._current is not None:
            self._current.texts.append((kind, text))
        else:
            self.stray.append((kind, text))

    def add_secret(self, secret: str, label: str, entropy: bytes | None = None) -> None:
        """Register a secret the run produced, so the scan looks for it."""
        if isinstance(secret, str) and secret and secret not in self.secrets:
            self.secrets[secret] = label
        if entropy is not None and len(entropy) >= 8 and isinstance(secret, str):
            self.entropy[entropy.hex()] = secret

    def invoke(self, operation: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``func`` guarded, recorded and timed; return its result or re-raise its error."""
        record = CallRecord(operation, self.phase)
        record.secrets = self._involved(args, kwargs)
        self.records.append(record)
        result = self._run(record, func, args, kwargs)
        record.texts.append(("repr", _safe_repr(result)))
        # Vector cases hold published test keys; the scan looks for the secrets the kit made.
        if isinstance(result, KeyPair) and not self.phase.startswith("vectors"):
            entropy = kwargs.get("entropy")
            self.add_secret(result.secret, f"key pair #{len(self.secrets) + 1} (made in "
                                           f"{self.phase})",
                            entropy if isinstance(entropy, bytes) else None)
            record.secrets.add(result.secret)
        if isinstance(result, SignedTransaction) and isinstance(kwargs.get("network"), str):
            self.signed.append((result, kwargs["network"], self.phase))
        return result

    def _run(self, record: CallRecord, func: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> Any:
        out, err = io.StringIO(), io.StringIO()
        self._current = record
        _sinks.append(record.events)
        start = time.perf_counter()
        try:
            with offline.guard(), redirect_stdout(out), redirect_stderr(err), \
                    warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    return func(*args, **kwargs)
                except SystemExit as exc:  # a plugin must not end the process it runs in
                    raise PluginExitError(f"called sys.exit({exc.code!r})") from None
                finally:
                    record.texts += [("warning", str(w.message)) for w in caught]
        except Exception as exc:
            record.error = exc
            for link in exception_chain(exc):
                record.texts += [("error", _safe_str(link)), ("error", _safe_repr(link)),
                                 ("error", _safe_repr(getattr(link, "__dict__", {})))]
                if isinstance(link, OfflineError):
                    record.events.append(("network", f"OfflineError: {link}"))
            raise
        finally:
            record.seconds = time.perf_counter() - start
            _unsink(record.events)
            self._current = None
            record.texts += [("output", text) for text in (out.getvalue(), err.getvalue())
                             if text]

    def _involved(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> set[str]:
        """Return the known secrets that an argument holds (whole, or three of its words)."""
        values = [v for v in (*args, *kwargs.values()) if isinstance(v, str) and v]
        entropy = kwargs.get("entropy")
        found = {self.entropy[entropy.hex()]} if isinstance(entropy, bytes) and \
            entropy.hex() in self.entropy else set()
        for secret in self.secrets:
            words = set(secret.lower().split())
            for value in values:
                if secret in value or len(words & set(value.lower().split())) >= 3:
                    found.add(secret)
        return found

    def timings(self) -> list[Timing]:
        """Return the timing of each operation over its successful calls."""
        by_operation: dict[str, list[float]] = {}
        for record in self.records:
            if record.error is None:
                by_operation.setdefault(record.operation, []).append(record.seconds * 1000)
        return [Timing(op, len(ms), round(statistics.median(ms), 3), round(max(ms), 3))
                for op, ms in by_operation.items()]

    def leaks(self) -> tuple[list[tuple[str, str, str]], set[str]]:
        """Return where a known secret showed up, as (what, kind of text, where), and the words.

        Never the secret itself: ``what`` names it (``the whole secret of keypair 2``);
        the words are returned only so that a report can redact them. A whole
        secret or its entropy anywhere is a leak. A single word of a multi-word
        secret is a leak when it appears in the text of a call that used that
        secret but in no text of the calls that did not: words the plugin's
        messages use anyway (``index``, ``all``) are not evidence.
        """
        found: list[tuple[str, str, str]] = []
        leaked: set[str] = set()
        texts = [(r.where, r.secrets, kind, text) for r in self.records for kind, text in r.texts]
        texts += [("outside any call", set(), kind, text) for kind, text in self.stray]
        # A token shorter than 8 characters would match by chance; no real secret is that short.
        tokens = [(s, f"the whole secret of {label}") for s, label in self.secrets.items()
                  if len(s) >= 8]
        tokens += [(h, f"the entropy of {self.secrets.get(s, 'a key pair')}")
                   for h, s in self.entropy.items()]
        for where, _, kind, text in texts:
            found += [(what, kind, where) for token, what in tokens if token in text]
        for secret, label in self.secrets.items():
            words = set(secret.lower().split())
            if len(words) < 2:
                continue
            baseline = {w for _, involved, _, text in texts if secret not in involved
                        for w in _words(text)}
            suspects = words - baseline
            for where, involved, kind, text in texts:
                hits = suspects & _words(text) if secret in involved else set()
                if hits:
                    leaked |= hits
                    found.append((f"{len(hits)} word(s) of the secret of {label}", kind, where))
        return list(dict.fromkeys(found)), leaked


_SEPARATORS = re.compile(r"[^\w+/=-]+")


def _words(text: str) -> set[str]:
    """Return the lower-case words of ``text``: tokens made of letters only.

    Tokens are split at anything that cannot occur in base64, hex or an address,
    so a PSBT or a key (``...+zoo/...``) is one token, not a source of words.
    """
    return {t.lower() for t in _SEPARATORS.split(text) if t.isalpha()}


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception as exc:  # noqa: BLE001 - a str that raises is reported as text
        return f"<str raised {type(exc).__name__}>"


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # noqa: BLE001 - a repr that raises is reported as text
        return f"<repr raised {type(exc).__name__}>"


class InstrumentedPlugin:
    """The plugin seen through a ``Session``: same attributes, every method call recorded.

    Methods take ``*args, **kwargs`` and pass them on unchanged, so the kit can
    also send the wrong types the protocol forbids.
    """

    def __init__(self, plugin: Any, session: Session) -> None:
        self.plugin = plugin
        self.session = session
        self.name: str = plugin.name
        self.networks: tuple[str, ...] = tuple(plugin.networks)
        self.address_types: tuple[str, ...] = tuple(plugin.address_types)

    def has(self, method: str) -> bool:
        """Return whether the plugin offers the (optional) ``method``."""
        return callable(getattr(self.plugin, method, None))

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` of the plugin through the session."""
        return self.session.invoke(method, getattr(self.plugin, method), *args, **kwargs)

    def generate_keypair(self, *args: Any, **kwargs: Any) -> Any:
        """Forward to the plugin's ``generate_keypair``."""
        return self.call("generate_keypair", *args, **kwargs)

    def derive_address(self, *args: Any, **kwargs: Any) -> Any:
        """Forward to the plugin's ``derive_address``."""
        return self.call("derive_address", *args, **kwargs)

    def sign_transaction(self, *args: Any, **kwargs: Any) -> Any:
        """Forward to the plugin's ``sign_transaction``."""
        return self.call("sign_transaction", *args, **kwargs)
