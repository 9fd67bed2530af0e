"""Independent verification of signed transactions with Bitcoin Core's libbitcoinkernel.

Used by ``qsigner demo`` and the conformance kit to check a signature with code
qsigner did not write: every input is run through Core's script interpreter
with all consensus flags and the real spent outputs. ``py-bitcoinkernel`` is an
optional dependency (the ``demo`` and ``test`` extras); without it the check
reports that it could not run rather than pretending to pass.
"""

from __future__ import annotations

from qsigner.errors import PluginError

from .tx import TxOut

__all__ = ["kernel_available", "verify_with_kernel"]


def kernel_available() -> bool:
    """Return True if py-bitcoinkernel (module ``pbk``) can be imported."""
    try:
        import pbk  # noqa: F401, PLC0415 - optional dependency
    except ImportError:
        return False
    return True


def verify_with_kernel(raw: bytes, spent: list[TxOut]) -> None:
    """Verify every input of ``raw`` against its spent output with all consensus flags.

    Raises:
        PluginError: an input fails verification (the signer produced a bad signature).
    """
    import pbk  # noqa: PLC0415 - optional dependency

    from .tx import Transaction  # noqa: PLC0415
    # libbitcoinkernel asserts (aborts the process) when the counts differ: check first.
    if len(Transaction.parse(raw).inputs) != len(spent):
        raise PluginError("transaction: input count differs from the spent outputs given")
    tx = pbk.Transaction(raw)
    outputs = [pbk.TransactionOutput(pbk.ScriptPubkey(o.script_pubkey), o.amount) for o in spent]
    precomputed = pbk.script.PrecomputedTransactionData(tx, outputs)
    for i, out in enumerate(spent):
        try:
            ok = pbk.ScriptPubkey(out.script_pubkey).verify(
                out.amount, tx, precomputed, i, pbk.ScriptVerificationFlags.ALL)
        except pbk.ScriptVerifyException as exc:
            raise PluginError(f"input {i}: libbitcoinkernel refused the script: {exc}") from None
        if not ok:
            raise PluginError(f"input {i}: libbitcoinkernel says the signature is invalid")
