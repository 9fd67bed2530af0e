"""BIP-0039 mnemonics through the ``mnemonic`` package (trezor/python-mnemonic).

https://github.com/bitcoin/bips/blob/master/bip-0039.mediawiki

This module normalises and validates a mnemonic before any use and words every
error so that it never quotes a word of it (a typo'd word is still most of a
secret). English only, the wordlist the contract names.

The checksum is checked here rather than with ``Mnemonic.check``: the package looks
each word up with ``list.index`` (about 150 us per mnemonic, twice per call), which
kept key generation at 1.3x the floor in ``make bench``; a word -> index dict and the
BIP-0039 rule (the last ENT/32 bits are the first bits of SHA-256(entropy)) cost a
fraction of that. The package still supplies the wordlist, entropy -> mnemonic and
PBKDF2 seed.
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache

from mnemonic import Mnemonic

from qsigner.errors import InputError, SecretError

__all__ = ["normalize_mnemonic", "entropy_to_mnemonic", "mnemonic_to_seed",
           "ENTROPY_LENGTHS", "WORD_COUNTS"]

ENTROPY_LENGTHS = (16, 20, 24, 28, 32)
WORD_COUNTS = (12, 15, 18, 21, 24)


@lru_cache(maxsize=1)
def _english() -> Mnemonic:
    return Mnemonic("english")


def normalize_mnemonic(text: str) -> str:
    """Return ``text`` as single-space-separated NFKD words after checking the BIP-0039 checksum.

    Raises:
        SecretError: not a valid English BIP-0039 mnemonic (no word is quoted).
    """
    if not isinstance(text, str):
        raise SecretError("mnemonic: expected a string")
    words = unicodedata.normalize("NFKD", text).split()
    if len(words) not in WORD_COUNTS:
        raise SecretError(f"mnemonic: {len(words)} words; BIP-0039 needs 12, 15, 18, 21 or 24")
    indices = _word_indices()
    n = 0
    for position, word in enumerate(words, 1):
        index = indices.get(word)
        if index is None:
            raise SecretError(f"mnemonic: word {position} is not in the BIP-0039 English wordlist")
        n = n << 11 | index
    # BIP-0039: the last ENT/32 bits are the first bits of SHA-256(entropy).
    checksum_bits = len(words) // 3
    entropy = (n >> checksum_bits).to_bytes(checksum_bits * 4, "big")
    if hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits) != n & ((1 << checksum_bits) - 1):
        raise SecretError("mnemonic: checksum mismatch (a word is wrong or out of order)")
    return " ".join(words)


@lru_cache(maxsize=1)
def _word_indices() -> dict[str, int]:
    return {word: i for i, word in enumerate(_english().wordlist)}


def entropy_to_mnemonic(entropy: bytes) -> str:
    """Return the English mnemonic of 16, 20, 24, 28 or 32 bytes of entropy.

    Raises:
        InputError: the entropy has another length.
    """
    if not isinstance(entropy, (bytes, bytearray)) or len(entropy) not in ENTROPY_LENGTHS:
        raise InputError("entropy: must be 16, 20, 24, 28 or 32 bytes", field="entropy")
    return str(_english().to_mnemonic(bytes(entropy)))


def mnemonic_to_seed(phrase: str, passphrase: str = "") -> bytes:
    """Return the 64-byte BIP-0039 seed (PBKDF2-HMAC-SHA512, 2048 rounds, NFKD) of a mnemonic.

    Raises:
        SecretError: the mnemonic is invalid or the passphrase is not a string.
    """
    if not isinstance(passphrase, str):
        raise SecretError("passphrase: expected a string")
    return bytes(Mnemonic.to_seed(normalize_mnemonic(phrase), passphrase))
