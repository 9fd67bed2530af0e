"""Keccak-256 (the pre-standard SHA-3 Ethereum uses) through pycryptodome.

hashlib's sha3_256 is the final FIPS-202 padding, which gives different hashes,
so the well-kept pycryptodome implementation is used instead of a hand-written one.
"""

from __future__ import annotations

from Crypto.Hash import keccak as _keccak

__all__ = ["keccak256"]


def keccak256(data: bytes) -> bytes:
    """Return Keccak-256 of ``data``."""
    return bytes(_keccak.new(digest_bits=256, data=data).digest())
