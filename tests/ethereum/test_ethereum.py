"""The Ethereum plugin against eth-account (an independent implementation) and EIP-155's example."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

import qsigner
from coins.bitcoin import ecc
from coins.ethereum.address import checksum_address, parse_address
from coins.ethereum.keccak import keccak256
from coins.ethereum.transaction import parse_transaction

Account.enable_unaudited_hdwallet_features()
MNEMONIC = "abandon " * 11 + "about"


@pytest.fixture(scope="module")
def eth() -> Any:
    return qsigner.load_coin("ethereum")


def _reference(mnemonic: str, index: int = 0, account: int = 0) -> Any:
    return Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/{account}'/0/{index}")


def test_eip155_example(load_upstream: Any) -> None:
    vector = load_upstream("ethereum/eip155.json")
    given_tx = dict(vector["tx_evaluated"], value=int(vector["tx_evaluated"]["value"]), type=0)
    tx = parse_transaction(given_tx)
    payload = tx.signing_payload()
    assert "0x" + payload.hex() == vector["signing_data"]
    assert "0x" + keccak256(payload).hex() == vector["signing_hash"]
    r, s, rec = ecc.ecdsa_sign_recoverable(bytes.fromhex(vector["private_key"][2:]),
                                           keccak256(payload))
    assert (str(r), str(s), str(rec + 35 + 2)) == (vector["r"], vector["s"], vector["v"])
    assert "0x" + tx.signed(r, s, rec).hex() == vector["signed_tx"]


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(entropy=st.binary(min_size=16, max_size=16), index=st.integers(0, 2**31 - 1),
       account=st.integers(0, 3))
def test_addresses_equal_eth_account(eth: Any, entropy: bytes, index: int, account: int) -> None:
    pair = eth.generate_keypair(network="mainnet", entropy=entropy, account=account)
    expected = _reference(pair.secret, index, account).address
    assert eth.derive_address(pair.secret, index, network="mainnet", account=account) == expected
    assert eth.derive_address(pair.public, index, network="sepolia") == expected


def _tx(kind: int, **extra: Any) -> dict[str, Any]:
    tx: dict[str, Any] = {"chainId": 11_155_111, "nonce": 7, "gas": 60_000, "value": 12345,
                          "to": "0x3535353535353535353535353535353535353535", "data": "0xabcd"}
    if kind == 2:
        tx.update(type=2, maxFeePerGas=40 * 10**9, maxPriorityFeePerGas=2 * 10**9,
                  accessList=[{"address": "0x" + "11" * 20, "storageKeys": ["0x" + "00" * 32]}])
    else:
        tx.update(gasPrice=21 * 10**9)
    tx.update(extra)
    return tx


@pytest.mark.parametrize("kind", [0, 2])
@pytest.mark.parametrize("index", [0, 3])
def test_signed_transactions_equal_eth_account(eth: Any, kind: int, index: int) -> None:
    tx = _tx(kind)
    ours = eth.sign_transaction(json.dumps(tx), MNEMONIC, network="sepolia", index=index)
    ref = _reference(MNEMONIC, index).sign_transaction(tx)
    assert ours.raw == ref.raw_transaction.hex().removeprefix("0x")
    assert ours.txid == ref.hash.hex().removeprefix("0x")
    assert Account.recover_transaction("0x" + ours.raw) == _reference(MNEMONIC, index).address
    assert "eth-account" in eth.verify_transaction(ours, network="sepolia")
    # hex-string integers give the same bytes
    hexed = {k: hex(v) if isinstance(v, int) and k != "type" else v for k, v in tx.items()}
    assert eth.sign_transaction(hexed, MNEMONIC, network="sepolia", index=index).raw == ours.raw


def test_policy_refusals(eth: Any) -> None:
    sign = eth.sign_transaction
    with pytest.raises(qsigner.NetworkMismatchError):
        sign(_tx(2), MNEMONIC, network="mainnet")
    with pytest.raises(qsigner.FeeError):
        sign(_tx(2, gas=10_000_000), MNEMONIC, network="sepolia")
    assert sign(_tx(2, gas=10_000_000), MNEMONIC, network="sepolia", max_fee_wei=10**18).raw
    with pytest.raises(qsigner.OutputNotAllowedError):
        sign(_tx(0, to=None), MNEMONIC, network="sepolia")
    assert sign(_tx(0, to=None), MNEMONIC, network="sepolia", allow_contract_creation=True).raw
    with pytest.raises(qsigner.DerivationMismatchError):
        sign(_tx(2, **{"from": _reference(MNEMONIC, 1).address}), MNEMONIC, network="sepolia")
    assert sign(_tx(2, **{"from": _reference(MNEMONIC, 1).address}), MNEMONIC,
                network="sepolia", index=1).raw


@pytest.mark.parametrize("bad", [
    "not json", "[]", json.dumps(_tx(2, extra=1)), json.dumps(_tx(0, type=1)),
    json.dumps({k: v for k, v in _tx(2).items() if k != "chainId"}),
    json.dumps(_tx(2, nonce=-1)), json.dumps(_tx(2, nonce=True)), json.dumps(_tx(2, value=2**256)),
    json.dumps(_tx(2, to="0x1234")), json.dumps(_tx(2, data="0xabc")),
    json.dumps(_tx(2, maxPriorityFeePerGas=10**12)), json.dumps(_tx(0, maxFeePerGas=1)),
    json.dumps(_tx(2, to="0x" + "aB" * 20)),
])
def test_malformed_transactions_are_input_errors(eth: Any, bad: str) -> None:
    with pytest.raises(qsigner.InputError):
        eth.sign_transaction(bad, MNEMONIC, network="sepolia")


def test_eip55(eth: Any) -> None:
    # EIP-55's own examples
    for address in ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
                    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"):
        assert checksum_address(parse_address(address)) == address
    with pytest.raises(qsigner.InputError, match="checksum"):
        parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")


def test_bad_keys_and_networks(eth: Any) -> None:
    with pytest.raises(qsigner.InputError):
        eth.derive_address(MNEMONIC, 0, network="ropsten")
    with pytest.raises(qsigner.InputError):
        eth.derive_address(MNEMONIC, 0, network="mainnet", address_type="p2wpkh")
    with pytest.raises(qsigner.SecretError):
        eth.derive_address(MNEMONIC.replace("about", "abandon"), 0, network="mainnet")
    bitcoin_key = qsigner.load_coin("bitcoin").account_key(MNEMONIC, network="mainnet",
                                                           address_type="p2pkh")
    with pytest.raises(qsigner.InputError, match="coin type"):
        eth.derive_address(bitcoin_key, 0, network="mainnet")
