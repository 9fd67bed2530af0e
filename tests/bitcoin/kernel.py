"""TEST-ONLY helpers: Bitcoin Core's consensus check of signed transactions, and made-up PSBTs.

WARNING: for tests only. ``verify_with_kernel`` asks libbitcoinkernel
(``py-bitcoinkernel``, module ``pbk``) whether every input of a transaction
satisfies the script it spends, with all consensus flags (P2SH, DERSIG,
NULLDUMMY, CLTV, CSV, WITNESS, TAPROOT): the code that signed is never the code
that judges. ``build_psbt`` plays the watcher with invented coins, as
``coins.bitcoin.example`` does, but with any mix of seeds, types and outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import pbk

from coins.bitcoin.accounts import account_path, master_key
from coins.bitcoin.bip32 import HDKey
from coins.bitcoin.creator import create_psbt, update_input, update_output
from coins.bitcoin.hashes import sha256
from coins.bitcoin.networks import Network
from coins.bitcoin.psbt import PSBT
from coins.bitcoin.script import key_to_script
from coins.bitcoin.tx import OutPoint, Transaction, TxIn, TxOut

__all__ = ["verify_with_kernel", "kernel_txid", "spent_of", "Coin", "Change", "key_at",
           "fingerprint", "build_psbt", "SEED_A", "SEED_B"]

SEED_A = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon " \
         "abandon about"
SEED_B = "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong"


def verify_with_kernel(raw_hex: str, spent: Sequence[TxOut]) -> None:
    """Assert that every input of ``raw_hex`` validly spends ``spent[i]`` under Core's rules.

    Raises:
        AssertionError: names the first input that fails (or makes the kernel raise),
            or a transaction the kernel cannot parse.
    """
    try:
        tx = pbk.Transaction(bytes.fromhex(raw_hex))
    except (RuntimeError, ValueError) as exc:
        raise AssertionError(f"libbitcoinkernel cannot parse the transaction: {exc}") from None
    n_inputs = len(tx.inputs)
    assert n_inputs == len(spent), f"{n_inputs} inputs but {len(spent)} spent outputs given"
    # BIP-0341 signatures commit to every spent output, so the kernel needs them all.
    outputs = [pbk.TransactionOutput(pbk.ScriptPubkey(o.script_pubkey), o.amount) for o in spent]
    precomputed = pbk.script.PrecomputedTransactionData(tx, outputs)
    for i, out in enumerate(spent):
        try:
            ok = pbk.ScriptPubkey(out.script_pubkey).verify(
                out.amount, tx, precomputed, i, pbk.ScriptVerificationFlags.ALL)
        except Exception as exc:  # the kernel's own refusal, reported with the input
            raise AssertionError(f"input {i}: libbitcoinkernel raised {exc!r}") from None
        if not ok:
            raise AssertionError(f"input {i}: libbitcoinkernel rejects the spend of "
                                 f"{out.script_pubkey.hex()} ({out.amount} sat)")


def kernel_txid(raw_hex: str) -> str:
    """Return the txid libbitcoinkernel computes for ``raw_hex`` (display order)."""
    return str(pbk.Transaction(bytes.fromhex(raw_hex)).txid)


def spent_of(psbt: PSBT) -> list[TxOut]:
    """Return the output each input of ``psbt`` spends, from its UTXO fields."""
    tx = psbt.unsigned_tx()
    result = []
    for i, txin in enumerate(tx.inputs):
        full = psbt.non_witness_utxo(i)
        out = full.outputs[txin.prevout.vout] if full is not None else psbt.witness_utxo(i)
        assert out is not None, f"input {i}: no UTXO field"
        result.append(out)
    return result


# ---- made-up PSBTs ------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _master(mnemonic: str, network: Network) -> HDKey:
    return master_key(mnemonic, "", network)


@lru_cache(maxsize=None)
def key_at(mnemonic: str, network: Network, path: tuple[int, ...]) -> HDKey:
    """Return the private node at ``path`` (parents cached, so long runs stay cheap)."""
    if not path:
        return _master(mnemonic, network)
    return key_at(mnemonic, network, path[:-1]).child(path[-1])


def fingerprint(mnemonic: str, network: Network) -> bytes:
    """Return the master fingerprint of ``mnemonic``."""
    return _master(mnemonic, network).fingerprint()


@dataclass(frozen=True)
class Coin:
    """An invented UTXO of ``mnemonic`` at its standard path (or ``path``), to spend."""

    mnemonic: str
    kind: str
    amount: int = 100_000
    index: int = 0
    account: int = 0
    path: tuple[int, ...] | None = None
    full_utxo: bool = True      # PSBT_IN_NON_WITNESS_UTXO (never added for p2tr)
    witness_utxo: bool = True   # PSBT_IN_WITNESS_UTXO (never added for p2pkh)

    def key_path(self, network: Network) -> tuple[int, ...]:
        """Return the derivation path of the coin's key."""
        return self.path or account_path(self.kind, network, self.account) + (0, self.index)


@dataclass(frozen=True)
class Change:
    """A change output of ``mnemonic``: chain 1, ``index``, in the account of ``kind``."""

    mnemonic: str
    kind: str
    amount: int
    index: int = 0
    account: int = 0
    path: tuple[int, ...] | None = None

    def key_path(self, network: Network) -> tuple[int, ...]:
        """Return the derivation path of the change key."""
        return self.path or account_path(self.kind, network, self.account) + (1, self.index)


def build_psbt(coins: Sequence[Coin], network: Network, payments: Sequence[TxOut],
               change: Sequence[Change] = (), *, version: int = 0, tag: bytes = b"") -> PSBT:
    """Return an unsigned PSBT spending ``coins`` to ``payments`` then ``change`` outputs.

    Each coin gets its own funding transaction (so ``non_witness_utxo`` stays small);
    odd-numbered coins sit at vout 1 behind a dummy output. ``tag`` varies the txids.
    """
    inputs, funding = [], []
    for n, coin in enumerate(coins):
        pubkey = key_at(coin.mnemonic, network, coin.key_path(network)).pubkey
        out = TxOut(coin.amount, key_to_script(pubkey, coin.kind))
        seed = sha256(tag + n.to_bytes(4, "little") + coin.kind.encode() + pubkey)
        outs = [TxOut(1_000, b"\x51")] * (n % 2) + [out]
        prev = Transaction(2, [TxIn(OutPoint(seed, 0))], outs, 0)
        inputs.append(TxIn(OutPoint(prev.txid(), n % 2), sequence=0xFFFFFFFD))
        funding.append((coin, pubkey, prev, out))
    change_outs = []
    for c in change:
        pubkey = key_at(c.mnemonic, network, c.key_path(network)).pubkey
        change_outs.append(TxOut(c.amount, key_to_script(pubkey, c.kind)))
    psbt = create_psbt(Transaction(2, inputs, [*payments, *change_outs], 0), version)
    for n, (coin, pubkey, prev, out) in enumerate(funding):
        update_input(psbt, n, kind=coin.kind, pubkey=pubkey,
                     fingerprint=fingerprint(coin.mnemonic, network),
                     path=coin.key_path(network),
                     prev_tx=prev if coin.full_utxo and coin.kind != "p2tr" else None,
                     witness_utxo=out if coin.witness_utxo and coin.kind != "p2pkh" else None)
    for j, c in enumerate(change, start=len(payments)):
        update_output(psbt, j, kind=c.kind,
                      pubkey=key_at(c.mnemonic, network, c.key_path(network)).pubkey,
                      fingerprint=fingerprint(c.mnemonic, network), path=c.key_path(network))
    return psbt
