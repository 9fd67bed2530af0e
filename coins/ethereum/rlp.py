"""Recursive Length Prefix encoding (Ethereum Yellow Paper, appendix B).

Only encoding is needed: the signer builds signing payloads and signed
transactions; it never reads RLP from outside. Integers are big-endian with no
leading zeros (zero is the empty string).
"""

from __future__ import annotations

from typing import Union

__all__ = ["encode", "int_to_bytes", "Item"]

Item = Union[bytes, int, list["Item"]]


def int_to_bytes(value: int) -> bytes:
    """Return ``value`` big-endian with no leading zeros (b"" for 0)."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = int_to_bytes(length)
    return bytes([offset + 55 + len(encoded)]) + encoded


def encode(item: Item) -> bytes:
    """Return the RLP encoding of bytes, a non-negative int, or a (nested) list of them."""
    if isinstance(item, int):
        item = int_to_bytes(item)
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_prefix(len(item), 0x80) + item
    payload = b"".join(encode(x) for x in item)
    return _length_prefix(len(payload), 0xC0) + payload
