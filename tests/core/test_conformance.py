"""The conformance kit: Bitcoin passes it, each broken plugin and the scaffold fail it, saying why.

The broken plugins (``broken_plugins/``, test-only) each wrap the Bitcoin plugin with one
defect; the kit runs on each by path, as ``qsigner check`` would. Both front ends are
exercised: the ``qsigner check`` functions (``commands.py``) and the pytest plugin, the latter
in a subprocess so that it runs as ``pytest --qsigner-plugin bitcoin`` does.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import socket
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import qsigner
from qsigner import offline
from qsigner.conformance import KitSettings, load_file, run_kit
from qsigner.conformance.commands import COMMANDS, add_commands
from qsigner.conformance.report import format_text, to_json, to_junit
from qsigner.conformance.runner import GROUPS, KitReport
from qsigner.conformance.scaffold import new_plugin
from qsigner.errors import ConfigError

BROKEN = Path(__file__).resolve().parent / "broken_plugins"
QUICK = KitSettings(keys=1, indices=1, garbage=2)


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``argv`` with only the kit's commands registered, as qsigner.cli registers them."""
    parser = argparse.ArgumentParser(prog="qsigner")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def bitcoin_report() -> KitReport:
    return run_kit("bitcoin")


def test_bitcoin_passes_every_check(bitcoin_report: KitReport) -> None:
    report = bitcoin_report
    assert report.passed, format_text(report)
    assert {c.group for c in report.checks} == set(GROUPS)
    assert report.counts()["skip"] == 0
    for check_id in ("protocol/load", "vectors/coverage", "properties/secret-vs-public",
                     "properties/signing-deterministic", "verification/signatures",
                     "offline/no-network", "secrets/no-leak", "secrets/no-files"):
        assert report.check(check_id).status == "pass"
    assert "libbitcoinkernel" in report.check("verification/signatures").message
    assert {t.operation for t in report.timings} >= {"generate_keypair", "derive_address",
                                                    "sign_transaction"}


@pytest.mark.parametrize("coin, verifier", [("litecoin", "libbitcoinkernel"),
                                            ("ethereum", "eth-account")])
def test_other_reference_plugins_pass_the_kit(coin: str, verifier: str) -> None:
    report = run_kit(coin)
    assert report.passed, format_text(report)
    assert report.check("vectors/coverage").status == "pass"
    assert verifier in report.check("verification/signatures").message


def test_kit_leaves_the_process_as_it_found_it(tmp_path: Path) -> None:
    before = (logging.Logger.isEnabledFor, logging.Logger.handle, offline.is_enabled(),
              logging.getLogger().level)
    run_kit(str(new_plugin("mycoin", "utxo", tmp_path) / "qsigner_mycoin"), settings=QUICK)
    assert (logging.Logger.isEnabledFor, logging.Logger.handle, offline.is_enabled(),
            logging.getLogger().level) == before


def test_reports_in_three_formats(bitcoin_report: KitReport) -> None:
    text = format_text(bitcoin_report)
    assert "PASSED" in text and "timing" in text and "secrets/no-leak" in text
    data = json.loads(to_json(bitcoin_report))
    assert data["schema"] == "qsigner-kit-report/1" and data["passed"] is True
    assert len(data["checks"]) == len(bitcoin_report.checks)
    suite = ET.fromstring(to_junit(bitcoin_report)).find("testsuite")
    assert suite is not None
    assert suite.get("tests") == str(len(bitcoin_report.checks)) and suite.get("failures") == "0"


def test_same_seed_same_report() -> None:
    first, second = run_kit("bitcoin", seed=7, settings=QUICK), run_kit("bitcoin", seed=7,
                                                                         settings=QUICK)
    assert [(c.id, c.status, c.message) for c in first.checks] == \
        [(c.id, c.status, c.message) for c in second.checks]


BROKEN_CASES = [
    ("wrong_index.py", "properties/keypair-address", "must be one address"),
    ("nondeterministic_keygen.py", "properties/keygen-deterministic", "two different secrets"),
    ("random_module_keys.py", "properties/keygen-random", "not from the random module"),
    ("secret_in_error.py", "secrets/no-leak", "the whole secret of key pair"),
    ("crash_on_bad_input.py", "properties/bad-input-derive_address",
     "raised IndexError: list index out of range, not a QsignerError"),
    ("exits_on_bad_input.py", "properties/bad-input-derive_address",
     r"raised PluginExitError: called sys.exit\('negative index'\)"),
    ("bad_signature.py", "verification/signatures", "signature is invalid"),
    ("logs_secret.py", "secrets/no-leak", "in log text of generate_keypair"),
    ("quotes_a_word.py", "secrets/no-leak", r"1 word\(s\) of the secret"),
]


@pytest.mark.parametrize(("module", "check_id", "reason"), BROKEN_CASES,
                         ids=[c[0] for c in BROKEN_CASES])
def test_kit_catches_broken_plugin(module: str, check_id: str, reason: str) -> None:
    report = run_kit(str(BROKEN / module), settings=QUICK)
    assert not report.passed
    check = report.check(check_id)
    assert check.status == "fail", format_text(report)
    assert re.search(reason, check.message), check.message
    assert "abandon abandon" not in check.message or check.group == "vectors"


def test_the_failures_are_precise() -> None:
    only = {"crash_on_bad_input.py": {"properties/bad-input-derive_address"},
            "logs_secret.py": {"secrets/no-leak"}}
    for module, expected in only.items():
        report = run_kit(str(BROKEN / module), settings=QUICK)
        assert {c.id for c in report.failures} == expected, format_text(report)


def test_network_use_inside_sign_is_caught_and_nothing_leaves() -> None:
    with socket.socket() as server:  # loopback only, and the guard refuses before a packet
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.1)
        plugin = qsigner.load_coin(str(BROKEN / "network_in_sign.py"))
        sys.modules[type(plugin).__module__].PORT = server.getsockname()[1]  # type: ignore[attr-defined]
        report = run_kit(plugin, settings=QUICK)
        with pytest.raises(socket.timeout):
            server.accept()
    assert {c.id for c in report.failures} == {"offline/no-network"}, format_text(report)
    assert "sign_transaction" in report.failures[0].message
    assert "socket.connect" in report.failures[0].message
    assert "127.0.0.1" in report.failures[0].message


def test_a_plugin_that_fails_to_load_fails_protocol(tmp_path: Path) -> None:
    path = tmp_path / "nameless.py"
    path.write_text("class P:\n    networks = ('x',)\n    address_types = ('y',)\nplugin = P()\n")
    report = run_kit(str(path))
    assert [c.id for c in report.failures] == ["protocol/load"]
    assert "attribute 'name'" in report.failures[0].message


@pytest.mark.parametrize("family", ["utxo", "account"])
def test_scaffold_fails_the_kit_saying_what_is_missing(tmp_path: Path, family: str) -> None:
    root = new_plugin("mycoin", family, tmp_path)
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["qsigner.coins"] == {
        "mycoin": "qsigner_mycoin:plugin"}
    for vectors in (root / "vectors" / "mycoin").glob("*.json"):
        assert load_file(vectors)  # the example vectors follow the schema
    report = run_kit(str(root / "qsigner_mycoin"), settings=QUICK)
    assert not report.passed
    assert report.check("protocol/load").status == "pass"
    assert report.check("protocol/implemented").message == (
        "not implemented yet: generate_keypair, derive_address, sign_transaction")
    assert "REPLACE" in report.check("vectors/coverage").message
    assert "not implemented yet: generate_keypair" in report.check(
        "properties/keygen-deterministic").message
    assert "nothing could be verified" in report.check("verification/signatures").message
    assert report.check("offline/no-network").status == "pass"
    assert "not implemented yet: derive_address" in format_text(report)


def test_scaffold_refuses_bad_names_and_used_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lower-case identifier"):
        new_plugin("My-Coin", "utxo", tmp_path)
    with pytest.raises(ConfigError, match="family"):
        new_plugin("mycoin", "dag", tmp_path)
    new_plugin("mycoin", "utxo", tmp_path)
    with pytest.raises(ConfigError, match="not empty"):
        new_plugin("mycoin", "utxo", tmp_path)


def test_cli_check_writes_reports_and_sets_the_exit_status(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quick = ["--keys", "1", "--indices", "1", "--garbage", "1"]
    args = parse(["check", "bitcoin", "--report", str(tmp_path / "kit.json"),
                  "--junit", str(tmp_path / "kit.xml"), *quick])
    assert COMMANDS["check"](args, {}) == 0
    assert "PASSED" in capsys.readouterr().out
    assert json.loads((tmp_path / "kit.json").read_text())["passed"] is True
    assert ET.parse(tmp_path / "kit.xml").getroot().tag == "testsuites"
    args = parse(["check", str(BROKEN / "crash_on_bad_input.py"), "--format", "json", *quick])
    assert COMMANDS["check"](args, {}) == 1
    assert json.loads(capsys.readouterr().out)["summary"]["fail"] == 1
    with pytest.raises(ConfigError, match="--vectors"):
        COMMANDS["check"](parse(["check", "bitcoin", "--vectors", str(tmp_path / "none")]), {})


def test_cli_new_plugin_prints_where_and_what_next(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(["new-plugin", "mycoin", "--family", "account", "--dir", str(tmp_path)])
    assert COMMANDS["new-plugin"](args, {}) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["created"] == str(tmp_path / "qsigner-mycoin")
    assert "qsigner_mycoin/plugin.py" in out["files"] and "qsigner check" in out["next"]


def _pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSIGNER_", "PYTEST_"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_pytest_front_end_runs_bitcoin_through_the_kit(tmp_path: Path) -> None:
    proc = _pytest(["--qsigner-plugin", "bitcoin", "-rA"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "qsigner-check[bitcoin]::verification/signatures" in proc.stdout
    assert "qsigner check bitcoin" in proc.stdout and " passed" in proc.stdout


def test_pytest_front_end_fails_a_broken_plugin(tmp_path: Path) -> None:
    target = str(BROKEN / "bad_signature.py")
    proc = _pytest(["--qsigner-plugin", target, "-k", "verification"], tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "verification/signatures failed" in proc.stdout
    assert "signature is invalid" in proc.stdout
