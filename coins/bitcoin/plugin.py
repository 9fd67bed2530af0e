"""The Bitcoin plugin: the contract's three methods, as a thin adapter over the modules.

Only this module sees the contract's strings (network names, options, base64);
the modules below it take typed values. See docs/keys.md for paths and formats.
"""

from __future__ import annotations

import os
from typing import Any

from qsigner.errors import InputError
from qsigner.protocol import KeyPair, SignedTransaction

from .accounts import account_key_from_mnemonic, chain_keys, check_account
from .bip32 import format_path
from .bip39 import entropy_to_mnemonic, normalize_mnemonic
from .descriptors import watcher_export
from .networks import NETWORKS, Network, get_address_type, get_network
from .options import check_index, check_options
from .script import key_to_script, script_to_address

__all__ = ["BitcoinPlugin", "KEY_OPTIONS"]

KEY_OPTIONS = frozenset({"address_type", "account", "passphrase"})


class BitcoinPlugin:
    """Bitcoin: BIP-0039 seeds, BIP-0044/49/84/86 accounts, PSBT v0/v2 signing."""

    name = "bitcoin"
    networks: tuple[str, ...] = tuple(NETWORKS)
    address_types: tuple[str, ...] = ("p2wpkh", "p2sh-p2wpkh", "p2pkh", "p2tr")

    def __init__(self, networks: dict[str, Network] | None = None) -> None:
        self._networks = networks or NETWORKS

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def _network(self, network: object) -> Network:
        return get_network(network, self._networks)

    def _check_key_options(self, options: dict[str, Any]) -> None:
        """Refuse unknown options and address types this coin does not offer."""
        check_options(options, KEY_OPTIONS)
        requested = options.get("address_type")
        if requested is not None and requested not in self.address_types:
            raise InputError(f"address_type: {requested!r} is not one of "
                             f"{', '.join(self.address_types)}", field="address_type")

    def generate_keypair(self, *, network: str, entropy: bytes | None = None,
                         **options: Any) -> KeyPair:
        """Return a new BIP-0039 mnemonic, its account key with origin, and receive address 0.

        Raises:
            InputError: bad network, entropy length, or option.
        """
        net = self._network(network)
        self._check_key_options(options)
        mnemonic = entropy_to_mnemonic(os.urandom(32) if entropy is None else entropy)
        account, kind, receive, _ = chain_keys(
            mnemonic, net, options.get("address_type"), _account_option(options),
            options.get("passphrase", ""))
        address = script_to_address(key_to_script(receive.child(0).pubkey, kind), net)
        return KeyPair(mnemonic, account.to_string(), address)

    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        """Return the address at ``index`` of the receive or change chain of ``key``.

        Raises:
            InputError: bad key, index, network, type or option (SecretError for a mnemonic).
        """
        net = self._network(network)
        self._check_key_options(options)
        check_index(index)
        if not isinstance(change, bool):
            raise InputError("change: must be True or False", field="change")
        _, kind, receive, change_chain = chain_keys(
            key, net, options.get("address_type"), _account_option(options),
            options.get("passphrase", ""))
        node = (change_chain if change else receive).child(index)
        return script_to_address(key_to_script(node.pubkey, kind), net)

    def sign_transaction(self, transaction: str | bytes, secret: str, *, network: str,
                         **options: Any) -> SignedTransaction:
        """Sign the inputs of a PSBT (v0 or v2) that belong to ``secret``; see signer.py.

        Raises:
            InputError: malformed PSBT, secret or option.
            PolicyError: refused; nothing was signed.
        """
        from .signer import sign_psbt_text  # noqa: PLC0415 - layer above plugin helpers
        net = self._network(network)
        return sign_psbt_text(transaction, normalize_mnemonic_secret(secret), net, options)


    def account_key(self, secret: str, *, network: str, **options: Any) -> str:
        """Return the account public key with origin for an existing secret (for the watcher).

        Raises:
            InputError: bad network, type or option; SecretError for a bad mnemonic.
        """
        net = self._network(network)
        self._check_key_options(options)
        account, *_ = chain_keys(normalize_mnemonic_secret(secret), net,
                                 options.get("address_type"), _account_option(options),
                                 options.get("passphrase", ""))
        return account.to_string()

    def address_path(self, key: str, index: int, *, network: str, change: bool = False,
                     **options: Any) -> str | None:
        """Return the full derivation path of an address, or None when the key has no origin.

        Raises:
            InputError: as ``derive_address``.
        """
        net = self._network(network)
        self._check_key_options(options)
        check_index(index)
        account, *_ = chain_keys(key, net, options.get("address_type"), _account_option(options),
                                 options.get("passphrase", ""))
        if account.origin is None:
            return None
        return format_path(account.origin.path + (int(change), index))

    def fingerprint(self, secret: str, *, network: str, passphrase: str = "") -> str:
        """Return the seed's BIP-0032 master fingerprint (hex), which the key store pins.

        Raises:
            InputError: bad network or passphrase; SecretError for a bad mnemonic.
        """
        from .accounts import master_key  # noqa: PLC0415
        if not isinstance(passphrase, str):
            raise InputError("passphrase: expected a string", field="passphrase")
        net = self._network(network)
        return master_key(normalize_mnemonic_secret(secret), passphrase, net).fingerprint().hex()

    def describe_transaction(self, transaction: str | bytes, *, network: str) -> dict[str, Any]:
        """Return what the audit log records of a PSBT: inputs, outputs, fee, unsigned txid.

        Raises:
            InputError: malformed PSBT or network.
        """
        from .signer import decode_psbt, spent_outputs  # noqa: PLC0415
        net = self._network(network)
        psbt = decode_psbt(transaction)
        tx = psbt.unsigned_tx()
        spent = spent_outputs(psbt, tx)
        outputs: list[dict[str, Any]] = []
        for out in tx.outputs:
            try:
                outputs.append({"address": script_to_address(out.script_pubkey, net),
                                "amount": out.amount})
            except InputError:
                outputs.append({"script": out.script_pubkey.hex(), "amount": out.amount})
        known = None not in spent
        fee = sum(o.amount for o in spent if o) - sum(o.amount for o in tx.outputs) if known \
            else None
        return {"unsigned_txid": tx.txid_hex(), "fee": fee, "outputs": outputs,
                "inputs": [f"{i.prevout.txid[::-1].hex()}:{i.prevout.vout}" for i in tx.inputs]}

    def watcher_export(self, key: str, *, network: str,
                       address_types: tuple[str, ...] | None = None, account: int = 0,
                       passphrase: str = "", range_end: int = 999,
                       timestamp: str | int = "now") -> list[dict[str, Any]]:
        """Return bitcoind's ``importdescriptors`` request watching a mnemonic's accounts.

        One receive and one change descriptor (``[origin]xpub/0/*`` and ``/1/*``, with
        checksums; public keys only) per address type, all four by default. See descriptors.py.

        Raises:
            InputError: bad network, address types, account, passphrase, range_end or
                timestamp; SecretError for a bad mnemonic.
        """
        net = self._network(network)
        mnemonic = normalize_mnemonic_secret(key)
        check_account(account)
        if not isinstance(passphrase, str):
            raise InputError("passphrase: expected a string", field="passphrase")
        types = self.address_types if address_types is None else address_types
        if not isinstance(types, (tuple, list)) or not types or \
                any(t not in self.address_types for t in types):
            raise InputError(f"address_types: expected a non-empty tuple of "
                             f"{', '.join(self.address_types)}", field="address_types")
        names = [get_address_type(name).name for name in types]
        if len(set(names)) != len(names):
            raise InputError("address_types: listed twice", field="address_types")
        return watcher_export(
            {name: account_key_from_mnemonic(mnemonic, passphrase, net, name, account)
             for name in names}, range_end=range_end, timestamp=timestamp)

    def example_transaction(self, secret: str, *, network: str, version: int = 0) -> str:
        """Return an unsigned base64 PSBT spending made-up coins of ``secret`` (demos, the kit).

        Not for production: the funds do not exist. See ``example.py``.

        Raises:
            InputError: bad network or version; SecretError for a bad mnemonic.
        """
        from .example import example_psbt  # noqa: PLC0415 - demo-only path
        if version not in (0, 2):
            raise InputError("version: PSBT version must be 0 or 2", field="version")
        return example_psbt(normalize_mnemonic_secret(secret), self._network(network),
                            kinds=self.address_types, version=version).to_base64()

    def verify_transaction(self, signed: SignedTransaction, *, network: str) -> str:
        """Check a complete signed transaction with libbitcoinkernel; return what checked it.

        Raises:
            PluginError: an input fails Bitcoin Core's consensus check.
            InputError: the result is not a complete transaction.
        """
        from .signer import decode_psbt, spent_outputs  # noqa: PLC0415
        from .verify import kernel_available, verify_with_kernel  # noqa: PLC0415
        self._network(network)
        if signed.raw is None or signed.psbt is None:
            raise InputError("transaction: not complete; nothing to verify", field="transaction")
        psbt = decode_psbt(signed.psbt)
        spent = spent_outputs(psbt, psbt.unsigned_tx())
        if not kernel_available() or any(out is None for out in spent):
            return "unchecked (py-bitcoinkernel not installed or spent outputs unknown)"
        verify_with_kernel(bytes.fromhex(signed.raw), [out for out in spent if out])
        return "libbitcoinkernel (Bitcoin Core consensus, all flags)"


def _account_option(options: dict[str, Any]) -> int | None:
    """Return the ``account`` option checked, or None when it was not given."""
    return check_account(options["account"]) if "account" in options else None


def normalize_mnemonic_secret(secret: object) -> str:
    """Return the normalised mnemonic; a non-string or invalid one is a ``SecretError``."""
    return normalize_mnemonic(secret)  # type: ignore[arg-type]
