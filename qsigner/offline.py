"""Offline guard: while it is on, the process refuses every network connection and name lookup.

A signer holds secrets and needs nothing from the network, so in signer mode any attempt
to reach it is a bug or an attack (an exfiltrating dependency, a misconfigured library)
and must fail loudly instead of leaking.

Mechanism: one PEP 578 audit hook (https://peps.python.org/pep-0578/), installed once with
``sys.addaudithook``. Audit hooks cannot be removed, so the hook consults a module-level
flag that ``enable()`` / ``disable()`` / ``guard()`` flip. While the flag is set the hook
raises ``OfflineError`` for:

- ``socket.connect`` (also raised by ``connect_ex``), ``socket.sendto``,
  ``socket.sendmsg`` and ``socket.bind`` on any socket whose family is not ``AF_UNIX``:
  IPv4 and IPv6 *including loopback* (a port on 127.0.0.1 can be an SSH tunnel or a
  forwarded proxy), and also ``AF_PACKET``, ``AF_VSOCK``, ``AF_NETLINK`` and the rest,
  which reach a link, a hypervisor or the kernel's network configuration. ``bind`` is
  refused too because a signer serves nobody.
- every name-resolution call: ``socket.getaddrinfo``, ``gethostbyname``,
  ``gethostbyname_ex``, ``gethostbyaddr``, ``getnameinfo`` (a DNS query is itself a
  packet that can carry data out). Numeric hosts are refused as well, which is also what
  stops ``socket.create_connection``, ``http.client`` and ``urllib`` early.

Allowed: ``AF_UNIX`` sockets and ``socket.socketpair()``, which stay on this machine and
which the standard library uses itself (``multiprocessing``, ``asyncio`` self-pipes,
``logging.handlers.SysLogHandler``). The deployment must not mount a socket that relays
to the network (``/var/run/docker.sock``, a proxy's unix socket). Socket creation,
``gethostname`` and ``getservbyname`` are allowed: they touch no network.

Limitations, hence a second layer: audit hooks see every call that goes through Python's
``socket`` module, including from C extensions that use it, but NOT native libraries
making their own C-level syscalls (``ctypes`` into libc ``connect``, a bundled libcurl),
child processes (``subprocess.run(["curl", ...])``), or sockets connected before
``enable()`` (plain ``send``/``recv`` raise no audit event). Run the signer in a
container with ``network_mode: none`` or under ``unshare -n`` (a network namespace with
only a loopback interface that is down); the guard is the first layer, not the only one.

Call ``enable()`` first thing in signer mode, e.g.
``if offline.enabled_from_env(os.environ): offline.enable()``.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from qsigner.errors import OfflineError

__all__ = [
    "ENV_VAR",
    "REFUSED_EVENTS",
    "enable",
    "disable",
    "is_enabled",
    "guard",
    "enabled_from_env",
]

ENV_VAR = "QSIGNER_OFFLINE"

# Events carrying (socket, address): refused unless the socket is AF_UNIX.
_SOCKET_EVENTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind"})
# Name resolution: refused whatever the arguments.
_RESOLVE_EVENTS = frozenset({
    "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
    "socket.gethostbyaddr", "socket.getnameinfo",
})
REFUSED_EVENTS = _SOCKET_EVENTS | _RESOLVE_EVENTS

# A private event the hook acknowledges, so install can prove the hook runs.
_PROBE_EVENT = "qsigner.offline.probe"
_WATCHED = REFUSED_EVENTS | {_PROBE_EVENT}

_AF_UNIX: int | None = getattr(socket, "AF_UNIX", None)  # absent on some Windows builds


_lock = threading.Lock()
_enabled = False
_installed = False
_probe_seen = False


def enable() -> None:
    """Turn the guard on for the whole process (every thread); calling it again is harmless.

    Raises:
        OfflineError: the audit hook could not be installed (another hook refused it),
            so the process cannot be guarded.
    """
    global _enabled
    with _lock:
        _install()
        _enabled = True


def disable() -> None:
    """Turn the guard off; the hook stays installed but idle (meant for tests)."""
    global _enabled
    with _lock:
        _enabled = False


def is_enabled() -> bool:
    """Return whether the guard is on."""
    return _enabled


@contextmanager
def guard() -> Iterator[None]:
    """Enable the guard for a block, then restore the state it had before (nests).

    Raises:
        OfflineError: as ``enable()``.
    """
    previous = _enabled
    enable()
    try:
        yield
    finally:
        if previous:
            enable()
        else:
            disable()


def enabled_from_env(environ: Mapping[str, str], *, default: bool = True) -> bool:
    """Read ``QSIGNER_OFFLINE`` from ``environ``; return ``default`` when it is unset.

    The default is on: forgetting the variable must not put a signer online.

    Raises:
        ConfigError: the value is not one of 1/true/yes/on or 0/false/no/off
            (case-insensitive); the error names the variable.
    """
    from .config import parse_bool  # noqa: PLC0415 - the one parser of boolean variables
    raw = environ.get(ENV_VAR)
    return default if raw is None else parse_bool(ENV_VAR, raw)


def _install() -> None:
    """Add the audit hook once and check that it runs (caller holds ``_lock``)."""
    global _installed
    if _installed:
        return
    sys.addaudithook(_hook)
    # sys.addaudithook returns quietly if an existing hook vetoes it: fail closed.
    sys.audit(_PROBE_EVENT)
    if not _probe_seen:
        raise OfflineError("offline guard: audit hook could not be installed")
    _installed = True


def _hook(event: str, args: tuple[object, ...]) -> None:
    """Refuse network events while the guard is on; the audit hook itself."""
    global _probe_seen
    if event not in _WATCHED:
        return
    if event == _PROBE_EVENT:
        _probe_seen = True
        return
    if not _enabled:
        return
    if event in _SOCKET_EVENTS:
        family = getattr(args[0], "family", None)
        if _AF_UNIX is not None and family == _AF_UNIX:
            return
        address = args[1]
    elif event == "socket.getaddrinfo":
        address = (args[0], args[1])
    else:
        address = args[0]
    raise OfflineError(f"offline guard: {event} refused ({_format_address(address)})")


def _format_address(address: object) -> str:
    """Render an address as host:port ([host]:port for IPv6), or as text."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = _text(address[0]), _text(address[1])
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{port}"
    if address is None:
        return "connected peer"
    return _text(address)


def _text(value: object) -> str:
    """Return ``value`` as text; bytes are decoded without failing."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("ascii", "backslashreplace")
    return str(value)
