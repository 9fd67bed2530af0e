"""Input finalizer and transaction extractor for the four single-key input types.

BIP-0174 roles "Input Finalizer" and "Transaction Extractor": once an input has
the signature its script needs, build its final scriptSig / witness, and when
every input is final, the network transaction. Inputs of other script types
(multisig, script paths) are left for a finalizer that knows them.

https://github.com/bitcoin/bips/blob/master/bip-0174.mediawiki#input-finalizer
"""

from __future__ import annotations

from .hashes import hash160
from .psbt import PSBT
from .script import classify_script, key_to_redeem_script, p2pkh_script
from .tx import TxOut

__all__ = ["push_data", "finalize_input", "finalize_all"]


def push_data(data: bytes) -> bytes:
    """Return the minimal script push of ``data`` (up to 520 bytes, as signatures and keys)."""
    if len(data) < 0x4C:
        return bytes([len(data)]) + data
    if len(data) <= 0xFF:
        return b"\x4c" + bytes([len(data)]) + data
    return b"\x4d" + len(data).to_bytes(2, "little") + data


def _single_sig(psbt: PSBT, i: int, pubkey_hash: bytes) -> tuple[bytes, bytes] | None:
    for pubkey, sig in psbt.partial_sigs(i).items():
        if len(pubkey) == 33 and hash160(pubkey) == pubkey_hash:
            return pubkey, sig
    return None


def finalize_input(psbt: PSBT, i: int, spent: TxOut) -> bool:
    """Finalize input ``i`` if its signature is present; return True if it is final."""
    if psbt.is_finalized(i):
        return True
    spk = spent.script_pubkey
    kind = classify_script(spk)
    if kind == "p2tr":
        sig = psbt.tap_key_sig(i)
        if sig is None:
            return False
        psbt.set_final(i, b"", [sig])
        return True
    if kind == "p2wpkh":
        found = _single_sig(psbt, i, spk[2:22])
        if found is None:
            return False
        psbt.set_final(i, b"", [found[1], found[0]])
        return True
    if kind == "p2sh":
        return _finalize_p2sh_p2wpkh(psbt, i, spk)
    if kind == "p2pkh":
        found = _single_sig(psbt, i, spk[3:23])
        if found is None or p2pkh_script(hash160(found[0])) != spk:
            return False
        psbt.set_final(i, push_data(found[1]) + push_data(found[0]), [])
        return True
    return False


def _finalize_p2sh_p2wpkh(psbt: PSBT, i: int, spk: bytes) -> bool:
    redeem = psbt.redeem_script(i)
    if redeem is None or classify_script(redeem) != "p2wpkh" or hash160(redeem) != spk[2:22]:
        return False
    found = _single_sig(psbt, i, redeem[2:22])
    if found is None or key_to_redeem_script(found[0]) != redeem:
        return False
    psbt.set_final(i, push_data(redeem), [found[1], found[0]])
    return True


def finalize_all(psbt: PSBT, spent_outputs: list[TxOut | None]) -> bool:
    """Finalize every input that can be; return True if all inputs are final."""
    complete = True
    for i, spent in enumerate(spent_outputs):
        if spent is None:
            complete = complete and psbt.is_finalized(i)
            continue
        complete = finalize_input(psbt, i, spent) and complete
    return complete
