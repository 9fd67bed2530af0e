"""Time (and, with --trace, tracemalloc peak) of signing the worst-case PSBTs.

The PSBTs are those of tests/bitcoin/test_resource_bounds.py, which asserts their
outcome and memory; speed is measured only here. Run from the checkout:

    .venv/bin/python bench/hostile_psbt.py [--trace] [case ...]
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "bitcoin")]

import qsigner  # noqa: E402
from test_resource_bounds import (MNEMONIC, our_inputs_psbt, prev_tx,  # noqa: E402
                                  spending_psbt)

CASES: dict[str, tuple[Callable[[], bytes], dict[str, Any]]] = {
    "one 15 MB previous tx, 1.7M outputs": (lambda: spending_psbt([prev_tx(1_700_000)], 0), {}),
    "16 x 1 MB previous txs, 1.78M outputs": (
        lambda: spending_psbt([prev_tx(111_000, tag=k) for k in range(16)], 0), {}),
    "4 x 4 MB previous txs, 16M witness items": (
        lambda: spending_psbt([prev_tx(1, witness_items=3_999_000, tag=k) for k in range(4)], 0),
        {}),
    "10k inputs v0, each with a previous tx": (
        lambda: spending_psbt([prev_tx(1, tag=k) for k in range(10_000)], 0), {}),
    "10k inputs v2, each with a previous tx": (
        lambda: spending_psbt([prev_tx(1, tag=k) for k in range(10_000)], 2), {}),
    "10k p2wpkh inputs v0, signed": (lambda: our_inputs_psbt(10_000, "p2wpkh", 0),
                                     {"max_fee_sat": 10**8}),
    "10k p2tr inputs v2, signed": (lambda: our_inputs_psbt(10_000, "p2tr", 2),
                                   {"max_fee_sat": 10**8}),
}


def main(argv: list[str]) -> None:
    """Run the named cases (default: all) and print one line each."""
    trace = "--trace" in argv
    names = [a for a in argv if a != "--trace"] or list(CASES)
    bitcoin = qsigner.load_coin("bitcoin")
    for name in names:
        build, options = CASES[name]
        data = build()
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        try:
            result = bitcoin.sign_transaction(data, MNEMONIC, network="regtest",
                                              trust_witness_utxo=True, **options)
            outcome = f"signed {len(result.signed_inputs)} inputs"
        except qsigner.QsignerError as exc:
            outcome = type(exc).__name__
        elapsed = time.perf_counter() - start
        peak = f"  peak {tracemalloc.get_traced_memory()[1] / 1e6:6.1f} MB" if trace else ""
        tracemalloc.stop()
        print(f"{name:42} {len(data) / 1e6:6.2f} MB {elapsed:7.2f} s{peak}  {outcome}")


if __name__ == "__main__":
    main(sys.argv[1:])
