"""Wallet Import Format for single private keys (Base58Check, Bitcoin Core ``key_io``).

Used to check derived keys against the BIP-0049/0084 vectors and to read Core's
key_io vectors; qsigner's own API never returns a WIF.
"""

from __future__ import annotations

from qsigner.errors import InputError

from . import ecc
from .base58 import b58check_decode, b58check_encode
from .networks import Network

__all__ = ["encode_wif", "decode_wif"]


def encode_wif(secret: bytes, network: Network, *, compressed: bool = True) -> str:
    """Return the WIF string of a 32-byte secret."""
    return b58check_encode(bytes([network.wif_prefix]) + secret + (b"\x01" if compressed else b""))


def decode_wif(text: str, network: Network) -> tuple[bytes, bool]:
    """Return (secret, compressed) of a WIF string of ``network``.

    Raises:
        InputError: not a WIF key of this network (the text is never quoted).
    """
    payload = b58check_decode(text, "private key")
    compressed = len(payload) == 34 and payload[33] == 1
    if payload[:1] != bytes([network.wif_prefix]) or len(payload) not in (33, 34) or (
            len(payload) == 34 and not compressed):
        raise InputError(f"private key: not a {network.name} WIF key", field="private key")
    secret = payload[1:33]
    if not ecc.is_valid_secret(secret):
        raise InputError("private key: scalar out of range", field="private key")
    return secret, compressed
