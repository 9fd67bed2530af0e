"""PSBT field types and their strict per-field checks (BIP-0174, BIP-0370, BIP-0371, BIP-0373).

https://github.com/bitcoin/bips/blob/master/bip-0174.mediawiki
https://github.com/bitcoin/bips/blob/master/bip-0370.mediawiki
https://github.com/bitcoin/bips/blob/master/bip-0371.mediawiki
https://github.com/bitcoin/bips/blob/master/bip-0373.mediawiki

Each defined key type has a ``Field``: its spec name, the PSBT versions it may
appear in, and one check of (key data, value). The checks follow Bitcoin
Core's ``psbt.h`` deserializer (same sizes, same refusals) and add the BIP
rules Core leaves out (xpub depth = path length, leaf version of a control
block). Types not listed here are unknown and kept untouched.

Two fields hold whole transactions and are walked with ``scan_transaction``
before anything is built from them: the unsigned tx is parsed only once its
counts are within ``MAX_PSBT_INPUTS`` / ``MAX_PSBT_OUTPUTS``, and a
non-witness UTXO is never parsed here (``scan_non_witness_utxo``; the PSBT
keeps the scan of each).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, NamedTuple

from qsigner.errors import InputError

from .ecc import is_valid_pubkey
from .hashes import hash160, sha256, sha256d
from .tx import (MAX_BLOCK_WEIGHT, ByteReader, Transaction, TxOut, TxScan, scan_transaction,
                 ser_compact_size)

__all__ = [
    "PSBT_GLOBAL_UNSIGNED_TX", "PSBT_GLOBAL_XPUB", "PSBT_GLOBAL_TX_VERSION",
    "PSBT_GLOBAL_FALLBACK_LOCKTIME", "PSBT_GLOBAL_INPUT_COUNT", "PSBT_GLOBAL_OUTPUT_COUNT",
    "PSBT_GLOBAL_TX_MODIFIABLE", "PSBT_GLOBAL_VERSION", "PSBT_GLOBAL_PROPRIETARY",
    "PSBT_IN_NON_WITNESS_UTXO", "PSBT_IN_WITNESS_UTXO", "PSBT_IN_PARTIAL_SIG",
    "PSBT_IN_SIGHASH_TYPE", "PSBT_IN_REDEEM_SCRIPT", "PSBT_IN_WITNESS_SCRIPT",
    "PSBT_IN_BIP32_DERIVATION", "PSBT_IN_FINAL_SCRIPTSIG", "PSBT_IN_FINAL_SCRIPTWITNESS",
    "PSBT_IN_POR_COMMITMENT", "PSBT_IN_RIPEMD160", "PSBT_IN_SHA256", "PSBT_IN_HASH160",
    "PSBT_IN_HASH256", "PSBT_IN_PREVIOUS_TXID", "PSBT_IN_OUTPUT_INDEX", "PSBT_IN_SEQUENCE",
    "PSBT_IN_REQUIRED_TIME_LOCKTIME", "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME",
    "PSBT_IN_TAP_KEY_SIG", "PSBT_IN_TAP_SCRIPT_SIG", "PSBT_IN_TAP_LEAF_SCRIPT",
    "PSBT_IN_TAP_BIP32_DERIVATION", "PSBT_IN_TAP_INTERNAL_KEY", "PSBT_IN_TAP_MERKLE_ROOT",
    "PSBT_IN_MUSIG2_PARTICIPANT_PUBKEYS", "PSBT_IN_MUSIG2_PUB_NONCE",
    "PSBT_IN_MUSIG2_PARTIAL_SIG", "PSBT_IN_PROPRIETARY",
    "PSBT_OUT_REDEEM_SCRIPT", "PSBT_OUT_WITNESS_SCRIPT", "PSBT_OUT_BIP32_DERIVATION",
    "PSBT_OUT_AMOUNT", "PSBT_OUT_SCRIPT", "PSBT_OUT_TAP_INTERNAL_KEY", "PSBT_OUT_TAP_TREE",
    "PSBT_OUT_TAP_BIP32_DERIVATION", "PSBT_OUT_MUSIG2_PARTICIPANT_PUBKEYS",
    "PSBT_OUT_PROPRIETARY", "LOCKTIME_THRESHOLD",
    "Field", "GLOBAL_FIELDS", "INPUT_FIELDS", "OUTPUT_FIELDS",
    "Bip32Derivation", "TapBip32Derivation", "TapLeafScript",
    "decode_key_origin", "decode_tap_bip32", "decode_witness", "encode_witness",
    "decode_tap_tree", "is_valid_signature_encoding", "scan_non_witness_utxo",
    "MAX_PSBT_INPUTS", "MAX_PSBT_OUTPUTS",
]

MAX_PSBT_INPUTS = 10_000    # 3,000-input consolidations sign; a standard tx holds < 2,500
MAX_PSBT_OUTPUTS = 10_000

PSBT_GLOBAL_UNSIGNED_TX = 0x00
PSBT_GLOBAL_XPUB = 0x01
PSBT_GLOBAL_TX_VERSION = 0x02
PSBT_GLOBAL_FALLBACK_LOCKTIME = 0x03
PSBT_GLOBAL_INPUT_COUNT = 0x04
PSBT_GLOBAL_OUTPUT_COUNT = 0x05
PSBT_GLOBAL_TX_MODIFIABLE = 0x06
PSBT_GLOBAL_VERSION = 0xFB
PSBT_GLOBAL_PROPRIETARY = 0xFC

PSBT_IN_NON_WITNESS_UTXO = 0x00
PSBT_IN_WITNESS_UTXO = 0x01
PSBT_IN_PARTIAL_SIG = 0x02
PSBT_IN_SIGHASH_TYPE = 0x03
PSBT_IN_REDEEM_SCRIPT = 0x04
PSBT_IN_WITNESS_SCRIPT = 0x05
PSBT_IN_BIP32_DERIVATION = 0x06
PSBT_IN_FINAL_SCRIPTSIG = 0x07
PSBT_IN_FINAL_SCRIPTWITNESS = 0x08
PSBT_IN_POR_COMMITMENT = 0x09
PSBT_IN_RIPEMD160 = 0x0A
PSBT_IN_SHA256 = 0x0B
PSBT_IN_HASH160 = 0x0C
PSBT_IN_HASH256 = 0x0D
PSBT_IN_PREVIOUS_TXID = 0x0E
PSBT_IN_OUTPUT_INDEX = 0x0F
PSBT_IN_SEQUENCE = 0x10
PSBT_IN_REQUIRED_TIME_LOCKTIME = 0x11
PSBT_IN_REQUIRED_HEIGHT_LOCKTIME = 0x12
PSBT_IN_TAP_KEY_SIG = 0x13
PSBT_IN_TAP_SCRIPT_SIG = 0x14
PSBT_IN_TAP_LEAF_SCRIPT = 0x15
PSBT_IN_TAP_BIP32_DERIVATION = 0x16
PSBT_IN_TAP_INTERNAL_KEY = 0x17
PSBT_IN_TAP_MERKLE_ROOT = 0x18
PSBT_IN_MUSIG2_PARTICIPANT_PUBKEYS = 0x1A
PSBT_IN_MUSIG2_PUB_NONCE = 0x1B
PSBT_IN_MUSIG2_PARTIAL_SIG = 0x1C
PSBT_IN_PROPRIETARY = 0xFC

PSBT_OUT_REDEEM_SCRIPT = 0x00
PSBT_OUT_WITNESS_SCRIPT = 0x01
PSBT_OUT_BIP32_DERIVATION = 0x02
PSBT_OUT_AMOUNT = 0x03
PSBT_OUT_SCRIPT = 0x04
PSBT_OUT_TAP_INTERNAL_KEY = 0x05
PSBT_OUT_TAP_TREE = 0x06
PSBT_OUT_TAP_BIP32_DERIVATION = 0x07
PSBT_OUT_MUSIG2_PARTICIPANT_PUBKEYS = 0x08
PSBT_OUT_PROPRIETARY = 0xFC

LOCKTIME_THRESHOLD = 500_000_000  # nLockTime below this is a height, at or above a time
TAPROOT_CONTROL_MAX_NODE_COUNT = 128  # BIP-0341: at most 128 hashes in a control block
TAPROOT_LEAF_MASK = 0xFE
SIGHASH_TYPES_ECDSA = {0x01, 0x02, 0x03, 0x81, 0x82, 0x83}  # Core's STRICTENC
SIGHASH_TYPES_SCHNORR = SIGHASH_TYPES_ECDSA  # BIP-0341: a 65th byte of 0x00 is invalid


class Bip32Derivation(NamedTuple):
    """A pubkey's BIP-0032 origin: the master key fingerprint and the path from it."""

    pubkey: bytes
    fingerprint: bytes
    path: list[int]


class TapBip32Derivation(NamedTuple):
    """An x-only key's origin and the hashes of the leaves it appears in (BIP-0371)."""

    xonly: bytes
    leaf_hashes: list[bytes]
    fingerprint: bytes
    path: list[int]


class TapLeafScript(NamedTuple):
    """A leaf script with its leaf version and the control block that proves it (BIP-0371)."""

    control_block: bytes
    script: bytes
    leaf_version: int


# ---- decoders (shared by the checks and by PSBT's accessors) ---------------------------

def decode_key_origin(value: bytes) -> tuple[bytes, list[int]]:
    """Return (fingerprint, path) from a 4-byte fingerprint followed by 4-byte indexes."""
    # Core's DeserializeKeyOrigin: "Invalid length for HD key path".
    if len(value) % 4 or not value:
        raise InputError(f"key origin of {len(value)} bytes: "
                         "want a fingerprint and 4 bytes per index")
    path = [int.from_bytes(value[i:i + 4], "little") for i in range(4, len(value), 4)]
    return value[:4], path


def decode_tap_bip32(value: bytes) -> tuple[list[bytes], bytes, list[int]]:
    """Return (leaf hashes, fingerprint, path) from a BIP-0371 taproot derivation value."""
    reader = ByteReader(value, "taproot bip32 derivation")
    hashes = [reader.read(32) for _ in range(reader.read_count(32))]
    if len(set(hashes)) != len(hashes):
        raise InputError("taproot bip32 derivation: duplicate leaf hash")
    fingerprint, path = decode_key_origin(reader.read(reader.remaining()))
    return hashes, fingerprint, path


def decode_witness(value: bytes) -> list[bytes]:
    """Return the stack items of a serialized script witness; trailing bytes are refused."""
    reader = ByteReader(value, "script witness")
    items = [reader.read_var_bytes() for _ in range(reader.read_count(1))]
    if reader.remaining():
        raise InputError("script witness: trailing bytes")
    return items


def encode_witness(items: list[bytes]) -> bytes:
    """Return the serialization of a script witness stack."""
    return ser_compact_size(len(items)) + b"".join(ser_compact_size(len(i)) + i for i in items)


def decode_tap_tree(value: bytes) -> list[tuple[int, int, bytes]]:
    """Return the (depth, leaf version, script) leaves of a complete BIP-0371 tap tree.

    The leaves come in depth-first order; they must form exactly one full binary
    tree, checked as Core's ``TaprootBuilder`` does: ``pending[d]`` says a
    subtree at depth ``d`` waits for its sibling.
    """
    if not value:
        raise InputError("taproot tree must not be empty")
    reader = ByteReader(value, "taproot tree")
    leaves: list[tuple[int, int, bytes]] = []
    pending: list[bool] = []
    while reader.remaining():
        depth, leaf_version = reader.read(1)[0], reader.read(1)[0]
        leaves.append((depth, leaf_version, reader.read_var_bytes()))
        if depth > TAPROOT_CONTROL_MAX_NODE_COUNT:
            raise InputError(f"taproot tree: leaf depth {depth} exceeds 128")
        if leaf_version & ~TAPROOT_LEAF_MASK:
            raise InputError(f"taproot tree: invalid leaf version 0x{leaf_version:02x}")
        if depth + 1 < len(pending):
            raise InputError("taproot tree: leaves are not in depth-first order")
        while len(pending) > depth and pending[depth]:
            pending.pop()  # combine with the waiting sibling, move one level up
            if depth == 0:
                raise InputError("taproot tree: more than one root")
            depth -= 1
        pending.extend([False] * (depth + 1 - len(pending)))
        pending[depth] = True
    if pending != [True]:
        raise InputError("taproot tree is incomplete")
    return leaves


def is_valid_signature_encoding(sig: bytes) -> bool:
    """Return True for a strict-DER ECDSA signature with a defined sighash byte.

    A transcription of Core's ``IsValidSignatureEncoding`` (BIP-0066) plus the
    STRICTENC hash-type check, which is what Core's PSBT parser requires.
    """
    # 0x30 [total-len] 0x02 [R-len] [R] 0x02 [S-len] [S] [sighash]
    if not 9 <= len(sig) <= 73 or sig[0] != 0x30 or sig[1] != len(sig) - 3:
        return False
    len_r = sig[3]
    if 5 + len_r >= len(sig):
        return False
    len_s = sig[5 + len_r]
    if len_r + len_s + 7 != len(sig) or sig[2] != 0x02 or sig[4 + len_r] != 0x02:
        return False
    for start, length in ((4, len_r), (6 + len_r, len_s)):
        if length == 0 or sig[start] & 0x80:  # empty or negative
            return False
        if length > 1 and sig[start] == 0 and not sig[start + 1] & 0x80:  # padded
            return False
    return sig[-1] in SIGHASH_TYPES_ECDSA


# ---- checks: each takes (key data, value) and raises InputError --------------------------

Check = Callable[[bytes, bytes], None]


def _key_size(key_data: bytes, *sizes: int) -> None:
    if len(key_data) not in sizes:
        want = " or ".join(str(1 + s) for s in sizes)
        raise InputError(f"key is {1 + len(key_data)} bytes, want {want}")


def _pubkey(key: bytes) -> None:
    if not is_valid_pubkey(key):
        raise InputError(f"invalid public key {key[:4].hex()}…")


def _xonly(key: bytes) -> None:
    if len(key) != 32 or not is_valid_pubkey(b"\x02" + key):
        raise InputError("invalid x-only public key")


def _exact(name: str, size: int) -> Check:
    def check(key_data: bytes, value: bytes) -> None:
        _key_size(key_data, 0)
        if len(value) != size:
            raise InputError(f"{name} is {len(value)} bytes, want {size}")
    return check


def _any_value(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 0)


def _uint32_at_least(name: str, low: int, high: int = 1 << 32) -> Check:
    def check(key_data: bytes, value: bytes) -> None:
        _exact(name, 4)(key_data, value)
        if not low <= int.from_bytes(value, "little") < high:
            raise InputError(f"{name} {int.from_bytes(value, 'little')} "
                             f"out of range [{low}, {high})")
    return check


def _compact_size_value(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 0)
    reader = ByteReader(value, "count")
    reader.read_compact_size()
    if reader.remaining():
        raise InputError("count has trailing bytes")


def _unsigned_tx(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 0)
    # BIP-0174: the unsigned tx is in the old (non-witness) format with empty scriptSigs.
    scan = scan_transaction(value, allow_witness=False)
    if scan.input_count > MAX_PSBT_INPUTS or scan.output_count > MAX_PSBT_OUTPUTS:
        raise InputError(f"unsigned tx has {scan.input_count} inputs / {scan.output_count} "
                         f"outputs; at most {MAX_PSBT_INPUTS} / {MAX_PSBT_OUTPUTS} are accepted")
    tx = Transaction.parse(value, allow_witness=False)
    if any(txin.script_sig for txin in tx.inputs):
        raise InputError("unsigned tx has a non-empty scriptSig")


def _xpub(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 78)
    _pubkey(key_data[45:78])
    # BIP-0174: the number of indexes must match the depth of the xpub.
    if len(decode_key_origin(value)[1]) != key_data[4]:
        raise InputError(f"xpub depth {key_data[4]} does not match its path length")


def _proprietary(key_data: bytes, value: bytes) -> None:
    reader = ByteReader(key_data, "proprietary key")
    reader.read_var_bytes()  # identifier
    reader.read_compact_size()  # subtype; the rest is key data


def scan_non_witness_utxo(value: bytes) -> TxScan:
    """Scan a PSBT_IN_NON_WITNESS_UTXO value, refusing what no block could hold.

    A block weighs at most ``MAX_BLOCK_WEIGHT`` (BIP-0141), so a heavier previous
    transaction cannot exist: that is at most 1,000,000 non-witness bytes and
    4,000,000 bytes in all. The total size is checked before the walk.

    Raises:
        InputError: not exactly one transaction, or heavier than a block.
    """
    if len(value) > MAX_BLOCK_WEIGHT:
        raise InputError(f"transaction of {len(value)} bytes is heavier than a block "
                         f"({MAX_BLOCK_WEIGHT} weight units)")
    scan = scan_transaction(value)
    if scan.weight > MAX_BLOCK_WEIGHT:
        raise InputError(f"transaction weight {scan.weight} is more than a block's "
                         f"{MAX_BLOCK_WEIGHT}")
    return scan


def _non_witness_utxo(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 0)
    # The transaction is checked by PSBT.non_witness_utxo_scan, which keeps the scan.


def _witness_utxo(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 0)
    TxOut.parse(value)


def _partial_sig(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 33, 65)
    _pubkey(key_data)
    if not is_valid_signature_encoding(value):
        raise InputError("signature is not strict DER with a defined sighash type")


def _bip32_derivation(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 33, 65)
    _pubkey(key_data)
    decode_key_origin(value)


def _final_witness(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 0)
    decode_witness(value)


def _preimage(hash_fn: Callable[[bytes], bytes], size: int) -> Check:
    def check(key_data: bytes, value: bytes) -> None:
        _key_size(key_data, size)
        if hash_fn(value) != key_data:
            raise InputError("preimage does not match its hash")
    return check


def _ripemd160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", data).digest()


def _schnorr_sig(sig: bytes) -> None:
    if len(sig) not in (64, 65):
        raise InputError(f"schnorr signature is {len(sig)} bytes, want 64 or 65")
    if len(sig) == 65 and sig[64] not in SIGHASH_TYPES_SCHNORR:
        raise InputError(f"schnorr signature has invalid sighash type 0x{sig[64]:02x}")


def _tap_key_sig(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 0)
    _schnorr_sig(value)


def _tap_script_sig(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 64)
    _xonly(key_data[:32])
    _schnorr_sig(value)


def _tap_leaf_script(key_data: bytes, value: bytes) -> None:
    # Key data is a BIP-0341 control block: 33 + 32*m bytes, m <= 128.
    if len(key_data) < 33 or (len(key_data) - 33) % 32 or len(key_data) > 33 + 32 * 128:
        raise InputError(f"control block of {len(key_data)} bytes: want 33 + 32*m, m <= 128")
    _xonly(key_data[1:33])
    if not value:
        raise InputError("leaf script value is empty (want script and leaf version)")
    if value[-1] != key_data[0] & TAPROOT_LEAF_MASK:
        raise InputError("leaf version differs from the control block's")


def _tap_bip32(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 32)
    _xonly(key_data)
    decode_tap_bip32(value)


def _tap_internal_key(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 0)
    _xonly(value)


def _tap_tree(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 0)
    decode_tap_tree(value)


def _musig2_participants(key_data: bytes, value: bytes) -> None:
    _key_size(key_data, 33)
    _pubkey(key_data)
    if len(value) % 33:
        raise InputError("musig2 participant keys are not a multiple of 33 bytes")
    for i in range(0, len(value), 33):
        _pubkey(value[i:i + 33])


def _musig2_by_participant(size: int) -> Check:
    def check(key_data: bytes, value: bytes) -> None:
        _key_size(key_data, 66, 98)  # participant, aggregate [, leaf hash]
        _pubkey(key_data[:33])
        _pubkey(key_data[33:66])
        if len(value) != size:
            raise InputError(f"musig2 value is {len(value)} bytes, want {size}")
    return check


@dataclass(frozen=True)
class Field:
    """A defined key type: its spec name, the versions that allow it, and its check."""

    name: str
    check: Check
    v0: bool = True
    v2: bool = True


GLOBAL_FIELDS: dict[int, Field] = {
    PSBT_GLOBAL_UNSIGNED_TX: Field("PSBT_GLOBAL_UNSIGNED_TX", _unsigned_tx, v2=False),
    PSBT_GLOBAL_XPUB: Field("PSBT_GLOBAL_XPUB", _xpub),
    PSBT_GLOBAL_TX_VERSION: Field("PSBT_GLOBAL_TX_VERSION", _uint32_at_least("tx version", 2),
                                  v0=False),
    PSBT_GLOBAL_FALLBACK_LOCKTIME: Field("PSBT_GLOBAL_FALLBACK_LOCKTIME",
                                         _exact("fallback locktime", 4), v0=False),
    PSBT_GLOBAL_INPUT_COUNT: Field("PSBT_GLOBAL_INPUT_COUNT", _compact_size_value, v0=False),
    PSBT_GLOBAL_OUTPUT_COUNT: Field("PSBT_GLOBAL_OUTPUT_COUNT", _compact_size_value, v0=False),
    PSBT_GLOBAL_TX_MODIFIABLE: Field("PSBT_GLOBAL_TX_MODIFIABLE", _exact("modifiable flags", 1),
                                     v0=False),
    PSBT_GLOBAL_VERSION: Field("PSBT_GLOBAL_VERSION", _exact("version", 4)),
    PSBT_GLOBAL_PROPRIETARY: Field("PSBT_GLOBAL_PROPRIETARY", _proprietary),
}

INPUT_FIELDS: dict[int, Field] = {
    PSBT_IN_NON_WITNESS_UTXO: Field("PSBT_IN_NON_WITNESS_UTXO", _non_witness_utxo),
    PSBT_IN_WITNESS_UTXO: Field("PSBT_IN_WITNESS_UTXO", _witness_utxo),
    PSBT_IN_PARTIAL_SIG: Field("PSBT_IN_PARTIAL_SIG", _partial_sig),
    PSBT_IN_SIGHASH_TYPE: Field("PSBT_IN_SIGHASH_TYPE", _exact("sighash type", 4)),
    PSBT_IN_REDEEM_SCRIPT: Field("PSBT_IN_REDEEM_SCRIPT", _any_value),
    PSBT_IN_WITNESS_SCRIPT: Field("PSBT_IN_WITNESS_SCRIPT", _any_value),
    PSBT_IN_BIP32_DERIVATION: Field("PSBT_IN_BIP32_DERIVATION", _bip32_derivation),
    PSBT_IN_FINAL_SCRIPTSIG: Field("PSBT_IN_FINAL_SCRIPTSIG", _any_value),
    PSBT_IN_FINAL_SCRIPTWITNESS: Field("PSBT_IN_FINAL_SCRIPTWITNESS", _final_witness),
    PSBT_IN_POR_COMMITMENT: Field("PSBT_IN_POR_COMMITMENT", _any_value),
    PSBT_IN_RIPEMD160: Field("PSBT_IN_RIPEMD160", _preimage(_ripemd160, 20)),
    PSBT_IN_SHA256: Field("PSBT_IN_SHA256", _preimage(sha256, 32)),
    PSBT_IN_HASH160: Field("PSBT_IN_HASH160", _preimage(hash160, 20)),
    PSBT_IN_HASH256: Field("PSBT_IN_HASH256", _preimage(sha256d, 32)),
    PSBT_IN_PREVIOUS_TXID: Field("PSBT_IN_PREVIOUS_TXID", _exact("previous txid", 32), v0=False),
    PSBT_IN_OUTPUT_INDEX: Field("PSBT_IN_OUTPUT_INDEX", _exact("output index", 4), v0=False),
    PSBT_IN_SEQUENCE: Field("PSBT_IN_SEQUENCE", _exact("sequence", 4), v0=False),
    PSBT_IN_REQUIRED_TIME_LOCKTIME: Field(
        "PSBT_IN_REQUIRED_TIME_LOCKTIME",
        _uint32_at_least("required time locktime", LOCKTIME_THRESHOLD), v0=False),
    PSBT_IN_REQUIRED_HEIGHT_LOCKTIME: Field(
        "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME",
        _uint32_at_least("required height locktime", 1, LOCKTIME_THRESHOLD), v0=False),
    PSBT_IN_TAP_KEY_SIG: Field("PSBT_IN_TAP_KEY_SIG", _tap_key_sig),
    PSBT_IN_TAP_SCRIPT_SIG: Field("PSBT_IN_TAP_SCRIPT_SIG", _tap_script_sig),
    PSBT_IN_TAP_LEAF_SCRIPT: Field("PSBT_IN_TAP_LEAF_SCRIPT", _tap_leaf_script),
    PSBT_IN_TAP_BIP32_DERIVATION: Field("PSBT_IN_TAP_BIP32_DERIVATION", _tap_bip32),
    PSBT_IN_TAP_INTERNAL_KEY: Field("PSBT_IN_TAP_INTERNAL_KEY", _tap_internal_key),
    PSBT_IN_TAP_MERKLE_ROOT: Field("PSBT_IN_TAP_MERKLE_ROOT", _exact("merkle root", 32)),
    PSBT_IN_MUSIG2_PARTICIPANT_PUBKEYS: Field("PSBT_IN_MUSIG2_PARTICIPANT_PUBKEYS",
                                              _musig2_participants),
    PSBT_IN_MUSIG2_PUB_NONCE: Field("PSBT_IN_MUSIG2_PUB_NONCE", _musig2_by_participant(66)),
    PSBT_IN_MUSIG2_PARTIAL_SIG: Field("PSBT_IN_MUSIG2_PARTIAL_SIG", _musig2_by_participant(32)),
    PSBT_IN_PROPRIETARY: Field("PSBT_IN_PROPRIETARY", _proprietary),
}

OUTPUT_FIELDS: dict[int, Field] = {
    PSBT_OUT_REDEEM_SCRIPT: Field("PSBT_OUT_REDEEM_SCRIPT", _any_value),
    PSBT_OUT_WITNESS_SCRIPT: Field("PSBT_OUT_WITNESS_SCRIPT", _any_value),
    PSBT_OUT_BIP32_DERIVATION: Field("PSBT_OUT_BIP32_DERIVATION", _bip32_derivation),
    PSBT_OUT_AMOUNT: Field("PSBT_OUT_AMOUNT", _exact("amount", 8), v0=False),
    PSBT_OUT_SCRIPT: Field("PSBT_OUT_SCRIPT", _any_value, v0=False),
    PSBT_OUT_TAP_INTERNAL_KEY: Field("PSBT_OUT_TAP_INTERNAL_KEY", _tap_internal_key),
    PSBT_OUT_TAP_TREE: Field("PSBT_OUT_TAP_TREE", _tap_tree),
    PSBT_OUT_TAP_BIP32_DERIVATION: Field("PSBT_OUT_TAP_BIP32_DERIVATION", _tap_bip32),
    PSBT_OUT_MUSIG2_PARTICIPANT_PUBKEYS: Field("PSBT_OUT_MUSIG2_PARTICIPANT_PUBKEYS",
                                               _musig2_participants),
    PSBT_OUT_PROPRIETARY: Field("PSBT_OUT_PROPRIETARY", _proprietary),
}
