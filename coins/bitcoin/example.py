"""Made-up funds for demos, examples and the conformance kit -- never for production.

``example_psbt`` plays the watcher: it invents a previous transaction paying the
seed's receive addresses (one per requested type), then builds the unsigned
PSBT that spends them to a payee and back to our change, with every field
bitcoind's ``walletcreatefundedpsbt`` would fill in.
"""

from __future__ import annotations

from .accounts import account_path, master_key
from .bip32 import HDKey
from .creator import create_psbt, update_input, update_output
from .hashes import hash160, sha256
from .networks import Network
from .psbt import PSBT
from .script import key_to_script, p2wpkh_script
from .tx import OutPoint, Transaction, TxIn, TxOut

__all__ = ["example_psbt", "EXAMPLE_PAYEE_SCRIPT"]

EXAMPLE_PAYEE_SCRIPT = p2wpkh_script(hash160(b"qsigner example payee"))
_FEE_PER_INPUT = 1_000





def example_psbt(mnemonic: str, network: Network, *,
                 kinds: tuple[str, ...] = ("p2wpkh", "p2sh-p2wpkh", "p2pkh", "p2tr"),
                 version: int = 0, passphrase: str = "", amount: int = 100_000,
                 account: int = 0, index: int = 0, payment: int | None = None) -> PSBT:
    """Return an unsigned PSBT spending made-up coins at receive ``index`` of each type.

    Output 0 pays ``payment`` (default: half the coins) to ``EXAMPLE_PAYEE_SCRIPT``;
    output 1 returns the rest less a fee to our p2wpkh (or first type's) change 0.
    """
    master = master_key(mnemonic, passphrase, network)
    fingerprint = master.fingerprint()
    funded = []
    for n, kind in enumerate(kinds):
        path = account_path(kind, network, account) + (0, index)
        key = master.derive(path)
        funded.append((kind, key.pubkey, path, TxOut(amount + n, key_to_script(key.pubkey, kind))))
    prev_tx = Transaction(2, [TxIn(OutPoint(sha256(b"qsigner example funding"), 0))],
                          [out for *_, out in funded], 0)
    total = sum(out.amount for *_, out in funded)
    pay = total // 2 if payment is None else payment
    change_kind = "p2wpkh" if "p2wpkh" in kinds else kinds[0]
    change_path = account_path(change_kind, network, account) + (1, 0)
    change_key = master.derive(change_path)
    outputs = [TxOut(pay, EXAMPLE_PAYEE_SCRIPT),
               TxOut(total - pay - _FEE_PER_INPUT * len(kinds),
                     key_to_script(change_key.pubkey, change_kind))]
    inputs = [TxIn(OutPoint(prev_tx.txid(), n), sequence=0xFFFFFFFD) for n in range(len(kinds))]
    psbt = create_psbt(Transaction(2, inputs, outputs, 0), version)
    for n, (kind, pubkey, path, out) in enumerate(funded):
        update_input(psbt, n, kind=kind, pubkey=pubkey, fingerprint=fingerprint, path=path,
                     prev_tx=prev_tx if kind != "p2tr" else None,
                     witness_utxo=out if kind != "p2pkh" else None)
    update_output(psbt, 1, kind=change_kind, pubkey=change_key.pubkey,
                  fingerprint=fingerprint, path=change_path)
    return psbt
