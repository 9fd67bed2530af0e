"""Tests of coins/bitcoin/bip32.py and accounts.py: BIP-0032 vectors 1-5, BIP-0049/0084/0086 accounts.

Upstream files are read in place (tests/conftest.py): bips/bip32.json, bip49.json, bip84.json,
bip86.json. Cases that can be listed at collection time are parametrized from
``upstream_dir()``; where the folder is absent a single skipped case stands in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coins.bitcoin import ecc
from coins.bitcoin.accounts import account_path, master_key
from coins.bitcoin.base58 import b58check_decode, b58check_encode
from coins.bitcoin.bip32 import HARDENED, MAX_INDEX, HDKey, format_path, parse_path
from coins.bitcoin.hashes import hash160
from coins.bitcoin.networks import NETWORKS
from coins.bitcoin.script import address_to_script, key_to_redeem_script, key_to_script, p2sh_script
from coins.bitcoin.wif import decode_wif, encode_wif
from qsigner.errors import InputError

try:  # tests/ is not a package: pytest puts tests/ on sys.path and loads it as "conftest"
    from tests.conftest import upstream_dir
except ImportError:
    from conftest import upstream_dir

Loader = Callable[[str], Any]

MAIN, TEST = NETWORKS["mainnet"], NETWORKS["testnet"]
PUBLIC_VERSIONS = {n.xpub for n in NETWORKS.values()} | {
    v for n in NETWORKS.values() for _, v in n.slip132_pub}
PRIVATE_VERSIONS = {n.xprv for n in NETWORKS.values()} | {
    v for n in NETWORKS.values() for _, v in n.slip132_prv}

# SLIP-0132 version bytes, written out from the SLIP rather than read from networks.py.
ZPRV, ZPUB = 0x04B2430C, 0x04B24746          # mainnet p2wpkh
UPRV, UPUB = 0x044A4E28, 0x044A5262          # testnet p2sh-p2wpkh


def _upstream_params(relpath: str, build: Callable[[Any], list[Any]]) -> list[Any]:
    """Return ``build(data)`` of an upstream JSON file, or one skipped case where it is absent."""
    path = Path(upstream_dir()) / relpath
    if not path.is_file():
        return [pytest.param(None, id="upstream-missing",
                             marks=pytest.mark.skip(
                                 reason=f"upstream vector file {path} is missing: set "
                                 "QSIGNER_UPSTREAM_VECTORS or put shared/ beside the checkout"))]
    return build(json.loads(path.read_text()))


def _chains(data: Any) -> list[Any]:
    return [pytest.param((vector["seed_hex"], chain), id=f"{vector['name'][-1]}:{chain['chain']}")
            for vector in data["valid"] for chain in vector["chains"]]


def _public_steps(data: Any) -> list[Any]:
    """The chains whose last step is unhardened: derivable from the parent's xpub."""
    return [pytest.param((vector["seed_hex"], chain), id=f"{vector['name'][-1]}:{chain['chain']}")
            for vector in data["valid"] for chain in vector["chains"]
            if chain["chain"] != "m" and not chain["chain"].endswith("H")]


def _invalid(data: Any) -> list[Any]:
    return [pytest.param(case, id=f"tv5-{i}:{case['reason']}")
            for i, case in enumerate(data["invalid_test_vector_5"])]


CHAINS = _upstream_params("bips/bip32.json", _chains)
PUBLIC_STEPS = _upstream_params("bips/bip32.json", _public_steps)
INVALID = _upstream_params("bips/bip32.json", _invalid)

# BIP-0032 test vector 5's stated reason -> what our refusal must say.
REASONS = [
    ("pubkey version / prvkey mismatch", "public key data invalid"),
    ("prvkey version / pubkey mismatch", "private key data invalid"),
    ("invalid pubkey prefix", "public key data invalid"),
    ("invalid prvkey prefix", "private key data invalid"),
    ("invalid pubkey 0", "public key data invalid"),
    ("private key 0 not in", "private key data invalid"),
    ("private key n not in", "private key data invalid"),
    ("zero depth with non-zero", "depth 0 with a parent fingerprint or index"),
    ("unknown extended key version", "unknown version bytes"),
    ("invalid checksum", "checksum"),
]


def _decode(text: str) -> tuple[int, bytes]:
    """Return (version, the other 74 bytes) of an extended key string."""
    raw = b58check_decode(text)
    return int.from_bytes(raw[:4], "big"), raw[4:]


# ---- BIP-0032 test vectors 1-4 ----------------------------------------------------------

@pytest.mark.parametrize("case", CHAINS)
def test_bip32_chain_from_seed(case: tuple[str, dict[str, str]]) -> None:
    seed_hex, chain = case
    node = HDKey.from_seed(bytes.fromhex(seed_hex), MAIN.xprv).derive(parse_path(chain["chain"]))
    assert node.to_string() == chain["ext_prv"], chain["chain"]
    assert node.public(MAIN.xpub).to_string() == chain["ext_pub"], chain["chain"]


@pytest.mark.parametrize("case", CHAINS)
def test_bip32_chain_parses_and_reserializes(case: tuple[str, dict[str, str]]) -> None:
    _, chain = case
    prv = HDKey.parse(chain["ext_prv"], public_versions=PUBLIC_VERSIONS,
                      private_versions=PRIVATE_VERSIONS)
    pub = HDKey.parse(chain["ext_pub"], public_versions=PUBLIC_VERSIONS,
                      private_versions=PRIVATE_VERSIONS)
    assert prv.is_private and not pub.is_private
    assert prv.to_string() == chain["ext_prv"]
    assert pub.to_string() == chain["ext_pub"]
    assert prv.public(MAIN.xpub) == pub
    assert prv.depth == len(parse_path(chain["chain"]))


@pytest.mark.parametrize("case", PUBLIC_STEPS)
def test_bip32_public_derivation_matches_private(case: tuple[str, dict[str, str]]) -> None:
    seed_hex, chain = case
    path = parse_path(chain["chain"])
    assert path[-1] < HARDENED
    parent = HDKey.from_seed(bytes.fromhex(seed_hex), MAIN.xprv).derive(path[:-1]).public(MAIN.xpub)
    assert parent.child(path[-1]).to_string() == chain["ext_pub"]


def test_bip32_every_upstream_case_collected(load_upstream: Loader) -> None:
    data = load_upstream("bips/bip32.json")
    assert [v["name"] for v in data["valid"]] == [f"Test vector {i}" for i in (1, 2, 3, 4)]
    assert len(CHAINS) == sum(len(v["chains"]) for v in data["valid"])
    assert len(CHAINS) == 17 and len(PUBLIC_STEPS) == 6     # 6 chains end in an unhardened step
    assert len(INVALID) == len(data["invalid_test_vector_5"]) == 16


# ---- BIP-0032 test vector 5: invalid extended keys ----------------------------------------

@pytest.mark.parametrize("case", INVALID)
def test_bip32_vector5_refused_for_its_reason(case: dict[str, str]) -> None:
    expected = [msg for reason, msg in REASONS if case["reason"].startswith(reason)]
    assert expected, f"no expectation written for reason {case['reason']!r}"
    with pytest.raises(InputError, match=re.escape(expected[0])):
        HDKey.parse(case["key"], public_versions=PUBLIC_VERSIONS,
                    private_versions=PRIVATE_VERSIONS)


@pytest.mark.parametrize("case", INVALID)
def test_bip32_vector5_payload_shows_the_reason(case: dict[str, str]) -> None:
    """Check the vector itself: the decoded bytes have the defect the BIP names."""
    reason = case["reason"]
    if reason == "invalid checksum":
        with pytest.raises(InputError, match="checksum"):
            b58check_decode(case["key"])
        return
    version, rest = _decode(case["key"])
    depth, parent, child, key = rest[0], rest[1:5], rest[5:9], rest[41:]
    if reason.startswith("unknown extended key version"):
        assert version not in PUBLIC_VERSIONS | PRIVATE_VERSIONS
    elif reason.startswith("zero depth"):
        assert depth == 0 and (parent != bytes(4) if "fingerprint" in reason
                               else child != bytes(4))
    elif reason.startswith(("invalid prvkey prefix", "prvkey version")):
        assert version == MAIN.xprv and key[0] != 0
    elif reason.startswith(("invalid pubkey", "pubkey version")):
        assert version == MAIN.xpub and not ecc.is_valid_pubkey(key)
    elif reason.startswith("private key"):
        assert version == MAIN.xprv and key[0] == 0 and not ecc.is_valid_secret(key[1:])
    else:
        pytest.fail(f"unexpected reason {reason!r}")


# ---- paths and HDKey unit tests ------------------------------------------------------------

@pytest.mark.parametrize("text", ["m/84'/1'/0'", "m/84h/1h/0h", "84H/1H/0H", "84h/1'/0H"])
def test_parse_path_hardened_marks(text: str) -> None:
    assert parse_path(text) == [84 + HARDENED, 1 + HARDENED, HARDENED]


def test_parse_path_master_and_unhardened() -> None:
    assert parse_path("m") == []
    assert parse_path("m/0/2147483647") == [0, MAX_INDEX]
    assert parse_path("2147483647h") == [MAX_INDEX + HARDENED]


@pytest.mark.parametrize("text", ["", "m/", "m//1", "m/x", "m/-1", "m/1x", "m/2147483648",
                                  "m/2147483648h", "m/0''", "m/ 1", "m/\u0661", "n/1"])
def test_parse_path_refuses(text: str) -> None:
    with pytest.raises(InputError, match="derivation path"):
        parse_path(text)


def test_format_path() -> None:
    path = [84 + HARDENED, 1 + HARDENED, HARDENED, 1, 7]
    assert format_path(path) == "m/84h/1h/0h/1/7"
    assert format_path(path, prefix="", mark="'") == "84'/1'/0'/1/7"
    assert parse_path(format_path(path)) == path


@pytest.fixture(scope="module")
def master() -> HDKey:
    return HDKey.from_seed(bytes(range(16)), MAIN.xprv)


def test_hdkey_repr_hides_key_and_chain_code(master: HDKey) -> None:
    text = repr(master)
    assert master.key.hex() not in text and master.chain_code.hex() not in text
    assert str(master.key) not in text and str(master.chain_code) not in text


@pytest.mark.parametrize("index", [-1, 2**32])
def test_child_index_out_of_range(master: HDKey, index: int) -> None:
    with pytest.raises(InputError, match="out of range"):
        master.child(index)


def test_hardened_child_of_public_key_refused(master: HDKey) -> None:
    with pytest.raises(InputError, match="hardened derivation needs a private key"):
        master.public(MAIN.xpub).child(HARDENED)


def test_fingerprint_is_hash160_prefix(master: HDKey) -> None:
    assert master.fingerprint() == hash160(master.pubkey)[:4]
    assert master.child(0).parent_fingerprint == master.fingerprint()


@pytest.mark.parametrize("payload", [bytes(77), bytes(79), b""])
def test_parse_refuses_wrong_length(payload: bytes) -> None:
    with pytest.raises(InputError, match="extended key"):
        HDKey.parse(b58check_encode(payload), public_versions=PUBLIC_VERSIONS,
                    private_versions=PRIVATE_VERSIONS)


@pytest.mark.parametrize("text", ["", "xpub", "0OIl", "x" * 300])
def test_parse_refuses_garbage(text: str) -> None:
    with pytest.raises(InputError):
        HDKey.parse(text, public_versions=PUBLIC_VERSIONS, private_versions=PRIVATE_VERSIONS)


def test_parse_refuses_version_outside_the_given_sets(master: HDKey) -> None:
    text = master.public(MAIN.xpub).to_string()
    with pytest.raises(InputError, match="unknown version bytes"):
        HDKey.parse(text, public_versions={TEST.xpub}, private_versions={TEST.xprv})


# ---- BIP-0049 / BIP-0084 / BIP-0086 account vectors --------------------------------------

def _hex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def test_bip84_vectors(load_upstream: Loader, bitcoin: Any) -> None:
    data = load_upstream("bips/bip84.json")
    master = master_key(data["mnemonic"], "", MAIN)
    assert _decode(data["rootpriv"]) == (ZPRV, master.serialize()[4:])
    assert _decode(data["rootpub"]) == (ZPUB, master.public(MAIN.xpub).serialize()[4:])
    account = master.derive(parse_path(data["account0"]["path"]))
    assert parse_path(data["account0"]["path"]) == list(account_path("p2wpkh", MAIN, 0))
    assert _decode(data["account0"]["xpriv"]) == (ZPRV, account.serialize()[4:])
    assert _decode(data["account0"]["xpub"]) == (ZPUB, account.public(MAIN.xpub).serialize()[4:])
    assert len(data["addresses"]) == 3
    for entry in data["addresses"]:
        node = master.derive(parse_path(entry["path"]))
        change, index = parse_path(entry["path"])[-2:]
        assert encode_wif(node.key, MAIN) == entry["privkey"], entry["comment"]
        assert decode_wif(entry["privkey"], MAIN) == (node.key, True)
        assert node.pubkey.hex() == entry["pubkey"]
        assert address_to_script(entry["address"], MAIN) == key_to_script(node.pubkey, "p2wpkh")
        for key in (data["mnemonic"], data["account0"]["xpub"]):   # the zpub implies p2wpkh
            assert bitcoin.derive_address(key, index, network="mainnet", change=bool(change),
                                          address_type="p2wpkh") == entry["address"]
        assert bitcoin.derive_address(data["account0"]["xpub"], index, network="mainnet",
                                      change=bool(change)) == entry["address"]


def test_bip49_vectors(load_upstream: Loader, bitcoin: Any) -> None:
    data = load_upstream("bips/bip49.json")
    assert data["network"] == "testnet"
    master = master_key(data["mnemonic"], "", TEST)
    assert _decode(data["masterseed"]) == (UPRV, master.serialize()[4:])
    account = master.derive(parse_path(data["account0"]["path"]))
    assert parse_path(data["account0"]["path"]) == list(account_path("p2sh-p2wpkh", TEST, 0))
    assert _decode(data["account0"]["xprv"]) == (UPRV, account.serialize()[4:])
    assert _decode(data["account0"]["xpub"]) == (UPUB, account.public(TEST.xpub).serialize()[4:])

    entry = data["account0_first_receiving"]
    node = master.derive(parse_path(entry["path"]))
    assert node.key == _hex(entry["privateKeyHex"])
    assert encode_wif(node.key, TEST) == entry["privateKeyWIF"]
    assert decode_wif(entry["privateKeyWIF"], TEST) == (node.key, True)
    assert node.pubkey == _hex(entry["publicKeyHex"])
    assert hash160(node.pubkey) == _hex(entry["keyhash"])
    assert key_to_redeem_script(node.pubkey) == _hex(entry["scriptSig"])
    assert hash160(_hex(entry["scriptSig"])) == _hex(entry["addressBytes"])
    assert address_to_script(entry["address"], TEST) == p2sh_script(_hex(entry["addressBytes"]))
    assert key_to_script(node.pubkey, "p2sh-p2wpkh") == p2sh_script(_hex(entry["addressBytes"]))
    assert bitcoin.derive_address(data["mnemonic"], 0, network="testnet",
                                  address_type="p2sh-p2wpkh") == entry["address"]
    # the upub implies p2sh-p2wpkh, with or without saying so
    for options in ({}, {"address_type": "p2sh-p2wpkh"}):
        assert bitcoin.derive_address(data["account0"]["xpub"], 0, network="testnet",
                                      **options) == entry["address"]


def test_bip86_vectors(load_upstream: Loader, bitcoin: Any) -> None:
    data = load_upstream("bips/bip86.json")
    master = master_key(data["mnemonic"], "", MAIN)
    assert master.to_string() == data["rootpriv"]
    assert master.public(MAIN.xpub).to_string() == data["rootpub"]
    path = parse_path(data["account0"]["path"])
    assert path == list(account_path("p2tr", MAIN, 0))
    account = master.derive(path)
    assert account.to_string() == data["account0"]["xprv"]
    assert account.public(MAIN.xpub).to_string() == data["account0"]["xpub"]
    with_origin = f"[{master.fingerprint().hex()}/86h/0h/0h]{data['account0']['xpub']}"
    assert len(data["addresses"]) == 3
    for entry in data["addresses"]:
        node = master.derive(parse_path(entry["path"]))
        change, index = parse_path(entry["path"])[-2:]
        assert node.to_string() == entry["xprv"], entry["comment"]
        assert node.public(MAIN.xpub).to_string() == entry["xpub"]
        assert ecc.xonly(node.pubkey).hex() == entry["internal_key"]
        assert ecc.taproot_tweak_pubkey(ecc.xonly(node.pubkey))[0].hex() == entry["output_key"]
        assert key_to_script(node.pubkey, "p2tr").hex() == entry["scriptPubKey"]
        assert address_to_script(entry["address"], MAIN).hex() == entry["scriptPubKey"]
        for key, options in ((data["mnemonic"], {"address_type": "p2tr"}),
                             (data["account0"]["xpub"], {"address_type": "p2tr"}),
                             (with_origin, {})):               # origin purpose 86' implies p2tr
            assert bitcoin.derive_address(key, index, network="mainnet", change=bool(change),
                                          **options) == entry["address"]
