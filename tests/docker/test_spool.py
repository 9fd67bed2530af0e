"""The spool (qsigner/spool.py): the signer's only way to receive work without a network.

In process: each request gets the result ``qsigner sign`` prints for it, next to it in
out/, and moves to done/; refusals and malformed requests get the error object; temporary
files wait; a fault of the signer stops it with the request kept. Then for real, as in
the container: in a network namespace (``unshare -n``), and with a read-only root and no
network (bubblewrap), once through ``process_spool`` and once through the entrypoint.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from qsigner import offline
from qsigner.cli import Context, main
from qsigner.errors import ConfigError, StateError
from qsigner.spool import (add_spool_parser, cmd_spool, process_spool, sign_request,
                           spool_settings)

from docker_helpers import ENTRYPOINTS, MNEMONIC, bwrap
from netns import run_without_network

FOREIGN = "legal winner thank year wave sausage worth useful legal winner thank yellow"
RUN_SPOOL = ("import argparse, os, sys\n"
             "from qsigner.cli import Context\n"
             "from qsigner.spool import cmd_spool\n"
             "sys.exit(cmd_spool(Context(argparse.Namespace(command='spool'), os.environ)))\n")


@pytest.fixture(autouse=True)
def _guard_off() -> Iterator[None]:
    offline.disable()
    yield
    offline.disable()  # process_spool turns the guard on, as `qsigner sign` does


@pytest.fixture(scope="module")
def unsigned(bitcoin: Any) -> str:
    return str(bitcoin.example_transaction(MNEMONIC, network="regtest"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"QSIGNER_SECRET": MNEMONIC, "QSIGNER_NETWORK": "regtest",
            "QSIGNER_DATA_DIR": str(tmp_path / "data"), **extra}


def _spool_once(tmp_path: Path, **extra: str) -> list[dict[str, Any]]:
    """Run the spool once in this process; return its log lines."""
    out = io.StringIO()
    ctx = Context(argparse.Namespace(command="spool"), _env(tmp_path, **extra))
    with redirect_stdout(out):
        assert process_spool(ctx, tmp_path / "spool", once=True) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _drop(spool: Path, name: str, text: str) -> None:
    """Write a request as the integration must: a temporary name, then an atomic rename."""
    inbox = spool / "in"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / f"{name}.tmp").write_text(text)
    os.replace(inbox / f"{name}.tmp", inbox / name)


def _result(spool: Path, name: str) -> dict[str, Any]:
    loaded = json.loads((spool / "out" / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_result_is_what_qsigner_sign_prints(tmp_path: Path, unsigned: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    spool = tmp_path / "spool"
    _drop(spool, "w-1.psbt", unsigned)
    lines = _spool_once(tmp_path)
    result = _result(spool, "w-1.json")
    (tmp_path / "tx").write_text(unsigned)
    assert main(["sign", str(tmp_path / "tx")], _env(tmp_path / "cli")) == 0
    assert result == json.loads(capsys.readouterr().out)  # deterministic signatures
    assert lines == [{"request": "w-1.psbt", "result": "signed", "txid": result["txid"]}]
    assert os.listdir(spool / "in") == [] and os.listdir(spool / "done") == ["w-1.psbt"]
    assert (spool / "done" / "w-1.psbt").read_text() == unsigned
    audit = [json.loads(line) for line in (tmp_path / "data" / "audit.jsonl").read_text()
             .splitlines()]
    assert [(a["result"], a["txid"]) for a in audit] == [("signed", result["txid"])]
    assert (spool / "heartbeat").exists()


def test_refused_and_malformed_requests_get_the_error_object(tmp_path: Path,
                                                             unsigned: str) -> None:
    spool = tmp_path / "spool"
    _drop(spool, "a-fee.psbt", unsigned)
    _drop(spool, "b-junk.psbt", "not a psbt")
    (spool / "in" / "c-binary.psbt").write_bytes(b"psbt\xff\x00\x80")
    lines = _spool_once(tmp_path, QSIGNER_MAX_FEE_SAT="1")
    assert [(line["request"], line["result"]) for line in lines] == \
        [("a-fee.psbt", "refused"), ("b-junk.psbt", "error"), ("c-binary.psbt", "error")]
    assert _result(spool, "a-fee.json")["error"]["type"] == "FeeError"
    assert _result(spool, "b-junk.json")["error"]["type"] == "InputError"
    assert "UTF-8" in _result(spool, "c-binary.json")["error"]["message"]
    assert sorted(os.listdir(spool / "done")) == ["a-fee.psbt", "b-junk.psbt", "c-binary.psbt"]
    audit = (tmp_path / "data" / "audit.jsonl").read_text().splitlines()
    assert [json.loads(a)["result"] for a in audit] == ["refused", "refused"]


def test_partial_hidden_and_linked_files(tmp_path: Path, unsigned: str) -> None:
    spool = tmp_path / "spool"
    (spool / "in").mkdir(parents=True)
    (spool / "in" / "half.psbt.tmp").write_text(unsigned[:10])   # still being written
    (spool / "in" / ".hidden.psbt").write_text(unsigned)
    (tmp_path / "data").mkdir(mode=0o700)
    (spool / "in" / "link.psbt").symlink_to(tmp_path / "data" / "audit.jsonl")
    lines = _spool_once(tmp_path)
    assert lines == [{"request": "link.psbt", "result": "error",
                      "error": {"type": "InputError",
                                "message": "request link.psbt: cannot open: "
                                           "Too many levels of symbolic links"}}]
    assert sorted(os.listdir(spool / "in")) == [".hidden.psbt", "half.psbt.tmp"]


def test_a_fault_of_the_signer_stops_it_and_keeps_the_request(tmp_path: Path,
                                                              unsigned: str) -> None:
    _spool_once(tmp_path)  # the first start pins this seed in the key store
    assert (tmp_path / "data" / "keystore-bitcoin-regtest.json").exists()
    spool = tmp_path / "spool"
    _drop(spool, "x.psbt", unsigned)
    ctx = Context(argparse.Namespace(command="spool"), _env(tmp_path, QSIGNER_SECRET=FOREIGN))
    with pytest.raises(ConfigError, match="QSIGNER_SECRET"):
        process_spool(ctx, spool, once=True)
    assert os.listdir(spool / "in") == ["x.psbt"] and os.listdir(spool / "out") == []
    (tmp_path / "data" / "audit.jsonl").unlink(missing_ok=True)
    (tmp_path / "data" / "audit.jsonl").write_text("torn{\n")  # corrupt state: stop as well
    with pytest.raises(StateError):
        _spool_once(tmp_path)
    assert os.listdir(spool / "in") == ["x.psbt"] and os.listdir(spool / "out") == []


def test_the_spool_enables_the_offline_guard(tmp_path: Path) -> None:
    _spool_once(tmp_path)
    assert offline.is_enabled()


def test_spool_inside_the_data_dir_keeps_it_private(tmp_path: Path) -> None:
    ctx = Context(argparse.Namespace(command="spool"), _env(tmp_path))
    settings = spool_settings(ctx.args, ctx.env, ctx.config.data_dir)
    assert settings.directory == tmp_path / "data" / "spool" and settings.once is False
    with redirect_stdout(io.StringIO()):
        process_spool(ctx, settings.directory, once=True)
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "data" / "spool" / "in").stat().st_mode & 0o777 == 0o770


@pytest.mark.parametrize("env,variable", [({"QSIGNER_SPOOL_POLL": "fast"}, "QSIGNER_SPOOL_POLL"),
                                          ({"QSIGNER_SPOOL_POLL": "0"}, "QSIGNER_SPOOL_POLL"),
                                          ({"QSIGNER_SPOOL_ONCE": "2"}, "QSIGNER_SPOOL_ONCE")])
def test_bad_settings_name_their_variable(tmp_path: Path, env: dict[str, str],
                                          variable: str) -> None:
    with pytest.raises(ConfigError, match=variable) as caught:
        spool_settings(None, env, tmp_path)
    assert caught.value.variable == variable


def test_flags_win_over_variables(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_spool_parser(lambda name, text: sub.add_parser(name, help=text))
    args = parser.parse_args(["spool", "--once", "--spool-dir", "/s", "--spool-poll", "0.5"])
    settings = spool_settings(args, {"QSIGNER_SPOOL_DIR": "/other", "QSIGNER_SPOOL_POLL": "9",
                                     "QSIGNER_SPOOL_ONCE": "0"}, tmp_path)
    assert (settings.directory, settings.poll, settings.once) == (Path("/s"), 0.5, True)
    args = parser.parse_args(["spool"])
    settings = spool_settings(args, {"QSIGNER_SPOOL_ONCE": "yes"}, tmp_path)
    assert settings.once is True and settings.poll == 1.0


def test_sign_request_is_the_sign_command(tmp_path: Path, unsigned: str) -> None:
    """``sign_request`` is written for ``cmd_sign`` to call: same output, same audit."""
    from qsigner.datadir import DataDir  # noqa: PLC0415
    ctx = Context(argparse.Namespace(command="sign"), _env(tmp_path))
    with DataDir(ctx.config.data_dir) as datadir:
        output = sign_request(ctx, datadir, unsigned)
    assert set(output) == {"psbt", "raw", "txid", "signed_inputs"}


def test_sigterm_ends_the_loop_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, **_env(tmp_path), "QSIGNER_SPOOL_POLL": "0.1"}
    proc = subprocess.Popen([sys.executable, "-c", RUN_SPOOL], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    beat = tmp_path / "data" / "spool" / "heartbeat"
    deadline = time.monotonic() + 30
    while not beat.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert beat.exists(), proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr


# ---- for real: no network, read-only root ----

def _drop_for_real(tmp_path: Path, unsigned: str) -> Path:
    spool = tmp_path / "data" / "spool"
    (tmp_path / "data").mkdir(mode=0o700)
    _drop(spool, "withdrawal-1.psbt", unsigned)
    seed = tmp_path / "seed"
    seed.write_text(MNEMONIC + "\n")
    seed.chmod(0o600)
    return spool


def _container_env(tmp_path: Path) -> dict[str, str]:
    """The variables compose gives the signer, with this checkout importable."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
            "QSIGNER_NETWORK": "regtest", "QSIGNER_SECRET_FILE": str(tmp_path / "seed"),
            "QSIGNER_DATA_DIR": str(tmp_path / "data"), "QSIGNER_SPOOL_ONCE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}


def _check_signed(spool: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = _result(spool, "withdrawal-1.json")
    assert result["raw"].startswith("02000000") and result["signed_inputs"] == [0, 1, 2, 3]
    assert os.listdir(spool / "done") == ["withdrawal-1.psbt"]
    assert '"result": "signed"' in proc.stdout


def test_spool_signs_in_a_network_namespace(tmp_path: Path, unsigned: str) -> None:
    spool = _drop_for_real(tmp_path, unsigned)
    proc = run_without_network([sys.executable, "-c", RUN_SPOOL], cwd=tmp_path,
                               env=_container_env(tmp_path))
    _check_signed(spool, proc)


def _sandbox(tmp_path: Path) -> list[str]:
    """bwrap: the root read-only, no network, only tmp_path writable (as the container)."""
    # The checkout (and its .venv) is bound back read-only: CI may clone it under /tmp.
    checkout = str(Path(__file__).resolve().parents[2])
    return [bwrap(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--ro-bind", checkout, checkout,
            "--bind", str(tmp_path), str(tmp_path),
            "--unshare-net", "--unshare-pid", "--die-with-parent", "--chdir", str(tmp_path)]


def _sandboxed(tmp_path: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    probe = subprocess.run([*_sandbox(tmp_path), "true"], capture_output=True, text=True,
                           timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"bwrap cannot make a sandbox here: {probe.stderr.strip()}")
    return subprocess.run([*_sandbox(tmp_path), *argv], capture_output=True, text=True,
                          timeout=60, env=_container_env(tmp_path))


def test_spool_signs_on_a_read_only_root_without_network(tmp_path: Path,
                                                          unsigned: str) -> None:
    spool = _drop_for_real(tmp_path, unsigned)
    proc = _sandboxed(tmp_path, [sys.executable, "-c",
                                 "import pathlib; pathlib.Path('/usr/x').touch()"])
    assert proc.returncode != 0 and "Read-only file system" in proc.stderr
    _check_signed(spool, _sandboxed(tmp_path, [sys.executable, "-c", RUN_SPOOL]))


def test_entrypoint_signs_from_the_spool_on_a_read_only_root(tmp_path: Path,
                                                             unsigned: str) -> None:
    from qsigner import cli  # noqa: PLC0415
    if "spool" not in getattr(cli, "COMMANDS", {}):
        pytest.skip("qsigner has no `spool` command yet (cli.py wiring pending)")
    spool = _drop_for_real(tmp_path, unsigned)
    _check_signed(spool, _sandboxed(tmp_path, ["/bin/sh", str(ENTRYPOINTS["qsigner"])]))


def test_cmd_spool_runs_with_the_cli_context(tmp_path: Path, unsigned: str) -> None:
    (tmp_path / "data").mkdir(mode=0o700)
    _drop(tmp_path / "data" / "spool", "r.psbt", unsigned)
    ctx = Context(argparse.Namespace(command="spool", once=True, spool_dir=None,
                                     spool_poll=None), _env(tmp_path))
    with redirect_stdout(io.StringIO()):
        assert cmd_spool(ctx) == 0
    assert _result(tmp_path / "data" / "spool", "r.json")["txid"]
