"""Output scripts of the four address types, and address <-> scriptPubKey.

p2pkh (BIP-0044 accounts), p2sh-p2wpkh (BIP-0049, BIP-0141 nested), p2wpkh
(BIP-0084, BIP-0141) and p2tr (BIP-0086 key path, BIP-0341). Address strings
follow Bitcoin Core's ``key_io.cpp``: Base58Check for p2pkh/p2sh, bech32 for
witness v0 and bech32m for v1+ (BIP-0350).
"""

from __future__ import annotations

from qsigner.errors import InputError

from . import ecc
from .base58 import b58check_decode, b58check_encode
from .bech32 import decode_segwit_address, encode_segwit_address
from .hashes import hash160
from .networks import Network

__all__ = ["p2pkh_script", "p2sh_script", "p2wpkh_script", "p2tr_script", "witness_script",
           "key_to_script", "key_to_redeem_script", "script_to_address", "address_to_script",
           "classify_script"]

OP_0, OP_1, OP_DUP, OP_EQUAL, OP_EQUALVERIFY, OP_HASH160, OP_CHECKSIG = (
    0x00, 0x51, 0x76, 0x87, 0x88, 0xA9, 0xAC)


def p2pkh_script(pubkey_hash: bytes) -> bytes:
    """Return OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG."""
    return bytes([OP_DUP, OP_HASH160, 20]) + pubkey_hash + bytes([OP_EQUALVERIFY, OP_CHECKSIG])


def p2sh_script(script_hash: bytes) -> bytes:
    """Return OP_HASH160 <20> OP_EQUAL (BIP-0016)."""
    return bytes([OP_HASH160, 20]) + script_hash + bytes([OP_EQUAL])


def witness_script(version: int, program: bytes) -> bytes:
    """Return the scriptPubKey OP_n <program> of a segwit output (BIP-0141)."""
    return bytes([OP_0 if version == 0 else OP_1 + version - 1, len(program)]) + program


def p2wpkh_script(pubkey_hash: bytes) -> bytes:
    """Return OP_0 <20-byte key hash>."""
    return witness_script(0, pubkey_hash)


def p2tr_script(output_key: bytes) -> bytes:
    """Return OP_1 <32-byte x-only output key>."""
    return witness_script(1, output_key)


def key_to_redeem_script(pubkey: bytes) -> bytes:
    """Return the BIP-0049 redeem script (the p2wpkh program) that p2sh-p2wpkh wraps."""
    return p2wpkh_script(hash160(pubkey))


def key_to_script(pubkey: bytes, address_type: str) -> bytes:
    """Return the scriptPubKey paying compressed ``pubkey`` as ``address_type``."""
    if address_type == "p2wpkh":
        return p2wpkh_script(hash160(pubkey))
    if address_type == "p2tr":
        output_key, _ = ecc.taproot_tweak_pubkey(ecc.xonly(pubkey))
        return p2tr_script(output_key)
    if address_type == "p2sh-p2wpkh":
        return p2sh_script(hash160(key_to_redeem_script(pubkey)))
    if address_type == "p2pkh":
        return p2pkh_script(hash160(pubkey))
    raise InputError(f"address_type: {address_type!r} unknown", field="address_type")


def classify_script(script: bytes) -> str | None:
    """Return "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "witness_unknown" or None."""
    n = len(script)
    if n == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return "p2pkh"
    if n == 23 and script[:2] == b"\xa9\x14" and script[22] == OP_EQUAL:
        return "p2sh"
    if 4 <= n <= 42 and script[1] == n - 2 and (script[0] == OP_0 or OP_1 <= script[0] <= 0x60):
        if script[0] == OP_0:
            return {22: "p2wpkh", 34: "p2wsh"}.get(n)
        return "p2tr" if script[0] == OP_1 and n == 34 else "witness_unknown"
    return None


def script_to_address(script: bytes, network: Network) -> str:
    """Return the address of a standard scriptPubKey on ``network``.

    Raises:
        InputError: the script has no address form.
    """
    kind = classify_script(script)
    if kind == "p2pkh":
        return b58check_encode(bytes([network.p2pkh_prefix]) + script[3:23])
    if kind == "p2sh":
        return b58check_encode(bytes([network.p2sh_prefix]) + script[2:22])
    if kind is not None:
        version = 0 if script[0] == OP_0 else script[0] - OP_1 + 1
        return encode_segwit_address(network.hrp, version, script[2:])
    raise InputError("script: has no address form", field="script")


def address_to_script(address: str, network: Network) -> bytes:
    """Return the scriptPubKey an address of ``network`` pays.

    Raises:
        InputError: the address is malformed or belongs to another network.
    """
    if not isinstance(address, str) or not address or len(address) > 100:
        raise InputError("address: expected a non-empty string", field="address")
    if address.lower().startswith(network.hrp + "1"):
        version, program = decode_segwit_address(network.hrp, address)
        return witness_script(version, program)
    try:
        payload = b58check_decode(address, "address")
    except InputError:
        raise InputError(f"address: not a valid {network.name} address", field="address") from None
    if len(payload) == 21 and payload[0] == network.p2pkh_prefix:
        return p2pkh_script(payload[1:])
    if len(payload) == 21 and payload[0] == network.p2sh_prefix:
        return p2sh_script(payload[1:])
    raise InputError(f"address: not a valid {network.name} address", field="address")
