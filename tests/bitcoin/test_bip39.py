"""Tests of coins/bitcoin/bip39.py: python-mnemonic's English vectors, the BIP-0039 wordlist,
and refusals that never quote a word of the mnemonic.

Upstream files read in place: python-mnemonic/vectors.json (key "english") and
bips/bip-0039/english.txt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from coins.bitcoin.accounts import master_key
from coins.bitcoin.bip32 import HDKey
from coins.bitcoin.bip39 import (ENTROPY_LENGTHS, WORD_COUNTS, entropy_to_mnemonic,
                                 mnemonic_to_seed, normalize_mnemonic)
from coins.bitcoin.networks import NETWORKS
from qsigner.errors import InputError, SecretError

try:  # tests/ is not a package: pytest puts tests/ on sys.path and loads it as "conftest"
    from tests.conftest import upstream_dir
except ImportError:
    from conftest import upstream_dir

Loader = Callable[[str], Any]

MAIN = NETWORKS["mainnet"]
# A valid 12-word mnemonic (BIP-0039 entropy 7f7f...7f) whose words appear in no error message.
PHRASE = "legal winner thank year wave sausage worth useful legal winner thank yellow"


def _english_vectors() -> list[Any]:
    path = Path(upstream_dir()) / "python-mnemonic" / "vectors.json"
    if not path.is_file():
        return [pytest.param(None, id="upstream-missing", marks=pytest.mark.skip(
            reason=f"upstream vector file {path} is missing: set QSIGNER_UPSTREAM_VECTORS "
            "or put shared/ beside the checkout"))]
    english = json.loads(path.read_text())["english"]
    return [pytest.param(vector, id=f"en{i}-{len(vector[0]) * 4}bit")
            for i, vector in enumerate(english)]


ENGLISH = _english_vectors()


# ---- python-mnemonic vectors (the file BIP-0039 links to) ---------------------------------

@pytest.mark.parametrize("vector", ENGLISH)
def test_entropy_to_mnemonic(vector: list[str]) -> None:
    entropy, mnemonic, _, _ = vector
    assert entropy_to_mnemonic(bytes.fromhex(entropy)) == mnemonic
    assert normalize_mnemonic(mnemonic) == mnemonic


@pytest.mark.parametrize("vector", ENGLISH)
def test_mnemonic_to_seed_and_master_key(vector: list[str]) -> None:
    _, mnemonic, seed, xprv = vector
    assert mnemonic_to_seed(mnemonic, "TREZOR").hex() == seed
    assert HDKey.from_seed(bytes.fromhex(seed), MAIN.xprv).to_string() == xprv
    assert master_key(mnemonic, "TREZOR", MAIN).to_string() == xprv


def test_every_english_vector_collected(load_upstream: Loader) -> None:
    english = load_upstream("python-mnemonic/vectors.json")["english"]
    assert len(ENGLISH) == len(english) == 24
    assert {len(bytes.fromhex(v[0])) for v in english} == {16, 24, 32}


def test_wordlist_is_the_bips_english_txt(upstream_vectors: Path) -> None:
    """Word i of BIP-0039's english.txt is the first word of entropy whose top 11 bits are i."""
    target = upstream_vectors / "bips" / "bip-0039" / "english.txt"
    if not target.is_file():
        pytest.skip(f"upstream vector file {target} is missing")
    words = target.read_text().split()
    assert len(words) == 2048
    for i, word in enumerate(words):
        assert entropy_to_mnemonic((i << 117).to_bytes(16, "big")).split()[0] == word, i


# ---- entropy ------------------------------------------------------------------------------

@pytest.mark.parametrize("length, count", list(zip(ENTROPY_LENGTHS, WORD_COUNTS)))
def test_entropy_lengths(length: int, count: int) -> None:
    phrase = entropy_to_mnemonic(bytes(range(length)))
    assert len(phrase.split()) == count
    assert entropy_to_mnemonic(bytearray(range(length))) == phrase
    assert normalize_mnemonic(phrase) == phrase


@pytest.mark.parametrize("entropy", [b"", bytes(15), bytes(17), bytes(33), bytes(64),
                                     "00" * 16, 0, None, [0] * 16])
def test_entropy_refused(entropy: Any) -> None:
    with pytest.raises(InputError, match="entropy: must be 16, 20, 24, 28 or 32 bytes"):
        entropy_to_mnemonic(entropy)


# ---- normalisation and seeds --------------------------------------------------------------

def test_normalize_collapses_whitespace() -> None:
    assert normalize_mnemonic("  " + PHRASE.replace(" ", " \n\t ") + "\n") == PHRASE


def test_normalize_applies_nfkd() -> None:
    """BIP-0039 hashes the NFKD form: fullwidth letters decompose to the ASCII words."""
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in PHRASE)
    assert fullwidth != PHRASE
    assert normalize_mnemonic(fullwidth) == PHRASE
    assert mnemonic_to_seed(fullwidth) == mnemonic_to_seed(PHRASE)


def test_passphrase_is_nfkd_normalized() -> None:
    assert mnemonic_to_seed(PHRASE, "caf\u00e9") == mnemonic_to_seed(PHRASE, "cafe\u0301")
    assert mnemonic_to_seed(PHRASE, "caf\u00e9") != mnemonic_to_seed(PHRASE, "cafe")
    assert mnemonic_to_seed(PHRASE) == mnemonic_to_seed(PHRASE, "")
    assert len(mnemonic_to_seed(PHRASE)) == 64


@pytest.mark.parametrize("passphrase", [None, b"TREZOR", 0])
def test_passphrase_must_be_a_string(passphrase: Any) -> None:
    with pytest.raises(SecretError, match="passphrase: expected a string"):
        mnemonic_to_seed(PHRASE, passphrase)


# ---- refusals never quote a word ----------------------------------------------------------

def _messages(exc: BaseException | None) -> Iterator[str]:
    """Yield the text of an exception and of every exception chained to it."""
    while exc is not None:
        yield str(exc)
        yield repr(exc)
        exc = exc.__cause__ or exc.__context__


BAD_MNEMONICS = [
    pytest.param(PHRASE.replace("winner", "winnr", 1), "word 2 is not in", id="typo"),
    pytest.param(PHRASE.replace("sausage", "Sausage"), "word 6 is not in", id="capital"),
    pytest.param(PHRASE.replace("yellow", "year"), "checksum mismatch", id="checksum"),
    pytest.param(" ".join(PHRASE.split()[::-1]), "checksum mismatch", id="order"),
    pytest.param(PHRASE + " wave", "13 words", id="13-words"),
    pytest.param(" ".join(PHRASE.split()[:11]), "11 words", id="11-words"),
    pytest.param("", "0 words", id="empty"),
]


@pytest.mark.parametrize("phrase, reason", BAD_MNEMONICS)
def test_bad_mnemonic_refused_without_quoting(phrase: str, reason: str) -> None:
    for call in (normalize_mnemonic, mnemonic_to_seed):
        with pytest.raises(SecretError, match=reason) as info:
            call(phrase)
        assert isinstance(info.value, InputError)
        for text in _messages(info.value):
            leaked = [w for w in phrase.split() if w.lower() in text.lower()]
            assert not leaked, f"message quotes the mnemonic: {text!r}"


@pytest.mark.parametrize("value", [None, 12, b"legal winner", ["legal"]])
def test_mnemonic_must_be_a_string(value: Any) -> None:
    with pytest.raises(SecretError, match="mnemonic: expected a string"):
        normalize_mnemonic(value)
