"""Worst-case PSBTs up to the 16 MiB cap are refused (or signed) in bounded memory.

Each case asserts the outcome (the ``QsignerError`` subclass) and, where it runs
in reasonable time under ``tracemalloc``, that the traced peak stays below four
times the PSBT's size plus 20 MB: a regression that builds an object per output
of a previous transaction (as the codec once did, 416 MB for a 15 MB PSBT)
breaks that bound. Speed is measured in ``bench/hostile_psbt.py``, never here.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from coins.bitcoin.accounts import account_path, master_key
from coins.bitcoin.creator import create_psbt, update_input
from coins.bitcoin.hashes import sha256d
from coins.bitcoin.networks import NETWORKS
from coins.bitcoin.psbt import MAX_PSBT_INPUTS, MAX_PSBT_SIZE, PSBT_IN_NON_WITNESS_UTXO
from coins.bitcoin.script import key_to_script
from coins.bitcoin.tx import OutPoint, Transaction, TxIn, TxOut, ser_compact_size
from qsigner.errors import FeeError, InputError, NothingToSignError, QsignerError

MNEMONIC = "abandon " * 11 + "about"
MB = 1_000_000
PAYEE = b"\x00\x14" + bytes(20)
TINY_OUTPUT = TxOut(1, b"").serialize()  # 9 bytes: the most outputs per byte


def prev_tx(n_outputs: int, *, witness_items: int = 0, tag: int = 0) -> tuple[bytes, bytes]:
    """Return (serialization, txid) of a one-input tx with ``n_outputs`` tiny outputs.

    With ``witness_items`` its input carries that many empty witness items.
    Built as bytes, not objects, so that a million outputs cost nothing to make.
    """
    version, locktime = (2).to_bytes(4, "little"), bytes(4)
    body = (b"\x01" + tag.to_bytes(32, "little") + bytes(4) + b"\x00" + b"\xff" * 4
            + ser_compact_size(n_outputs) + TINY_OUTPUT * n_outputs)
    txid = sha256d(version + body + locktime)
    if not witness_items:
        return version + body + locktime, txid
    witness = ser_compact_size(witness_items) + b"\x00" * witness_items
    return version + b"\x00\x01" + body + witness + locktime, txid


def spending_psbt(prevs: list[tuple[bytes, bytes]], version: int) -> bytes:
    """Return a PSBT spending output 0 of each previous tx, carried as its non_witness_utxo."""
    tx = Transaction(2, [TxIn(OutPoint(txid, 0)) for _, txid in prevs], [TxOut(1000, PAYEE)], 0)
    psbt = create_psbt(tx, version)
    for m, (raw, _) in zip(psbt.inputs, prevs):
        m.set(PSBT_IN_NON_WITNESS_UTXO, raw)
    return psbt.serialize()


def our_inputs_psbt(n: int, kind: str, version: int) -> bytes:
    """Return a PSBT of ``n`` inputs of ours (witness_utxo only) paying a fee of ~0.5 BTC."""
    network = NETWORKS["regtest"]
    master = master_key(MNEMONIC, "", network)
    path = account_path(kind, network, 0) + (0, 0)
    key = master.derive(path)
    spent = TxOut(100_000, key_to_script(key.pubkey, kind))
    tx = Transaction(2, [TxIn(OutPoint(sha256d(k.to_bytes(4, "little")), 0)) for k in range(n)],
                     [TxOut(n * 95_000, PAYEE)], 0)
    psbt = create_psbt(tx, version)
    for k in range(n):
        update_input(psbt, k, kind=kind, pubkey=key.pubkey, fingerprint=master.fingerprint(),
                     path=path, witness_utxo=spent)
    return psbt.serialize()


def sign(bitcoin: Any, data: bytes, error: type[QsignerError], *, traced: bool = True) -> None:
    """Require ``error`` from signing ``data``, and (traced) a peak of at most 4x + 20 MB."""
    if not traced:
        with pytest.raises(error):
            bitcoin.sign_transaction(data, MNEMONIC, network="regtest", trust_witness_utxo=True)
        return
    tracemalloc.start()
    try:
        with pytest.raises(error):
            bitcoin.sign_transaction(data, MNEMONIC, network="regtest", trust_witness_utxo=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 4 * len(data) + 20 * MB, f"peak {peak / MB:.1f} MB for {len(data) / MB:.1f} MB"


def test_previous_tx_bigger_than_a_block(bitcoin: Any) -> None:
    # The original report: 1.7 million outputs in one 15 MB non_witness_utxo.
    data = spending_psbt([prev_tx(1_700_000)], 0)
    assert len(data) > 15 * MB
    sign(bitcoin, data, InputError)


def test_previous_tx_heavier_than_a_block(bitcoin: Any) -> None:
    # 1,000,063 bytes without witness: under 4 MB, but 4,000,252 weight units.
    data = spending_psbt([prev_tx(111_112)], 2)
    with pytest.raises(InputError, match="weight 4000252"):
        bitcoin.sign_transaction(data, MNEMONIC, network="regtest")
    sign(bitcoin, data, InputError)


@pytest.mark.parametrize("version", [0, 2])
def test_sixteen_full_blocks_of_tiny_outputs(bitcoin: Any, version: int) -> None:
    # 16 previous txs of ~1 MB (each just within a block), 1.78 million outputs in all.
    prevs = [prev_tx(111_000, tag=k) for k in range(16)]
    data = spending_psbt(prevs, version)
    assert len(data) > 15.9 * MB
    sign(bitcoin, data, NothingToSignError, traced=False)  # 1.78M steps are slow to trace
    sign(bitcoin, spending_psbt(prevs[:2], version), NothingToSignError)


def test_previous_txs_full_of_witness_items(bitcoin: Any) -> None:
    # 4 previous txs of ~4 MB, ~16 million empty witness items, each tx just within a block.
    prevs = [prev_tx(1, witness_items=3_999_000, tag=k) for k in range(4)]
    data = spending_psbt(prevs, 0)
    assert len(data) > 15.9 * MB
    sign(bitcoin, data, NothingToSignError, traced=False)  # 16M steps are slow to trace
    sign(bitcoin, spending_psbt([prev_tx(1, witness_items=300_000)], 0), NothingToSignError)


def test_unsigned_tx_with_a_million_outputs(bitcoin: Any) -> None:
    raw, _ = prev_tx(1_800_000)
    psbt = create_psbt(Transaction(2, [], [], 0))
    psbt.global_map.fields[b"\x00"] = raw  # one input, 1.8 million outputs
    data = psbt.serialize()
    assert MAX_PSBT_SIZE - MB < len(data) <= MAX_PSBT_SIZE
    with pytest.raises(InputError, match="1800000 outputs"):
        bitcoin.sign_transaction(data, MNEMONIC, network="regtest")


@pytest.mark.parametrize("version", [0, 2])
def test_most_inputs_each_with_a_previous_tx(bitcoin: Any, version: int) -> None:
    prevs = [prev_tx(1, tag=k) for k in range(MAX_PSBT_INPUTS)]
    sign(bitcoin, spending_psbt(prevs, version), NothingToSignError)


@pytest.mark.parametrize(("kind", "version"), [("p2tr", 2), ("p2wpkh", 0)])
def test_most_inputs_of_ours_are_all_planned(bitcoin: Any, kind: str, version: int) -> None:
    # Every input is planned (derivation, script, sighash type) before the fee check refuses.
    sign(bitcoin, our_inputs_psbt(MAX_PSBT_INPUTS, kind, version), FeeError, traced=False)


def _with_tiny_fields(count: int, per_map: int) -> bytes:
    """A one-input PSBT whose maps carry ``count`` tiny unknown fields, ``per_map`` each."""
    inputs = [TxIn(OutPoint(sha256d(bytes([n % 256, n // 256])), 0)) for n in range(
        max(1, count // per_map))]
    psbt = create_psbt(Transaction(2, inputs, [TxOut(1000, PAYEE)], 0))
    for n, m in enumerate(psbt.inputs):
        for k in range(min(per_map, count - n * per_map)):
            m.fields[b"\xf0" + k.to_bytes(3, "big")] = b""
    return psbt.serialize()


@pytest.mark.parametrize("count, per_map", [(1_001, 1_001), (200_001, 1_000)])
def test_field_count_caps(bitcoin: Any, count: int, per_map: int) -> None:
    with pytest.raises(InputError, match="key-value pairs"):
        bitcoin.sign_transaction(_with_tiny_fields(count, per_map), MNEMONIC, network="regtest")


def test_fields_up_to_the_caps_parse() -> None:
    from coins.bitcoin.psbt import PSBT
    assert len(PSBT.parse(_with_tiny_fields(1_000, 1_000)).inputs[0].fields) == 1_000
