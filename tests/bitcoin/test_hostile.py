"""Hostile PSBTs: mutants of valid PSBTs are refused with a QsignerError or signed correctly.

Hypothesis mutates the bytes and the fields of PSBTs the signer would sign. Whatever a
mutant is, ``sign_transaction`` either raises a ``QsignerError`` subclass (nothing
else: no IndexError, no struct error, no crash) or returns a result whose every
signature Bitcoin Core's consensus code accepts. Bounded here (``QSIGNER_FUZZ_EXAMPLES``,
default 150 per test); ``make fuzz`` runs a million.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qsigner
from coins.bitcoin.example import example_psbt
from coins.bitcoin.networks import NETWORKS
from coins.bitcoin.psbt import PSBT
from coins.bitcoin.signer import decode_psbt, spent_outputs

from kernel import verify_with_kernel

MNEMONIC = "abandon " * 11 + "about"
EXAMPLES = int(os.environ.get("QSIGNER_FUZZ_EXAMPLES", "150"))
SEEDS = [example_psbt(MNEMONIC, NETWORKS["regtest"], version=v, kinds=kinds).serialize()
         for v in (0, 2) for kinds in (("p2wpkh", "p2tr"), ("p2pkh", "p2sh-p2wpkh"))]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize="QSIGNER_FUZZ_EXAMPLES" not in os.environ,  # CI: repeatable
                suppress_health_check=list(HealthCheck))


def _sign_or_refuse(bitcoin: Any, data: bytes, **options: Any) -> None:
    """Sign ``data``; a refusal must be a QsignerError, a result must verify in the kernel."""
    try:
        result = bitcoin.sign_transaction(data, MNEMONIC, network="regtest", **options)
    except qsigner.QsignerError:
        return
    assert result.signed_inputs, "a result without signatures must have been a refusal"
    if result.raw is not None:
        psbt = decode_psbt(result.psbt)
        spent = spent_outputs(psbt, psbt.unsigned_tx())
        verify_with_kernel(result.raw, [out for out in spent if out is not None])


@FUZZ
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_byte_mutants(bitcoin: Any, seed: bytes, data: st.DataObject) -> None:
    raw = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 4))):
        if not raw:
            break
        pos = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        if action == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "set":
            raw[pos] = data.draw(st.sampled_from([0x00, 0x01, 0xFD, 0xFE, 0xFF]))
        elif action == "cut":
            del raw[pos:]
            raw += b"\x00" if not raw else b""
        elif action == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=9))
        else:
            del raw[pos:pos + data.draw(st.integers(1, 40))]
    _sign_or_refuse(bitcoin, bytes(raw))


@FUZZ
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_field_mutants(bitcoin: Any, seed: bytes, data: st.DataObject) -> None:
    psbt = PSBT.parse(seed)
    maps = [psbt.global_map, *psbt.inputs, *psbt.outputs]
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(maps))
        if not target.fields:
            continue
        key = data.draw(st.sampled_from(sorted(target.fields)))
        action = data.draw(st.sampled_from(["drop", "value", "byte", "swap"]))
        if action == "drop":
            del target.fields[key]
        elif action == "value":
            target.fields[key] = data.draw(st.binary(max_size=80))
        elif action == "byte" and target.fields[key]:
            value = bytearray(target.fields[key])
            value[data.draw(st.integers(0, len(value) - 1))] ^= 0xFF
            target.fields[key] = bytes(value)
        else:
            other = data.draw(st.sampled_from(maps))
            if other.fields:
                okey = data.draw(st.sampled_from(sorted(other.fields)))
                target.fields[key], other.fields[okey] = other.fields[okey], target.fields[key]
    _sign_or_refuse(bitcoin, psbt.serialize())
    _sign_or_refuse(bitcoin, psbt.serialize(), trust_witness_utxo=True,
                    allow_nonstandard_sighash=True, allow_dust=True)


@FUZZ
@given(junk=st.one_of(st.binary(max_size=200), st.text(max_size=200),
                      st.binary(max_size=200).map(lambda b: b"psbt\xff" + b),
                      st.binary(max_size=200).map(lambda b: base64.b64encode(b"psbt\xff" + b))))
def test_junk_is_refused(bitcoin: Any, junk: bytes | str) -> None:
    try:
        bitcoin.sign_transaction(junk, MNEMONIC, network="regtest")
    except qsigner.QsignerError:
        return
    raise AssertionError("junk was signed")


def test_seeds_themselves_sign(bitcoin: Any) -> None:
    for seed in SEEDS:
        result = bitcoin.sign_transaction(seed, MNEMONIC, network="regtest")
        assert result.raw is not None and not result.partial
