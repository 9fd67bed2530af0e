"""Transaction policy: fees, outputs, change and intent, checked before any signature.

Defaults refuse; each opt-out names what it gives up (docs/security.md lists the
attack each check stops):

* fee: known (every input's spent output), not negative, at most ``max_fee_sat``
  (Bitcoin Core's ``-maxtxfee`` default, 0.1 BTC), at most ``max_fee_rate``
  sat/vB on an estimated signed size, at most ``max_fee_percent`` of the amount
  sent (Coldcard warns at 10%);
* size: an estimated weight above a block's 4,000,000 can never be mined; when legacy
  inputs are signed, above Core's standard 400,000 (legacy sighashes are quadratic);
* outputs: at least one, no duplicate inputs, no dust (Core's thresholds at the
  3 sat/vB dust relay fee), only standard scripts (p2pkh, p2sh, p2wpkh, p2wsh,
  p2tr, OP_RETURN up to 83 bytes) unless ``allow_nonstandard_outputs``;
* change: an output that names our fingerprint must re-derive to exactly its
  script, in an account and purpose we sign inputs from, on chain 0 or 1,
  index at most 1,000,000 -- otherwise it is "fraudulent change";
* intent: with ``expected_payments=[(address, amount), ...]`` the outputs that
  are not verified change must be exactly those payments.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qsigner.errors import (FeeError, FraudulentChangeError, InputError, MissingUtxoError,
                            OutputNotAllowedError, PaymentMismatchError, TransactionSizeError)

from .bip32 import HARDENED
from .keysource import KeySource
from .networks import ADDRESS_TYPES, Network
from .options import option_bool, option_int
from .psbt import PSBT
from .script import address_to_script, classify_script, key_to_redeem_script, key_to_script
from .tx import MAX_BLOCK_WEIGHT, MAX_MONEY, Transaction, TxOut

if TYPE_CHECKING:
    from .signer import InputPlan

__all__ = ["Policy", "POLICY_OPTIONS", "check_transaction", "estimate_vsize", "DUST_THRESHOLD",
           "MAX_CHANGE_INDEX"]

POLICY_OPTIONS = frozenset({"max_fee_sat", "max_fee_rate", "max_fee_percent",
                            "allow_dust", "allow_nonstandard_outputs", "expected_payments"})
MAX_CHANGE_INDEX = 1_000_000
MAX_STANDARD_TX_WEIGHT = 400_000   # Core's policy limit; legacy signing is O(n^2) in size
# Core's GetDustThreshold at DUST_RELAY_TX_FEE = 3000 sat/kvB.
DUST_THRESHOLD = {"p2pkh": 546, "p2sh": 540, "p2wpkh": 294, "p2wsh": 330, "p2tr": 330}
MAX_OP_RETURN = 83
# Signed-input sizes (scriptSig bytes, witness bytes) for the fee-rate estimate.
_INPUT_SIZES = {"p2pkh": (107, 0), "p2sh-p2wpkh": (23, 108), "p2wpkh": (0, 108),
                "p2tr": (0, 66)}
_TYPE_BY_PURPOSE = {t.purpose: t.name for t in ADDRESS_TYPES.values()}


@dataclass(frozen=True)
class Policy:
    """The transaction-level limits; the defaults are documented in docs/security.md."""

    max_fee_sat: int = 10_000_000
    max_fee_rate: int = 1_000
    max_fee_percent: int = 10
    allow_dust: bool = False
    allow_nonstandard_outputs: bool = False
    expected_payments: tuple[tuple[str, int], ...] | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "Policy":
        """Return the policy from the caller's keywords (unknown names are checked elsewhere).

        Raises:
            InputError: a value of the wrong type or range.
        """
        payments = options.get("expected_payments")
        return cls(option_int(options, "max_fee_sat", cls.max_fee_sat),
                   option_int(options, "max_fee_rate", cls.max_fee_rate, minimum=1),
                   option_int(options, "max_fee_percent", cls.max_fee_percent),
                   option_bool(options, "allow_dust"),
                   option_bool(options, "allow_nonstandard_outputs"),
                   None if payments is None else _payments_option(payments))


def _payments_option(payments: object) -> tuple[tuple[str, int], ...]:
    """Check the shape of ``expected_payments``; addresses are resolved per network later."""
    if not isinstance(payments, (list, tuple)):
        raise InputError("option 'expected_payments': must be a list of (address, amount)",
                         field="expected_payments")
    for item in payments:
        if (not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[0], str)
                or isinstance(item[1], bool) or not isinstance(item[1], int)
                or not 0 < item[1] <= MAX_MONEY):
            raise InputError("option 'expected_payments': each item must be (address, amount "
                             "in satoshi > 0)", field="expected_payments")
    return tuple((address, amount) for address, amount in payments)


def estimate_vsize(tx: Transaction, kinds: list[str | None]) -> int:
    """Return the virtual size the signed transaction will have, estimated from input types."""
    base = len(tx.serialize(include_witness=False))
    witness = 0
    for kind in kinds:
        script_sig, wit = _INPUT_SIZES.get(kind or "", (0, 0))
        base += script_sig + (1 if script_sig >= 0xFD else 0)
        witness += wit
    if witness:
        witness += 2 + sum(1 for k in kinds if _INPUT_SIZES.get(k or "", (0, 0))[1] == 0)
    return (base * 4 + witness + 3) // 4


def check_transaction(psbt: PSBT, tx: Transaction, spent: list[TxOut | None], keys: KeySource,
                      network: Network, policy: Policy, plans: "list[InputPlan]") -> None:
    """Run every transaction-level check; raise on the first refusal.

    Raises:
        InputError: duplicate inputs or amounts outside the money range.
        PolicyError: a subclass naming the output index and the reason.
    """
    _check_inputs_and_outputs(tx)
    _check_size(tx, _input_kinds(psbt, spent, plans), plans)
    change = _verified_change(psbt, tx, keys, network, plans)
    _check_output_scripts(tx, change, policy)
    _check_payments(tx, change, network, policy)
    _check_fee(tx, spent, change, policy, _input_kinds(psbt, spent, plans))


def _check_size(tx: Transaction, kinds: list[str | None], plans: "list[InputPlan]") -> None:
    weight = estimate_vsize(tx, kinds) * 4
    if weight > MAX_BLOCK_WEIGHT:
        raise TransactionSizeError(f"transaction: estimated weight {weight} exceeds a block's "
                                   f"{MAX_BLOCK_WEIGHT}; it can never be mined")
    if weight > MAX_STANDARD_TX_WEIGHT and any(p.kind == "p2pkh" for p in plans):
        raise TransactionSizeError(f"transaction: estimated weight {weight} exceeds the standard "
                                   f"{MAX_STANDARD_TX_WEIGHT} while signing legacy inputs, whose "
                                   "signature hashes cost grows with the square of the size")


def _check_inputs_and_outputs(tx: Transaction) -> None:
    seen = set()
    for i, txin in enumerate(tx.inputs):
        if txin.prevout in seen:
            raise InputError(f"input {i}: spends the same outpoint as an earlier input",
                             input_index=i)
        seen.add(txin.prevout)
    if not tx.outputs:
        raise OutputNotAllowedError("transaction has no outputs")
    total = 0
    for j, out in enumerate(tx.outputs):
        total += out.amount
        if not 0 <= out.amount <= MAX_MONEY or total > MAX_MONEY:
            raise InputError(f"output {j}: amount outside the money range", output_index=j)


def _verified_change(psbt: PSBT, tx: Transaction, keys: KeySource, network: Network,
                     plans: "list[InputPlan]") -> set[int]:
    accounts = {p.path[:3] for p in plans}
    change = set()
    for j, out in enumerate(tx.outputs):
        ours = [(d.pubkey, d.path) for d in psbt.output_bip32_derivations(j)
                if d.fingerprint == keys.fingerprint]
        ours += [(d.xonly, d.path) for d in psbt.output_tap_bip32_derivations(j)
                 if d.fingerprint == keys.fingerprint and not d.leaf_hashes]
        for claimed, path in ours:
            _check_change(psbt, j, out, claimed, path, keys, network, accounts)
        if ours:
            change.add(j)
    return change


def _check_change(psbt: PSBT, j: int, out: TxOut, claimed: bytes, path: list[int],
                  keys: KeySource, network: Network, accounts: set[tuple[int, ...]]) -> None:
    def refuse(reason: str) -> FraudulentChangeError:
        return FraudulentChangeError(f"output {j}: fraudulent change: {reason}", output_index=j)

    if len(path) != 5 or tuple(path[:3]) not in accounts:
        raise refuse("path is not in an account and purpose the inputs are signed from")
    if path[3] not in (0, 1) or path[4] > MAX_CHANGE_INDEX:
        raise refuse(f"chain must be 0 or 1 and index at most {MAX_CHANGE_INDEX}")
    kind = _TYPE_BY_PURPOSE.get(path[0] - HARDENED)
    node = keys.get_key(keys.fingerprint, path)
    if kind is None or node is None:
        raise refuse("path purpose is not one of 44', 49', 84', 86'")
    pubkey = node.pubkey
    if claimed not in (pubkey, pubkey[1:]) or key_to_script(pubkey, kind) != out.script_pubkey:
        raise refuse("key at the claimed path does not pay this output's script")
    redeem = psbt.output_redeem_script(j)
    if kind == "p2sh-p2wpkh" and redeem not in (None, key_to_redeem_script(pubkey)):
        raise refuse("redeem script is not our key's p2wpkh program")


def _check_output_scripts(tx: Transaction, change: set[int], policy: Policy) -> None:
    for j, out in enumerate(tx.outputs):
        kind = classify_script(out.script_pubkey)
        nulldata = out.script_pubkey[:1] == b"\x6a" and len(out.script_pubkey) <= MAX_OP_RETURN
        if kind in (None, "witness_unknown") and not nulldata:
            if not policy.allow_nonstandard_outputs:
                raise OutputNotAllowedError(f"output {j}: non-standard script; pass "
                                            "allow_nonstandard_outputs=True to sign it",
                                            output_index=j)
            continue
        threshold = DUST_THRESHOLD.get(kind or "", 0)
        if out.amount < threshold and not policy.allow_dust:
            raise OutputNotAllowedError(f"output {j}: {out.amount} sat is dust for {kind} "
                                        f"(threshold {threshold}); pass allow_dust=True",
                                        output_index=j)


def _check_payments(tx: Transaction, change: set[int], network: Network, policy: Policy) -> None:
    if policy.expected_payments is None:
        return
    expected = Counter((address_to_script(address, network), amount)
                       for address, amount in policy.expected_payments)
    for j, out in enumerate(tx.outputs):
        if j in change:
            continue
        key = (out.script_pubkey, out.amount)
        if expected[key] == 0:
            raise PaymentMismatchError(f"output {j}: pays {out.amount} sat to a script that is "
                                       "not an expected payment", output_index=j)
        expected[key] -= 1
    if +expected:
        raise PaymentMismatchError(f"{sum(expected.values())} expected payment(s) missing "
                                   "from the transaction")


def _input_kinds(psbt: PSBT, spent: list[TxOut | None],
                 plans: "list[InputPlan]") -> list[str | None]:
    planned = {p.index: p.kind for p in plans}
    kinds: list[str | None] = []
    for i, out in enumerate(spent):
        kind = planned.get(i) or (classify_script(out.script_pubkey) if out else None)
        if kind == "p2sh" and psbt.redeem_script(i) is not None:
            kind = "p2sh-p2wpkh"
        kinds.append(kind)
    return kinds


def _check_fee(tx: Transaction, spent: list[TxOut | None], change: set[int], policy: Policy,
               kinds: list[str | None]) -> None:
    missing = [i for i, out in enumerate(spent) if out is None]
    if missing:
        raise MissingUtxoError(f"input {missing[0]}: spent output unknown, so the fee cannot "
                               "be checked", input_index=missing[0])
    fee = sum(out.amount for out in spent if out) - sum(o.amount for o in tx.outputs)
    if fee < 0:
        raise FeeError(f"fee is negative ({fee} sat): outputs exceed inputs")
    if fee > policy.max_fee_sat:
        raise FeeError(f"fee {fee} sat exceeds max_fee_sat {policy.max_fee_sat}")
    vsize = estimate_vsize(tx, kinds)
    if fee > policy.max_fee_rate * vsize:
        raise FeeError(f"fee rate {fee / vsize:.1f} sat/vB (estimated {vsize} vB) exceeds "
                       f"max_fee_rate {policy.max_fee_rate}")
    sent = sum(o.amount for j, o in enumerate(tx.outputs) if j not in change) or \
        sum(o.amount for o in tx.outputs)
    if fee * 100 > policy.max_fee_percent * sent:
        raise FeeError(f"fee {fee} sat is more than {policy.max_fee_percent}% of the "
                       f"{sent} sat sent")
