"""The entrypoints run for real, outside Docker, against stub binaries in a temporary PATH.

bitcoind's entrypoint: the bitcoin.conf it writes for given variables (the network's
section, ``_FILE`` secrets, an rpcauth line whose HMAC is checked here with Python, never
the password), its refusal of bad variables (exit 2, naming the variable, nothing
written, bitcoind not started), ``exec`` (bitcoind keeps the entrypoint's PID, so SIGTERM
reaches it) and the background import of qsigner's watcher-export.
qsigner's entrypoint: which qsigner command it hands over to, its refusals, the healthcheck.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from docker_helpers import ENTRYPOINTS

STUB_BITCOIND = """#!/bin/sh
echo "$$" > "$STUB_DIR/bitcoind.pid"
printf '%s\\n' "$@" > "$STUB_DIR/bitcoind.args"
env > "$STUB_DIR/bitcoind.env"
"""
STUB_CLI = """#!/bin/sh
stdin=""
for a in "$@"; do [ "$a" = -stdin ] && stdin=$(cat); done
method=""
for a in "$@"; do case "$a" in -*) ;; *) method=$a; break ;; esac; done
printf '%s\\t%s\\n' "$*" "$stdin" >> "$STUB_DIR/cli.log"
case "$method" in
    getblockchaininfo) echo '{"chain": "regtest"}' ;;
    listwallets) echo "${STUB_WALLETS:-[]}" ;;
    loadwallet) echo 'error code: -18' >&2; exit 18 ;;
    createwallet) echo '{"name": "watch"}' ;;
    importdescriptors) printf '[\\n  {\\n    "success": %s\\n  }\\n]\\n' "${STUB_SUCCESS:-true}" ;;
    *) exit 1 ;;
esac
"""
STUB_QSIGNER = """#!/bin/sh
echo "$$ $*" > "$STUB_DIR/qsigner.call"
"""
EXPORT = [{"desc": "wpkh([73c5da0a/84h/1h/0h]tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4"
                   "NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M/0/*)#2ag6nxcd",
           "active": True, "internal": False, "range": [0, 999], "timestamp": "now"}]


@dataclass
class Run:
    """One run of an entrypoint: its status, output and the files it left."""

    status: int
    stdout: str
    stderr: str
    stubs: Path
    data: Path

    @property
    def conf(self) -> str:
        return (self.data / "bitcoin.conf").read_text()

    def sections(self) -> dict[str, dict[str, list[str]]]:
        """Return {section ("" for the top): {option: [values]}} of bitcoin.conf."""
        result: dict[str, dict[str, list[str]]] = {"": {}}
        section = ""
        for line in self.conf.splitlines():
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                result[section] = {}
                continue
            key, _, value = line.partition("=")
            result[section].setdefault(key, []).append(value)
        return result


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    folder = tmp_path / "stubs"
    folder.mkdir()
    for name, text in (("bitcoind", STUB_BITCOIND), ("bitcoin-cli", STUB_CLI),
                       ("qsigner", STUB_QSIGNER)):
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder


def run_entrypoint(image: str, stubs: Path, *args: str, **env: str) -> Run:
    """Run an entrypoint with only the given variables, the stubs first on PATH."""
    data = stubs.parent / "data"
    data.mkdir(mode=0o700, exist_ok=True)
    base = {"PATH": f"{stubs}:/usr/bin:/bin", "STUB_DIR": str(stubs),
            "BITCOIN_DATA_DIR": str(data), "QSIGNER_DATA_DIR": str(data)}
    proc = subprocess.Popen(["/bin/sh", str(ENTRYPOINTS[image]), *args], env={**base, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=60)  # also waits for the detached importer
    pid_file = stubs / f"{'bitcoind' if image == 'bitcoind' else 'qsigner'}.pid"
    if pid_file.exists():
        assert int(pid_file.read_text()) == proc.pid, "the entrypoint must exec, not fork"
    return Run(proc.returncode, stdout, stderr, stubs, data)


@pytest.fixture(autouse=True)
def _needs_sh_tools() -> None:
    for name in ("openssl", "od", "sha256sum", "stat"):
        if shutil.which(name) is None:
            pytest.skip(f"{name} not found; the bitcoind image installs it, this host lacks it")


# ---- bitcoind: the config ----

@pytest.mark.parametrize("network,section,port", [
    ("mainnet", "main", "8332"), ("testnet", "test", "18332"), ("testnet4", "testnet4", "48332"),
    ("signet", "signet", "38332"), ("regtest", "regtest", "18443")])
def test_network_section_and_port(stubs: Path, network: str, section: str, port: str) -> None:
    run = run_entrypoint("bitcoind", stubs, BITCOIN_NETWORK=network)
    assert run.status == 0, run.stderr
    sections = run.sections()
    assert sections[""] == {"chain": [section]}  # only the chain outside the section
    assert set(sections) == {"", section}
    options = sections[section]
    assert options["rpcport"] == [port] and options["server"] == ["1"]
    assert options["rpcbind"] == ["0.0.0.0"] and "127.0.0.1" in options["rpcallowip"]
    assert "rpcauth" not in options  # no user: cookie authentication only
    assert (run.stubs / "bitcoind.args").read_text().split() == \
        [f"-datadir={run.data}", f"-conf={run.data}/bitcoin.conf"]


def test_regtest_is_the_default(stubs: Path) -> None:
    run = run_entrypoint("bitcoind", stubs)
    assert run.status == 0 and run.sections()[""] == {"chain": ["regtest"]}


def _check_rpcauth(line: str, user: str, password: str) -> None:
    match = re.fullmatch(r"([^:]+):([0-9a-f]{32})\$([0-9a-f]{64})", line)
    assert match, line
    assert match.group(1) == user
    salt, digest = match.group(2), match.group(3)
    # share/rpcauth/rpcauth.py: HMAC-SHA256 keyed with the salt (as text) over the password
    assert hmac.new(salt.encode(), password.encode(), hashlib.sha256).hexdigest() == digest


def test_rpcauth_from_a_password_file(stubs: Path, tmp_path: Path) -> None:
    password = "correct horse $battery 'staple' \\ ünïcode"
    secret = tmp_path / "rpc-password"
    secret.write_text(password + "\n")  # the trailing newline is not part of it
    run = run_entrypoint("bitcoind", stubs, BITCOIN_NETWORK="mainnet", BITCOIN_RPC_USER="alice",
                         BITCOIN_RPC_PASSWORD_FILE=str(secret))
    assert run.status == 0, run.stderr
    auth = run.sections()["main"]["rpcauth"]
    assert len(auth) == 1
    _check_rpcauth(auth[0], "alice", password)
    assert "battery" not in run.conf and "rpcpassword" not in run.conf
    assert "battery" not in run.stderr + run.stdout
    assert (run.data / "bitcoin.conf").stat().st_mode & 0o777 == 0o600
    assert "battery" not in (run.stubs / "bitcoind.env").read_text()


def test_rpcauth_from_the_variable_and_a_new_salt_each_start(stubs: Path) -> None:
    first = run_entrypoint("bitcoind", stubs, BITCOIN_RPC_USER="bob", BITCOIN_RPC_PASSWORD="pw")
    salt = first.sections()["regtest"]["rpcauth"][0]
    _check_rpcauth(salt, "bob", "pw")
    assert "BITCOIN_RPC_PASSWORD" not in (first.stubs / "bitcoind.env").read_text()
    second = run_entrypoint("bitcoind", stubs, BITCOIN_RPC_USER="bob", BITCOIN_RPC_PASSWORD="pw",
                            BITCOIN_NETWORK="signet", BITCOIN_PRUNE="550", BITCOIN_DBCACHE="300")
    options = second.sections()["signet"]
    assert options["rpcauth"][0] != salt  # rewritten at every start, from the environment
    assert options["prune"] == ["550"] and options["dbcache"] == ["300"]
    assert "regtest" not in second.conf


def test_other_settings_land_in_the_section(stubs: Path) -> None:
    run = run_entrypoint("bitcoind", stubs, BITCOIN_NETWORK="testnet4", BITCOIN_TXINDEX="yes",
                         BITCOIN_LISTEN="0", BITCOIN_FALLBACKFEE="0.0002",
                         BITCOIN_RPC_ALLOWIP="10.1.0.0/16,127.0.0.1", BITCOIN_RPC_PORT="9999",
                         BITCOIN_EXTRA_CONF="maxconnections=16\n# note\nblocksonly=1")
    assert run.status == 0, run.stderr
    options = run.sections()["testnet4"]
    assert options["txindex"] == ["1"] and options["listen"] == ["0"]
    assert options["fallbackfee"] == ["0.0002"] and options["rpcport"] == ["9999"]
    assert options["rpcallowip"] == ["10.1.0.0/16", "127.0.0.1"]
    assert options["maxconnections"] == ["16"] and options["blocksonly"] == ["1"]


BAD = [
    ({"BITCOIN_NETWORK": "main"}, "BITCOIN_NETWORK"),
    ({"BITCOIN_RPC_PORT": "84a"}, "BITCOIN_RPC_PORT"),
    ({"BITCOIN_RPC_PORT": "70000"}, "BITCOIN_RPC_PORT"),
    ({"BITCOIN_RPC_USER": "a:b", "BITCOIN_RPC_PASSWORD": "x"}, "BITCOIN_RPC_USER"),
    ({"BITCOIN_RPC_USER": "a\nrpcuser=x", "BITCOIN_RPC_PASSWORD": "x"}, "BITCOIN_RPC_USER"),
    ({"BITCOIN_RPC_USER": "alice"}, "BITCOIN_RPC_PASSWORD"),
    ({"BITCOIN_RPC_PASSWORD": "x"}, "BITCOIN_RPC_USER"),
    ({"BITCOIN_RPC_USER": "a", "BITCOIN_RPC_PASSWORD": "x", "BITCOIN_RPC_PASSWORD_FILE": "/f"},
     "BITCOIN_RPC_PASSWORD_FILE"),
    ({"BITCOIN_RPC_USER": "a", "BITCOIN_RPC_PASSWORD_FILE": "/nonexistent/pw"},
     "BITCOIN_RPC_PASSWORD_FILE"),
    ({"BITCOIN_RPC_BIND": "0.0.0.0\nrpcpassword=x"}, "BITCOIN_RPC_BIND"),
    ({"BITCOIN_RPC_ALLOWIP": "any"}, "BITCOIN_RPC_ALLOWIP"),
    ({"BITCOIN_PRUNE": "100"}, "BITCOIN_PRUNE"),
    ({"BITCOIN_PRUNE": "550", "BITCOIN_TXINDEX": "1"}, "BITCOIN_TXINDEX"),
    ({"BITCOIN_TXINDEX": "maybe"}, "BITCOIN_TXINDEX"),
    ({"BITCOIN_DBCACHE": "lots"}, "BITCOIN_DBCACHE"),
    ({"BITCOIN_FALLBACKFEE": "1e-4"}, "BITCOIN_FALLBACKFEE"),
    ({"BITCOIN_EXTRA_CONF": "rpcpassword=hunter2"}, "BITCOIN_EXTRA_CONF"),
    ({"BITCOIN_EXTRA_CONF": "regtest=1"}, "BITCOIN_EXTRA_CONF"),
    ({"BITCOIN_EXTRA_CONF": "just words"}, "BITCOIN_EXTRA_CONF"),
    ({"BITCOIN_WALLET": "my wallet"}, "BITCOIN_WALLET"),
    ({"BITCOIN_WATCHER_EXPORT": '{"desc": "x"}'}, "BITCOIN_WATCHER_EXPORT"),
    ({"BITCOIN_IMPORT_TIMEOUT": "soon"}, "BITCOIN_IMPORT_TIMEOUT"),
]


@pytest.mark.parametrize("env,variable", BAD, ids=[f"{v}-{i}" for i, (_, v) in enumerate(BAD)])
def test_bad_variables_are_refused(stubs: Path, env: dict[str, str], variable: str) -> None:
    run = run_entrypoint("bitcoind", stubs, **env)
    assert run.status == 2, run.stderr
    assert run.stderr.startswith("entrypoint: ") and variable in run.stderr
    assert "hunter2" not in run.stderr
    assert not (run.data / "bitcoin.conf").exists()
    assert not (run.stubs / "bitcoind.args").exists(), "bitcoind started despite the error"


def test_a_data_dir_that_cannot_be_written_is_refused(stubs: Path, tmp_path: Path) -> None:
    run = run_entrypoint("bitcoind", stubs, BITCOIN_DATA_DIR=str(tmp_path / "missing"))
    assert run.status == 2 and "BITCOIN_DATA_DIR" in run.stderr


def test_healthcheck_and_other_commands_write_nothing(stubs: Path) -> None:
    run = run_entrypoint("bitcoind", stubs, "healthcheck")
    assert run.status == 0
    assert (stubs / "cli.log").read_text().startswith(f"-datadir={run.data} ")
    assert "getblockchaininfo" in (stubs / "cli.log").read_text()
    assert not (run.data / "bitcoin.conf").exists()
    run = run_entrypoint("bitcoind", stubs, "bitcoin-cli", "listwallets")
    assert run.status == 0 and run.stdout.strip() == "[]"


# ---- bitcoind: the watcher-export import ----

def _calls(stubs: Path) -> list[tuple[list[str], str]]:
    log = stubs / "cli.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [(line.split("\t")[0].split(" "), line.split("\t")[1]) for line in lines]


def _methods(stubs: Path) -> list[str]:
    return [next(a for a in args if not a.startswith("-")) for args, _ in _calls(stubs)]


def test_watcher_export_is_imported_into_a_watch_only_wallet(stubs: Path) -> None:
    export = json.dumps(EXPORT, indent=1)  # as `qsigner watcher-export` prints it, or pretty
    run = run_entrypoint("bitcoind", stubs, BITCOIN_WATCHER_EXPORT=export)
    assert run.status == 0, run.stderr
    assert _methods(stubs) == ["getblockchaininfo", "listwallets", "loadwallet", "createwallet",
                               "importdescriptors"]
    calls = _calls(stubs)
    assert "-rpcwait" in calls[0][0]
    assert calls[3][0][-5:] == ["wallet_name=watch", "disable_private_keys=true", "blank=true",
                                "descriptors=true", "load_on_startup=true"]
    args, stdin = calls[4]
    assert "-stdin" in args and "-rpcwallet=watch" in args
    assert json.loads(stdin) == EXPORT  # one argument, on one line, off the process list
    marker = run.data / ".qsigner-watcher-import-watch"
    assert marker.read_text().strip() == hashlib.sha256(export.encode()).hexdigest()
    assert "imported into watch-only wallet watch" in run.stderr


def test_the_same_export_is_not_imported_twice(stubs: Path, tmp_path: Path) -> None:
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(EXPORT))
    run_entrypoint("bitcoind", stubs, BITCOIN_WATCHER_EXPORT_FILE=str(export_file),
                   BITCOIN_WALLET="cold-watch")
    (stubs / "cli.log").unlink()
    run = run_entrypoint("bitcoind", stubs, BITCOIN_WATCHER_EXPORT_FILE=str(export_file),
                         BITCOIN_WALLET="cold-watch", STUB_WALLETS='["cold-watch"]')
    assert _methods(stubs) == ["getblockchaininfo"]
    assert "already in wallet cold-watch" in run.stderr


def test_a_refused_import_leaves_no_marker(stubs: Path) -> None:
    run = run_entrypoint("bitcoind", stubs, BITCOIN_WATCHER_EXPORT=json.dumps(EXPORT),
                         STUB_SUCCESS="false", STUB_WALLETS='["watch"]')
    assert run.status == 0  # bitcoind runs on; the log says what failed
    assert _methods(stubs) == ["getblockchaininfo", "listwallets", "importdescriptors"]
    assert "watcher import: refused" in run.stderr
    assert not (run.data / ".qsigner-watcher-import-watch").exists()


def test_without_an_export_nothing_is_imported(stubs: Path) -> None:
    run_entrypoint("bitcoind", stubs)
    assert _calls(stubs) == []


# ---- qsigner ----

@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed"
    path.write_text("abandon " * 11 + "about\n")
    path.chmod(0o600)
    return path


def _qsigner_call(stubs: Path) -> list[str]:
    return (stubs / "qsigner.call").read_text().split()[1:]


def test_qsigner_defaults_to_the_spool(stubs: Path, seed: Path) -> None:
    run = run_entrypoint("qsigner", stubs, QSIGNER_SECRET_FILE=str(seed),
                         QSIGNER_NETWORK="regtest")
    assert run.status == 0, run.stderr
    assert _qsigner_call(stubs) == ["spool"]
    pid, _ = (stubs / "qsigner.call").read_text().split(" ", 1)
    assert pid.isdigit()


@pytest.mark.parametrize("args", [["spool", "--once"], ["watcher-export"], ["version"],
                                  ["public"]])
def test_qsigner_commands_are_handed_over(stubs: Path, seed: Path, args: list[str]) -> None:
    run = run_entrypoint("qsigner", stubs, *args, QSIGNER_SECRET_FILE=str(seed),
                         QSIGNER_NETWORK="regtest")
    assert run.status == 0, run.stderr
    assert _qsigner_call(stubs) == args


QSIGNER_BAD = [
    ({"QSIGNER_SECRET": "abandon"}, "QSIGNER_SECRET"),
    ({"QSIGNER_PASSPHRASE": "x"}, "QSIGNER_PASSPHRASE"),
    ({"QSIGNER_SECRET_FILE": ""}, "QSIGNER_SECRET_FILE"),
    ({"QSIGNER_SECRET_FILE": "/nonexistent/seed"}, "QSIGNER_SECRET_FILE"),
    ({"QSIGNER_PASSPHRASE_FILE": "/nonexistent/pass"}, "QSIGNER_PASSPHRASE_FILE"),
    ({"QSIGNER_NETWORK": ""}, "QSIGNER_NETWORK"),
    ({"QSIGNER_OFFLINE": "0"}, "QSIGNER_OFFLINE"),
]


@pytest.mark.parametrize("env,variable", QSIGNER_BAD, ids=[v for _, v in QSIGNER_BAD])
def test_qsigner_bad_variables_are_refused(stubs: Path, seed: Path, env: dict[str, str],
                                           variable: str) -> None:
    settings = {"QSIGNER_SECRET_FILE": str(seed), "QSIGNER_NETWORK": "regtest", **env}
    run = run_entrypoint("qsigner", stubs, **settings)
    assert run.status == 2
    assert f"entrypoint: {variable}" in run.stderr
    assert "abandon" not in run.stderr
    assert not (stubs / "qsigner.call").exists()


def test_qsigner_healthcheck_reads_the_heartbeat(stubs: Path, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    assert run_entrypoint("qsigner", stubs, "healthcheck", QSIGNER_SPOOL_DIR=str(spool)).status == 1
    beat = spool / "heartbeat"
    beat.touch()
    assert run_entrypoint("qsigner", stubs, "healthcheck", QSIGNER_SPOOL_DIR=str(spool)).status == 0
    old = time.time() - 120
    os.utime(beat, (old, old))
    run = run_entrypoint("qsigner", stubs, "healthcheck", QSIGNER_SPOOL_DIR=str(spool))
    assert run.status == 1 and "old" in run.stdout
    assert run_entrypoint("qsigner", stubs, "healthcheck", QSIGNER_SPOOL_DIR=str(spool),
                          QSIGNER_SPOOL_POLL="60").status == 0  # 3 polls + 30 s of slack
