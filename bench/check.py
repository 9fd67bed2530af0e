"""BENCH-ONLY checks: Bitcoin Core's consensus code judges every signed transaction.

``verify_inputs`` runs inputs of a signed transaction through libbitcoinkernel
(``py-bitcoinkernel``, module ``pbk``) with all consensus flags and the real
spent outputs, as ``tests/bitcoin/kernel.py`` does: the code that signed is
never the code that judges. ``run.py`` checks every input of one run per
implementation and N, and a sample of the inputs of the other repetitions.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pbk

from coins.bitcoin.tx import TxOut

__all__ = ["BenchCheckError", "verify_inputs"]


class BenchCheckError(Exception):
    """An implementation produced wrong output (a bad signature or a different address)."""


def verify_inputs(raw_hex: str | None, spent: Sequence[TxOut], *, sample: int | None = None,
                  seed: int = 0) -> int:
    """Verify all inputs of ``raw_hex`` (or ``sample`` random ones); return how many were checked.

    Raises:
        BenchCheckError: no transaction, one the kernel cannot parse, or an invalid input.
    """
    if not raw_hex:
        raise BenchCheckError("no complete transaction to verify")
    try:
        tx = pbk.Transaction(bytes.fromhex(raw_hex))
    except (RuntimeError, ValueError) as exc:
        raise BenchCheckError(f"libbitcoinkernel cannot parse the transaction: {exc}") from None
    if len(tx.inputs) != len(spent):
        raise BenchCheckError(f"{len(tx.inputs)} inputs but {len(spent)} spent outputs")
    outputs = [pbk.TransactionOutput(pbk.ScriptPubkey(o.script_pubkey), o.amount) for o in spent]
    precomputed = pbk.script.PrecomputedTransactionData(tx, outputs)
    indices = list(range(len(spent)))
    if sample is not None and sample < len(indices):
        indices = sorted(random.Random(seed).sample(indices, sample))
    for i in indices:
        out = spent[i]
        try:
            ok = pbk.ScriptPubkey(out.script_pubkey).verify(
                out.amount, tx, precomputed, i, pbk.ScriptVerificationFlags.ALL)
        except Exception as exc:  # the kernel's own refusal, reported with the input
            raise BenchCheckError(f"input {i}: libbitcoinkernel raised {exc!r}") from None
        if not ok:
            raise BenchCheckError(f"input {i}: libbitcoinkernel rejects the signature")
    return len(indices)
