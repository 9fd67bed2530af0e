"""Hash functions of Bitcoin: SHA-256d, HASH160 and BIP-0340 tagged hashes.

https://github.com/bitcoin/bips/blob/master/bip-0340.mediawiki#design (tagged hashes)
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

__all__ = ["sha256", "sha256d", "hash160", "tagged_hash", "tagged_hasher"]


def sha256(data: bytes) -> bytes:
    """Return SHA-256 of ``data``."""
    return hashlib.sha256(data).digest()


def sha256d(data: bytes) -> bytes:
    """Return SHA-256(SHA-256(data)), Bitcoin's txid and checksum hash."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def hash160(data: bytes) -> bytes:
    """Return RIPEMD-160(SHA-256(data)), the hash in P2PKH and P2WPKH scripts."""
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


@lru_cache(maxsize=None)
def _tag_prefix(tag: str) -> "hashlib._Hash":
    tag_hash = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(tag_hash + tag_hash)


def tagged_hasher(tag: str) -> "hashlib._Hash":
    """Return a SHA-256 object already fed with the BIP-0340 prefix for ``tag``."""
    return _tag_prefix(tag).copy()


def tagged_hash(tag: str, data: bytes) -> bytes:
    """Return BIP-0340 ``hash_tag(data)`` = SHA-256(SHA-256(tag) || SHA-256(tag) || data)."""
    h = tagged_hasher(tag)
    h.update(data)
    return h.digest()
