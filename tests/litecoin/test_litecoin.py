"""The Litecoin plugin: addresses equal bip-utils', signatures pass Bitcoin Core's consensus check
(Litecoin's script rules for these types are Bitcoin's), and neither coin signs the other's keys."""

from __future__ import annotations

from typing import Any

import pytest
from bip_utils import (Bip39SeedGenerator, Bip44, Bip44Changes, Bip44Coins, Bip49, Bip49Coins,
                       Bip84, Bip84Coins)
from hypothesis import given, settings
from hypothesis import strategies as st

import qsigner

MNEMONIC = "abandon " * 11 + "about"
REFERENCE = {
    ("p2pkh", "mainnet"): (Bip44, Bip44Coins.LITECOIN),
    ("p2sh-p2wpkh", "mainnet"): (Bip49, Bip49Coins.LITECOIN),
    ("p2wpkh", "mainnet"): (Bip84, Bip84Coins.LITECOIN),
    ("p2pkh", "testnet"): (Bip44, Bip44Coins.LITECOIN_TESTNET),
    ("p2sh-p2wpkh", "testnet"): (Bip49, Bip49Coins.LITECOIN_TESTNET),
    ("p2wpkh", "testnet"): (Bip84, Bip84Coins.LITECOIN_TESTNET),
}


@pytest.fixture(scope="module")
def ltc() -> Any:
    return qsigner.load_coin("litecoin")


def _reference(mnemonic: str, kind: str, network: str, index: int, change: bool) -> str:
    cls, coin = REFERENCE[(kind, network)]
    chain = Bip44Changes.CHAIN_INT if change else Bip44Changes.CHAIN_EXT
    node = cls.FromSeed(Bip39SeedGenerator(mnemonic).Generate(), coin).Purpose().Coin()
    return str(node.Account(0).Change(chain).AddressIndex(index).PublicKey().ToAddress())


@settings(max_examples=24, deadline=None, derandomize=True, database=None)
@given(entropy=st.binary(min_size=16, max_size=16),
       case=st.sampled_from(sorted(REFERENCE)), index=st.integers(0, 2**31 - 1),
       change=st.booleans())
def test_addresses_equal_bip_utils(ltc: Any, entropy: bytes, case: tuple[str, str], index: int,
                                   change: bool) -> None:
    kind, network = case
    pair = ltc.generate_keypair(network=network, entropy=entropy, address_type=kind)
    expected = _reference(pair.secret, kind, network, index, change)
    assert ltc.derive_address(pair.secret, index, network=network, change=change,
                              address_type=kind) == expected
    assert ltc.derive_address(pair.public, index, network=network, change=change) == expected


@pytest.mark.parametrize("network", ["mainnet", "testnet", "regtest"])
@pytest.mark.parametrize("version", [0, 2])
def test_signed_transactions_pass_the_consensus_check(ltc: Any, network: str,
                                                      version: int) -> None:
    unsigned = ltc.example_transaction(MNEMONIC, network=network, version=version)
    result = ltc.sign_transaction(unsigned, MNEMONIC, network=network)
    assert result.signed_inputs == (0, 1, 2) and not result.partial
    # libbitcoinkernel checks every input with all consensus flags (raises if one fails).
    assert ltc.verify_transaction(result, network=network).startswith("libbitcoinkernel")


def test_cross_coin_keys_are_refused(ltc: Any) -> None:
    btc = qsigner.load_coin("bitcoin")
    with pytest.raises(qsigner.NetworkMismatchError, match="coin type 2'"):
        btc.sign_transaction(ltc.example_transaction(MNEMONIC, network="mainnet"), MNEMONIC,
                             network="mainnet")
    with pytest.raises(qsigner.NetworkMismatchError, match="coin type 0'"):
        ltc.sign_transaction(btc.example_transaction(MNEMONIC, network="mainnet"), MNEMONIC,
                             network="mainnet")
    bitcoin_key = btc.account_key(MNEMONIC, network="mainnet", address_type="p2wpkh")
    with pytest.raises(qsigner.InputError, match="coin type"):
        ltc.derive_address(bitcoin_key, 0, network="mainnet")


def test_taproot_and_unknown_networks_refused(ltc: Any) -> None:
    with pytest.raises(qsigner.InputError, match="address_type"):
        ltc.derive_address(MNEMONIC, 0, network="mainnet", address_type="p2tr")
    with pytest.raises(qsigner.InputError, match="network"):
        ltc.derive_address(MNEMONIC, 0, network="signet")


def test_chain_key_cache_keeps_coins_apart(ltc: Any) -> None:
    # Same mnemonic, same network name, same type: the cache must still tell the coins apart.
    btc = qsigner.load_coin("bitcoin")
    first = btc.derive_address(MNEMONIC, 0, network="mainnet")
    assert ltc.derive_address(MNEMONIC, 0, network="mainnet") == \
        _reference(MNEMONIC, "p2wpkh", "mainnet", 0, False)
    assert btc.derive_address(MNEMONIC, 0, network="mainnet") == first
