"""Differential tests: our keys and addresses against bip-utils 2.12.3 and embit 0.8.0.

Hypothesis runs derandomized (the same examples on every run) and bounded so the file
takes a few seconds. PBKDF2 runs a handful of times per example, never per address.

Regtest: bip-utils has no ``bcrt`` HRP. Regtest shares testnet's coin type (1') and
base58 prefixes, so bip-utils derives the testnet address, and both that address and
ours are decoded to a scriptPubKey by embit (not by our script module) and compared:
the witness program or hash must match, only the HRP differs. embit knows regtest, so
the embit comparison is by address string on every network.
"""

from __future__ import annotations

from typing import Any

import pytest
from bip_utils import (Bip32Slip10Secp256k1, Bip39Languages, Bip39MnemonicEncoder,
                       Bip39SeedGenerator, Bip44, Bip44Changes, Bip44Coins, Bip49, Bip49Coins,
                       Bip84, Bip84Coins, Bip86, Bip86Coins)
from embit import bip32 as embit_bip32
from embit import bip39 as embit_bip39
from embit import ec as embit_ec
from embit import script as embit_script
from embit.networks import NETWORKS as EMBIT_NETWORKS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qsigner
from coins.bitcoin.base58 import b58check_decode
from coins.bitcoin.ecc import ORDER
from coins.bitcoin.bip32 import HARDENED, HDKey
from coins.bitcoin.networks import NETWORKS
from coins.bitcoin.script import key_to_script, script_to_address
from coins.bitcoin.wif import decode_wif, encode_wif

DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                         suppress_health_check=[HealthCheck.too_slow])

EMBIT_NET = {"mainnet": "main", "testnet": "test", "regtest": "regtest", "signet": "signet"}
BIP_UTILS = {"p2pkh": (Bip44, Bip44Coins), "p2sh-p2wpkh": (Bip49, Bip49Coins),
             "p2wpkh": (Bip84, Bip84Coins), "p2tr": (Bip86, Bip86Coins)}
PURPOSE = {"p2pkh": 44, "p2sh-p2wpkh": 49, "p2wpkh": 84, "p2tr": 86}
# Version bytes bip-utils writes for account keys: xpub/tpub for BIP-0044/0086, SLIP-0132
# ypub/upub (BIP-0049) and zpub/vpub (BIP-0084); written out, not read from networks.py.
BIP_UTILS_VERSION = {("p2pkh", True): 0x0488B21E, ("p2pkh", False): 0x043587CF,
                     ("p2tr", True): 0x0488B21E, ("p2tr", False): 0x043587CF,
                     ("p2sh-p2wpkh", True): 0x049D7CB2, ("p2sh-p2wpkh", False): 0x044A5262,
                     ("p2wpkh", True): 0x04B24746, ("p2wpkh", False): 0x045F1CF6}

entropies = st.sampled_from([16, 20, 24, 28, 32]).flatmap(
    lambda n: st.binary(min_size=n, max_size=n))
address_types = st.sampled_from(list(PURPOSE))
networks = st.sampled_from(list(EMBIT_NET))
indices = st.lists(st.integers(0, 2**31 - 1) | st.integers(0, 20), min_size=1, max_size=3,
                   unique=True)
passphrases = st.sampled_from(["", "", "TREZOR"]) | st.text("abcXYZ019 -", max_size=12)


def embit_address(pubkey: Any, address_type: str, network: str) -> str:
    """Return the address embit makes for ``pubkey`` (embit's own BIP-0086 tweak for p2tr)."""
    net = EMBIT_NETWORKS[EMBIT_NET[network]]
    if address_type == "p2pkh":
        return str(embit_script.p2pkh(pubkey).address(net))
    if address_type == "p2sh-p2wpkh":
        return str(embit_script.p2sh(embit_script.p2wpkh(pubkey)).address(net))
    if address_type == "p2wpkh":
        return str(embit_script.p2wpkh(pubkey).address(net))
    return str(embit_script.p2tr(pubkey).address(net))


def spk(address: str) -> bytes:
    """Return the scriptPubKey of ``address`` as embit decodes it."""
    return bytes(embit_script.address_to_scriptpubkey(address).data)


def check_against_references(bitcoin: qsigner.CoinPlugin, entropy: bytes, address_type: str,
                             network: str, index_list: list[int], change: bool,
                             passphrase: str) -> None:
    """Compare keypair, account key and addresses with embit and bip-utils."""
    pair = bitcoin.generate_keypair(network=network, entropy=entropy, address_type=address_type,
                                    passphrase=passphrase)
    mnemonic = str(Bip39MnemonicEncoder(Bip39Languages.ENGLISH).Encode(entropy))
    assert pair.secret == mnemonic

    # embit: its own PBKDF2, BIP-0032 and account key string with origin
    net = EMBIT_NETWORKS[EMBIT_NET[network]]
    root = embit_bip32.HDKey.from_seed(embit_bip39.mnemonic_to_seed(mnemonic, passphrase),
                                       version=net["xprv"])
    coin = 0 if network == "mainnet" else 1
    path = f"{PURPOSE[address_type]}h/{coin}h/0h"
    account = root.derive(f"m/{path}").to_public()
    assert pair.public == f"[{root.my_fingerprint.hex()}/{path}]{account.to_base58(version=net['xpub'])}"

    # bip-utils: its own PBKDF2; same fingerprint; same account key up to the version bytes
    cls, coins = BIP_UTILS[address_type]
    seed = Bip39SeedGenerator(mnemonic).Generate(passphrase)
    context = cls.FromSeed(seed, coins.BITCOIN if network == "mainnet" else coins.BITCOIN_TESTNET)
    assert context.Bip32Object().FingerPrint().ToHex() == pair.public[1:9]
    bu_account = context.Purpose().Coin().Account(0)
    bu_raw = b58check_decode(bu_account.PublicKey().ToExtended())
    ours_raw = b58check_decode(pair.public.partition("]")[2])
    assert int.from_bytes(bu_raw[:4], "big") == BIP_UTILS_VERSION[address_type, network == "mainnet"]
    assert bu_raw[4:] == ours_raw[4:]

    bu_chain = bu_account.Change(Bip44Changes.CHAIN_INT if change else Bip44Changes.CHAIN_EXT)
    for index in index_list:
        from_mnemonic = bitcoin.derive_address(mnemonic, index, network=network, change=change,
                                               address_type=address_type, passphrase=passphrase)
        from_account = bitcoin.derive_address(pair.public, index, network=network, change=change)
        assert from_mnemonic == from_account
        assert from_mnemonic == embit_address(account.derive([int(change), index]).key,
                                              address_type, network)
        bu_address = bu_chain.AddressIndex(index).PublicKey().ToAddress()
        if network == "regtest":         # bip-utils made the testnet form: compare programs
            assert spk(bu_address) == spk(from_mnemonic)
        else:
            assert bu_address == from_mnemonic
    if index_list == [0] and not change:
        assert pair.address == from_mnemonic


@pytest.mark.parametrize("network", list(EMBIT_NET))
@pytest.mark.parametrize("address_type", list(PURPOSE))
def test_every_type_and_network_matches(bitcoin: qsigner.CoinPlugin, address_type: str,
                                        network: str) -> None:
    """Each of the 16 combinations once, whatever Hypothesis draws below."""
    entropy = bytes([PURPOSE[address_type]]) * 16
    check_against_references(bitcoin, entropy, address_type, network, [0, 1, 2**31 - 1], False, "")
    check_against_references(bitcoin, entropy, address_type, network, [0, 7], True, "TREZOR")


@settings(DETERMINISTIC, max_examples=400)
@given(entropy=entropies, address_type=address_types, network=networks, index_list=indices,
       change=st.booleans(), passphrase=passphrases)
def test_accounts_and_addresses_match_bip_utils_and_embit(
        bitcoin: qsigner.CoinPlugin, entropy: bytes, address_type: str, network: str,
        index_list: list[int], change: bool, passphrase: str) -> None:
    check_against_references(bitcoin, entropy, address_type, network, index_list, change,
                             passphrase)


paths = st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 3) | st.integers(HARDENED, HARDENED + 3),
                 max_size=5)


@settings(DETERMINISTIC, max_examples=400)
@given(seed=st.binary(min_size=16, max_size=64), path=paths, mainnet=st.booleans())
def test_bip32_derivation_matches_embit_and_bip_utils(seed: bytes, path: list[int],
                                                      mainnet: bool) -> None:
    network = NETWORKS["mainnet" if mainnet else "testnet"]
    ours = HDKey.from_seed(seed, network.xprv).derive(path)
    theirs = embit_bip32.HDKey.from_seed(seed, version=network.xprv.to_bytes(4, "big")).derive(path)
    assert ours.to_string() == theirs.to_base58()
    assert ours.public(network.xpub).to_string() == theirs.to_public().to_base58()
    text = "m" + "".join(f"/{i - HARDENED}'" if i >= HARDENED else f"/{i}" for i in path)
    bu = Bip32Slip10Secp256k1.FromSeedAndPath(seed, text)
    assert ours.key == bytes(bu.PrivateKey().Raw().ToBytes())
    assert ours.chain_code == bytes(bu.ChainCode().ToBytes())
    # the unhardened tail also derives from the last hardened ancestor's public key
    cut = max((i + 1 for i, step in enumerate(path) if step >= HARDENED), default=0)
    base = HDKey.from_seed(seed, network.xprv).derive(path[:cut]).public(network.xpub)
    assert base.derive(path[cut:]) == ours.public(network.xpub)


@settings(DETERMINISTIC, max_examples=300)
@given(secret=st.integers(1, ORDER - 1),
       network=networks, compressed=st.booleans(), address_type=address_types)
def test_wif_and_scripts_match_embit(secret: int, network: str, compressed: bool,
                                     address_type: str) -> None:
    raw = secret.to_bytes(32, "big")
    key = embit_ec.PrivateKey(raw, compressed=compressed)
    net = EMBIT_NETWORKS[EMBIT_NET[network]]
    text = encode_wif(raw, NETWORKS[network], compressed=compressed)
    assert text == key.wif(net)
    assert decode_wif(key.wif(net), NETWORKS[network]) == (raw, compressed)
    pubkey = embit_ec.PrivateKey(raw).get_public_key()       # compressed, as BIP-0044..86 use
    script = key_to_script(pubkey.sec(), address_type)
    assert script_to_address(script, NETWORKS[network]) == embit_address(pubkey, address_type,
                                                                         network)
