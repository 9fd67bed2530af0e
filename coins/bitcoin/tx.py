"""Bitcoin transactions: parse and serialize, with and without witness (BIP-0144).

https://github.com/bitcoin/bips/blob/master/bip-0144.mediawiki

The reader is bounded: every count is checked against the bytes left before
anything is allocated, so a hostile length prefix cannot make us allocate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qsigner.errors import InputError

from .hashes import sha256d

__all__ = ["ByteReader", "OutPoint", "TxIn", "TxOut", "Transaction",
           "ser_compact_size", "MAX_MONEY"]

MAX_MONEY = 21_000_000 * 100_000_000


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
        # BIP-0144: marker 0x00 then flag 0x01 in place of the input count.
        segwit = False
        if allow_witness and reader.remaining() >= 2 and reader.data[reader.pos] == 0:
            if reader.data[reader.pos + 1] != 1:
                raise InputError("transaction: unknown witness flag")
            reader.read(2)
            segwit = True
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
