"""Base58Check encoding, through the well-kept ``base58`` package.

https://en.bitcoin.it/wiki/Base58Check_encoding -- this wrapper only turns the
package's errors into ``InputError`` so no other exception escapes.
"""

from __future__ import annotations

import base58 as _base58

from qsigner.errors import InputError

__all__ = ["b58check_encode", "b58check_decode"]


def b58check_encode(payload: bytes) -> str:
    """Return the Base58Check string of ``payload`` (4-byte double-SHA256 checksum)."""
    return _base58.b58encode_check(payload).decode("ascii")


def b58check_decode(text: str, what: str = "base58 string") -> bytes:
    """Return the payload of a Base58Check string.

    Raises:
        InputError: bad characters, too short, or a wrong checksum.
    """
    if not isinstance(text, str) or not text.isascii() or len(text) > 200:
        raise InputError(f"{what}: not a base58 string", field=what)
    try:
        payload: bytes = _base58.b58decode_check(text)
    except ValueError:
        raise InputError(f"{what}: bad base58 characters or checksum", field=what) from None
    return payload
