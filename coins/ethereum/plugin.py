"""The Ethereum plugin: BIP-0044 m/44'/60'/account'/0/i keys, EIP-55 addresses, EIP-155/1559 signing.

The template for account-model coins. Keys reuse the Bitcoin plugin's BIP-0039
and BIP-0032 modules (one engine, not a copy); only the address, the transaction
format and the policy are Ethereum's. The coin type is 60 on every network, as
wallets derive test-network keys.

Policy (before signing): ``chainId`` must be the network's (``NetworkMismatchError``);
gas x max fee per gas at most ``max_fee_wei`` (default 0.1 ETH, ``FeeError``); contract
creation refused unless ``allow_contract_creation=True`` (``OutputNotAllowedError``); a
``from`` field must be the signing address (``DerivationMismatchError``).
"""

from __future__ import annotations

import json
import os
from typing import Any

from coins.bitcoin import ecc
from coins.bitcoin.accounts import chain_keys, check_account, master_key
from coins.bitcoin.bip32 import HARDENED
from coins.bitcoin.bip39 import entropy_to_mnemonic, normalize_mnemonic
from coins.bitcoin.networks import Network
from coins.bitcoin.options import check_index, check_options, option_bool, option_int
from qsigner.errors import (DerivationMismatchError, FeeError, InputError, NetworkMismatchError,
                            OutputNotAllowedError, PluginError)
from qsigner.protocol import KeyPair, SignedTransaction

from .address import pubkey_to_address
from .keccak import keccak256
from .transaction import parse_transaction

__all__ = ["EthereumPlugin", "CHAIN_IDS", "DEFAULT_MAX_FEE_WEI"]

CHAIN_IDS = {"mainnet": 1, "sepolia": 11_155_111, "holesky": 17_000, "dev": 1337}
COIN_TYPE = 60
DEFAULT_MAX_FEE_WEI = 10**17
KEY_OPTIONS = frozenset({"account", "passphrase", "address_type"})
SIGN_OPTIONS = frozenset({"account", "passphrase", "index", "max_fee_wei",
                          "allow_contract_creation"})
# Extended keys are xpub/xprv on every network; only the coin type matters for paths.
_KEY_NETWORK = Network("ethereum", COIN_TYPE, 0, 0, "", 0, 0x0488B21E, 0x0488ADE4, (), ())
_EXAMPLE_PAYEE = "0x3535353535353535353535353535353535353535"


class EthereumPlugin:
    """Ethereum and EVM chains: one address type, externally owned accounts."""

    name = "ethereum"
    networks: tuple[str, ...] = tuple(CHAIN_IDS)
    address_types: tuple[str, ...] = ("eoa",)

    def __repr__(self) -> str:
        return "<EthereumPlugin ethereum>"

    def _chain_id(self, network: object) -> int:
        if not isinstance(network, str) or network not in CHAIN_IDS:
            raise InputError(f"network: {network!r} is not one of {', '.join(CHAIN_IDS)}",
                             field="network")
        return CHAIN_IDS[network]

    def _chains(self, key: str, options: dict[str, Any]) -> Any:
        check_options(options, KEY_OPTIONS | SIGN_OPTIONS)
        if options.get("address_type", "eoa") != "eoa":
            raise InputError("address_type: ethereum has only 'eoa'", field="address_type")
        account = check_account(options["account"]) if "account" in options else None
        # BIP-0044 purpose 44': the Bitcoin type name here only selects that purpose.
        return chain_keys(key, _KEY_NETWORK, "p2pkh", account, options.get("passphrase", ""))

    def generate_keypair(self, *, network: str, entropy: bytes | None = None,
                         **options: Any) -> KeyPair:
        """Return a new mnemonic, its account key ``[fp/44h/60h/0h]xpub...`` and address 0.

        Raises:
            InputError: bad network, entropy or option.
        """
        self._chain_id(network)
        check_options(options, KEY_OPTIONS)
        mnemonic = entropy_to_mnemonic(os.urandom(32) if entropy is None else entropy)
        account, _, receive, _ = self._chains(mnemonic, options)
        return KeyPair(mnemonic, account.to_string(), pubkey_to_address(receive.child(0).pubkey))

    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        """Return the EIP-55 address at m/44'/60'/account'/(0|1)/index.

        Raises:
            InputError: bad key, index, network or option (SecretError for a mnemonic).
        """
        self._chain_id(network)
        check_options(options, KEY_OPTIONS)
        check_index(index)
        if not isinstance(change, bool):
            raise InputError("change: must be True or False", field="change")
        _, _, receive, change_chain = self._chains(key, options)
        return pubkey_to_address((change_chain if change else receive).child(index).pubkey)

    def sign_transaction(self, transaction: str | bytes, secret: str, *, network: str,
                         **options: Any) -> SignedTransaction:
        """Check the transaction against the policy, then sign it with address ``index``.

        Raises:
            InputError: malformed transaction, secret or option.
            PolicyError: wrong chain, fee above the cap, contract creation, wrong sender.
        """
        chain_id = self._chain_id(network)
        check_options(options, SIGN_OPTIONS)
        tx = parse_transaction(transaction)
        index = check_index(options.get("index", 0))
        account = check_account(options.get("account", 0))
        passphrase = options.get("passphrase", "")
        if not isinstance(passphrase, str):
            raise InputError("passphrase: expected a string", field="passphrase")
        self._check_policy(tx, chain_id, network, options)
        master = master_key(normalize_mnemonic(secret), passphrase, _KEY_NETWORK)
        node = master.derive((44 + HARDENED, COIN_TYPE + HARDENED, account + HARDENED, 0, index))
        if tx.sender is not None and pubkey_to_address(node.pubkey).lower() != \
                "0x" + tx.sender.hex():
            raise DerivationMismatchError(f"from: is not this seed's address at index {index}")
        r, s, recovery_id = ecc.ecdsa_sign_recoverable(node.key, keccak256(tx.signing_payload()))
        raw = tx.signed(r, s, recovery_id)
        return SignedTransaction(psbt=None, raw=raw.hex(), txid=keccak256(raw).hex(),
                                 signed_inputs=(0,), partial=False)

    @staticmethod
    def _check_policy(tx: Any, chain_id: int, network: str, options: dict[str, Any]) -> None:
        if tx.chain_id != chain_id:
            raise NetworkMismatchError(f"chainId {tx.chain_id} is not {network}'s {chain_id}")
        cap = option_int(options, "max_fee_wei", DEFAULT_MAX_FEE_WEI)
        if tx.max_total_fee > cap:
            raise FeeError(f"gas x max fee per gas = {tx.max_total_fee} wei exceeds "
                           f"max_fee_wei {cap}")
        if tx.to is None and not option_bool(options, "allow_contract_creation"):
            raise OutputNotAllowedError("contract creation (no 'to'); pass "
                                        "allow_contract_creation=True to sign it")

    def example_transaction(self, secret: str, *, network: str, version: int = 2) -> str:
        """Return an unsigned transaction JSON (type 2, or 0 for ``version=0``) for demos."""
        chain_id = self._chain_id(network)
        normalize_mnemonic(secret)
        tx: dict[str, Any] = {"chainId": chain_id, "nonce": 0, "gas": 21_000,
                              "to": _EXAMPLE_PAYEE, "value": 10**15, "data": "0x"}
        if version == 0:
            tx.update(type=0, gasPrice=20 * 10**9)
        else:
            tx.update(type=2, maxFeePerGas=30 * 10**9, maxPriorityFeePerGas=10**9)
        return json.dumps(tx)

    def verify_transaction(self, signed: SignedTransaction, *, network: str) -> str:
        """Recover the sender of a signed transaction with eth-account when installed.

        Raises:
            PluginError: the signature does not recover, or the hash differs.
        """
        self._chain_id(network)
        if signed.raw is None:
            raise InputError("transaction: no raw transaction to verify", field="transaction")
        try:
            from eth_account import Account  # noqa: PLC0415 - optional, independent checker
        except ImportError:
            return "unchecked (eth-account not installed)"
        try:
            Account.recover_transaction("0x" + signed.raw)
        except Exception as exc:  # eth-account raises several types for a bad signature
            raise PluginError(f"eth-account cannot recover the sender: {exc}") from None
        if keccak256(bytes.fromhex(signed.raw)).hex() != signed.txid:
            raise PluginError("txid is not the Keccak-256 of the raw transaction")
        return "eth-account (sender recovered from the signature)"


