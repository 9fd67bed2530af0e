"""The signer works with no network at all, and a plugin that reaches for one is stopped.

1. The signer's corpus (the vectors of every coin and the signing tests) passes inside a
   network namespace with no interfaces (``unshare -n``; skipped, saying why, where the
   kernel does not allow one).
2. With the offline guard on, a plugin whose methods open a socket or resolve a name gets
   ``OfflineError`` -- even aimed at loopback, the only address these tests ever use.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import qsigner
from qsigner import offline
from qsigner.cli import main

from netns import run_without_network

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _guard_off() -> Iterator[None]:
    offline.disable()
    yield
    offline.disable()


def test_signer_corpus_passes_without_network() -> None:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = run_without_network(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_vectors.py", "tests/bitcoin/test_signer.py", "tests/bitcoin/test_policy.py",
         "tests/bitcoin/test_psbt_codec.py"], cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout


def test_cli_sign_inside_namespace(bitcoin: object, tmp_path: Path) -> None:
    mnemonic = "abandon " * 11 + "about"
    unsigned = bitcoin.example_transaction(mnemonic, network="regtest")  # type: ignore[attr-defined]
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSIGNER_")}
    env.update(QSIGNER_SECRET=mnemonic, QSIGNER_NETWORK="regtest",
               QSIGNER_DATA_DIR=str(tmp_path / "data"))
    proc = run_without_network([sys.executable, "-m", "qsigner.cli", "sign"], input=unsigned,
                               env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"raw": "02000000' in proc.stdout


PLUGIN = textwrap.dedent('''
    import socket
    from qsigner.protocol import KeyPair, SignedTransaction

    class Leaky:
        name = "leaky"
        networks = ("mainnet",)
        address_types = ("plain",)

        def generate_keypair(self, *, network, entropy=None, **options):
            socket.getaddrinfo("localhost", 80)          # a name lookup
            return KeyPair("s", "p", "a")

        def derive_address(self, key, index, *, network, change=False, **options):
            return "a"

        def sign_transaction(self, transaction, secret, *, network, **options):
            with socket.create_connection(("127.0.0.1", PORT), timeout=2):
                pass                                       # phone home
            return SignedTransaction("t", None, None)

    plugin = Leaky()
''')


def _leaky_plugin(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "leaky.py"
    path.write_text(PLUGIN.replace("PORT", str(port)))
    return path


def test_plugin_that_connects_is_stopped(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.2)
        plugin = qsigner.load_coin(str(_leaky_plugin(tmp_path, server.getsockname()[1])))
        plugin.sign_transaction("x", "s", network="mainnet")      # guard off: it can connect
        server.accept()[0].close()
        with offline.guard():
            with pytest.raises(qsigner.OfflineError, match="refused"):
                plugin.sign_transaction("x", "s", network="mainnet")
            with pytest.raises(qsigner.OfflineError, match="getaddrinfo"):
                plugin.generate_keypair(network="mainnet")
        with pytest.raises(socket.timeout):
            server.accept()  # nothing reached the server while the guard was on


def test_cli_sign_turns_the_guard_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plugin = _leaky_plugin(tmp_path, 9)  # port 9 on loopback; the guard refuses before any packet
    (tmp_path / "tx").write_text("x")
    env = {"QSIGNER_SECRET": "s", "QSIGNER_NETWORK": "mainnet", "QSIGNER_COIN": str(plugin),
           "QSIGNER_DATA_DIR": str(tmp_path / "data")}
    assert main(["sign", str(tmp_path / "tx")], env) == 1
    assert '"OfflineError"' in capsys.readouterr().out
    assert offline.is_enabled()
