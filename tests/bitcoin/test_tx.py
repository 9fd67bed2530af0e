"""Tests of coins/bitcoin/tx.py: ``scan_transaction`` agrees with ``Transaction.parse``.

The scanner is the parser without the objects, so the two must accept the same
bytes, refuse the rest with the same message, and agree on the txid and outputs.
Checked on Bitcoin Core's tx_valid.json (read in place), on every truncation of
those, on hand-made edge cases, and on random mutations.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coins.bitcoin.tx import (OutPoint, Transaction, TxIn, TxOut, scan_transaction,
                              ser_compact_size)
from qsigner.errors import InputError

Loader = Callable[[str], Any]


def _agree(raw: bytes, allow_witness: bool = True) -> bool:
    """Assert that scan and parse agree on ``raw``; return whether it was accepted."""
    try:
        tx = Transaction.parse(raw, allow_witness=allow_witness)
    except InputError as exc:
        with pytest.raises(InputError) as caught:
            scan_transaction(raw, allow_witness=allow_witness)
        assert str(caught.value) == str(exc), raw.hex()
        return False
    scan = scan_transaction(raw, allow_witness=allow_witness)
    assert scan.txid == tx.txid(), raw.hex()
    assert scan.input_count == len(tx.inputs)
    assert [scan.output(n) for n in range(scan.output_count)] == tx.outputs
    assert scan.base_size == len(tx.serialize(include_witness=False))
    assert scan.weight == 3 * scan.base_size + len(raw)
    return True


def _tx_valid(load: Loader) -> list[bytes]:
    return [bytes.fromhex(e[1]) for e in load("bitcoin-core/tx_valid.json") if len(e) > 1]


def _edge_cases() -> list[bytes]:
    """Transactions that take the scanner's slow paths: long scripts, items, witnesses."""
    prevout = OutPoint(bytes(range(32)), 7)
    long_script = bytes(300)  # a 3-byte length, past the fast path
    txs = [
        Transaction(1, [TxIn(prevout, long_script)], [TxOut(5, long_script), TxOut(6, b"")], 9),
        Transaction(2, [TxIn(prevout, witness=[b"", long_script, b"\x01"]), TxIn(prevout)],
                    [TxOut(1, b"\x51")], 0),
        Transaction(2, [TxIn(prevout), TxIn(prevout, witness=[b""])], [], 0),
        Transaction(2, [], [TxOut(1, b"")], 0),  # reads as a witness marker: refused by both
    ]
    return [tx.serialize() for tx in txs]


def test_scan_agrees_on_tx_valid(load_upstream: Loader) -> None:
    raws = _tx_valid(load_upstream)
    assert all(_agree(raw) for raw in raws)
    assert any(raw[4] == 0 for raw in raws)  # segwit ones among them


def test_scan_agrees_on_every_truncation(load_upstream: Loader) -> None:
    for raw in _tx_valid(load_upstream) + _edge_cases():
        for cut in range(len(raw)):
            assert not _agree(raw[:cut])


def test_scan_agrees_on_edge_cases() -> None:
    raws = _edge_cases()
    for raw in raws:
        _agree(raw)
        _agree(raw, allow_witness=False)
    witness_flag_no_data = raws[2][:4] + b"\x00\x01" + raws[2][4:-4] + b"\x00\x00" + raws[2][-4:]
    non_canonical = raws[0][:4] + b"\xfd\x01\x00" + raws[0][5:]
    for raw in (witness_flag_no_data, non_canonical, raws[0] + b"\x00",
                raws[0][:4] + b"\x00\x02" + raws[0][4:]):
        assert not _agree(raw)


def test_scan_reads_one_output() -> None:
    outputs = [TxOut(n, bytes([n % 256]) * n) for n in range(300)]
    raw = Transaction(2, [TxIn(OutPoint(bytes(32), 0))], outputs, 0).serialize()
    scan = scan_transaction(raw)
    assert scan.output_count == 300 and scan.output(299) == outputs[299]
    with pytest.raises(InputError, match="no output 300"):
        scan.output(300)


_SEEDS = _edge_cases() + [
    Transaction(2, [TxIn(OutPoint(bytes(32), n), b"\x01\x02", n, [b"\x03" * n])
                    for n in range(3)], [TxOut(n, ser_compact_size(n)) for n in range(3)],
                500).serialize()]


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data(), allow_witness=st.booleans())
def test_scan_agrees_on_mutants(load_upstream: Loader, data: st.DataObject,
                                allow_witness: bool) -> None:
    raw = bytearray(data.draw(st.sampled_from(_SEEDS + _tx_valid(load_upstream))))
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if action == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "set":
            raw[pos] = data.draw(st.sampled_from([0x00, 0x01, 0xFC, 0xFD, 0xFE, 0xFF]))
        elif action == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=9))
        elif len(raw) > 1:
            del raw[pos:pos + data.draw(st.integers(1, 9))]
    _agree(bytes(raw), allow_witness)
