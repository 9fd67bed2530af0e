"""The data directory: key store bootstrap, wrong-seed refusal, audit log, re-sign guard,
permissions, the lock, atomic writes under kill -9, and no state anywhere else."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from qsigner import audit
from qsigner.datadir import DataDir
from qsigner.errors import ConfigError, ResignError, StateError
from qsigner.keystore import bootstrap, keystore_name, load_keystore

MNEMONIC = "abandon " * 11 + "about"
OTHER = "legal winner thank year wave sausage worth useful legal winner thank yellow"


def cli(args: list[str], cwd: Path, data: Path, *, stdin: str = "", secret: str = MNEMONIC,
        **env: str) -> tuple[int, list[Any]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("QSIGNER_")}
    base.update(QSIGNER_NETWORK="regtest", QSIGNER_DATA_DIR=str(data), QSIGNER_SECRET=secret,
                HOME=str(cwd / "home"), XDG_CACHE_HOME=str(cwd / "cache"), **env)
    proc = subprocess.run([sys.executable, "-m", "qsigner.cli", *args], input=stdin, env=base,
                          capture_output=True, text=True, timeout=120, cwd=cwd)
    lines = proc.stdout.splitlines()
    return proc.returncode, [json.loads(x) for x in lines] if args != ["demo"] else lines


@pytest.fixture(scope="module")
def unsigned(bitcoin: Any) -> str:
    return str(bitcoin.example_transaction(MNEMONIC, network="regtest"))


def test_bootstrap_pins_fingerprint_and_public_keys(bitcoin: Any, tmp_path: Path) -> None:
    with DataDir(tmp_path / "d") as datadir:
        store = bootstrap(datadir, bitcoin, MNEMONIC, "regtest")
        assert store.fingerprint == "73c5da0a"
        assert store.accounts["p2tr/0"].startswith("[73c5da0a/86h/1h/0h]tpub")
        again = load_keystore(datadir, "bitcoin", "regtest")
        assert again is not None and again.accounts == store.accounts
        text = datadir.file(keystore_name("bitcoin", "regtest")).read_text()
        assert "abandon" not in text and "prv" not in text
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o700
    for path in (tmp_path / "d").iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_wrong_seed_is_refused(bitcoin: Any, tmp_path: Path, unsigned: str) -> None:
    data = tmp_path / "data"
    assert cli(["public"], tmp_path, data)[0] == 0
    status, out = cli(["sign"], tmp_path, data, stdin=unsigned, secret=OTHER)
    assert status == 2 and out[0]["error"]["type"] == "ConfigError"
    assert "differs from the one pinned" in out[0]["error"]["message"]
    with DataDir(data) as datadir, pytest.raises(ConfigError, match="QSIGNER_SECRET"):
        bootstrap(datadir, bitcoin, MNEMONIC, "regtest", passphrase="TREZOR")


@pytest.mark.parametrize("damage", [b"", b"{", b'{"schema": "qsigner-keystore/1"}', b"\x00" * 40,
                                    b'["not", "an", "object"]'])
def test_corrupt_key_store_is_refused_never_reset(tmp_path: Path, unsigned: str,
                                                  damage: bytes) -> None:
    data = tmp_path / "data"
    assert cli(["public"], tmp_path, data)[0] == 0
    path = data / keystore_name("bitcoin", "regtest")
    path.write_bytes(damage)
    status, out = cli(["sign"], tmp_path, data, stdin=unsigned)
    assert status == 1 and out[0]["error"]["type"] == "StateError"
    assert path.read_bytes() == damage, "the corrupt file was rewritten"


def test_audit_records_every_decision(tmp_path: Path, unsigned: str) -> None:
    data = tmp_path / "data"
    assert cli(["sign"], tmp_path, data, stdin=unsigned)[0] == 0
    assert cli(["sign"], tmp_path, data, stdin=unsigned, QSIGNER_MAX_FEE_SAT="10")[0] == 3
    assert cli(["sign"], tmp_path, data, stdin="junk")[0] == 1
    lines = [json.loads(x) for x in (data / "audit.jsonl").read_text().splitlines()]
    assert [e["result"] for e in lines] == ["signed", "refused", "refused"]
    signed, fee, junk = lines
    assert signed["txid"] and signed["signed_inputs"] == [0, 1, 2, 3] and signed["fee"] == 4000
    assert len(signed["inputs"]) == 4 and len(signed["outputs"]) == 2
    assert fee["error"]["type"] == "FeeError" and fee["request_sha256"] == signed["request_sha256"]
    assert junk["error"]["type"] == "InputError" and "inputs" not in junk


def test_resign_guard(bitcoin: Any, tmp_path: Path, unsigned: str) -> None:
    data = tmp_path / "data"
    assert cli(["sign"], tmp_path, data, stdin=unsigned)[0] == 0
    assert cli(["sign"], tmp_path, data, stdin=unsigned)[0] == 0  # same tx again: idempotent
    # The same coins in a different transaction (another payment amount):
    from coins.bitcoin.example import example_psbt
    from coins.bitcoin.networks import NETWORKS
    other = example_psbt(MNEMONIC, NETWORKS["regtest"], payment=150_000).to_base64()
    status, out = cli(["sign"], tmp_path, data, stdin=other)
    assert status == 3 and out[0]["error"]["type"] == "ResignError"
    assert cli(["sign"], tmp_path, data, stdin=other, QSIGNER_ALLOW_RESIGN="1")[0] == 0
    with DataDir(data) as datadir, pytest.raises(ResignError):
        audit.check_resign(datadir, "bitcoin", "regtest",
                           bitcoin.describe_transaction(
                               example_psbt(MNEMONIC, NETWORKS["regtest"],
                                            payment=120_000).to_base64(), network="regtest"),
                           allow=False)


def test_torn_audit_log_is_refused(tmp_path: Path, unsigned: str) -> None:
    data = tmp_path / "data"
    assert cli(["sign"], tmp_path, data, stdin=unsigned)[0] == 0
    with open(data / "audit.jsonl", "ab") as log:
        log.write(b'{"result": "sig')
    status, out = cli(["sign"], tmp_path, data, stdin=unsigned)
    assert status == 1 and out[0]["error"]["type"] == "StateError"


def test_data_dir_permissions_and_lock(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    with pytest.raises(ConfigError, match="chmod 700"):
        DataDir(loose).open()
    with DataDir(tmp_path / "d"):
        with pytest.raises(ConfigError, match="locked by another"):
            DataDir(tmp_path / "d").open()
        status, out = cli(["public"], tmp_path, tmp_path / "d")
        assert status == 2 and "locked" in out[0]["error"]["message"]
    with DataDir(tmp_path / "d"):
        pass  # released


def test_nothing_written_outside_the_data_dir(tmp_path: Path, unsigned: str) -> None:
    data = tmp_path / "data"
    for args, stdin in ((["public"], ""), (["derive", "--count", "3"], ""),
                        (["watcher-export"], ""), (["sign"], unsigned), (["sign"], "junk"),
                        (["keygen"], ""), (["demo"], "")):
        cli(args, tmp_path, data, stdin=stdin)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert sorted(p.name for p in data.iterdir()) == ["audit.jsonl",
                                                       "keystore-bitcoin-regtest.json", "lock"]


WRITER = """
import sys, itertools
from qsigner.datadir import DataDir
d = DataDir(sys.argv[1]).open()
for n in itertools.count():
    d.write_atomic("state.json", (('{"n": %d, "pad": "' % n) + "x" * (n % 5000) + '"}').encode())
"""


def test_kill_9_during_writes_leaves_a_loadable_state(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with DataDir(data) as datadir:
        datadir.write_atomic("state.json", b'{"n": -1, "pad": ""}')
    unreadable = 0
    for trial in range(40):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(data)])
        time.sleep(0.15 + (trial % 7) * 0.013)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        try:
            json.loads((data / "state.json").read_bytes())
        except ValueError:
            unreadable += 1
    assert unreadable == 0
