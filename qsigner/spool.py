"""The spool: signing requests dropped as files, for a signer that has no network at all.

The integration and the signer share one directory and nothing else (docs/docker.md)::

    <spool>/in/<name>.psbt     a request: the integration writes <name>.psbt.tmp, then
                               renames it to <name>.psbt (atomic; partial files are never read)
    <spool>/out/<name>.json    its result: exactly what ``qsigner sign`` prints, or the
                               error object {"error": {"type", "message"}}; written to a
                               temporary file, fsynced and renamed, so it appears whole
    <spool>/done/<name>.psbt   the request, moved here after its result was written
    <spool>/heartbeat          touched on every poll; its age tells the signer is alive

Each request takes the same code path as ``qsigner sign`` (``sign_request``): the key
store check, the re-sign guard and one audit line in the data directory. A result is
written before its request leaves ``in/``, so a crash in between only signs the same
transaction again, which the re-sign guard allows and which yields the same bytes.
A request that cannot be signed gets its error object; a fault of the signer itself
(configuration, corrupt state, the offline guard, a disk error) stops the spool and
leaves the request in ``in/`` for the next start.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import audit, offline
from .datadir import DataDir
from .errors import (ConfigError, InputError, OfflineError, PluginError, PolicyError,
                     QsignerError, SecretError, StateError)

if TYPE_CHECKING:  # cli imports this module; the type alone is needed here
    from .cli import Context

__all__ = ["REQUEST_SUFFIX", "RESULT_SUFFIX", "MAX_REQUEST_BYTES", "DEFAULT_POLL",
           "SpoolSettings", "spool_settings", "add_spool_parser", "cmd_spool",
           "process_spool", "sign_request", "describe_request", "error_object"]

REQUEST_SUFFIX = ".psbt"
RESULT_SUFFIX = ".json"
MAX_REQUEST_BYTES = 32 * 1024 * 1024  # base64 of the largest PSBT a plugin accepts, with room
DEFAULT_POLL = 1.0
HEARTBEAT = "heartbeat"
_DIR_MODE = 0o770    # the integration writes in/ and reads out/ as uid or gid 1000
_RESULT_MODE = 0o640
# A fault of the signer, not of the request: stop and keep the request for the next start.
_FATAL = (ConfigError, StateError, OfflineError, PluginError, SecretError)
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SpoolSettings:
    """Where the spool is, how often it is polled, and whether to stop once it is empty."""

    directory: Path
    poll: float
    once: bool


def spool_settings(args: argparse.Namespace | None, env: Mapping[str, str],
                   data_dir: Path) -> SpoolSettings:
    """Return the spool settings: each flag if given, else its variable, else its default.

    ``QSIGNER_SPOOL_DIR`` (``--spool-dir``) defaults to ``<data dir>/spool``;
    ``QSIGNER_SPOOL_POLL`` (``--spool-poll``) to 1 second; ``QSIGNER_SPOOL_ONCE``
    (``--once``) to off.

    Raises:
        ConfigError: a value that does not parse, naming its variable.
    """
    directory = getattr(args, "spool_dir", None) or env.get("QSIGNER_SPOOL_DIR") or \
        str(data_dir / "spool")
    raw_poll = getattr(args, "spool_poll", None) or env.get("QSIGNER_SPOOL_POLL") or None
    poll = DEFAULT_POLL if raw_poll is None else _parse_poll(str(raw_poll))
    once = getattr(args, "once", None)
    if once is None:
        raw_once = (env.get("QSIGNER_SPOOL_ONCE") or "0").strip().lower()
        if raw_once not in _TRUE | _FALSE:
            raise ConfigError("QSIGNER_SPOOL_ONCE: expected 1/true/yes/on or 0/false/no/off, "
                              f"got {raw_once[:32]!r}", variable="QSIGNER_SPOOL_ONCE")
        once = raw_once in _TRUE
    return SpoolSettings(Path(directory), poll, bool(once))


def _parse_poll(raw: str) -> float:
    try:
        poll = float(raw)
    except ValueError:
        poll = -1.0
    if not 0.05 <= poll <= 3600:
        raise ConfigError(f"QSIGNER_SPOOL_POLL: expected seconds between 0.05 and 3600, got "
                          f"{raw[:32]!r}", variable="QSIGNER_SPOOL_POLL")
    return poll


def add_spool_parser(command: Callable[[str, str], argparse.ArgumentParser]
                     ) -> argparse.ArgumentParser:
    """Add the ``spool`` subcommand through the CLI's ``command(name, help)`` factory."""
    parser = command("spool", "sign every request dropped in the spool directory (no network)")
    parser.add_argument("--spool-dir", dest="spool_dir", default=None, metavar="DIR",
                        help="the spool (QSIGNER_SPOOL_DIR; default DATA_DIR/spool)")
    parser.add_argument("--spool-poll", dest="spool_poll", default=None, metavar="SECONDS",
                        help="seconds between two looks at in/ (QSIGNER_SPOOL_POLL; default 1)")
    parser.add_argument("--once", dest="once", action="store_const", const=True, default=None,
                        help="sign what is there, then exit (QSIGNER_SPOOL_ONCE)")
    return parser


def cmd_spool(ctx: Context) -> int:
    """Run the spool with the settings from flags and ``QSIGNER_SPOOL_*`` variables."""
    settings = spool_settings(ctx.args, ctx.env, ctx.config.data_dir)
    return process_spool(ctx, settings.directory, once=settings.once, poll=settings.poll)


def describe_request(ctx: Context, data: str) -> dict[str, Any] | None:
    """Return the plugin's description of a transaction, or None if it has none or refuses."""
    describe: Any = getattr(ctx.plugin, "describe_transaction", None)
    if describe is None:
        return None
    try:
        return dict(describe(data, network=ctx.network))
    except QsignerError:
        return None  # sign_transaction refuses it next, with the reason


def sign_request(ctx: Context, datadir: DataDir, data: str) -> dict[str, Any]:
    """Check and sign one transaction as ``qsigner sign`` does; return what it prints.

    Pins (or checks) the seed in the key store, runs the re-sign guard, signs, and
    appends one audit line, ``signed`` or ``refused``. ``datadir`` must be open
    (locked) by the caller.

    Raises:
        QsignerError: the refusal or failure (already in the audit log, except
            configuration errors raised before anything was read).
    """
    secret = ctx.bootstrapped_secret(datadir)
    options = dict(ctx.config.policy)
    if ctx.passphrase():
        options["passphrase"] = ctx.passphrase()
    description = describe_request(ctx, data)
    request = data.encode()
    try:
        audit.check_resign(datadir, ctx.plugin.name, ctx.network, description,
                           allow=ctx.config.allow_resign)
        result = ctx.plugin.sign_transaction(data, secret, network=ctx.network, **options)
    except QsignerError as exc:
        audit.record(datadir, coin=ctx.plugin.name, network=ctx.network, request=request,
                     description=description, result="refused", error=exc)
        raise
    audit.record(datadir, coin=ctx.plugin.name, network=ctx.network, request=request,
                 description=description, result="signed", txid=result.txid,
                 signed_inputs=list(result.signed_inputs))
    return {"psbt": result.psbt, "raw": result.raw, "txid": result.txid,
            "signed_inputs": list(result.signed_inputs)}


def error_object(exc: BaseException) -> dict[str, Any]:
    """Return the CLI's error object for ``exc``: {"error": {"type", "message"}}."""
    return {"error": {"type": type(exc).__name__, "message": str(exc)}}


def process_spool(ctx: Context, spool_dir: Path | str, *, once: bool,
                  poll: float = DEFAULT_POLL) -> int:
    """Sign every request in ``<spool_dir>/in``; repeat every ``poll`` seconds unless ``once``.

    Pins (or checks) the seed in the key store first, then holds the data directory's
    lock throughout (one signer at a time). SIGTERM or SIGINT ends the loop after the
    request in hand; the status is then 0.

    Raises:
        ConfigError: the spool or data directory is unusable, or the secret is wrong.
        StateError, OfflineError, PluginError, OSError: a fault of the signer; the
            request in hand stays in ``in/``.
    """
    if ctx.config.offline:
        offline.enable()  # as for ``qsigner sign``; idempotent
    with DataDir(ctx.config.data_dir) as datadir, _stop_on_signals() as stop:
        ctx.bootstrapped_secret(datadir)  # a missing or wrong seed stops the start, not a request
        paths = _make_dirs(Path(spool_dir))  # after DataDir: it creates the data dir 0700
        while True:
            _touch(paths["heartbeat"])
            for request in _pending(paths["in"]):
                if stop.is_set():
                    break
                _emit(_process_one(ctx, datadir, request, paths))
            if once or stop.wait(poll):
                return 0


def _make_dirs(spool: Path) -> dict[str, Path]:
    paths = {name: spool / name for name in ("in", "out", "done")}
    try:
        for path in paths.values():
            if not path.is_dir():
                path.mkdir(parents=True)
                path.chmod(_DIR_MODE)  # whatever the umask: the integration's group writes
    except OSError as exc:
        raise ConfigError(f"QSIGNER_SPOOL_DIR: cannot create {spool}/in, out and done: "
                          f"{exc.strerror}", variable="QSIGNER_SPOOL_DIR") from None
    paths["heartbeat"] = spool / HEARTBEAT
    return paths


def _pending(inbox: Path) -> list[Path]:
    """Return the requests waiting in ``inbox``, by name; hidden and temporary files wait."""
    return sorted(p for p in inbox.iterdir()
                  if p.name.endswith(REQUEST_SUFFIX) and not p.name.startswith("."))


def _process_one(ctx: Context, datadir: DataDir, request: Path,
                 paths: dict[str, Path]) -> dict[str, Any]:
    """Sign one request, write its result, move it to done/; return the log line."""
    try:
        output, line = _sign_one(ctx, datadir, request)
    except FileNotFoundError:
        if request.exists():
            raise
        return {"request": request.name, "result": "gone"}  # taken back by the integration
    name = request.name[:-len(REQUEST_SUFFIX)]
    _write_atomic(paths["out"] / f"{name}{RESULT_SUFFIX}", json.dumps(output) + "\n")
    os.replace(request, paths["done"] / request.name)
    _fsync_dir(paths["done"])
    _fsync_dir(paths["in"])
    return line


def _sign_one(ctx: Context, datadir: DataDir,
              request: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (the result file's object, the log line) for one request."""
    try:
        output = sign_request(ctx, datadir, _read_request(request))
        return output, {"request": request.name, "result": "signed", "txid": output["txid"]}
    except _FATAL:
        raise
    except QsignerError as exc:
        verdict = "refused" if isinstance(exc, PolicyError) else "error"
        return error_object(exc), {"request": request.name, "result": verdict,
                                   **error_object(exc)}
    except OSError:
        raise  # a disk or permission fault of the signer (FileNotFoundError: request gone)
    except Exception as exc:  # noqa: BLE001 - one bad request must not stop the signer
        traceback.print_exc(file=sys.stderr)
        output = {"error": {"type": "InternalError",
                            "message": f"unexpected {type(exc).__name__}; nothing was "
                                       "returned for this request"}}
        return output, {"request": request.name, "result": "error", **output}


def _read_request(path: Path) -> str:
    """Return the request's text; a link, a device or a file too large is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise InputError(f"request {path.name}: cannot open: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise InputError(f"request {path.name}: not a regular file")
        raw = file.read(MAX_REQUEST_BYTES + 1)
    if len(raw) > MAX_REQUEST_BYTES:
        raise InputError(f"request {path.name}: larger than {MAX_REQUEST_BYTES} bytes")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise InputError(f"request {path.name}: not UTF-8 text (base64 expected)") from None


def _write_atomic(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file in the same directory, fsync, rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _RESULT_MODE),
                   "wb") as file:
        file.write(text.encode())
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _touch(path: Path) -> None:
    """Mark the signer alive: the healthcheck and the integration read this file's age."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(fd)
    os.utime(path)


def _emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Yield an event that SIGTERM and SIGINT set, restoring the old handlers afterwards."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals reach only the main thread; the caller stops this loop itself
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
