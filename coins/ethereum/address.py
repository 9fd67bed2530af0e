"""Ethereum addresses: the last 20 bytes of Keccak-256 of the public key, EIP-55 checksummed.

https://eips.ethereum.org/EIPS/eip-55
"""

from __future__ import annotations

from coins.bitcoin import ecc
from qsigner.errors import InputError

from .keccak import keccak256

__all__ = ["pubkey_to_address", "checksum_address", "parse_address"]


def checksum_address(raw20: bytes) -> str:
    """Return the EIP-55 mixed-case form of a 20-byte address."""
    hexaddr = raw20.hex()
    digest = keccak256(hexaddr.encode()).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c
                          for i, c in enumerate(hexaddr))


def pubkey_to_address(pubkey: bytes) -> str:
    """Return the checksummed address of a compressed or uncompressed public key."""
    return checksum_address(keccak256(ecc.pubkey_uncompressed(pubkey)[1:])[-20:])


def parse_address(text: object, field: str = "to") -> bytes:
    """Return the 20 bytes of an address; a mixed-case one must carry a valid EIP-55 checksum.

    Raises:
        InputError: not 0x + 40 hex digits, or a wrong checksum.
    """
    if not isinstance(text, str) or len(text) != 42 or not text.startswith(("0x", "0X")):
        raise InputError(f"{field}: expected 0x followed by 40 hex digits", field=field)
    body = text[2:]
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise InputError(f"{field}: not hex", field=field) from None
    if body != body.lower() and body != body.upper() and checksum_address(raw) != "0x" + body:
        raise InputError(f"{field}: EIP-55 checksum mismatch", field=field)
    return raw
