"""Tests for qsigner.offline: the audit-hook guard and the unshare -n second layer.

Every target here is loopback (127.0.0.1, ::1, "localhost"); nothing else is ever dialled.
TEST-ONLY helpers in tests/netns.py (`run_without_network`) run a command in a
network namespace; they are not part of the library.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qsigner import offline
from qsigner.errors import ConfigError, OfflineError

from netns import run_without_network

LOOPBACK = "127.0.0.1"


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _guard_off() -> Iterator[None]:
    """Start and leave every test with the guard off, whatever it did."""
    offline.disable()
    yield
    offline.disable()


@pytest.fixture
def tcp_server() -> Iterator[socket.socket]:
    """Yield a TCP socket listening on 127.0.0.1 on a free port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind((LOOPBACK, 0))
        server.listen(8)
        yield server


@pytest.fixture
def udp_server() -> Iterator[socket.socket]:
    """Yield a UDP socket bound to 127.0.0.1 on a free port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((LOOPBACK, 0))
        yield server


def _port(server: socket.socket) -> int:
    return int(server.getsockname()[1])


def _readable(sock: socket.socket, timeout: float = 0.2) -> bool:
    """Return whether a connection or datagram is waiting on ``sock``."""
    return bool(select.select([sock], [], [], timeout)[0])


def _accept_and_close(server: socket.socket) -> None:
    conn, _ = server.accept()
    conn.close()


# --- TCP ------------------------------------------------------------------------------------

def test_connect_works_without_guard_and_is_refused_with_it(tcp_server: socket.socket) -> None:
    port = _port(tcp_server)
    with socket.create_connection((LOOPBACK, port), timeout=5):
        pass
    assert _readable(tcp_server)
    _accept_and_close(tcp_server)

    offline.enable()
    assert offline.is_enabled()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        with pytest.raises(OfflineError) as info:
            client.connect((LOOPBACK, port))
    assert str(info.value) == f"offline guard: socket.connect refused (127.0.0.1:{port})"
    assert not _readable(tcp_server)


def test_connect_ex_is_refused(tcp_server: socket.socket) -> None:
    port = _port(tcp_server)
    offline.enable()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        with pytest.raises(OfflineError, match=r"socket\.connect refused"):
            client.connect_ex((LOOPBACK, port))
    assert not _readable(tcp_server)


def test_ipv6_loopback_is_refused() -> None:
    try:
        server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError as exc:
        pytest.skip(f"no IPv6 socket: {exc}")
    with server:
        try:
            server.bind(("::1", 0))
        except OSError as exc:
            pytest.skip(f"cannot bind ::1: {exc}")
        server.listen(1)
        port = _port(server)
        offline.enable()
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as client:
            with pytest.raises(OfflineError) as info:
                client.connect(("::1", port))
        assert f"([::1]:{port})" in str(info.value)
        assert not _readable(server)


def test_create_connection_is_stopped_at_name_resolution(tcp_server: socket.socket) -> None:
    port = _port(tcp_server)
    offline.enable()
    with pytest.raises(OfflineError, match=rf"socket\.getaddrinfo refused \(127\.0\.0\.1:{port}\)"):
        socket.create_connection((LOOPBACK, port), timeout=5)
    assert not _readable(tcp_server)


def test_urlopen_is_refused_and_not_wrapped_in_urlerror(tcp_server: socket.socket) -> None:
    port = _port(tcp_server)
    # No proxy from the environment: the only target is our loopback server.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    offline.enable()
    # OfflineError is not an OSError, so urllib does not wrap it in URLError.
    with pytest.raises(OfflineError) as info:
        opener.open(f"http://{LOOPBACK}:{port}/", timeout=5)
    assert not isinstance(info.value, urllib.error.URLError)
    assert f"(127.0.0.1:{port})" in str(info.value)
    assert not _readable(tcp_server)


def test_bind_on_inet_is_refused() -> None:
    offline.enable()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(OfflineError, match=r"socket\.bind refused \(127\.0\.0\.1:0\)"):
            sock.bind((LOOPBACK, 0))


# --- UDP ------------------------------------------------------------------------------------

def test_udp_sendto_works_without_guard_and_is_refused_with_it(udp_server: socket.socket) -> None:
    port = _port(udp_server)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.sendto(b"ping", (LOOPBACK, port))
        assert _readable(udp_server)
        assert udp_server.recv(16) == b"ping"

        offline.enable()
        with pytest.raises(OfflineError, match=rf"socket\.sendto refused \(127\.0\.0\.1:{port}\)"):
            client.sendto(b"leak", (LOOPBACK, port))
        with pytest.raises(OfflineError, match=r"socket\.sendmsg refused"):
            client.sendmsg([b"leak"], [], 0, (LOOPBACK, port))
    assert not _readable(udp_server)


def test_sendmsg_on_socket_connected_before_enable_is_refused(udp_server: socket.socket) -> None:
    port = _port(udp_server)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.connect((LOOPBACK, port))
        offline.enable()
        with pytest.raises(OfflineError, match=r"socket\.sendmsg refused \(connected peer\)"):
            client.sendmsg([b"leak"])
    assert not _readable(udp_server)


# --- name resolution ------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "shown"), [
    (lambda: socket.getaddrinfo("localhost", 80), "localhost:80"),
    (lambda: socket.getaddrinfo(b"localhost", 80), "localhost:80"),
    (lambda: socket.gethostbyname("localhost"), "localhost"),
    (lambda: socket.gethostbyname_ex("localhost"), "localhost"),
    (lambda: socket.gethostbyaddr(LOOPBACK), LOOPBACK),
    (lambda: socket.getnameinfo((LOOPBACK, 80), 0), "127.0.0.1:80"),
], ids=["getaddrinfo", "getaddrinfo-bytes", "gethostbyname", "gethostbyname_ex",
        "gethostbyaddr", "getnameinfo"])
def test_name_resolution_is_refused(call: Any, shown: str) -> None:
    offline.enable()
    with pytest.raises(OfflineError) as info:
        call()
    assert str(info.value).startswith("offline guard: socket.")
    assert str(info.value).endswith(f" refused ({shown})")


def test_local_calls_stay_allowed() -> None:
    offline.enable()
    assert socket.gethostname()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM):
        pass  # creating a socket sends nothing


# --- what stays allowed: AF_UNIX ------------------------------------------------------------

def test_socketpair_is_allowed() -> None:
    offline.enable()
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"local")
        assert right.recv(16) == b"local"


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX on this platform")
def test_unix_socket_connect_is_allowed(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    if len(path) > 100:
        pytest.skip("tmp_path too long for an AF_UNIX address")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        offline.enable()
        server.bind(path)
        server.listen(1)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
            conn, _ = server.accept()
            with conn:
                client.sendall(b"local")
                assert conn.recv(16) == b"local"


# --- switching ------------------------------------------------------------------------------

def test_enable_is_idempotent_and_disable_restores(tcp_server: socket.socket) -> None:
    port = _port(tcp_server)
    offline.enable()
    offline.enable()
    assert offline.is_enabled()
    offline.disable()
    assert not offline.is_enabled()
    with socket.create_connection((LOOPBACK, port), timeout=5):
        pass
    _accept_and_close(tcp_server)


def test_guard_enables_for_a_block_and_nests() -> None:
    assert not offline.is_enabled()
    with offline.guard():
        assert offline.is_enabled()
        with offline.guard():
            assert offline.is_enabled()
        assert offline.is_enabled()  # the outer block is still guarded
        with pytest.raises(OfflineError):
            socket.getaddrinfo("localhost", 80)
    assert not offline.is_enabled()


def test_guard_keeps_a_guard_that_was_already_on() -> None:
    offline.enable()
    with offline.guard():
        pass
    assert offline.is_enabled()


def test_guard_restores_after_an_exception() -> None:
    with pytest.raises(OfflineError):
        with offline.guard():
            socket.gethostbyname("localhost")
    assert not offline.is_enabled()


def test_guard_covers_other_threads(tcp_server: socket.socket) -> None:
    port = _port(tcp_server)
    caught: list[BaseException] = []

    def dial() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            try:
                client.connect((LOOPBACK, port))
            except OfflineError as exc:
                caught.append(exc)

    offline.enable()
    worker = threading.Thread(target=dial)
    worker.start()
    worker.join(10)
    assert len(caught) == 1
    assert not _readable(tcp_server)


# --- QSIGNER_OFFLINE ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["1", "true", "yes", "on", "TRUE", " On "])
def test_env_true(value: str) -> None:
    assert offline.enabled_from_env({"QSIGNER_OFFLINE": value}, default=False) is True


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "False", "OFF"])
def test_env_false(value: str) -> None:
    assert offline.enabled_from_env({"QSIGNER_OFFLINE": value}, default=True) is False


def test_env_unset_gives_default() -> None:
    assert offline.enabled_from_env({}, default=False) is False
    assert offline.enabled_from_env({}, default=True) is True
    assert offline.enabled_from_env({}) is True  # safe default: offline


@pytest.mark.parametrize("value", ["", "2", "maybe", "enabled", "y"])
def test_env_invalid_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="QSIGNER_OFFLINE") as info:
        offline.enabled_from_env({"QSIGNER_OFFLINE": value})
    assert info.value.variable == "QSIGNER_OFFLINE"


_CHILD = textwrap.dedent("""
    import json, os, socket, sys
    from qsigner import offline
    from qsigner.errors import OfflineError
    on = offline.enabled_from_env(os.environ, default=False)
    if on:
        offline.enable()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.connect(("127.0.0.1", int(sys.argv[1])))
            result = "connected"
        except OfflineError as exc:
            result = str(exc)
    print(json.dumps({"enabled": on, "result": result}))
""")


@pytest.mark.parametrize(("value", "enabled"), [("1", True), ("0", False)])
def test_subprocess_reads_qsigner_offline(tcp_server: socket.socket, value: str,
                                          enabled: bool) -> None:
    port = _port(tcp_server)
    env = {**os.environ, "QSIGNER_OFFLINE": value}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(port)], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(done.stdout)
    assert report["enabled"] is enabled
    if enabled:
        assert report["result"] == f"offline guard: socket.connect refused (127.0.0.1:{port})"
        assert not _readable(tcp_server)
    else:
        assert report["result"] == "connected"
        _accept_and_close(tcp_server)


def test_subprocess_with_invalid_qsigner_offline_fails() -> None:
    env = {**os.environ, "QSIGNER_OFFLINE": "maybe"}
    done = subprocess.run([sys.executable, "-c", _CHILD, "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ConfigError: QSIGNER_OFFLINE" in done.stderr


# --- second layer: unshare -n ---------------------------------------------------------------

_NAMESPACE_PROBE = textwrap.dedent("""
    import fcntl, json, socket, struct, sys
    SIOCGIFFLAGS, IFF_UP = 0x8913, 0x1
    names = [name for _, name in socket.if_nameindex()]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        raw = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, struct.pack("256s", b"lo"))
    lo_up = bool(struct.unpack("16sH", raw[:18])[1] & IFF_UP)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", int(sys.argv[1])))
            error = None
        except OSError as exc:
            error = exc.strerror or type(exc).__name__
    print(json.dumps({"interfaces": names, "lo_up": lo_up, "connect_error": error}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="network namespaces are Linux-only")
def test_unshare_n_leaves_no_usable_interface(tcp_server: socket.socket) -> None:
    port = _port(tcp_server)
    done = run_without_network([sys.executable, "-c", _NAMESPACE_PROBE, str(port)])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["interfaces"] == ["lo"]
    assert report["lo_up"] is False
    # Not even the host's loopback listener is reachable from inside.
    assert report["connect_error"] is not None
    assert not _readable(tcp_server)
