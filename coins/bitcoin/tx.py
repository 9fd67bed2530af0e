"""Bitcoin transactions: parse and serialize, with and without witness (BIP-0144).

https://github.com/bitcoin/bips/blob/master/bip-0144.mediawiki

The reader is bounded: every count is checked against the bytes left before
anything is allocated, so a hostile length prefix cannot make us allocate.

``scan_transaction`` walks the same bytes without building inputs and outputs:
a PSBT's previous transaction may hold a million outputs, and we need one of
them and the txid. It refuses exactly what ``Transaction.parse`` refuses (a
test holds the two to that), in one pass and one small offset array.
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field

from qsigner.errors import InputError

from .hashes import sha256d

__all__ = ["ByteReader", "OutPoint", "TxIn", "TxOut", "Transaction", "TxScan",
           "scan_transaction", "ser_compact_size", "MAX_MONEY", "MAX_BLOCK_WEIGHT"]

MAX_MONEY = 21_000_000 * 100_000_000
MAX_BLOCK_WEIGHT = 4_000_000  # BIP-0141: no block, hence no transaction, weighs more


def ser_compact_size(n: int) -> bytes:
    """Encode ``n`` as a Bitcoin CompactSize integer."""
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


class ByteReader:
    """Read a byte string front to back; every read past the end is an ``InputError``."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str = "data") -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def remaining(self) -> int:
        """Return how many bytes are left."""
        return len(self.data) - self.pos

    def read(self, n: int) -> bytes:
        """Return the next ``n`` bytes."""
        if n < 0 or n > len(self.data) - self.pos:
            raise InputError(f"{self.what}: truncated (wanted {n} bytes at offset {self.pos})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def read_int(self, n: int) -> int:
        """Return the next ``n`` bytes as a little-endian unsigned integer."""
        return int.from_bytes(self.read(n), "little")

    def read_compact_size(self, *, canonical: bool = True) -> int:
        """Return a CompactSize integer; non-minimal encodings are refused."""
        first = self.read(1)[0]
        if first < 0xFD:
            return first
        width = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
        value = self.read_int(width)
        if canonical and value < {2: 0xFD, 4: 0x10000, 8: 0x100000000}[width]:
            raise InputError(f"{self.what}: non-canonical compact size at offset {self.pos - width - 1}")
        return value

    def read_var_bytes(self) -> bytes:
        """Return a CompactSize-prefixed byte string."""
        return self.read(self.read_count(1))

    def read_count(self, min_item_size: int) -> int:
        """Return a count of items, refused if the items could not fit in what is left."""
        n = self.read_compact_size()
        if n * min_item_size > self.remaining():
            raise InputError(f"{self.what}: count {n} at offset {self.pos} exceeds the data left")
        return n


@dataclass(frozen=True)
class OutPoint:
    """A reference to a previous output: txid (internal byte order) and index."""

    txid: bytes
    vout: int

    def serialize(self) -> bytes:
        """Return the 36-byte outpoint."""
        return self.txid + self.vout.to_bytes(4, "little")


@dataclass
class TxIn:
    """A transaction input."""

    prevout: OutPoint
    script_sig: bytes = b""
    sequence: int = 0xFFFFFFFF
    witness: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class TxOut:
    """A transaction output: amount in satoshi and scriptPubKey."""

    amount: int
    script_pubkey: bytes

    def serialize(self) -> bytes:
        """Return the serialized output."""
        return (self.amount.to_bytes(8, "little") + ser_compact_size(len(self.script_pubkey))
                + self.script_pubkey)

    @classmethod
    def parse(cls, data: bytes) -> "TxOut":
        """Parse exactly one serialized output."""
        reader = ByteReader(data, "txout")
        out = cls.read(reader)
        if reader.remaining():
            raise InputError("txout: trailing bytes")
        return out

    @classmethod
    def read(cls, reader: ByteReader) -> "TxOut":
        """Read one output from ``reader``."""
        amount = reader.read_int(8)
        return cls(amount, reader.read_var_bytes())


@dataclass
class Transaction:
    """A Bitcoin transaction (BIP-0144 serialization when any input has a witness)."""

    version: int = 2
    inputs: list[TxIn] = field(default_factory=list)
    outputs: list[TxOut] = field(default_factory=list)
    locktime: int = 0

    def has_witness(self) -> bool:
        """Return True if any input carries witness data."""
        return any(txin.witness for txin in self.inputs)

    def serialize(self, *, include_witness: bool = True) -> bytes:
        """Return the network serialization (with witness when present and asked for)."""
        witness = include_witness and self.has_witness()
        parts = [self.version.to_bytes(4, "little")]
        if witness:
            parts.append(b"\x00\x01")
        parts.append(ser_compact_size(len(self.inputs)))
        for txin in self.inputs:
            parts += [txin.prevout.serialize(), ser_compact_size(len(txin.script_sig)),
                      txin.script_sig, txin.sequence.to_bytes(4, "little")]
        parts.append(ser_compact_size(len(self.outputs)))
        parts += [txout.serialize() for txout in self.outputs]
        if witness:
            for txin in self.inputs:
                parts.append(ser_compact_size(len(txin.witness)))
                parts += [ser_compact_size(len(item)) + item for item in txin.witness]
        parts.append(self.locktime.to_bytes(4, "little"))
        return b"".join(parts)

    def txid(self) -> bytes:
        """Return the txid in internal byte order (hash of the non-witness serialization)."""
        return sha256d(self.serialize(include_witness=False))

    def txid_hex(self) -> str:
        """Return the txid as displayed by Bitcoin Core (reversed hex)."""
        return self.txid()[::-1].hex()

    @classmethod
    def parse(cls, data: bytes, *, allow_witness: bool = True) -> "Transaction":
        """Parse a serialized transaction; trailing bytes are refused.

        Raises:
            InputError: the bytes are not exactly one transaction.
        """
        reader = ByteReader(data, "transaction")
        tx = cls.read(reader, allow_witness=allow_witness)
        if reader.remaining():
            raise InputError("transaction: trailing bytes after locktime")
        return tx

    @classmethod
    def read(cls, reader: ByteReader, *, allow_witness: bool = True) -> "Transaction":
        """Read one transaction from ``reader``."""
        version = reader.read_int(4)
        segwit = _read_segwit_marker(reader, allow_witness)
        inputs = [cls._read_input(reader) for _ in range(reader.read_count(41))]
        outputs = [TxOut.read(reader) for _ in range(reader.read_count(9))]
        if segwit:
            for txin in inputs:
                txin.witness = [reader.read_var_bytes() for _ in range(reader.read_count(1))]
            if not any(txin.witness for txin in inputs):
                raise InputError("transaction: witness flag set but no witness data")
        locktime = reader.read_int(4)
        return cls(version, inputs, outputs, locktime)

    @staticmethod
    def _read_input(reader: ByteReader) -> TxIn:
        prevout = OutPoint(reader.read(32), reader.read_int(4))
        script_sig = reader.read_var_bytes()
        return TxIn(prevout, script_sig, reader.read_int(4))


def _read_segwit_marker(reader: ByteReader, allow_witness: bool) -> bool:
    """Consume the BIP-0144 marker and flag if present; return True if they were."""
    # BIP-0144: marker 0x00 then flag 0x01 in place of the input count.
    if allow_witness and reader.remaining() >= 2 and reader.data[reader.pos] == 0:
        if reader.data[reader.pos + 1] != 1:
            raise InputError("transaction: unknown witness flag")
        reader.read(2)
        return True
    return False


@dataclass(frozen=True)
class TxScan:
    """A serialized transaction walked once: its txid, sizes and where each output starts."""

    data: bytes = field(repr=False)
    txid: bytes
    input_count: int
    base_size: int  # bytes of the non-witness serialization
    output_offsets: array[int] = field(repr=False)

    @property
    def output_count(self) -> int:
        """Return the number of outputs."""
        return len(self.output_offsets)

    @property
    def weight(self) -> int:
        """Return the BIP-0141 weight: 3 x the non-witness size + the total size."""
        return 3 * self.base_size + len(self.data)

    def output(self, n: int) -> TxOut:
        """Return output ``n``, read from its bytes.

        Raises:
            InputError: there is no output ``n``.
        """
        if not 0 <= n < len(self.output_offsets):
            raise InputError(f"transaction: no output {n} (it has {len(self.output_offsets)})")
        reader = ByteReader(self.data, "transaction")
        reader.pos = self.output_offsets[n]
        return TxOut.read(reader)


def scan_transaction(data: bytes, *, allow_witness: bool = True) -> TxScan:
    """Walk a serialized transaction once, refusing exactly what ``Transaction.parse`` refuses.

    Raises:
        InputError: the bytes are not exactly one transaction.
    """
    reader = ByteReader(data, "transaction")
    reader.read_int(4)
    segwit = _read_segwit_marker(reader, allow_witness)
    n_in = reader.read_count(41)
    _skip_inputs(reader, n_in)
    offsets = _skip_outputs(reader, reader.read_count(9))
    outputs_end = reader.pos
    if segwit:
        _skip_witnesses(reader, n_in)
    reader.read_int(4)
    if reader.remaining():
        raise InputError("transaction: trailing bytes after locktime")
    if not segwit:
        return TxScan(data, sha256d(data), n_in, len(data), offsets)
    # BIP-0144: the txid hashes version, inputs, outputs and locktime, without the
    # marker, flag and witnesses; hashed from slices of ``data``, not a copy.
    view = memoryview(data)
    txid = _sha256d_parts(view[:4], view[6:outputs_end], view[-4:])
    return TxScan(data, txid, n_in, 4 + (outputs_end - 6) + 4, offsets)


def _sha256d_parts(*parts: bytes | memoryview) -> bytes:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return hashlib.sha256(h.digest()).digest()


# The three loops below take a fast path for the common shape (a one-byte length that
# fits in the data) and otherwise fall back to the reads ``Transaction.read`` makes, so
# a refusal raises the same error at the same offset.

def _skip_inputs(reader: ByteReader, count: int) -> None:
    data, end, pos = reader.data, len(reader.data), reader.pos
    for _ in range(count):
        # outpoint (36), scriptSig length (1), scriptSig, sequence (4)
        if pos + 37 <= end and (n := data[pos + 36]) < 0xFD and pos + 41 + n <= end:
            pos += 41 + n
        else:
            reader.pos = pos
            Transaction._read_input(reader)
            pos = reader.pos
    reader.pos = pos


def _skip_outputs(reader: ByteReader, count: int) -> array[int]:
    data, end, pos = reader.data, len(reader.data), reader.pos
    offsets = array("I" if end < 1 << 32 else "Q")
    for _ in range(count):
        offsets.append(pos)
        # amount (8), scriptPubKey length (1), scriptPubKey
        if pos + 9 <= end and (n := data[pos + 8]) < 0xFD and pos + 9 + n <= end:
            pos += 9 + n
        else:
            reader.pos = pos
            TxOut.read(reader)
            pos = reader.pos
    reader.pos = pos
    return offsets


def _skip_witnesses(reader: ByteReader, n_inputs: int) -> None:
    data, end = reader.data, len(reader.data)
    items_seen = 0
    for _ in range(n_inputs):
        items = reader.read_count(1)
        items_seen += items
        pos = reader.pos
        for _ in range(items):
            if pos < end and (n := data[pos]) < 0xFD and pos + 1 + n <= end:
                pos += 1 + n
            else:
                reader.pos = pos
                reader.read_var_bytes()
                pos = reader.pos
        reader.pos = pos
    if not items_seen:
        raise InputError("transaction: witness flag set but no witness data")
