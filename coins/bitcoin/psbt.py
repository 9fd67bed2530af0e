"""Partially signed Bitcoin transactions: a strict, lossless PSBT v0/v2 codec.

https://github.com/bitcoin/bips/blob/master/bip-0174.mediawiki (v0)
https://github.com/bitcoin/bips/blob/master/bip-0370.mediawiki (v2)
https://github.com/bitcoin/bips/blob/master/bip-0371.mediawiki (taproot fields)

A PSBT is kept as its raw maps: each ``PSBTMap`` is an ordered ``key -> value``
dict of the exact bytes read, so ``parse`` then ``serialize`` gives back the same
bytes, unknown and proprietary (0xFC) fields included. Typed accessors decode
on demand. ``parse`` checks everything a codec can (field sizes, keys, key
origins, signature encodings, version rules, map counts, non-witness UTXO
against the outpoint) and refuses anything else with an ``InputError`` naming
the map and index; the per-field checks live in ``psbt_fields``.

Key order: fields that already exist keep their place; a new field is inserted
before the first key that sorts after it (bytewise). A map in key order, as
Bitcoin Core writes them, therefore stays in key order.

Size cap: ``MAX_PSBT_SIZE`` = 16 MiB, refused before parsing. A PSBT carries a
full previous transaction per legacy input (100 kB at most when standard), so
16 MiB admits well over a hundred of them while bounding memory; every count
inside is checked against the bytes left before anything is allocated.

A previous transaction (PSBT_IN_NON_WITNESS_UTXO) heavier than a block
(``MAX_BLOCK_WEIGHT``, so more than 1,000,000 non-witness bytes or 4,000,000
bytes in all) is refused: it cannot exist. It is never parsed into objects:
``scan_transaction`` walks it once, in ``parse``, and the PSBT keeps that scan
(txid, where each output starts) per input until the field is replaced, so a
hostile one with a million tiny outputs costs one pass over its bytes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from qsigner.errors import InputError

from .psbt_fields import (
    GLOBAL_FIELDS, INPUT_FIELDS, OUTPUT_FIELDS,
    PSBT_GLOBAL_FALLBACK_LOCKTIME, PSBT_GLOBAL_INPUT_COUNT, PSBT_GLOBAL_OUTPUT_COUNT,
    PSBT_GLOBAL_TX_VERSION, PSBT_GLOBAL_UNSIGNED_TX, PSBT_GLOBAL_VERSION, PSBT_GLOBAL_XPUB,
    PSBT_IN_BIP32_DERIVATION, PSBT_IN_FINAL_SCRIPTSIG, PSBT_IN_FINAL_SCRIPTWITNESS,
    PSBT_IN_NON_WITNESS_UTXO, PSBT_IN_OUTPUT_INDEX, PSBT_IN_PARTIAL_SIG,
    PSBT_IN_PREVIOUS_TXID, PSBT_IN_PROPRIETARY, PSBT_IN_REDEEM_SCRIPT,
    PSBT_IN_REQUIRED_HEIGHT_LOCKTIME,
    PSBT_IN_REQUIRED_TIME_LOCKTIME, PSBT_IN_SEQUENCE, PSBT_IN_SIGHASH_TYPE,
    PSBT_IN_TAP_BIP32_DERIVATION, PSBT_IN_TAP_INTERNAL_KEY, PSBT_IN_TAP_KEY_SIG,
    PSBT_IN_TAP_LEAF_SCRIPT, PSBT_IN_TAP_MERKLE_ROOT, PSBT_IN_TAP_SCRIPT_SIG,
    PSBT_IN_WITNESS_SCRIPT, PSBT_IN_WITNESS_UTXO, PSBT_OUT_AMOUNT, PSBT_OUT_BIP32_DERIVATION,
    PSBT_OUT_REDEEM_SCRIPT, PSBT_OUT_SCRIPT, PSBT_OUT_TAP_BIP32_DERIVATION,
    PSBT_OUT_TAP_INTERNAL_KEY, PSBT_OUT_TAP_TREE, PSBT_OUT_WITNESS_SCRIPT,
    MAX_PSBT_INPUTS, MAX_PSBT_OUTPUTS, Bip32Derivation, Field, TapBip32Derivation,
    TapLeafScript, decode_key_origin, decode_tap_bip32, decode_tap_tree, decode_witness,
    encode_witness, scan_non_witness_utxo,
)
from .psbt_fields import __all__ as _field_names
from .tx import (ByteReader, OutPoint, Transaction, TxIn, TxOut, TxScan, scan_transaction,
                 ser_compact_size)

__all__ = ["PSBT", "PSBTMap", "MAX_PSBT_SIZE", "MAX_MAP_FIELDS", "MAX_PSBT_FIELDS", "MAX_PSBT_INPUTS", "MAX_PSBT_OUTPUTS",
           "PSBT_MAGIC", "Bip32Derivation", "TapBip32Derivation", "TapLeafScript",
           *[n for n in _field_names if n.startswith("PSBT_")]]

PSBT_MAGIC = b"psbt\xff"
MAX_PSBT_SIZE = 16 * 1024 * 1024
MAX_MAP_FIELDS = 1_000       # a single-key input has ~10; a 20-of-20 multisig map ~50
MAX_PSBT_FIELDS = 200_000    # 20 per map for 10,000 inputs; bounds the work of tiny fields
_MAX_BASE64_CHARS = (MAX_PSBT_SIZE + 2) // 3 * 4

# BIP-0174 Input Finalizer: "All other data except the UTXO and unknown fields in the input
# key-value map should be cleared". Proprietary fields count as unknown; the BIP-0370 fields
# that define the transaction must stay. The old final fields go: set_final writes new ones.
_CLEARED_ON_FINALIZE = INPUT_FIELDS.keys() - {
    PSBT_IN_NON_WITNESS_UTXO, PSBT_IN_WITNESS_UTXO, PSBT_IN_PROPRIETARY, PSBT_IN_PREVIOUS_TXID,
    PSBT_IN_OUTPUT_INDEX, PSBT_IN_SEQUENCE, PSBT_IN_REQUIRED_TIME_LOCKTIME,
    PSBT_IN_REQUIRED_HEIGHT_LOCKTIME}

# Per kind of map: its field specs and the fields BIP-0370 requires in v2.
_MAP_KINDS = {
    "input": (INPUT_FIELDS, (PSBT_IN_PREVIOUS_TXID, PSBT_IN_OUTPUT_INDEX)),
    "output": (OUTPUT_FIELDS, (PSBT_OUT_AMOUNT, PSBT_OUT_SCRIPT)),
}


@dataclass(frozen=True)
class _Where:
    """The map a refusal is about: its label and the index attributes of the InputError."""

    label: str
    input_index: int | None = None
    output_index: int | None = None

    def error(self, message: str, field: str | None = None) -> InputError:
        return InputError(f"{self.label}: {message}", field=field,
                          input_index=self.input_index, output_index=self.output_index)


_GLOBAL = _Where("psbt global map")


def _where(kind: str, n: int) -> _Where:
    if kind == "input":
        return _Where(f"psbt input {n}", input_index=n)
    return _Where(f"psbt output {n}", output_index=n)


def _key_label(key: bytes) -> str:
    return "0x" + key[:8].hex() + ("…" if len(key) > 8 else "")


@dataclass
class PSBTMap:
    """One PSBT key-value map, in wire order: raw key (type + key data) -> raw value.

    Lookups take a one-byte key type; every defined type is below 0xFD, so the
    first key byte is the type (longer CompactSize types are unknown by definition).
    """

    fields: dict[bytes, bytes] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        # Order matters: it is part of the serialization.
        if not isinstance(other, PSBTMap):
            return NotImplemented
        return list(self.fields.items()) == list(other.fields.items())

    def get(self, key_type: int, key_data: bytes = b"") -> bytes | None:
        """Return the value under ``key_type || key_data``, or None."""
        return self.fields.get(bytes([key_type]) + key_data)

    def of_type(self, key_type: int) -> list[tuple[bytes, bytes]]:
        """Return every (key data, value) of ``key_type``, in wire order."""
        return [(k[1:], v) for k, v in self.fields.items() if k[0] == key_type]

    def set(self, key_type: int, value: bytes, key_data: bytes = b"") -> None:
        """Set a field; a new key goes before the first key that sorts after it."""
        key = bytes([key_type]) + key_data
        if key in self.fields:
            self.fields[key] = value
            return
        items = list(self.fields.items())
        at = next((n for n, (k, _) in enumerate(items) if k > key), len(items))
        items.insert(at, (key, value))
        self.fields = dict(items)

    def remove(self, key_type: int) -> None:
        """Remove every field of ``key_type``."""
        self.fields = {k: v for k, v in self.fields.items() if k[0] != key_type}

    def serialize(self) -> bytes:
        """Return the map's key-value pairs and the 0x00 separator."""
        parts = [ser_compact_size(len(k)) + k + ser_compact_size(len(v)) + v
                 for k, v in self.fields.items()]
        return b"".join(parts) + b"\x00"

    @classmethod
    def read(cls, reader: ByteReader, where: str, budget: int = MAX_MAP_FIELDS) -> "PSBTMap":
        """Read one map up to its separator; duplicates and more than ``budget`` fields refused."""
        fields: dict[bytes, bytes] = {}
        reader.what = where  # so that a truncation names the map
        while True:
            key = reader.read_var_bytes()
            if not key:
                return cls(fields)
            if len(fields) >= min(budget, MAX_MAP_FIELDS):
                raise InputError(f"{where}: more key-value pairs than the caps allow "
                                 f"({MAX_MAP_FIELDS} per map, {MAX_PSBT_FIELDS} per psbt)")
            ByteReader(key, f"{where}: key type").read_compact_size()
            value = reader.read_var_bytes()
            if key in fields:
                raise InputError(f"{where}: duplicate key {_key_label(key)}")
            fields[key] = value


@dataclass
class PSBT:
    """A PSBT: version (0 or 2), the global map and one map per input and output.

    Build one with ``parse`` or ``from_base64``; the constructor checks nothing.
    """

    version: int
    global_map: PSBTMap
    inputs: list[PSBTMap]
    outputs: list[PSBTMap]
    # Input index -> scan of its PSBT_IN_NON_WITNESS_UTXO; valid while the field still
    # holds the very bytes object scanned (``TxScan.data``), so setting it again re-scans.
    _utxo_scans: dict[int, TxScan] = field(default_factory=dict, init=False, repr=False,
                                           compare=False)

    # ---- codec --------------------------------------------------------------------------

    @classmethod
    def parse(cls, data: bytes) -> "PSBT":
        """Parse and check a binary PSBT.

        Raises:
            InputError: the bytes are not one well-formed PSBT v0 or v2.
        """
        if len(data) > MAX_PSBT_SIZE:
            raise InputError(f"psbt is {len(data)} bytes, more than the {MAX_PSBT_SIZE} allowed")
        reader = ByteReader(data, "psbt")
        if reader.remaining() < 5 or reader.read(5) != PSBT_MAGIC:
            raise InputError("psbt: missing magic bytes 'psbt\\xff'")
        global_map = PSBTMap.read(reader, "psbt global map")
        budget = MAX_PSBT_FIELDS - len(global_map.fields)
        version = cls._read_version(global_map)
        cls._check_map(global_map, GLOBAL_FIELDS, version, _GLOBAL)
        n_in, n_out = cls._map_counts(global_map, version)
        if n_in > MAX_PSBT_INPUTS or n_out > MAX_PSBT_OUTPUTS:
            raise InputError(f"psbt: input count {n_in} / output count {n_out} above the caps "
                             f"{MAX_PSBT_INPUTS} / {MAX_PSBT_OUTPUTS}")
        psbt = cls(version, global_map, [], [])
        budget = psbt._read_maps(reader, n_in, "input", budget)
        psbt._read_maps(reader, n_out, "output", budget)
        if reader.remaining():
            raise InputError(f"psbt: {reader.remaining()} bytes after the last output map")
        tx = psbt.unsigned_tx() if version == 0 else None
        for i in range(n_in):
            psbt._check_non_witness_utxo(i, tx.inputs[i].prevout if tx else psbt._v2_prevout(i))
        return psbt

    def serialize(self) -> bytes:
        """Return the binary PSBT."""
        maps = [self.global_map, *self.inputs, *self.outputs]
        return PSBT_MAGIC + b"".join(m.serialize() for m in maps)

    @classmethod
    def from_base64(cls, text: str) -> "PSBT":
        """Parse a base64 PSBT; ASCII whitespace (around or line breaks inside) is ignored.

        Raises:
            InputError: not strict base64, or not a well-formed PSBT.
        """
        text = "".join(text.split())  # line breaks (base64 -w76) and spaces carry nothing
        if len(text) > _MAX_BASE64_CHARS:
            raise InputError(f"psbt base64 is longer than {_MAX_BASE64_CHARS} characters")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InputError("psbt is not valid base64") from None
        if base64.b64encode(data).decode() != text:  # non-zero padding bits
            raise InputError("psbt base64 is not canonical")
        return cls.parse(data)

    def to_base64(self) -> str:
        """Return the PSBT as base64."""
        return base64.b64encode(self.serialize()).decode()

    # ---- checks run by parse --------------------------------------------------------------

    @staticmethod
    def _read_version(global_map: PSBTMap) -> int:
        raw = global_map.get(PSBT_GLOBAL_VERSION)
        version = 0 if raw is None or len(raw) != 4 else int.from_bytes(raw, "little")
        if version not in (0, 2):
            raise _GLOBAL.error(f"unsupported PSBT version {version}", "PSBT_GLOBAL_VERSION")
        return version

    @staticmethod
    def _check_map(psbt_map: PSBTMap, spec: dict[int, Field], version: int,
                   where: _Where) -> None:
        for key, value in psbt_map.fields.items():
            f = spec.get(key[0])
            if f is None:
                continue  # unknown: kept as is
            if not (f.v2 if version == 2 else f.v0):
                # Every version-specific field has a bare key. With key data it is not that
                # field but an unknown one: Core's rpc_psbt.json combiner vector has a
                # 0x0f key with 9 bytes of key data in a v0 PSBT, and accepts it.
                if len(key) > 1:
                    continue
                raise where.error(f"{f.name} is not allowed in PSBT v{version}", f.name)
            try:
                f.check(key[1:], value)
            except InputError as exc:
                raise where.error(f"{f.name}: {exc}", f.name) from None

    @staticmethod
    def _map_counts(global_map: PSBTMap, version: int) -> tuple[int, int]:
        if version == 0:
            raw = global_map.get(PSBT_GLOBAL_UNSIGNED_TX)
            if raw is None:
                raise _GLOBAL.error("PSBT_GLOBAL_UNSIGNED_TX is required in v0",
                                    "PSBT_GLOBAL_UNSIGNED_TX")
            scan = scan_transaction(raw, allow_witness=False)
            return scan.input_count, scan.output_count
        for key_type in (PSBT_GLOBAL_TX_VERSION, PSBT_GLOBAL_INPUT_COUNT, PSBT_GLOBAL_OUTPUT_COUNT):
            if global_map.get(key_type) is None:
                name = GLOBAL_FIELDS[key_type].name
                raise _GLOBAL.error(f"{name} is required in v2", name)
        n_in = global_map.get(PSBT_GLOBAL_INPUT_COUNT) or b""
        n_out = global_map.get(PSBT_GLOBAL_OUTPUT_COUNT) or b""
        return ByteReader(n_in).read_compact_size(), ByteReader(n_out).read_compact_size()

    def _read_maps(self, reader: ByteReader, count: int, kind: str, budget: int) -> int:
        if count > reader.remaining():  # every map is at least its separator
            raise InputError(f"psbt {kind} count {count} exceeds the data left")
        spec, required = _MAP_KINDS[kind]
        version = self.version
        maps = self.inputs if kind == "input" else self.outputs
        for n in range(count):
            where = _where(kind, n)
            try:
                m = PSBTMap.read(reader, where.label, budget)
                budget -= len(m.fields)
            except InputError as exc:  # the message already names the map
                raise InputError(str(exc), input_index=where.input_index,
                                 output_index=where.output_index) from None
            self._check_map(m, spec, version, where)
            for key_type in required if version == 2 else ():
                if m.get(key_type) is None:
                    name = spec[key_type].name
                    raise where.error(f"{name} is required in v2", name)
            maps.append(m)
            if kind == "input":
                self.non_witness_utxo_scan(n)  # its field check, and the one walk kept
        return budget

    def _check_non_witness_utxo(self, i: int, prevout: OutPoint) -> None:
        # Core refuses these in PartiallySignedTransaction::Unserialize.
        prev = self.non_witness_utxo_scan(i)
        if prev is None:
            return
        where, name = _where("input", i), "PSBT_IN_NON_WITNESS_UTXO"
        if prev.txid != prevout.txid:
            raise where.error("non-witness utxo does not match the outpoint txid", name)
        if prevout.vout >= prev.output_count:
            raise where.error(f"outpoint index {prevout.vout} is not in the non-witness utxo", name)

    # ---- the transaction ------------------------------------------------------------------

    @property
    def input_count(self) -> int:
        """Return the number of inputs."""
        return len(self.inputs)

    @property
    def output_count(self) -> int:
        """Return the number of outputs."""
        return len(self.outputs)

    def unsigned_tx(self) -> Transaction:
        """Return a fresh copy of the unsigned transaction (v2: built from the fields).

        Raises:
            InputError: v2 inputs whose locktime requirements exclude each other.
        """
        if self.version == 0:
            return Transaction.parse(self._global(PSBT_GLOBAL_UNSIGNED_TX), allow_witness=False)
        inputs = []
        for i, m in enumerate(self.inputs):
            seq = m.get(PSBT_IN_SEQUENCE)
            inputs.append(TxIn(self._v2_prevout(i),
                               sequence=0xFFFFFFFF if seq is None else _uint(seq)))
        outputs = [TxOut(_uint(m.get(PSBT_OUT_AMOUNT) or b""), m.get(PSBT_OUT_SCRIPT) or b"")
                   for m in self.outputs]
        version = _uint(self._global(PSBT_GLOBAL_TX_VERSION))
        return Transaction(version, inputs, outputs, self._v2_locktime())

    def _global(self, key_type: int) -> bytes:
        value = self.global_map.get(key_type)
        if value is None:
            raise InputError(f"psbt global map: {GLOBAL_FIELDS[key_type].name} missing")
        return value

    def _v2_prevout(self, i: int) -> OutPoint:
        m = self.inputs[i]
        txid, index = m.get(PSBT_IN_PREVIOUS_TXID), m.get(PSBT_IN_OUTPUT_INDEX)
        return OutPoint(txid or b"", _uint(index or b""))

    def _v2_locktime(self) -> int:
        """Return nLockTime per BIP-0370 "Determining Lock Time"."""
        heights: list[int] = []
        times: list[int] = []
        height_ok = time_ok = True
        for m in self.inputs:
            h, t = m.get(PSBT_IN_REQUIRED_HEIGHT_LOCKTIME), m.get(PSBT_IN_REQUIRED_TIME_LOCKTIME)
            heights += [_uint(h)] if h is not None else []
            times += [_uint(t)] if t is not None else []
            # An input naming only one kind rules out the other.
            height_ok &= not (t is not None and h is None)
            time_ok &= not (h is not None and t is None)
        if not heights and not times:
            fallback = self.global_map.get(PSBT_GLOBAL_FALLBACK_LOCKTIME)
            return 0 if fallback is None else _uint(fallback)
        if height_ok:  # height wins when both are possible
            return max(heights)
        if time_ok:
            return max(times)
        raise InputError("psbt: inputs require both a height and a time locktime; "
                         "no locktime satisfies them all")

    def extract(self) -> Transaction:
        """Return the signed transaction built from the final fields of every input.

        Raises:
            InputError: an input is not finalized.
        """
        tx = self.unsigned_tx()
        for i, txin in enumerate(tx.inputs):
            if not self.is_finalized(i):
                raise InputError(f"psbt input {i}: not finalized", input_index=i)
            txin.script_sig = self._input(i).get(PSBT_IN_FINAL_SCRIPTSIG) or b""
            txin.witness = self.final_script_witness(i) or []
        return tx

    # ---- inputs ---------------------------------------------------------------------------

    def _input(self, i: int) -> PSBTMap:
        if not 0 <= i < len(self.inputs):
            raise InputError(f"psbt has no input {i}", input_index=i)
        return self.inputs[i]

    def _output(self, j: int) -> PSBTMap:
        if not 0 <= j < len(self.outputs):
            raise InputError(f"psbt has no output {j}", output_index=j)
        return self.outputs[j]

    def witness_utxo(self, i: int) -> TxOut | None:
        """Return input ``i``'s PSBT_IN_WITNESS_UTXO, or None."""
        raw = self._input(i).get(PSBT_IN_WITNESS_UTXO)
        return None if raw is None else TxOut.parse(raw)

    def non_witness_utxo(self, i: int) -> Transaction | None:
        """Return input ``i``'s previous transaction (PSBT_IN_NON_WITNESS_UTXO), or None.

        This builds every input and output; ``non_witness_utxo_output`` reads just one.

        Raises:
            InputError: the field is not one transaction a block could hold.
        """
        scan = self.non_witness_utxo_scan(i)
        return None if scan is None else Transaction.parse(scan.data)

    def non_witness_utxo_scan(self, i: int) -> TxScan | None:
        """Return the scan of input ``i``'s previous transaction (txid, outputs), or None.

        Scanned once and kept until the field is set again.

        Raises:
            InputError: the field is not one transaction a block could hold.
        """
        raw = self._input(i).get(PSBT_IN_NON_WITNESS_UTXO)
        if raw is None:
            return None
        scan = self._utxo_scans.get(i)
        if scan is None or scan.data is not raw:
            try:
                scan = scan_non_witness_utxo(raw)
            except InputError as exc:
                name = "PSBT_IN_NON_WITNESS_UTXO"
                raise _where("input", i).error(f"{name}: {exc}", name) from None
            self._utxo_scans[i] = scan
        return scan

    def non_witness_utxo_output(self, i: int, vout: int) -> TxOut | None:
        """Return output ``vout`` of input ``i``'s previous transaction, or None without one.

        Raises:
            InputError: the field is malformed or has no output ``vout``.
        """
        scan = self.non_witness_utxo_scan(i)
        if scan is None:
            return None
        if not 0 <= vout < scan.output_count:
            raise InputError(f"psbt input {i}: prevout index {vout} is not among the "
                             f"{scan.output_count} outputs of non_witness_utxo", input_index=i)
        return scan.output(vout)

    def partial_sigs(self, i: int) -> dict[bytes, bytes]:
        """Return input ``i``'s partial signatures as {pubkey: signature}."""
        return dict(self._input(i).of_type(PSBT_IN_PARTIAL_SIG))

    def sighash_type(self, i: int) -> int | None:
        """Return input ``i``'s PSBT_IN_SIGHASH_TYPE, or None."""
        raw = self._input(i).get(PSBT_IN_SIGHASH_TYPE)
        return None if raw is None else _uint(raw)

    def redeem_script(self, i: int) -> bytes | None:
        """Return input ``i``'s redeemScript, or None."""
        return self._input(i).get(PSBT_IN_REDEEM_SCRIPT)

    def witness_script(self, i: int) -> bytes | None:
        """Return input ``i``'s witnessScript, or None."""
        return self._input(i).get(PSBT_IN_WITNESS_SCRIPT)

    def bip32_derivations(self, i: int) -> list[Bip32Derivation]:
        """Return input ``i``'s (pubkey, fingerprint, path) entries."""
        return _derivations(self._input(i), PSBT_IN_BIP32_DERIVATION)

    def tap_bip32_derivations(self, i: int) -> list[TapBip32Derivation]:
        """Return input ``i``'s (x-only key, leaf hashes, fingerprint, path) entries."""
        return _tap_derivations(self._input(i), PSBT_IN_TAP_BIP32_DERIVATION)

    def tap_internal_key(self, i: int) -> bytes | None:
        """Return input ``i``'s 32-byte taproot internal key, or None."""
        return self._input(i).get(PSBT_IN_TAP_INTERNAL_KEY)

    def tap_merkle_root(self, i: int) -> bytes | None:
        """Return input ``i``'s 32-byte taproot merkle root, or None."""
        return self._input(i).get(PSBT_IN_TAP_MERKLE_ROOT)

    def tap_leaf_scripts(self, i: int) -> list[TapLeafScript]:
        """Return input ``i``'s (control block, script, leaf version) entries."""
        return [TapLeafScript(k, v[:-1], v[-1])
                for k, v in self._input(i).of_type(PSBT_IN_TAP_LEAF_SCRIPT)]

    def tap_key_sig(self, i: int) -> bytes | None:
        """Return input ``i``'s taproot key-path signature, or None."""
        return self._input(i).get(PSBT_IN_TAP_KEY_SIG)

    def tap_script_sigs(self, i: int) -> dict[tuple[bytes, bytes], bytes]:
        """Return input ``i``'s script-path signatures as {(x-only key, leaf hash): sig}."""
        return {(k[:32], k[32:]): v for k, v in self._input(i).of_type(PSBT_IN_TAP_SCRIPT_SIG)}

    def is_finalized(self, i: int) -> bool:
        """Return True if input ``i`` has a final scriptSig or scriptWitness."""
        m = self._input(i)
        return m.get(PSBT_IN_FINAL_SCRIPTSIG) is not None or \
            m.get(PSBT_IN_FINAL_SCRIPTWITNESS) is not None

    def final_script_witness(self, i: int) -> list[bytes] | None:
        """Return input ``i``'s final witness stack, or None."""
        raw = self._input(i).get(PSBT_IN_FINAL_SCRIPTWITNESS)
        return None if raw is None else decode_witness(raw)

    # ---- setters (each checked like a parsed field) -----------------------------------------

    def _set_input(self, i: int, key_type: int, value: bytes, key_data: bytes = b"") -> None:
        m = self._input(i)
        self._check_map(PSBTMap({bytes([key_type]) + key_data: value}), INPUT_FIELDS,
                        self.version, _where("input", i))
        m.set(key_type, value, key_data)

    def set_partial_sig(self, i: int, pubkey: bytes, sig: bytes) -> None:
        """Add (or replace) input ``i``'s ECDSA signature for ``pubkey``.

        Raises:
            InputError: an invalid pubkey or a signature that is not strict DER.
        """
        self._set_input(i, PSBT_IN_PARTIAL_SIG, sig, pubkey)

    def set_tap_key_sig(self, i: int, sig: bytes) -> None:
        """Set input ``i``'s taproot key-path signature (64 or 65 bytes).

        Raises:
            InputError: a signature of the wrong size or sighash byte.
        """
        self._set_input(i, PSBT_IN_TAP_KEY_SIG, sig)

    def set_tap_script_sig(self, i: int, xonly: bytes, leaf_hash: bytes, sig: bytes) -> None:
        """Set input ``i``'s script-path signature for (``xonly``, ``leaf_hash``).

        Raises:
            InputError: a malformed key, leaf hash or signature.
        """
        self._set_input(i, PSBT_IN_TAP_SCRIPT_SIG, sig, xonly + leaf_hash)

    def set_final(self, i: int, script_sig: bytes, witness: list[bytes]) -> None:
        """Finalize input ``i`` and clear what BIP-0174's Input Finalizer clears.

        Kept: the UTXOs, the final fields, unknown and proprietary fields, and the
        BIP-0370 fields that define the transaction.

        Raises:
            InputError: both ``script_sig`` and ``witness`` are empty.
        """
        m = self._input(i)
        if not script_sig and not witness:
            raise InputError(f"psbt input {i}: nothing to finalize (empty scriptSig and witness)",
                             input_index=i)
        m.fields = {k: v for k, v in m.fields.items() if k[0] not in _CLEARED_ON_FINALIZE}
        if script_sig:
            m.set(PSBT_IN_FINAL_SCRIPTSIG, script_sig)
        if witness:
            m.set(PSBT_IN_FINAL_SCRIPTWITNESS, encode_witness(witness))

    # ---- outputs and globals -----------------------------------------------------------------

    def output_bip32_derivations(self, j: int) -> list[Bip32Derivation]:
        """Return output ``j``'s (pubkey, fingerprint, path) entries."""
        return _derivations(self._output(j), PSBT_OUT_BIP32_DERIVATION)

    def output_tap_bip32_derivations(self, j: int) -> list[TapBip32Derivation]:
        """Return output ``j``'s (x-only key, leaf hashes, fingerprint, path) entries."""
        return _tap_derivations(self._output(j), PSBT_OUT_TAP_BIP32_DERIVATION)

    def output_tap_internal_key(self, j: int) -> bytes | None:
        """Return output ``j``'s 32-byte taproot internal key, or None."""
        return self._output(j).get(PSBT_OUT_TAP_INTERNAL_KEY)

    def output_tap_tree(self, j: int) -> list[tuple[int, int, bytes]] | None:
        """Return output ``j``'s tap tree as (depth, leaf version, script) leaves, or None."""
        raw = self._output(j).get(PSBT_OUT_TAP_TREE)
        return None if raw is None else decode_tap_tree(raw)

    def output_redeem_script(self, j: int) -> bytes | None:
        """Return output ``j``'s redeemScript, or None."""
        return self._output(j).get(PSBT_OUT_REDEEM_SCRIPT)

    def output_witness_script(self, j: int) -> bytes | None:
        """Return output ``j``'s witnessScript, or None."""
        return self._output(j).get(PSBT_OUT_WITNESS_SCRIPT)

    def global_xpubs(self) -> list[tuple[bytes, bytes, list[int]]]:
        """Return the PSBT_GLOBAL_XPUB entries as (78-byte xpub, fingerprint, path)."""
        return [(k, *decode_key_origin(v)) for k, v in self.global_map.of_type(PSBT_GLOBAL_XPUB)]


def _uint(raw: bytes) -> int:
    return int.from_bytes(raw, "little")


def _derivations(m: PSBTMap, key_type: int) -> list[Bip32Derivation]:
    return [Bip32Derivation(k, *decode_key_origin(v)) for k, v in m.of_type(key_type)]


def _tap_derivations(m: PSBTMap, key_type: int) -> list[TapBip32Derivation]:
    return [TapBip32Derivation(k, *decode_tap_bip32(v)) for k, v in m.of_type(key_type)]
