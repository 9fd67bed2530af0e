"""Ethereum transactions: legacy with EIP-155 replay protection, and EIP-1559 (type 2).

Input is the ecosystem's transaction dict (``type``, ``chainId``, ``nonce``, ``gas``,
``maxFeePerGas``, ``maxPriorityFeePerGas`` or ``gasPrice``, ``to``, ``value``,
``data``, ``accessList``; integers or 0x-hex strings). Unknown fields are refused:
a field we do not understand could change what is signed.

https://eips.ethereum.org/EIPS/eip-155  https://eips.ethereum.org/EIPS/eip-1559
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from qsigner.errors import InputError

from . import rlp
from .address import parse_address

__all__ = ["EthTransaction", "parse_transaction", "MAX_TX_JSON"]

MAX_TX_JSON = 1_000_000
_UINT256 = 1 << 256
_KNOWN = {"type", "chainId", "nonce", "gas", "gasLimit", "maxFeePerGas", "maxPriorityFeePerGas",
          "gasPrice", "to", "value", "data", "input", "accessList", "from"}


@dataclass(frozen=True)
class EthTransaction:
    """A parsed, checked transaction ready to sign (type 0 with EIP-155, or type 2)."""

    type: int
    chain_id: int
    nonce: int
    gas: int
    to: bytes | None          # None: contract creation
    value: int
    data: bytes
    gas_price: int = 0        # type 0
    max_fee: int = 0          # type 2: maxFeePerGas
    max_priority_fee: int = 0
    access_list: tuple[tuple[bytes, tuple[bytes, ...]], ...] = ()
    sender: bytes | None = None

    @property
    def max_total_fee(self) -> int:
        """Return the most this transaction can pay in fees (gas x price per gas), in wei."""
        return self.gas * (self.gas_price if self.type == 0 else self.max_fee)

    def _fields(self) -> list[rlp.Item]:
        to = self.to or b""
        if self.type == 0:
            return [self.nonce, self.gas_price, self.gas, to, self.value, self.data]
        access: list[rlp.Item] = [[a, list(keys)] for a, keys in self.access_list]
        return [self.chain_id, self.nonce, self.max_priority_fee, self.max_fee, self.gas, to,
                self.value, self.data, access]

    def signing_payload(self) -> bytes:
        """Return the bytes whose Keccak-256 is signed."""
        if self.type == 0:  # EIP-155: chainId, 0, 0 appended
            return rlp.encode(self._fields() + [self.chain_id, 0, 0])
        return b"\x02" + rlp.encode(self._fields())

    def signed(self, r: int, s: int, recovery_id: int) -> bytes:
        """Return the network serialization with the signature."""
        if self.type == 0:
            return rlp.encode(self._fields() + [recovery_id + 35 + 2 * self.chain_id, r, s])
        return b"\x02" + rlp.encode(self._fields() + [recovery_id, r, s])


def _uint(tx: dict[str, Any], name: str, default: int | None = None) -> int:
    value = tx.get(name, default)
    if value is None:
        raise InputError(f"transaction: {name} is required", field=name)
    if isinstance(value, str) and value.lower().startswith("0x"):
        try:
            value = int(value, 16) if len(value) > 2 else 0
        except ValueError:
            raise InputError(f"transaction: {name} is not hex", field=name) from None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _UINT256:
        raise InputError(f"transaction: {name} must be an integer or 0x-hex below 2^256",
                         field=name)
    return value


def _hex_bytes(value: object, name: str) -> bytes:
    if value in (None, "", "0x"):
        return b""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) % 2:
        raise InputError(f"transaction: {name} must be 0x-prefixed hex of whole bytes",
                         field=name)
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise InputError(f"transaction: {name} is not hex", field=name) from None


def _access_list(value: object) -> tuple[tuple[bytes, tuple[bytes, ...]], ...]:
    if value in (None, []):
        return ()
    if not isinstance(value, list):
        raise InputError("transaction: accessList must be a list", field="accessList")
    out = []
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {"address", "storageKeys"} or \
                not isinstance(entry["storageKeys"], list):
            raise InputError("transaction: accessList entries are {address, storageKeys}",
                             field="accessList")
        keys = tuple(_hex_bytes(k, "accessList") for k in entry["storageKeys"])
        if any(len(k) != 32 for k in keys):
            raise InputError("transaction: storage keys are 32 bytes", field="accessList")
        out.append((parse_address(entry["address"], "accessList"), keys))
    return tuple(out)


def _load(transaction: object) -> dict[str, Any]:
    if isinstance(transaction, (bytes, bytearray)):
        transaction = bytes(transaction).decode("utf-8", errors="replace")
    if isinstance(transaction, str):
        if len(transaction) > MAX_TX_JSON:
            raise InputError("transaction: JSON larger than 1 MB", field="transaction")
        try:
            transaction = json.loads(transaction)
        except ValueError:
            raise InputError("transaction: not JSON", field="transaction") from None
    if not isinstance(transaction, dict):
        raise InputError("transaction: expected a JSON object of transaction fields",
                         field="transaction")
    unknown = sorted(set(transaction) - _KNOWN)
    if unknown:
        raise InputError(f"transaction: unknown field {unknown[0]!r}", field=unknown[0])
    return transaction


def parse_transaction(transaction: object) -> EthTransaction:
    """Return the checked transaction from a dict or its JSON text.

    Raises:
        InputError: malformed, unknown or contradictory fields (type 1 is not supported).
    """
    tx = _load(transaction)
    kind = _uint(tx, "type", 2 if "maxFeePerGas" in tx else 0)
    if kind not in (0, 2):
        raise InputError(f"transaction: type {kind} is not supported (0 and 2 are)",
                         field="type")
    if "chainId" not in tx:
        raise InputError("transaction: chainId is required (EIP-155 replay protection)",
                         field="chainId")
    if "gas" in tx and "gasLimit" in tx:
        raise InputError("transaction: give gas or gasLimit, not both", field="gas")
    if "data" in tx and "input" in tx:
        raise InputError("transaction: give data or input, not both", field="data")
    common = dict(
        type=kind, chain_id=_uint(tx, "chainId"), nonce=_uint(tx, "nonce"),
        gas=_uint(tx, "gas" if "gas" in tx else "gasLimit"),
        to=None if tx.get("to") in (None, "", "0x") else parse_address(tx["to"]),
        value=_uint(tx, "value", 0), data=_hex_bytes(tx.get("data", tx.get("input")), "data"),
        sender=None if tx.get("from") is None else parse_address(tx["from"], "from"))
    if kind == 0:
        if "maxFeePerGas" in tx or "maxPriorityFeePerGas" in tx or tx.get("accessList"):
            raise InputError("transaction: type 0 takes gasPrice, not EIP-1559 fields",
                             field="type")
        return EthTransaction(gas_price=_uint(tx, "gasPrice"), **common)  # type: ignore[arg-type]
    if "gasPrice" in tx:
        raise InputError("transaction: type 2 takes maxFeePerGas, not gasPrice", field="type")
    max_fee, tip = _uint(tx, "maxFeePerGas"), _uint(tx, "maxPriorityFeePerGas")
    if tip > max_fee:
        raise InputError("transaction: maxPriorityFeePerGas exceeds maxFeePerGas",
                         field="maxPriorityFeePerGas")
    return EthTransaction(max_fee=max_fee, max_priority_fee=tip,  # type: ignore[arg-type]
                          access_list=_access_list(tx.get("accessList")), **common)
