"""BENCH-ONLY fixtures: one seed, its account keys, and made-up PSBTs of N inputs.

WARNING: for the benchmark only (the coins do not exist). Every implementation in
``bench/run.py`` gets the very same strings: the account key (``[fp/path]xpub``
for qsigner, the bare xpub for the peers), the mnemonic, and the base64 PSBTs
built here. The PSBTs carry what bitcoind's ``walletcreatefundedpsbt`` would add
(``witness_utxo``, ``non_witness_utxo`` except for taproot, BIP-0032 / BIP-0371
derivations, a change output with its derivation), so every signer checks and
signs the same thing. Built with qsigner's Creator/Updater (``creator.py``); the
bench does not import ``tests/``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache

from coins.bitcoin import plugin
from coins.bitcoin.accounts import account_path, master_key
from coins.bitcoin.bip32 import HDKey
from coins.bitcoin.creator import create_psbt, update_input, update_output
from coins.bitcoin.hashes import hash160, sha256
from coins.bitcoin.networks import NETWORKS, Network
from coins.bitcoin.script import key_to_script, p2wpkh_script
from coins.bitcoin.tx import OutPoint, Transaction, TxIn, TxOut

__all__ = ["MNEMONIC", "DERIVE_NETWORK", "SIGN_NETWORK", "Account", "account", "SignCase",
           "sign_case", "keygen_mnemonics"]

# The BIP-0084 test mnemonic: its account keys are in the BIPs, so a reader can check them.
MNEMONIC = ("abandon abandon abandon abandon abandon abandon abandon abandon abandon "
            "abandon abandon about")
DERIVE_NETWORK = "mainnet"   # addresses: bc1q.../bc1p.../1...
SIGN_NETWORK = "regtest"     # PSBTs: coin type 1'
AMOUNT = 100_000             # sat per spent coin
FEE_PER_INPUT = 300          # ~4 sat/vB: inside every default fee limit
PAYEE = p2wpkh_script(hash160(b"qsigner bench payee"))


@dataclass(frozen=True)
class Account:
    """An account of ``MNEMONIC``: the key string qsigner takes and the bare xpub."""

    kind: str
    network: str
    key: str     # [fingerprint/purpose'/coin'/0']xpub..., as qsigner's account_key returns
    xpub: str    # the bare extended public key, for peers that take no origin


@lru_cache(maxsize=None)
def account(kind: str, network: str = DERIVE_NETWORK) -> Account:
    """Return the account 0 key of ``MNEMONIC`` for ``kind`` on ``network``."""
    key = plugin.account_key(MNEMONIC, network=network, address_type=kind)
    return Account(kind, network, key, key.split("]", 1)[1])


@dataclass(frozen=True)
class SignCase:
    """An unsigned PSBT of ``n`` inputs of ``kind`` and the outputs its inputs spend."""

    kind: str
    n: int
    psbt: str                 # base64
    spent: tuple[TxOut, ...]  # for the libbitcoinkernel check


@lru_cache(maxsize=None)
def _master(network: Network) -> HDKey:
    return master_key(MNEMONIC, "", network)


@lru_cache(maxsize=None)
def _chain(kind: str, network: Network, chain: int) -> HDKey:
    return _master(network).derive(account_path(kind, network, 0) + (chain,))


def _funding_tx(n: int, kind: str, out: TxOut) -> Transaction:
    """Return a made-up previous transaction paying ``out`` at vout ``n % 2``."""
    seed = sha256(b"qsigner bench" + kind.encode() + n.to_bytes(4, "little"))
    outputs = [TxOut(1_000, b"\x51")] * (n % 2) + [out]
    return Transaction(2, [TxIn(OutPoint(seed, 0), sequence=0xFFFFFFFF)], outputs, 0)


def sign_case(kind: str, n: int, network_name: str = SIGN_NETWORK) -> SignCase:
    """Return a PSBT spending receive addresses 0..n-1 of ``kind`` to a payee and our change.

    Each coin has its own funding transaction, given whole as ``non_witness_utxo``
    (not for p2tr, whose signatures commit to every amount), and ``witness_utxo``
    (not for p2pkh).
    """
    network = NETWORKS[network_name]
    master = _master(network)
    fingerprint = master.fingerprint()
    receive, change = _chain(kind, network, 0), _chain(kind, network, 1)
    base = account_path(kind, network, 0)
    coins, inputs = [], []
    for i in range(n):
        pubkey = receive.child(i).pubkey
        out = TxOut(AMOUNT, key_to_script(pubkey, kind))
        prev = _funding_tx(i, kind, out)
        inputs.append(TxIn(OutPoint(prev.txid(), i % 2), sequence=0xFFFFFFFD))
        coins.append((pubkey, prev, out, base + (0, i)))
    change_pub = change.child(0).pubkey
    total = AMOUNT * n
    pay = total // 2
    outputs = [TxOut(pay, PAYEE),
               TxOut(total - pay - FEE_PER_INPUT * n, key_to_script(change_pub, kind))]
    psbt = create_psbt(Transaction(2, inputs, outputs, 0), 0)
    for i, (pubkey, prev, out, path) in enumerate(coins):
        update_input(psbt, i, kind=kind, pubkey=pubkey, fingerprint=fingerprint, path=path,
                     prev_tx=None if kind == "p2tr" else prev,
                     witness_utxo=None if kind == "p2pkh" else out)
    update_output(psbt, 1, kind=kind, pubkey=change_pub, fingerprint=fingerprint,
                  path=base + (1, 0))
    return SignCase(kind, n, base64.b64encode(psbt.serialize()).decode(),
                    tuple(out for _, _, out, _ in coins))


def keygen_mnemonics(count: int, tag: str) -> list[str]:
    """Return ``count`` valid mnemonics unique to ``tag`` (so nothing answers from a cache)."""
    from coins.bitcoin.bip39 import entropy_to_mnemonic  # noqa: PLC0415
    return [entropy_to_mnemonic(sha256(f"qsigner bench keygen {tag} {i}".encode())[:16])
            for i in range(count)]
