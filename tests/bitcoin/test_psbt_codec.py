"""Tests of coins/bitcoin/psbt.py: the upstream PSBT vectors (BIP-0174, BIP-0370, BIP-0371,
Bitcoin Core's rpc_psbt.json), read in place, plus refusals, setters and fuzzing."""

from __future__ import annotations

import base64
import re
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coins.bitcoin.psbt import (
    MAX_PSBT_SIZE, PSBT, PSBT_GLOBAL_VERSION, PSBT_IN_BIP32_DERIVATION, PSBT_IN_FINAL_SCRIPTSIG,
    PSBT_IN_NON_WITNESS_UTXO, PSBT_IN_PARTIAL_SIG, PSBT_IN_PREVIOUS_TXID, PSBT_IN_SIGHASH_TYPE,
    PSBT_IN_WITNESS_UTXO, PSBT_OUT_SCRIPT, PSBTMap,
)
from coins.bitcoin.psbt_fields import decode_tap_tree, is_valid_signature_encoding
from coins.bitcoin.tx import OutPoint, Transaction, TxIn, TxOut, ser_compact_size
from qsigner.errors import InputError

Loader = Callable[[str], Any]
BIPS = ["bips/bip174.json", "bips/bip370.json", "bips/bip371.json"]
HARDENED = 0x80000000


def _bytes(case: dict[str, str]) -> bytes:
    """Return a BIP transcription's PSBT bytes (from its hex)."""
    return bytes.fromhex(case["hex"])


def _parse(psbt: bytes | str) -> PSBT:
    """Parse bytes (BIP transcriptions) or base64 text (Core's rpc_psbt.json)."""
    return PSBT.parse(psbt) if isinstance(psbt, bytes) else PSBT.from_base64(psbt)


def _invalid_cases(load: Loader) -> list[tuple[str, str, bytes | str]]:
    cases: list[tuple[str, str, bytes | str]] = [
        (f, c["description"], _bytes(c)) for f in BIPS for c in load(f)["invalid"]]
    core = load("bitcoin-core/rpc_psbt.json")
    cases += [("rpc_psbt.json", f"invalid[{n}]", c) for n, c in enumerate(core["invalid"])]
    cases += [("rpc_psbt.json", msg, c) for c, msg in core["invalid_with_msg"]]
    return cases


def _valid_cases(load: Loader) -> list[tuple[str, str, bytes | str]]:
    cases: list[tuple[str, str, bytes | str]] = []
    for f in BIPS:
        data = load(f)
        # fails_signer_checks: well-formed PSBTs a signer must refuse; the codec parses them.
        for section in ("valid", "locktime", "fails_signer_checks"):
            cases += [(f, c["description"], _bytes(c)) for c in data.get(section, [])]
    for step, body in load("bips/bip174.json")["workflow"].items():
        cases += [("bip174.json", f"workflow {step}", _bytes(p)) for p in body.get("psbts", [])]
    core = load("bitcoin-core/rpc_psbt.json")
    cases += [("rpc_psbt.json", f"valid[{n}]", c) for n, c in enumerate(core["valid"])]
    for section in ("creator", "signer", "combiner", "finalizer", "extractor"):
        for n, case in enumerate(core[section]):
            for name, value in case.items():
                if isinstance(value, str) and value.startswith("cHNidP8"):
                    cases.append(("rpc_psbt.json", f"{section}[{n}].{name}", value))
                if name == "combine":
                    cases += [("rpc_psbt.json", f"combiner[{n}].combine", v) for v in value]
    return cases


@pytest.fixture(scope="session")
def valid_psbts(load_upstream: Loader) -> list[bytes]:
    """Every valid upstream PSBT, as bytes."""
    return [_parse(data).serialize() for _, _, data in _valid_cases(load_upstream)]


# ---- upstream vectors ---------------------------------------------------------------------

def test_every_invalid_vector_is_refused_with_input_error(load_upstream: Loader) -> None:
    failures = []
    for source, description, data in _invalid_cases(load_upstream):
        try:
            _parse(data)
            failures.append(f"{source}: {description!r}: parsed, should be refused")
        except InputError:
            pass
        except Exception as exc:  # noqa: BLE001 - the point is to catch anything else
            failures.append(f"{source}: {description!r}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


def test_every_valid_vector_round_trips_byte_identical(load_upstream: Loader) -> None:
    cases = _valid_cases(load_upstream)
    assert len(cases) > 80  # all files were found and read
    for source, description, data in cases:
        raw = data if isinstance(data, bytes) else base64.b64decode(data)
        assert PSBT.parse(raw).serialize() == raw, f"{source}: {description!r}: round trip differs"
        text = base64.b64encode(raw).decode()
        assert PSBT.from_base64(text).to_base64() == text, f"{source}: {description!r}"


@pytest.mark.parametrize("needle, expected", [
    ("PSBT with invalid input sighash type typed key", "PSBT_IN_SIGHASH_TYPE"),
    ("PSBTv2 missing PSBT_IN_OUTPUT_INDEX", "PSBT_IN_OUTPUT_INDEX is required"),
    ("PSBTv0 but with PSBT_OUT_SCRIPT", "PSBT_OUT_SCRIPT is not allowed in PSBT v0"),
    ("PSBT With PSBT_IN_TAP_LEAF_SCRIPT Control block that is too short", "control block"),
    ("Output Taproot tree must not be empty", "tree must not be empty"),
    ("Input musig2 pubnonce value is not 66 bytes", "PSBT_IN_MUSIG2_PUB_NONCE"),
    ("invalid[39]", "non-witness utxo does not match"),
])
def test_refusals_name_the_field(load_upstream: Loader, needle: str, expected: str) -> None:
    data = next(d for _, desc, d in _invalid_cases(load_upstream) if desc.startswith(needle))
    with pytest.raises(InputError, match=re.escape(expected)):
        _parse(data)


def test_bip370_locktime_determination(load_upstream: Loader) -> None:
    for case in load_upstream("bips/bip370.json")["locktime"]:
        psbt = PSBT.parse(_bytes(case))
        if case["expected_locktime"] is None:
            with pytest.raises(InputError, match="locktime"):
                psbt.unsigned_tx()
        else:
            assert psbt.unsigned_tx().locktime == case["expected_locktime"], case["description"]


def test_bip370_unsigned_tx_is_built_from_the_fields(load_upstream: Loader) -> None:
    case = load_upstream("bips/bip370.json")["valid"][0]
    psbt = PSBT.parse(_bytes(case))
    tx = psbt.unsigned_tx()
    assert (psbt.version, tx.version, psbt.input_count, psbt.output_count) == (2, 2, 1, 2)
    assert tx.inputs[0].prevout.txid == psbt.inputs[0].get(PSBT_IN_PREVIOUS_TXID)
    assert tx.inputs[0].sequence == 0xFFFFFFFF  # BIP-0370: the default when omitted
    assert [o.script_pubkey for o in tx.outputs] == [m.get(PSBT_OUT_SCRIPT) for m in psbt.outputs]


def _workflow(load: Loader, step: str) -> PSBT:
    return PSBT.parse(_bytes(load("bips/bip174.json")["workflow"][step]["psbts"][0]))


def test_bip174_updater_fields_decode(load_upstream: Loader) -> None:
    items = load_upstream("bips/bip174.json")["workflow"]["updater"]["items"]
    psbt = _workflow(load_upstream, "updater")
    expected = {}
    for line in items:
        if m := re.match(r"\*\* Key: (\w+), Derivation Path: m/(.*)", line):
            expected[bytes.fromhex(m[1])] = [int(p.rstrip("'")) | HARDENED for p in m[2].split("/")]
    found = [d for i in range(2) for d in psbt.bip32_derivations(i)]
    found += [d for j in range(2) for d in psbt.output_bip32_derivations(j)]
    assert {d.pubkey: d.path for d in found} == expected
    assert len({d.fingerprint for d in found}) == 1
    scripts = [line[3:] for line in items if re.fullmatch(r"\*\* [0-9a-f]+", line)]
    assert psbt.redeem_script(0).hex() == scripts[0] and psbt.redeem_script(1).hex() == scripts[1]
    assert psbt.witness_script(1).hex() == scripts[2]
    assert psbt.non_witness_utxo(0).serialize().hex() in scripts
    assert psbt.witness_utxo(1).amount == 200_000_000
    assert psbt.witness_utxo(0) is None and psbt.sighash_type(0) is None


def test_bip174_updater_adds_sighash_in_key_order(load_upstream: Loader) -> None:
    psbt = _workflow(load_upstream, "updater")
    for i in range(psbt.input_count):
        psbt.inputs[i].set(PSBT_IN_SIGHASH_TYPE, (1).to_bytes(4, "little"))
    assert psbt.serialize() == _workflow(load_upstream, "updater_sighash_all").serialize()
    assert psbt.sighash_type(0) == 1


def test_bip174_signer_partial_sigs(load_upstream: Loader) -> None:
    psbt = _workflow(load_upstream, "updater_sighash_all")
    signed = _workflow(load_upstream, "signer_1")
    for i in range(signed.input_count):
        for pubkey, sig in signed.partial_sigs(i).items():
            psbt.set_partial_sig(i, pubkey, sig)
    assert psbt.serialize() == signed.serialize()


def test_bip174_finalizer_and_extractor(load_upstream: Loader) -> None:
    psbt = _workflow(load_upstream, "combiner")
    final = _workflow(load_upstream, "input_finalizer")
    for i in range(psbt.input_count):
        psbt.set_final(i, final.inputs[i].get(PSBT_IN_FINAL_SCRIPTSIG) or b"",
                       final.final_script_witness(i) or [])
    assert psbt.serialize() == final.serialize()
    workflow = load_upstream("bips/bip174.json")["workflow"]
    tx_hex = workflow["transaction_extractor"]["transaction_hex"]
    assert psbt.extract().serialize().hex() == tx_hex


def test_core_finalizer_and_extractor(load_upstream: Loader) -> None:
    core = load_upstream("bitcoin-core/rpc_psbt.json")
    psbt = PSBT.from_base64(core["finalizer"][0]["finalize"])
    final = PSBT.from_base64(core["finalizer"][0]["result"])
    for i in range(psbt.input_count):
        psbt.set_final(i, final.inputs[i].get(PSBT_IN_FINAL_SCRIPTSIG) or b"",
                       final.final_script_witness(i) or [])
    assert psbt.to_base64() == core["finalizer"][0]["result"]
    extracted = PSBT.from_base64(core["extractor"][0]["extract"]).extract()
    assert extracted.serialize().hex() == core["extractor"][0]["result"]


def test_bip371_taproot_accessors(load_upstream: Loader) -> None:
    valid = load_upstream("bips/bip371.json")["valid"]
    key_path = PSBT.parse(_bytes(valid[1]))  # key-path input with signature
    [deriv] = key_path.tap_bip32_derivations(0)
    assert deriv.xonly == key_path.tap_internal_key(0) and deriv.leaf_hashes == []
    assert len(deriv.path) == 5 and deriv.path[0] == 86 | HARDENED  # BIP-0086
    assert len(key_path.tap_key_sig(0) or b"") in (64, 65)
    script_out = PSBT.parse(_bytes(valid[4]))  # script-path output with a tap tree
    tree = script_out.output_tap_tree(0) or script_out.output_tap_tree(1)
    assert tree and all(version == 0xC0 for _, version, _ in tree)
    assert any(d.leaf_hashes for j in range(script_out.output_count)
               for d in script_out.output_tap_bip32_derivations(j))
    script_in = PSBT.parse(_bytes(valid[5]))
    leaves = script_in.tap_leaf_scripts(0)
    assert leaves and all(leaf.leaf_version == leaf.control_block[0] & 0xFE for leaf in leaves)
    assert script_in.tap_merkle_root(0) is not None and script_in.tap_script_sigs(0)


def test_tx_valid_round_trips(load_upstream: Loader) -> None:
    count = 0
    for entry in load_upstream("bitcoin-core/tx_valid.json"):
        if len(entry) == 1:  # a comment line
            continue
        raw = bytes.fromhex(entry[1])
        assert Transaction.parse(raw).serialize() == raw, entry[1][:40]
        count += 1
    assert count > 100


# ---- base64 and size ----------------------------------------------------------------------

def test_base64_strictness(valid_psbts: list[bytes]) -> None:
    raw = next(r for r in valid_psbts if len(r) % 3)  # one with padding, hence spare bits
    text = base64.b64encode(raw).decode()
    assert PSBT.from_base64(f"  \n{text}\r\n").serialize() == raw
    # Line breaks inside (base64 -w76 output) carry nothing and are ignored too.
    assert PSBT.from_base64(text[:40] + "\n" + text[40:]).serialize() == raw
    for bad in (text + "=", text.rstrip("=") + "*", "cHNidP8"):
        with pytest.raises(InputError, match="base64"):
            PSBT.from_base64(bad)
    # The last data character carries spare bits; setting one gives the same bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = len(text.rstrip("=")) - 1
    sloppy = text[:last] + alphabet[alphabet.index(text[last]) ^ 1] + text[last + 1:]
    assert base64.b64decode(sloppy) == raw
    with pytest.raises(InputError, match="not canonical"):
        PSBT.from_base64(sloppy)


def test_size_cap_refused_before_parsing() -> None:
    with pytest.raises(InputError, match="allowed"):
        PSBT.parse(b"psbt\xff" + bytes(MAX_PSBT_SIZE))
    with pytest.raises(InputError, match="longer"):
        PSBT.from_base64("A" * (MAX_PSBT_SIZE * 2))


def _v2_global(fields: dict[bytes, bytes]) -> bytes:
    return b"psbt\xff" + PSBTMap(fields).serialize()


def test_hostile_counts_fail_fast() -> None:
    huge = b"\xff" + (2**64 - 1).to_bytes(8, "little")
    data = _v2_global({b"\x02": (2).to_bytes(4, "little"), b"\x04": huge, b"\x05": b"\x00",
                       b"\xfb": (2).to_bytes(4, "little")})
    with pytest.raises(InputError, match="input count"):
        PSBT.parse(data)
    with pytest.raises(InputError, match="exceeds"):  # a key length far past the end
        PSBT.parse(b"psbt\xff\xfe\xff\xff\xff\x7f")


def test_non_witness_utxo_scan_is_kept_until_the_field_is_set(load_upstream: Loader) -> None:
    psbt = _workflow(load_upstream, "updater")
    scan = psbt.non_witness_utxo_scan(0)
    assert scan is not None and scan is psbt.non_witness_utxo_scan(0)
    assert psbt.non_witness_utxo_scan(1) is None
    prev, vout = psbt.non_witness_utxo(0), psbt.unsigned_tx().inputs[0].prevout.vout
    assert prev is not None and scan.txid == prev.txid()
    assert psbt.non_witness_utxo_output(0, vout) == prev.outputs[vout]
    other = Transaction(2, [TxIn(OutPoint(bytes(32), 0))], [TxOut(5, b"\x51")], 0)
    psbt.inputs[0].set(PSBT_IN_NON_WITNESS_UTXO, other.serialize())
    assert psbt.non_witness_utxo_output(0, 0) == TxOut(5, b"\x51")
    with pytest.raises(InputError, match="prevout index 1 is not among the 1 outputs"):
        psbt.non_witness_utxo_output(0, 1)
    psbt.inputs[0].set(PSBT_IN_NON_WITNESS_UTXO, b"\x02\x00")
    with pytest.raises(InputError, match="^psbt input 0: PSBT_IN_NON_WITNESS_UTXO: transaction: "
                                         "truncated") as caught:
        psbt.non_witness_utxo_output(0, 0)
    assert caught.value.input_index == 0


@pytest.mark.parametrize("version", [1, 3, 0xFFFFFFFF])
def test_undefined_versions_refused(version: int) -> None:
    with pytest.raises(InputError, match="unsupported PSBT version"):
        PSBT.parse(_v2_global({bytes([PSBT_GLOBAL_VERSION]): version.to_bytes(4, "little")}))


def test_duplicate_key_names_map_and_index(load_upstream: Loader) -> None:
    psbt = _workflow(load_upstream, "updater")
    raw = psbt.serialize()
    key, value = next(iter(psbt.inputs[1].fields.items()))
    pair = ser_compact_size(len(key)) + key + ser_compact_size(len(value)) + value
    at = raw.index(pair)
    with pytest.raises(InputError, match=r"psbt input 1: duplicate key 0x01") as info:
        PSBT.parse(raw[:at] + pair + raw[at:])
    assert info.value.input_index == 1


# ---- setters ------------------------------------------------------------------------------

def test_setters_check_their_values(load_upstream: Loader) -> None:
    psbt = _workflow(load_upstream, "updater_sighash_all")
    pubkey = psbt.bip32_derivations(0)[0].pubkey
    with pytest.raises(InputError, match="DER"):
        # DER-valid, but sighash byte 0x04 is undefined
        psbt.set_partial_sig(0, pubkey, b"\x30\x06\x02\x01\x01\x02\x01\x01\x04")
    with pytest.raises(InputError, match="public key"):
        psbt.set_partial_sig(0, b"\x02" + bytes(32), b"\x30\x06\x02\x01\x01\x02\x01\x01\x01")
    with pytest.raises(InputError, match="64 or 65"):
        psbt.set_tap_key_sig(0, bytes(63))
    with pytest.raises(InputError, match="no input 2") as info:
        psbt.witness_utxo(2)
    assert info.value.input_index == 2
    psbt.set_tap_key_sig(1, bytes(64))
    assert psbt.tap_key_sig(1) == bytes(64)
    assert PSBT.parse(psbt.serialize()) == psbt


def test_set_final_keeps_utxo_unknown_and_proprietary(load_upstream: Loader) -> None:
    psbt = _workflow(load_upstream, "signer_1")
    proprietary = b"\xfc\x05qsign\x01\x00"
    psbt.inputs[1].fields[proprietary] = b"kept"
    psbt.inputs[1].fields[b"\x99unknown"] = b"kept"
    psbt.set_final(1, b"", [b"sig", b"key"])
    types = [k[0] for k in psbt.inputs[1].fields]
    assert PSBT_IN_WITNESS_UTXO in types and 0x08 in types
    assert PSBT_IN_PARTIAL_SIG not in types and PSBT_IN_BIP32_DERIVATION not in types
    assert psbt.inputs[1].fields[proprietary] == psbt.inputs[1].fields[b"\x99unknown"] == b"kept"
    with pytest.raises(InputError, match="input 0: not finalized"):
        psbt.extract()
    with pytest.raises(InputError, match="nothing to finalize"):
        psbt.set_final(0, b"", [])


# ---- field checks -------------------------------------------------------------------------

def _tree(*leaves: tuple[int, int]) -> bytes:
    return b"".join(bytes([depth, version]) + b"\x01\x51" for depth, version in leaves)


@pytest.mark.parametrize("leaves, ok", [
    ([(0, 0xC0)], True),
    ([(1, 0xC0), (1, 0xC0)], True),
    ([(1, 0xC0), (2, 0xC0), (2, 0xC0)], True),
    ([(1, 0xC0)], False),                        # incomplete
    ([(0, 0xC0), (0, 0xC0)], False),             # two roots
    ([(2, 0xC0), (1, 0xC0), (2, 0xC0)], False),  # not depth-first
    ([(1, 0xC1), (1, 0xC0)], False),             # odd leaf version
    ([(129, 0xC0)], False),                      # deeper than 128
])
def test_tap_tree_shape(leaves: list[tuple[int, int]], ok: bool) -> None:
    if ok:
        assert [d for d, _, _ in decode_tap_tree(_tree(*leaves))] == [d for d, _ in leaves]
    else:
        with pytest.raises(InputError):
            decode_tap_tree(_tree(*leaves))


@pytest.mark.parametrize("sig_hex, ok", [
    ("3006020101020101" "01", True),
    ("3006020101020101" "81", True),
    ("3006020101020101" "00", False),    # undefined sighash
    ("3006020181020101" "01", False),    # negative R
    ("300702020001020101" "01", False),  # padded R
    ("3007020101020101" "01", False),    # wrong total length
    ("3005020101020001", False),         # empty S
])
def test_signature_encoding(sig_hex: str, ok: bool) -> None:
    assert is_valid_signature_encoding(bytes.fromhex(sig_hex)) is ok


# ---- fuzzing: anything but InputError is a bug --------------------------------------------

def _parse_or_refuse(data: bytes) -> None:
    try:
        PSBT.parse(data)
    except InputError:
        pass


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_byte_mutations_raise_only_input_error(valid_psbts: list[bytes],
                                                data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(valid_psbts)))
    at = data.draw(st.integers(0, len(raw) - 1))
    action = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
    if action == "flip":
        raw[at] ^= data.draw(st.integers(1, 255))
    elif action == "truncate":
        del raw[at:]
    elif action == "insert":
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=9))
    else:
        del raw[at:at + data.draw(st.integers(1, 40))]
    _parse_or_refuse(bytes(raw))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_field_mutations_raise_only_input_error(valid_psbts: list[bytes],
                                                 data: st.DataObject) -> None:
    psbt = PSBT.parse(data.draw(st.sampled_from(valid_psbts)))
    maps = [m for m in [psbt.global_map, *psbt.inputs, *psbt.outputs] if m.fields]
    target = data.draw(st.sampled_from(maps))
    key = data.draw(st.sampled_from(list(target.fields)))
    new = data.draw(st.binary(max_size=80) | st.just(target.fields[key][:-1]))
    if data.draw(st.booleans()):
        target.fields[key] = new
    else:
        target.fields[key[:1] + new[:40]] = target.fields.pop(key)
    _parse_or_refuse(psbt.serialize())


@settings(max_examples=200, deadline=None)
@given(tail=st.binary(max_size=200))
def test_random_bytes_after_magic(tail: bytes) -> None:
    _parse_or_refuse(b"psbt\xff" + tail)
