"""Hash functions of Bitcoin: SHA-256d, HASH160, BIP-0340 tagged hashes, keyed HMAC-SHA512.

https://github.com/bitcoin/bips/blob/master/bip-0340.mediawiki#design (tagged hashes)
https://www.rfc-editor.org/rfc/rfc2104 (HMAC)

``tagged_hasher`` and ``HmacSha512`` keep hash states that depend only on a tag
or a key, so the per-message cost is the message alone (issue #9: every address
is one HMAC under its chain key's chain code).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

__all__ = ["sha256", "sha256d", "hash160", "tagged_hash", "tagged_hasher", "HmacSha512"]

_IPAD = bytes(b ^ 0x36 for b in range(256))   # RFC 2104 inner and outer pads, as
_OPAD = bytes(b ^ 0x5C for b in range(256))   # bytes.translate tables (as hmac.py does)


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


class HmacSha512:
    """HMAC-SHA512 under one fixed key, with the two padded key blocks hashed once.

    ``HmacSha512(key).digest(msg) == hmac.digest(key, msg, "sha512")``; each
    digest then costs two copies and two short updates instead of hashing the
    128-byte pads again.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 128:   # RFC 2104: a key longer than the block is hashed first
            key = hashlib.sha512(key).digest()
        key = key.ljust(128, b"\x00")
        self._inner = hashlib.sha512(key.translate(_IPAD))
        self._outer = hashlib.sha512(key.translate(_OPAD))

    def digest(self, msg: bytes) -> bytes:
        """Return HMAC-SHA512(key, msg)."""
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()
