"""Signature hashes: legacy, BIP-0143 (segwit v0) and BIP-0341 (taproot), each as a twin.

``*_sighash_msg`` returns the preimage (so tests can compare it with the BIPs'
vectors), ``*_sighash`` its hash. ``SighashCache`` computes the per-transaction
midstates (hashPrevouts, hashSequence, hashOutputs, sha_amounts, ...) once, so
signing N inputs costs O(N), not O(N^2) -- the quadratic-hashing trap BIP-0143
was written to remove. Legacy signature hashes stay quadratic by consensus, but
``SighashCache.legacy_sighash`` builds SIGHASH_ALL preimages from the
transaction's bytes serialized once, not input by input in Python each time.

https://github.com/bitcoin/bips/blob/master/bip-0143.mediawiki
https://github.com/bitcoin/bips/blob/master/bip-0341.mediawiki#common-signature-message
"""

from __future__ import annotations

from functools import cached_property

from qsigner.errors import InputError

from .hashes import sha256, sha256d, tagged_hash
from .tx import Transaction, TxOut, ser_compact_size

__all__ = ["SIGHASH_DEFAULT", "SIGHASH_ALL", "SIGHASH_NONE", "SIGHASH_SINGLE",
           "SIGHASH_ANYONECANPAY", "TAPROOT_SIGHASH_TYPES", "SighashCache",
           "legacy_sighash_msg", "legacy_sighash", "remove_codeseparators",
           "p2pkh_script_code"]

SIGHASH_DEFAULT = 0x00
SIGHASH_ALL = 0x01
SIGHASH_NONE = 0x02
SIGHASH_SINGLE = 0x03
SIGHASH_ANYONECANPAY = 0x80
TAPROOT_SIGHASH_TYPES = frozenset({0x00, 0x01, 0x02, 0x03, 0x81, 0x82, 0x83})
OP_CODESEPARATOR = 0xAB
_HASH_ONE = (1).to_bytes(32, "little")


def p2pkh_script_code(pubkey_hash: bytes) -> bytes:
    """Return the scriptCode that p2pkh, p2wpkh and p2sh-p2wpkh signatures commit to."""
    return b"\x76\xa9\x14" + pubkey_hash + b"\x88\xac"


def remove_codeseparators(script: bytes) -> bytes:
    """Return ``script`` without OP_CODESEPARATOR ops, as Core's FindAndDelete does.

    Ops are walked as the interpreter does; a truncated push ends the walk and
    the rest of the script is kept as it is.
    """
    out = bytearray()
    pos = 0
    while pos < len(script):
        start, op = pos, script[pos]
        pos += 1
        if op <= 0x4E:  # direct push or OP_PUSHDATA1/2/4
            width = {0x4C: 1, 0x4D: 2, 0x4E: 4}.get(op, 0)
            size = op if not width else int.from_bytes(script[pos:pos + width], "little")
            if pos + width > len(script) or pos + width + size > len(script):
                out += script[start:]
                break
            pos += width + size
        if op != OP_CODESEPARATOR:
            out += script[start:pos]
    return bytes(out)


def legacy_sighash_msg(tx: Transaction, index: int, script_code: bytes,
                       hash_type: int) -> bytes | None:
    """Return the legacy (pre-segwit) preimage, or None where Core signs the constant 1.

    None covers the two consensus quirks of ``SignatureHash``: an input index out
    of range and SIGHASH_SINGLE without a matching output (the "SIGHASH_SINGLE bug").
    """
    if index >= len(tx.inputs):
        return None
    base = hash_type & 0x1F
    if base == SIGHASH_SINGLE and index >= len(tx.outputs):
        return None
    parts_in = []
    for i, txin in enumerate(tx.inputs):
        if hash_type & SIGHASH_ANYONECANPAY and i != index:
            continue
        script = remove_codeseparators(script_code) if i == index else b""
        seq = txin.sequence if i == index or base not in (SIGHASH_NONE, SIGHASH_SINGLE) else 0
        parts_in.append(txin.prevout.serialize() + ser_compact_size(len(script)) + script
                        + seq.to_bytes(4, "little"))
    if base == SIGHASH_NONE:
        outputs: list[bytes] = []
    elif base == SIGHASH_SINGLE:
        blank = b"\xff" * 8 + b"\x00"   # CTxOut() with nValue -1 and an empty script
        outputs = [blank] * index + [tx.outputs[index].serialize()]
    else:
        outputs = [o.serialize() for o in tx.outputs]
    return b"".join([tx.version.to_bytes(4, "little"), ser_compact_size(len(parts_in)),
                     *parts_in, ser_compact_size(len(outputs)), *outputs,
                     tx.locktime.to_bytes(4, "little"), (hash_type & 0xFFFFFFFF).to_bytes(4, "little")])


def legacy_sighash(tx: Transaction, index: int, script_code: bytes, hash_type: int) -> bytes:
    """Return the legacy signature hash (the constant 1 in the SIGHASH_SINGLE-bug cases)."""
    msg = legacy_sighash_msg(tx, index, script_code, hash_type)
    return _HASH_ONE if msg is None else sha256d(msg)


class SighashCache:
    """Per-transaction midstates for BIP-0143 and BIP-0341, each computed at most once.

    ``spent_outputs`` lists the output each input spends (None where unknown);
    taproot signature hashes need all of them.
    """

    def __init__(self, tx: Transaction, spent_outputs: list[TxOut | None]) -> None:
        self.tx = tx
        self.spent_outputs = spent_outputs

    # -- serialized pieces shared by both schemes ----------------------------------
    @cached_property
    def _prevouts(self) -> bytes:
        return b"".join(txin.prevout.serialize() for txin in self.tx.inputs)

    @cached_property
    def _sequences(self) -> bytes:
        return b"".join(txin.sequence.to_bytes(4, "little") for txin in self.tx.inputs)

    @cached_property
    def _outputs(self) -> bytes:
        return b"".join(out.serialize() for out in self.tx.outputs)

    # -- legacy --------------------------------------------------------------------
    @cached_property
    def _legacy_inputs(self) -> bytes:
        # Every input as a SIGHASH_ALL preimage has it when it is not the one signed:
        # outpoint, empty script, sequence -- 41 bytes each.
        return b"".join(txin.prevout.serialize() + b"\x00" + txin.sequence.to_bytes(4, "little")
                        for txin in self.tx.inputs)

    def legacy_sighash(self, index: int, script_code: bytes, hash_type: int) -> bytes:
        """Return ``legacy_sighash(tx, index, script_code, hash_type)``, SIGHASH_ALL faster.

        Other hash types, and an index out of range, take ``legacy_sighash`` itself.
        """
        tx = self.tx
        if hash_type & 0x1F != SIGHASH_ALL or hash_type & SIGHASH_ANYONECANPAY \
                or not 0 <= index < len(tx.inputs):
            return legacy_sighash(tx, index, script_code, hash_type)
        txin, script = tx.inputs[index], remove_codeseparators(script_code)
        at = 41 * index
        return sha256d(b"".join([
            tx.version.to_bytes(4, "little"), ser_compact_size(len(tx.inputs)),
            self._legacy_inputs[:at], txin.prevout.serialize(), ser_compact_size(len(script)),
            script, txin.sequence.to_bytes(4, "little"), self._legacy_inputs[at + 41:],
            ser_compact_size(len(tx.outputs)), self._outputs, tx.locktime.to_bytes(4, "little"),
            (hash_type & 0xFFFFFFFF).to_bytes(4, "little")]))

    # -- BIP-0143 ------------------------------------------------------------------
    @cached_property
    def hash_prevouts(self) -> bytes:
        """Return BIP-0143 hashPrevouts."""
        return sha256d(self._prevouts)

    @cached_property
    def hash_sequence(self) -> bytes:
        """Return BIP-0143 hashSequence."""
        return sha256d(self._sequences)

    @cached_property
    def hash_outputs(self) -> bytes:
        """Return BIP-0143 hashOutputs."""
        return sha256d(self._outputs)

    def segwit_v0_sighash_msg(self, index: int, script_code: bytes, amount: int,
                              hash_type: int) -> bytes:
        """Return the BIP-0143 preimage for input ``index``."""
        txin = self.tx.inputs[index]
        base = hash_type & 0x1F
        anyone = bool(hash_type & SIGHASH_ANYONECANPAY)
        zero = bytes(32)
        # BIP-0143: hashSequence is zero for ANYONECANPAY, SINGLE and NONE.
        prevouts = zero if anyone else self.hash_prevouts
        sequence = zero if anyone or base in (SIGHASH_SINGLE, SIGHASH_NONE) else self.hash_sequence
        if base not in (SIGHASH_SINGLE, SIGHASH_NONE):
            outputs = self.hash_outputs
        elif base == SIGHASH_SINGLE and index < len(self.tx.outputs):
            outputs = sha256d(self.tx.outputs[index].serialize())
        else:
            outputs = zero
        return b"".join([
            self.tx.version.to_bytes(4, "little"), prevouts, sequence, txin.prevout.serialize(),
            ser_compact_size(len(script_code)), script_code, amount.to_bytes(8, "little"),
            txin.sequence.to_bytes(4, "little"), outputs, self.tx.locktime.to_bytes(4, "little"),
            hash_type.to_bytes(4, "little")])

    def segwit_v0_sighash(self, index: int, script_code: bytes, amount: int,
                          hash_type: int) -> bytes:
        """Return the BIP-0143 signature hash for input ``index``."""
        return sha256d(self.segwit_v0_sighash_msg(index, script_code, amount, hash_type))

    # -- BIP-0341 ------------------------------------------------------------------
    def _known_spent(self) -> list[TxOut]:
        missing = [i for i, out in enumerate(self.spent_outputs) if out is None]
        if missing:
            raise InputError(f"input {missing[0]}: spent output unknown; BIP-0341 commits to "
                             "the amounts and scripts of all inputs", input_index=missing[0])
        return self.spent_outputs  # type: ignore[return-value]

    @cached_property
    def sha_prevouts(self) -> bytes:
        """Return BIP-0341 sha_prevouts."""
        return sha256(self._prevouts)

    @cached_property
    def sha_amounts(self) -> bytes:
        """Return BIP-0341 sha_amounts."""
        return sha256(b"".join(o.amount.to_bytes(8, "little") for o in self._known_spent()))

    @cached_property
    def sha_scriptpubkeys(self) -> bytes:
        """Return BIP-0341 sha_scriptpubkeys."""
        return sha256(b"".join(ser_compact_size(len(o.script_pubkey)) + o.script_pubkey
                               for o in self._known_spent()))

    @cached_property
    def sha_sequences(self) -> bytes:
        """Return BIP-0341 sha_sequences."""
        return sha256(self._sequences)

    @cached_property
    def sha_outputs(self) -> bytes:
        """Return BIP-0341 sha_outputs."""
        return sha256(self._outputs)

    def taproot_sighash_msg(self, index: int, hash_type: int, annex: bytes | None = None) -> bytes:
        """Return 0x00 || SigMsg(hash_type, 0) for a key-path spend of input ``index``.

        The leading epoch byte is included, as in the BIP-0341 wallet vectors' ``sigMsg``.

        Raises:
            InputError: invalid hash type, SIGHASH_SINGLE without its output, or
                unknown spent outputs.
        """
        if hash_type not in TAPROOT_SIGHASH_TYPES:
            raise InputError(f"input {index}: sighash type {hash_type:#x} is invalid for taproot",
                             input_index=index)
        base = hash_type & 0x03
        anyone = bool(hash_type & SIGHASH_ANYONECANPAY)
        parts = [b"\x00", bytes([hash_type]), self.tx.version.to_bytes(4, "little"),
                 self.tx.locktime.to_bytes(4, "little")]
        if not anyone:
            parts += [self.sha_prevouts, self.sha_amounts, self.sha_scriptpubkeys,
                      self.sha_sequences]
        if base not in (SIGHASH_NONE, SIGHASH_SINGLE):
            parts.append(self.sha_outputs)
        parts.append(bytes([1 if annex is not None else 0]))  # spend_type: key path, ext_flag 0
        if anyone:
            txin, spent = self.tx.inputs[index], self.spent_outputs[index]
            if spent is None:
                raise InputError(f"input {index}: spent output unknown", input_index=index)
            parts += [txin.prevout.serialize(), spent.amount.to_bytes(8, "little"),
                      ser_compact_size(len(spent.script_pubkey)) + spent.script_pubkey,
                      txin.sequence.to_bytes(4, "little")]
        else:
            parts.append(index.to_bytes(4, "little"))
        if annex is not None:
            parts.append(sha256(ser_compact_size(len(annex)) + annex))
        if base == SIGHASH_SINGLE:
            if index >= len(self.tx.outputs):
                raise InputError(f"input {index}: SIGHASH_SINGLE without a matching output",
                                 input_index=index)
            parts.append(sha256(self.tx.outputs[index].serialize()))
        return b"".join(parts)

    def taproot_sighash(self, index: int, hash_type: int, annex: bytes | None = None) -> bytes:
        """Return hash_TapSighash(0x00 || SigMsg) for a key-path spend of input ``index``."""
        return tagged_hash("TapSighash", self.taproot_sighash_msg(index, hash_type, annex))


