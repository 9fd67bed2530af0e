"""The ``qsigner`` command end to end, in subprocesses, as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

MNEMONIC = "abandon " * 11 + "about"
FOREIGN = "legal winner thank year wave sausage worth useful legal winner thank yellow"


def run(args: list[str], tmp: Path, *, stdin: str = "", **env: str) -> tuple[int, list[Any]]:
    """Run qsigner with only the given QSIGNER_* variables; return (status, JSON lines)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("QSIGNER_")}
    base["QSIGNER_DATA_DIR"] = str(tmp / "data")
    proc = subprocess.run([sys.executable, "-m", "qsigner.cli", *args], input=stdin,
                          env={**base, **env}, capture_output=True, text=True, timeout=120,
                          cwd=tmp)
    assert proc.stderr == "", proc.stderr
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.fixture(scope="module")
def unsigned(bitcoin: Any) -> str:
    return str(bitcoin.example_transaction(MNEMONIC, network="regtest"))


def test_version(tmp_path: Path) -> None:
    status, out = run(["version"], tmp_path)
    assert status == 0 and "bitcoin" in out[0]["coins"] and out[0]["version"]


def test_keygen_prints_secret_public_address(tmp_path: Path, bitcoin: Any) -> None:
    status, out = run(["--network", "regtest", "keygen"], tmp_path)
    assert status == 0 and set(out[0]) == {"secret", "public", "address"}
    assert bitcoin.derive_address(out[0]["public"], 0, network="regtest") == out[0]["address"]
    status, out = run(["keygen", "--entropy", "00" * 16], tmp_path, QSIGNER_NETWORK="mainnet")
    assert out[0]["secret"] == MNEMONIC.strip()


def test_derive_range_from_public_key(tmp_path: Path, bitcoin: Any) -> None:
    public = bitcoin.account_key(MNEMONIC, network="regtest", address_type="p2tr")
    status, out = run(["--network", "regtest", "derive", "--key", public, "--index", "5",
                       "--count", "3", "--change"], tmp_path)
    assert status == 0
    assert [o["index"] for o in out] == [5, 6, 7] and all(o["change"] for o in out)
    assert out[0]["path"] == "m/86h/1h/0h/1/5"
    assert out[1]["address"] == bitcoin.derive_address(MNEMONIC, 6, network="regtest",
                                                       change=True, address_type="p2tr")


def test_public_lists_every_type(tmp_path: Path) -> None:
    status, out = run(["public"], tmp_path, QSIGNER_NETWORK="regtest", QSIGNER_SECRET=MNEMONIC)
    assert status == 0
    assert [o["address_type"] for o in out] == ["p2wpkh", "p2sh-p2wpkh", "p2pkh", "p2tr"]
    assert out[0]["public"].startswith("[73c5da0a/84h/1h/0h]tpub")


def test_sign_from_stdin_and_file(tmp_path: Path, unsigned: str) -> None:
    status, out = run(["sign"], tmp_path, stdin=unsigned, QSIGNER_NETWORK="regtest",
                      QSIGNER_SECRET=MNEMONIC + "\n")
    assert status == 0 and set(out[0]) == {"psbt", "raw", "txid", "signed_inputs"}
    (tmp_path / "tx.psbt").write_text(unsigned)
    status, again = run(["sign", "tx.psbt"], tmp_path, QSIGNER_NETWORK="regtest",
                        QSIGNER_SECRET=MNEMONIC)
    assert again == out and out[0]["signed_inputs"] == [0, 1, 2, 3]


def test_refusal_exits_3_with_error_object(tmp_path: Path, unsigned: str) -> None:
    status, out = run(["sign"], tmp_path, stdin=unsigned, QSIGNER_NETWORK="regtest",
                      QSIGNER_SECRET=FOREIGN, QSIGNER_DATA_DIR=str(tmp_path / "foreign"))
    assert status == 3 and out[0]["error"]["type"] == "NothingToSignError"
    status, out = run(["sign"], tmp_path, stdin=unsigned, QSIGNER_NETWORK="regtest",
                      QSIGNER_SECRET=MNEMONIC, QSIGNER_MAX_FEE_SAT="100")
    assert status == 3 and out[0]["error"]["type"] == "FeeError"


def test_malformed_input_exits_1(tmp_path: Path) -> None:
    status, out = run(["sign"], tmp_path, stdin="garbage", QSIGNER_NETWORK="regtest",
                      QSIGNER_SECRET=MNEMONIC)
    assert status == 1 and out[0]["error"]["type"] == "InputError"


@pytest.mark.parametrize("env, variable", [
    ({}, "QSIGNER_NETWORK"),
    ({"QSIGNER_NETWORK": "regtest"}, "QSIGNER_SECRET"),
    ({"QSIGNER_NETWORK": "regtest", "QSIGNER_SECRET": MNEMONIC, "QSIGNER_SECRET_FILE": "x"},
     "QSIGNER_SECRET"),
    ({"QSIGNER_NETWORK": "regtest", "QSIGNER_SECRET": MNEMONIC, "QSIGNER_MAX_FEE_SAT": "lots"},
     "QSIGNER_MAX_FEE_SAT"),
    ({"QSIGNER_NETWORK": "regtest", "QSIGNER_SECRET": MNEMONIC, "QSIGNER_OFFLINE": "maybe"},
     "QSIGNER_OFFLINE"),
])
def test_configuration_errors_exit_2_naming_the_variable(tmp_path: Path, unsigned: str,
                                                         env: dict[str, str],
                                                         variable: str) -> None:
    status, out = run(["sign"], tmp_path, stdin=unsigned, **env)
    assert status == 2 and out[0]["error"]["type"] == "ConfigError"
    assert variable in out[0]["error"]["message"]
    assert MNEMONIC.split()[-1] not in json.dumps(out)


def test_secret_file_rules(tmp_path: Path, unsigned: str) -> None:
    secret = tmp_path / "seed"
    secret.write_text(MNEMONIC + "\n")
    secret.chmod(0o600)
    status, out = run(["sign"], tmp_path, stdin=unsigned, QSIGNER_NETWORK="regtest",
                      QSIGNER_SECRET_FILE=str(secret))
    assert status == 0 and out[0]["raw"]
    secret.chmod(0o644)
    status, out = run(["sign"], tmp_path, stdin=unsigned, QSIGNER_NETWORK="regtest",
                      QSIGNER_SECRET_FILE=str(secret))
    assert status == 2 and "readable by group or others" in out[0]["error"]["message"]
    status, out = run(["sign"], tmp_path, stdin=unsigned, QSIGNER_NETWORK="regtest",
                      QSIGNER_SECRET_FILE=str(tmp_path / "missing"))
    assert status == 2 and out[0]["error"]["type"] == "ConfigError"


def test_passphrase_changes_the_seed(tmp_path: Path, unsigned: str) -> None:
    status, out = run(["sign"], tmp_path, stdin=unsigned, QSIGNER_NETWORK="regtest",
                      QSIGNER_SECRET=MNEMONIC, QSIGNER_PASSPHRASE="TREZOR")
    assert status == 3 and out[0]["error"]["type"] == "NothingToSignError"


def test_demo_runs(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "qsigner.cli", "demo"], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith("QSIGNER_")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("libbitcoinkernel") == 2 and "demo finished" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_offline_example_script_runs(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "examples" / "offline_sign.py"
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "txid:" in proc.stdout and "signed inputs: [0, 1, 2, 3]" in proc.stdout


def test_operator_guide_documents_every_variable() -> None:
    from qsigner.config import VARIABLES
    guide = (Path(__file__).resolve().parents[2] / "docs" / "operator.md").read_text()
    for setting in VARIABLES:
        assert f"`{setting.variable}`" in guide and f"`{setting.flag}`" in guide, setting
    for variable in ("QSIGNER_SECRET_FILE", "QSIGNER_PASSPHRASE_FILE", "QSIGNER_PUBLIC_KEY"):
        assert variable in guide


def test_help_is_there_for_newcomers(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "qsigner.cli", "--help"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0 and "first steps" in proc.stdout and "watcher-export" in proc.stdout


def test_watcher_export_is_importdescriptors_json(tmp_path: Path) -> None:
    from coins.bitcoin.descriptors import check_checksum
    status, out = run(["watcher-export"], tmp_path, QSIGNER_NETWORK="regtest",
                      QSIGNER_SECRET=MNEMONIC)
    assert status == 0 and len(out) == 1 and len(out[0]) == 8
    for entry in out[0]:
        assert set(entry) == {"desc", "active", "internal", "range", "timestamp"}
        assert entry["active"] is True and entry["range"] == [0, 999]
        check_checksum(entry["desc"])
    assert [e["internal"] for e in out[0][:2]] == [False, True]
    assert out[0][0]["desc"].startswith("wpkh([73c5da0a/84h/1h/0h]tpub") and "/0/*)#" in out[0][0]["desc"]
    # Later, without the secret, the pinned export is printed from the key store.
    status, again = run(["watcher-export"], tmp_path, QSIGNER_NETWORK="regtest")
    assert status == 0 and again == out


def test_a_plugin_bug_shows_its_type_not_its_text(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from qsigner.cli import main
    plugin = tmp_path / "buggy.py"
    plugin.write_text(
        "class Buggy:\n"
        "    name = 'buggy'\n    networks = ('mainnet',)\n    address_types = ('plain',)\n"
        "    def generate_keypair(self, *, network, entropy=None, **options): ...\n"
        "    def derive_address(self, key, index, *, network, change=False, **options):\n"
        "        raise RuntimeError('oops ' + key)\n"
        "    def sign_transaction(self, transaction, secret, *, network, **options): ...\n"
        "plugin = Buggy()\n")
    env = {"QSIGNER_COIN": str(plugin), "QSIGNER_NETWORK": "mainnet"}
    assert main(["derive", "--key", "very secret words"], env) == 1
    out = capsys.readouterr().out
    assert '"InternalError"' in out and "RuntimeError" in out and "secret" not in \
        out.replace("may hold secrets", "")
