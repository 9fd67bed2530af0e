"""Shared fixtures: the one place that finds the upstream vectors, and the loaded plugins."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import qsigner

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "vectors"


def upstream_dir() -> Path:
    """Return the upstream-vectors folder: $QSIGNER_UPSTREAM_VECTORS or ../shared/upstream-vectors."""
    configured = os.environ.get("QSIGNER_UPSTREAM_VECTORS")
    return Path(configured) if configured else ROOT.parent / "shared" / "upstream-vectors"


@pytest.fixture(scope="session")
def upstream_vectors() -> Path:
    """The upstream vectors, read in place; tests using it skip (saying why) where absent."""
    path = upstream_dir()
    if not path.is_dir():
        pytest.skip(f"upstream vectors not found at {path}: set QSIGNER_UPSTREAM_VECTORS "
                    "or put shared/ beside the checkout")
    return path


@pytest.fixture(scope="session")
def load_upstream(upstream_vectors: Path) -> Any:
    """Return a loader ``load_upstream("bips/bip32.json")`` for JSON upstream files."""
    def load(relpath: str) -> Any:
        target = upstream_vectors / relpath
        if not target.is_file():
            pytest.skip(f"upstream vector file {target} is missing")
        return json.loads(target.read_text())
    return load


@pytest.fixture(scope="session")
def bitcoin() -> qsigner.CoinPlugin:
    """The Bitcoin plugin, loaded through the registry as an integrator would."""
    return qsigner.load_coin("bitcoin")


@pytest.fixture(autouse=True, scope="session")
def _data_dir_default(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point QSIGNER_DATA_DIR at a temporary folder so no test writes the container default."""
    os.environ["QSIGNER_DATA_DIR"] = str(tmp_path_factory.mktemp("qsigner-data"))
