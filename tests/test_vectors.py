"""The one harness: every case of every coin's vectors, through the same ``run_case`` as the kit."""

from __future__ import annotations

from pathlib import Path

import pytest

import qsigner
from qsigner.conformance import Case, load_cases, run_case

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
CASES = [case for coin_dir in sorted(p for p in VECTORS.iterdir() if p.is_dir())
         for case in load_cases(coin_dir)]


def test_every_coin_has_vectors() -> None:
    assert {case.coin for case in CASES} >= {"bitcoin"}
    assert {case.operation for case in CASES if case.coin == "bitcoin"} == {
        "generate_keypair", "derive_address", "sign_transaction"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_vector(case: Case) -> None:
    run_case(qsigner.load_coin(case.coin), case)
