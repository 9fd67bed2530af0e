"""Tests of coins/bitcoin/keyexpr.py: ``[fingerprint/path]xpub``, bare and SLIP-0132 account keys.

Every contradiction between a key string and the network or the key's own data must be an
``InputError``; a silently reinterpreted key derives someone else's addresses.
"""

from __future__ import annotations

import pytest

from coins.bitcoin.accounts import account_key_from_mnemonic, master_key
from coins.bitcoin.base58 import b58check_decode, b58check_encode
from coins.bitcoin.bip32 import HARDENED
from coins.bitcoin.keyexpr import AccountKey, KeyOrigin, parse_account_key
from coins.bitcoin.networks import NETWORKS
from qsigner.errors import InputError

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
MAIN, TEST = NETWORKS["mainnet"], NETWORKS["testnet"]
FP = "73c5da0a"                       # master fingerprint of MNEMONIC (BIP-0084/0086 vectors)
# SLIP-0132 versions written out from the SLIP, not read from networks.py.
SLIP132 = {"ypub": 0x049D7CB2, "zpub": 0x04B24746, "upub": 0x044A5262, "vpub": 0x045F1CF6,
           "yprv": 0x049D7878, "zprv": 0x04B2430C, "uprv": 0x044A4E28, "vprv": 0x045F18BC}


def reencode(text: str, version: int) -> str:
    """Return the extended key ``text`` with its four version bytes replaced."""
    return b58check_encode(version.to_bytes(4, "big") + b58check_decode(text)[4:])


@pytest.fixture(scope="module")
def tpub84() -> str:
    """The bare tpub of m/84h/1h/0h."""
    return account_key_from_mnemonic(MNEMONIC, "", TEST, "p2wpkh", 0).xpub.to_string()


@pytest.fixture(scope="module")
def xpub84() -> str:
    return account_key_from_mnemonic(MNEMONIC, "", MAIN, "p2wpkh", 0).xpub.to_string()


def test_account_key_from_mnemonic_has_origin() -> None:
    account = account_key_from_mnemonic(MNEMONIC, "", TEST, "p2wpkh", 0)
    assert account.origin == KeyOrigin(bytes.fromhex(FP), (84 + HARDENED, 1 + HARDENED, HARDENED))
    assert account.origin.fingerprint == master_key(MNEMONIC, "", TEST).fingerprint()
    assert account.to_string().startswith(f"[{FP}/84h/1h/0h]tpub")
    assert account.implied_type == "p2wpkh"
    assert not account.xpub.is_private and account.xpub.depth == 3


@pytest.mark.parametrize("path", ["84h/1h/0h", "84'/1'/0'", "84H/1H/0H"])
def test_origin_marks(tpub84: str, path: str) -> None:
    account = parse_account_key(f"[{FP}/{path}]{tpub84}", TEST)
    assert account.origin == KeyOrigin(bytes.fromhex(FP), (84 + HARDENED, 1 + HARDENED, HARDENED))
    assert account.implied_type == "p2wpkh"
    assert account.to_string() == f"[{FP}/84h/1h/0h]{tpub84}"


def test_origin_fingerprint_any_case(tpub84: str) -> None:
    account = parse_account_key(f"[{FP.upper()}/84h/1h/0h]{tpub84}", TEST)
    assert account.origin is not None and account.origin.to_string() == f"{FP}/84h/1h/0h"


def test_round_trip(tpub84: str) -> None:
    account = account_key_from_mnemonic(MNEMONIC, "", TEST, "p2wpkh", 0)
    assert parse_account_key(account.to_string(), TEST) == account
    assert parse_account_key(tpub84, TEST).xpub == account.xpub


def test_bare_key_implies_nothing(tpub84: str) -> None:
    account = parse_account_key(tpub84, TEST)
    assert account.origin is None and account.implied_type is None
    assert account.to_string() == tpub84


@pytest.mark.parametrize("prefix, network, implied", [
    ("vpub", "testnet", "p2wpkh"), ("upub", "testnet", "p2sh-p2wpkh"),
    ("zpub", "mainnet", "p2wpkh"), ("ypub", "mainnet", "p2sh-p2wpkh"),
])
def test_slip132_implies_type_and_is_written_back_as_xpub(tpub84: str, prefix: str,
                                                          network: str, implied: str) -> None:
    net = NETWORKS[network]
    text = reencode(tpub84, SLIP132[prefix])
    assert text.startswith(prefix)
    account = parse_account_key(text, net)
    assert account.implied_type == implied
    assert account.to_string() == reencode(tpub84, net.xpub)
    assert account.to_string().startswith("xpub" if network == "mainnet" else "tpub")


@pytest.mark.parametrize("purpose, implied", [(44, "p2pkh"), (49, "p2sh-p2wpkh"),
                                              (84, "p2wpkh"), (86, "p2tr"), (45, None)])
def test_origin_purpose_implies_type(purpose: int, implied: str | None) -> None:
    """The origin's purpose (not the key data, which cannot show it) names the type."""
    key = account_key_from_mnemonic(MNEMONIC, "", TEST, "p2wpkh", 0).xpub.to_string()
    account = parse_account_key(f"[{FP}/{purpose}h/1h/0h]{key}", TEST)
    assert account.implied_type == implied


def test_slip132_agreeing_with_origin(tpub84: str) -> None:
    account = parse_account_key(f"[{FP}/84h/1h/0h]{reencode(tpub84, SLIP132['vpub'])}", TEST)
    assert account.implied_type == "p2wpkh"


def test_key_origin_to_string() -> None:
    assert KeyOrigin(bytes.fromhex("deadbeef"), (86 + HARDENED, 0 + HARDENED, 5 + HARDENED, 1, 7)
                     ).to_string() == "deadbeef/86h/0h/5h/1/7"
    assert KeyOrigin(bytes(4), ()).to_string() == "00000000"


def test_account_key_is_frozen(tpub84: str) -> None:
    account = parse_account_key(tpub84, TEST)
    assert isinstance(account, AccountKey)
    with pytest.raises(AttributeError):
        account.origin = None  # type: ignore[misc]


# ---- refusals -----------------------------------------------------------------------------

@pytest.mark.parametrize("template, match", [
    ("[{fp}]{key}", "origin path has 0 steps but the key has depth 3"),
    ("[{fp}/84h/1h]{key}", "origin path has 2 steps"),
    ("[{fp}/84h/1h/0h/0]{key}", "origin path has 4 steps"),
    ("[{fp}/84h/1h/1h]{key}", "does not end in the key's child number"),
    ("[{fp}/84h/1h/0]{key}", "does not end in the key's child number"),
    ("[{fp}/84h/0h/0h]{key}", "origin coin type 0' is not testnet's 1'"),
    ("[{fp}/84h/1h/2147483648h]{key}", "derivation path"),
    ("[{fp}/84x/1h/0h]{key}", "malformed origin"),
    ("[{fp}84h/1h/0h]{key}", "malformed origin"),
    ("[73c5da0/84h/1h/0h]{key}", "malformed origin"),
    ("[zzzzzzzz/84h/1h/0h]{key}", "malformed origin"),
    ("[{fp}/84h/1h/0h{key}", "malformed origin"),
    ("[{fp}/84h/1h/0h]", "malformed origin"),
    ("{fp}/84h/1h/0h]{key}", "extended key"),
    ("[{fp}/84h/1h/0h] {key}", "extended key"),
])
def test_malformed_or_inconsistent_origin(tpub84: str, template: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_account_key(template.format(fp=FP, key=tpub84), TEST)


@pytest.mark.parametrize("prefix, purpose", [("vpub", 49), ("upub", 84), ("vpub", 86),
                                             ("upub", 44)])
def test_slip132_contradicting_origin_purpose(tpub84: str, prefix: str, purpose: int) -> None:
    with pytest.raises(InputError, match="SLIP-0132 prefix implies"):
        parse_account_key(f"[{FP}/{purpose}h/1h/0h]{reencode(tpub84, SLIP132[prefix])}", TEST)


@pytest.mark.parametrize("prefix, network", [
    ("zpub", "testnet"), ("ypub", "regtest"), ("vpub", "mainnet"), ("upub", "mainnet"),
])
def test_slip132_of_another_network(tpub84: str, prefix: str, network: str) -> None:
    with pytest.raises(InputError, match="another network"):
        parse_account_key(reencode(tpub84, SLIP132[prefix]), NETWORKS[network])


@pytest.mark.parametrize("network", ["testnet", "testnet4", "signet", "regtest"])
def test_xpub_refused_on_test_networks(xpub84: str, network: str) -> None:
    with pytest.raises(InputError, match="another network"):
        parse_account_key(xpub84, NETWORKS[network])


def test_tpub_refused_on_mainnet(tpub84: str) -> None:
    with pytest.raises(InputError, match="another network than mainnet"):
        parse_account_key(tpub84, MAIN)


@pytest.mark.parametrize("network, version", [
    ("testnet", "tprv"), ("mainnet", "xprv"), ("testnet", "vprv"), ("mainnet", "zprv"),
    ("mainnet", "tprv"), ("testnet", "uprv"),
])
def test_private_keys_refused(network: str, version: str) -> None:
    net = NETWORKS[network]
    node = master_key(MNEMONIC, "", TEST).derive((84 + HARDENED, 1 + HARDENED, HARDENED))
    versions = {"tprv": TEST.xprv, "xprv": MAIN.xprv, **SLIP132}
    text = reencode(node.to_string(), versions[version])
    with pytest.raises(InputError, match="private extended keys are not accepted") as info:
        parse_account_key(text, net)
    assert text not in str(info.value)


@pytest.mark.parametrize("text", ["", "tpub", "not a key", "[]", "x" * 500,
                                  "tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1N"])
def test_garbage_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_account_key(text, TEST)
