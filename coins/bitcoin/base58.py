"""Base58Check encoding, through the well-kept ``base58`` package.

https://en.bitcoin.it/wiki/Base58Check_encoding -- decoding goes through the
package, its errors turned into ``InputError`` so no other exception escapes.
Encoding is done here (see ``b58check_encode``): it is on the address hot path,
and tests compare it with the package's output.
"""

from __future__ import annotations

import hashlib

import base58 as _base58

from qsigner.errors import InputError

__all__ = ["b58check_encode", "b58check_decode"]


_ALPHABET = _base58.BITCOIN_ALPHABET


def b58check_encode(payload: bytes) -> str:
    """Return the Base58Check string of ``payload`` (4-byte double-SHA256 checksum).

    Encoded here rather than by ``b58encode_check``, whose digit loop prepends to a
    bytes object (about 1.6x slower on a 25-byte address payload; issue #9).
    """
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n, digits = int.from_bytes(data, "big"), bytearray()
    while n:
        n, digit = divmod(n, 58)
        digits.append(_ALPHABET[digit])
    digits.extend(b"1" * (len(data) - len(data.lstrip(b"\0"))))   # one "1" per leading zero
    digits.reverse()
    return digits.decode("ascii")


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
