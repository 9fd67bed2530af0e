"""Bech32 (BIP-0173) and Bech32m (BIP-0350) strings and segwit addresses.

https://github.com/bitcoin/bips/blob/master/bip-0173.mediawiki
https://github.com/bitcoin/bips/blob/master/bip-0350.mediawiki

Written here because the ``bech32`` package on PyPI predates BIP-0350 and has no
bech32m, which every taproot address needs. Implemented from the BIP text.

Encoding is on the address-generation hot path (issue #9), so the checksum
steps through a 32-entry table of the generator's contributions (one lookup per
character instead of five conditional XORs), the state after each HRP is
computed once, and the program's 5-bit groups come from one integer.
"""

from __future__ import annotations

from functools import lru_cache

from qsigner.errors import InputError

__all__ = ["encode_segwit_address", "decode_segwit_address", "bech32_decode"]

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_CONST = 1
BECH32M_CONST = 0x2BC830A3
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
# BIP-0173's polymod XORs _GEN[i] into the state for each set bit i of the 5 bits
# shifted out at the top; _GEN_TABLE[top] is that XOR for each of the 32 values.
_GEN_TABLE = tuple(
    _GEN[0] * (top & 1) ^ _GEN[1] * (top >> 1 & 1) ^ _GEN[2] * (top >> 2 & 1)
    ^ _GEN[3] * (top >> 3 & 1) ^ _GEN[4] * (top >> 4 & 1) for top in range(32))
_TO_CHARSET = bytes.maketrans(bytes(range(32)), CHARSET.encode())


def _polymod(values: list[int] | tuple[int, ...], chk: int = 1) -> int:
    table = _GEN_TABLE
    for value in values:
        chk = (chk & 0x1FFFFFF) << 5 ^ value ^ table[chk >> 25]
    return chk


@lru_cache(maxsize=16)
def _hrp_state(hrp: str) -> int:
    """Return the checksum state after the expanded HRP (the same for every address)."""
    return _polymod(_hrp_expand(hrp))


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data: list[int], const: int) -> list[int]:
    polymod = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ const
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def bech32_decode(text: str) -> tuple[str, list[int], int]:
    """Return (hrp, 5-bit data without checksum, checksum constant) of a bech32/bech32m string.

    Raises:
        InputError: mixed case, bad characters, bad length or a wrong checksum.
    """
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise InputError("address: character outside the bech32 range", field="address")
    if text.lower() != text and text.upper() != text:
        raise InputError("address: mixed case", field="address")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text) or len(text) > 90:
        raise InputError("address: bad bech32 separator position or length", field="address")
    if not all(c in CHARSET for c in text[pos + 1:]):
        raise InputError("address: character outside the bech32 alphabet", field="address")
    hrp = text[:pos]
    data = [CHARSET.find(c) for c in text[pos + 1:]]
    const = _polymod(_hrp_expand(hrp) + data)
    if const not in (BECH32_CONST, BECH32M_CONST):
        raise InputError("address: bech32 checksum mismatch", field="address")
    return hrp, data[:-6], const


def _convertbits(data: list[int] | bytes, frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad and bits:
        out.append((acc << (tobits - bits)) & maxv)
    elif not pad and (bits >= frombits or ((acc << (tobits - bits)) & maxv)):
        raise InputError("address: invalid padding in bech32 data", field="address")
    return out


def decode_segwit_address(hrp: str, address: str) -> tuple[int, bytes]:
    """Return (witness version, program) of a segwit address for ``hrp``.

    Raises:
        InputError: wrong HRP, wrong checksum variant for the version, bad program length.
    """
    got_hrp, data, const = bech32_decode(address)
    if got_hrp != hrp:
        raise InputError(f"address: human-readable part {got_hrp!r} is not {hrp!r}",
                         field="address")
    if not data or data[0] > 16:
        raise InputError("address: bad witness version", field="address")
    program = bytes(_convertbits(data[1:], 5, 8, False))
    version = data[0]
    if not 2 <= len(program) <= 40:
        raise InputError("address: witness program length out of range", field="address")
    if version == 0 and len(program) not in (20, 32):
        raise InputError("address: v0 witness program must be 20 or 32 bytes", field="address")
    # BIP-0350: version 0 uses bech32, versions 1..16 use bech32m.
    if (version == 0) != (const == BECH32_CONST):
        raise InputError("address: wrong checksum variant for the witness version",
                         field="address")
    return version, program


def _to_groups(program: bytes) -> list[int]:
    """Return ``program`` as 5-bit groups, zero-padded at the end (``_convertbits(.., True)``)."""
    bits = 8 * len(program)
    n = int.from_bytes(program, "big") << (-bits % 5)
    return [n >> shift & 31 for shift in range((bits + 4) // 5 * 5 - 5, -1, -5)]


def encode_segwit_address(hrp: str, version: int, program: bytes) -> str:
    """Return the segwit address (bech32 for v0, bech32m for v1+) of a witness program."""
    const = BECH32_CONST if version == 0 else BECH32M_CONST
    data = [version] + _to_groups(program)
    # _create_checksum, from the HRP's kept state: the data, then six zero groups.
    polymod = _polymod((0, 0, 0, 0, 0, 0), _polymod(data, _hrp_state(hrp))) ^ const
    data += [polymod >> 25, polymod >> 20 & 31, polymod >> 15 & 31, polymod >> 10 & 31,
             polymod >> 5 & 31, polymod & 31]
    return hrp + "1" + bytes(data).translate(_TO_CHARSET).decode("ascii")
