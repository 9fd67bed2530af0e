"""PSBT Creator and Updater roles (BIP-0174/0370) for single-key inputs and change outputs.

The watcher (bitcoind) plays these roles in production; this module plays them
for ``qsigner demo``, the examples and the tests, so that a PSBT can be built
offline from made-up UTXOs with exactly the fields bitcoind would add:
``non_witness_utxo`` and ``witness_utxo``, BIP-0032 (or BIP-0371 taproot)
derivations, the p2sh-p2wpkh redeem script, and change-output derivations.
"""

from __future__ import annotations

from .ecc import xonly
from .psbt import (PSBT, PSBT_GLOBAL_FALLBACK_LOCKTIME, PSBT_GLOBAL_INPUT_COUNT,
                   PSBT_GLOBAL_OUTPUT_COUNT, PSBT_GLOBAL_TX_VERSION, PSBT_GLOBAL_UNSIGNED_TX,
                   PSBT_GLOBAL_VERSION, PSBT_IN_BIP32_DERIVATION, PSBT_IN_NON_WITNESS_UTXO,
                   PSBT_IN_OUTPUT_INDEX, PSBT_IN_PREVIOUS_TXID, PSBT_IN_REDEEM_SCRIPT,
                   PSBT_IN_SEQUENCE, PSBT_IN_TAP_BIP32_DERIVATION, PSBT_IN_TAP_INTERNAL_KEY,
                   PSBT_IN_WITNESS_UTXO, PSBT_OUT_AMOUNT, PSBT_OUT_BIP32_DERIVATION,
                   PSBT_OUT_REDEEM_SCRIPT, PSBT_OUT_SCRIPT, PSBT_OUT_TAP_BIP32_DERIVATION,
                   PSBT_OUT_TAP_INTERNAL_KEY, PSBTMap)
from .script import key_to_redeem_script
from .tx import Transaction, TxIn, TxOut, ser_compact_size

__all__ = ["create_psbt", "update_input", "update_output", "key_origin"]


def key_origin(fingerprint: bytes, path: list[int] | tuple[int, ...]) -> bytes:
    """Return a PSBT key-origin value: fingerprint then each index as uint32 LE."""
    return fingerprint + b"".join(i.to_bytes(4, "little") for i in path)


def create_psbt(tx: Transaction, version: int = 0) -> PSBT:
    """Return an unsigned PSBT (v0 or v2) for ``tx``, with empty input and output maps."""
    unsigned = Transaction(tx.version, [TxIn(t.prevout, b"", t.sequence) for t in tx.inputs],
                           list(tx.outputs), tx.locktime)
    if version == 0:
        g = PSBTMap({bytes([PSBT_GLOBAL_UNSIGNED_TX]): unsigned.serialize()})
        return PSBT(0, g, [PSBTMap() for _ in tx.inputs], [PSBTMap() for _ in tx.outputs])
    g = PSBTMap()
    g.set(PSBT_GLOBAL_TX_VERSION, tx.version.to_bytes(4, "little"))
    g.set(PSBT_GLOBAL_FALLBACK_LOCKTIME, tx.locktime.to_bytes(4, "little"))
    g.set(PSBT_GLOBAL_INPUT_COUNT, ser_compact_size(len(tx.inputs)))
    g.set(PSBT_GLOBAL_OUTPUT_COUNT, ser_compact_size(len(tx.outputs)))
    g.set(PSBT_GLOBAL_VERSION, (2).to_bytes(4, "little"))
    inputs = []
    for txin in tx.inputs:
        m = PSBTMap()
        m.set(PSBT_IN_PREVIOUS_TXID, txin.prevout.txid)
        m.set(PSBT_IN_OUTPUT_INDEX, txin.prevout.vout.to_bytes(4, "little"))
        m.set(PSBT_IN_SEQUENCE, txin.sequence.to_bytes(4, "little"))
        inputs.append(m)
    outputs = []
    for out in tx.outputs:
        m = PSBTMap()
        m.set(PSBT_OUT_AMOUNT, out.amount.to_bytes(8, "little"))
        m.set(PSBT_OUT_SCRIPT, out.script_pubkey)
        outputs.append(m)
    return PSBT(2, g, inputs, outputs)


def update_input(psbt: PSBT, i: int, *, kind: str, pubkey: bytes, fingerprint: bytes,
                 path: list[int] | tuple[int, ...], prev_tx: Transaction | None = None,
                 witness_utxo: TxOut | None = None) -> None:
    """Add UTXO, derivation and script fields for a single-key input of type ``kind``."""
    m = psbt.inputs[i]
    if prev_tx is not None:
        m.set(PSBT_IN_NON_WITNESS_UTXO, prev_tx.serialize(include_witness=False))
    if witness_utxo is not None:
        m.set(PSBT_IN_WITNESS_UTXO, witness_utxo.serialize())
    if kind == "p2tr":
        m.set(PSBT_IN_TAP_BIP32_DERIVATION, b"\x00" + key_origin(fingerprint, path),
              xonly(pubkey))
        m.set(PSBT_IN_TAP_INTERNAL_KEY, xonly(pubkey))
        return
    m.set(PSBT_IN_BIP32_DERIVATION, key_origin(fingerprint, path), pubkey)
    if kind == "p2sh-p2wpkh":
        m.set(PSBT_IN_REDEEM_SCRIPT, key_to_redeem_script(pubkey))


def update_output(psbt: PSBT, j: int, *, kind: str, pubkey: bytes, fingerprint: bytes,
                  path: list[int] | tuple[int, ...]) -> None:
    """Add derivation fields marking output ``j`` as change to ``pubkey``."""
    m = psbt.outputs[j]
    if kind == "p2tr":
        m.set(PSBT_OUT_TAP_INTERNAL_KEY, xonly(pubkey))
        m.set(PSBT_OUT_TAP_BIP32_DERIVATION, b"\x00" + key_origin(fingerprint, path),
              xonly(pubkey))
        return
    if kind == "p2sh-p2wpkh":
        m.set(PSBT_OUT_REDEEM_SCRIPT, key_to_redeem_script(pubkey))
    m.set(PSBT_OUT_BIP32_DERIVATION, key_origin(fingerprint, path), pubkey)
