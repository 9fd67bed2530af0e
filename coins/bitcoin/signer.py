"""The PSBT signer: check every input first, then sign what belongs to our seed.

Order, as bdk's ``Wallet::sign`` (refuse before signing anything):

1. parse the PSBT (v0 or v2) and find the output each input spends;
2. plan: for each input whose derivation names our master fingerprint, derive
   the key at that path and require that it equals the PSBT's key, that its path
   is a standard account path of this network and script type, and that it pays
   the input's script (p2pkh, p2sh-p2wpkh, p2wpkh, or p2tr key path with the
   BIP-0086 tweak); check the UTXO evidence and the sighash type;
3. run the transaction policy (fees and outputs, ``policy.py``);
4. only then sign, verifying each signature as it is made, and finalize.

Any refusal raises before step 4, so a refused PSBT never yields a signature.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from typing import Any

from qsigner.errors import (DerivationMismatchError, InputError, MissingUtxoError,
                            NetworkMismatchError, NothingToSignError, SighashNotAllowedError)
from qsigner.protocol import SignedTransaction

from . import ecc
from .accounts import master_key
from .bip32 import HARDENED, HDKey
from .finalize import finalize_all
from .hashes import hash160
from .keysource import KeySource
from .networks import ADDRESS_TYPES, Network
from .options import check_options, option_bool
from .policy import POLICY_OPTIONS, Policy, check_transaction
from .psbt import PSBT, PSBT_MAGIC
from .script import classify_script, key_to_redeem_script, key_to_script, p2tr_script
from .sighash import (SIGHASH_ALL, SIGHASH_DEFAULT, SIGHASH_SINGLE, TAPROOT_SIGHASH_TYPES,
                      SighashCache, p2pkh_script_code)
from .tx import MAX_MONEY, Transaction, TxOut

__all__ = ["SIGN_OPTIONS", "SignOptions", "InputPlan", "decode_psbt", "sign_psbt",
           "sign_psbt_text"]

SIGN_OPTIONS = frozenset({"passphrase", "trust_witness_utxo", "allow_nonstandard_sighash",
                          "allow_nonstandard_path"}) | POLICY_OPTIONS
ECDSA_SIGHASH_TYPES = frozenset({0x01, 0x02, 0x03, 0x81, 0x82, 0x83})
_PURPOSE_OF = {t.name: t.purpose for t in ADDRESS_TYPES.values()}


@dataclass(frozen=True)
class SignOptions:
    """The signer's opt-outs; each default refuses the attack named in docs/security.md."""

    trust_witness_utxo: bool = False
    allow_nonstandard_sighash: bool = False
    allow_nonstandard_path: bool = False
    policy: Policy = field(default_factory=Policy)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "SignOptions":
        """Return the options parsed from the caller's keywords.

        Raises:
            InputError: an unknown option or a value of the wrong type.
        """
        check_options(options, SIGN_OPTIONS)
        return cls(option_bool(options, "trust_witness_utxo"),
                   option_bool(options, "allow_nonstandard_sighash"),
                   option_bool(options, "allow_nonstandard_path"),
                   Policy.from_options(options))


@dataclass(frozen=True)
class InputPlan:
    """What step 4 will do for one input; ``secret`` never appears in the repr.

    ECDSA inputs: ``pubkey`` is the PSBT's 33-byte key and ``secret`` its 32-byte
    secret. p2tr: ``pubkey`` is the 32-byte x-only internal key and ``secret`` the
    tweaked keypair that planning built and checked (so signing derives nothing).
    """

    index: int
    kind: str
    pubkey: bytes
    path: tuple[int, ...]
    hash_type: int
    secret: bytes | ecc.TaprootSigningKey = field(repr=False)


def decode_psbt(transaction: object) -> PSBT:
    """Return the PSBT in ``transaction`` (base64 text, or raw bytes starting with the magic).

    Raises:
        InputError: neither base64 text nor PSBT bytes, or a malformed PSBT.
    """
    if isinstance(transaction, str):
        return PSBT.from_base64(transaction)
    if isinstance(transaction, (bytes, bytearray, memoryview)):
        data = bytes(transaction)
        if data.startswith(PSBT_MAGIC):
            return PSBT.parse(data)
        try:
            return PSBT.from_base64(data.decode("ascii"))
        except (UnicodeDecodeError, binascii.Error):
            raise InputError("transaction: neither PSBT bytes nor base64 text",
                             field="transaction") from None
    raise InputError("transaction: expected a base64 PSBT string or PSBT bytes",
                     field="transaction")


def sign_psbt_text(transaction: object, mnemonic: str, network: Network,
                   options: dict[str, Any]) -> SignedTransaction:
    """Sign a PSBT given as the contract gives it, with the seed of ``mnemonic``.

    Raises:
        InputError: malformed PSBT, secret or option.
        PolicyError: refused by a check; nothing was signed.
    """
    opts = SignOptions.from_options(options)
    passphrase = options.get("passphrase", "")
    if not isinstance(passphrase, str):
        raise InputError("passphrase: expected a string", field="passphrase")
    psbt = decode_psbt(transaction)
    keys = KeySource(master_key(mnemonic, passphrase, network))
    return sign_psbt(psbt, keys, network, opts)


def sign_psbt(psbt: PSBT, keys: KeySource, network: Network,
              opts: SignOptions | None = None) -> SignedTransaction:
    """Check, then sign the inputs of ``psbt`` that ``keys`` owns, then finalize what can be.

    ``psbt`` is updated in place and also returned, base64, in the result.

    Raises:
        InputError: malformed or inconsistent PSBT.
        PolicyError: refused by a check; nothing was signed.
    """
    opts = opts or SignOptions()
    tx = psbt.unsigned_tx()
    spent = spent_outputs(psbt, tx)
    plans = [p for i in range(len(tx.inputs)) if (p := plan_input(psbt, tx, spent, i, keys,
                                                                   network, opts))]
    if not plans:
        raise NothingToSignError(f"no input belongs to master fingerprint "
                                 f"{keys.fingerprint.hex()}; nothing was signed")
    check_utxo_evidence(psbt, spent, plans, opts)
    check_transaction(psbt, tx, spent, keys, network, opts.policy, plans)
    cache = SighashCache(tx, spent)
    for plan in plans:
        _sign_input(psbt, cache, spent, plan)
    complete = finalize_all(psbt, spent)
    final_tx = psbt.extract() if complete else None
    return SignedTransaction(psbt=psbt.to_base64(),
                             raw=final_tx.serialize().hex() if final_tx else None,
                             txid=final_tx.txid_hex() if final_tx else None,
                             signed_inputs=tuple(p.index for p in plans),
                             partial=not complete)


def spent_outputs(psbt: PSBT, tx: Transaction) -> list[TxOut | None]:
    """Return the output each input spends, from its UTXO fields (None where absent).

    Raises:
        InputError: the two UTXO fields disagree, or an amount is outside money range.
    """
    result: list[TxOut | None] = []
    for i, txin in enumerate(tx.inputs):
        witness_utxo = psbt.witness_utxo(i)
        # Read from the PSBT's kept scan: the previous tx is never built whole.
        out = psbt.non_witness_utxo_output(i, txin.prevout.vout)
        if out is None:
            out = witness_utxo
        elif witness_utxo is not None and witness_utxo != out:
            raise InputError(f"input {i}: witness_utxo disagrees with the output in "
                             "non_witness_utxo (amount or script)", input_index=i)
        if out is not None and not 0 <= out.amount <= MAX_MONEY:
            raise InputError(f"input {i}: spent amount outside the money range", input_index=i)
        result.append(out)
    return result


def plan_input(psbt: PSBT, tx: Transaction, spent: list[TxOut | None], i: int,
               keys: KeySource, network: Network, opts: SignOptions) -> InputPlan | None:
    """Return the plan for input ``i``, None if it is not ours, or raise if it lies.

    Raises:
        PolicyError: our fingerprint with a key, path or script that does not match.
    """
    if psbt.is_finalized(i):
        return None
    ecdsa = [d for d in psbt.bip32_derivations(i) if d.fingerprint == keys.fingerprint]
    schnorr = [d for d in psbt.tap_bip32_derivations(i)
               if d.fingerprint == keys.fingerprint and not d.leaf_hashes]
    if not ecdsa and not schnorr:
        return None
    out = spent[i]
    if out is None:
        raise MissingUtxoError(f"input {i}: no witness_utxo or non_witness_utxo; cannot check "
                               "which script our key would sign for", input_index=i)
    kind = _input_kind(psbt, i, out)
    if schnorr:
        return _plan_taproot(psbt, tx, i, out, kind, schnorr[0], keys, network, opts)
    return _plan_ecdsa(psbt, tx, i, out, kind, ecdsa[0], keys, network, opts)


def _input_kind(psbt: PSBT, i: int, out: TxOut) -> str:
    kind = classify_script(out.script_pubkey)
    if kind == "p2sh":
        redeem = psbt.redeem_script(i)
        if redeem is not None and classify_script(redeem) == "p2wpkh":
            return "p2sh-p2wpkh"
    if kind in _PURPOSE_OF:
        return kind
    raise DerivationMismatchError(f"input {i}: our key is named for a {kind or 'non-standard'} "
                                  "script; only p2pkh, p2sh-p2wpkh, p2wpkh and p2tr key-path "
                                  "inputs are signed", input_index=i)


def _check_path(i: int, path: list[int], kind: str, network: Network,
                opts: SignOptions) -> None:
    standard = (len(path) == 5 and all(p >= HARDENED for p in path[:3])
                and path[3] in (0, 1) and path[4] < HARDENED)
    if not standard:
        if opts.allow_nonstandard_path:
            return
        raise DerivationMismatchError(f"input {i}: derivation path is not purpose'/coin'/"
                                      "account'/(0|1)/index", input_index=i)
    if path[1] - HARDENED != network.coin_type:
        raise NetworkMismatchError(f"input {i}: path coin type {path[1] - HARDENED}' is not "
                                   f"{network.name}'s {network.coin_type}'", input_index=i)
    if path[0] - HARDENED != _PURPOSE_OF[kind] and not opts.allow_nonstandard_path:
        raise DerivationMismatchError(f"input {i}: path purpose {path[0] - HARDENED}' does not "
                                      f"match the {kind} script (purpose {_PURPOSE_OF[kind]}')",
                                      input_index=i)


def _derive(keys: KeySource, i: int, fingerprint: bytes, path: list[int]) -> HDKey:
    node = keys.get_key(fingerprint, path)
    if node is None:  # pragma: no cover - callers filtered on the fingerprint
        raise DerivationMismatchError(f"input {i}: key not ours", input_index=i)
    return node


def _plan_ecdsa(psbt: PSBT, tx: Transaction, i: int, out: TxOut, kind: str, deriv: Any,
                keys: KeySource, network: Network, opts: SignOptions) -> InputPlan:
    if kind == "p2tr":
        raise DerivationMismatchError(f"input {i}: taproot input names our key only in an "
                                      "ECDSA derivation", input_index=i)
    _check_path(i, deriv.path, kind, network, opts)
    node = _derive(keys, i, deriv.fingerprint, deriv.path)
    secret, pubkey = node.key, node.pubkey
    if pubkey != deriv.pubkey:
        raise DerivationMismatchError(f"input {i}: key derived at the PSBT's path differs from "
                                      "the PSBT's key", input_index=i)
    if kind == "p2sh-p2wpkh" and psbt.redeem_script(i) != key_to_redeem_script(pubkey):
        raise DerivationMismatchError(f"input {i}: redeem script is not our key's p2wpkh "
                                      "program", input_index=i)
    if key_to_script(pubkey, kind) != out.script_pubkey:
        raise DerivationMismatchError(f"input {i}: our key does not pay the spent script",
                                      input_index=i)
    hash_type = _sighash_type(psbt, tx, i, SIGHASH_ALL, ECDSA_SIGHASH_TYPES, opts)
    return InputPlan(i, kind, pubkey, tuple(deriv.path), hash_type, secret)


def _plan_taproot(psbt: PSBT, tx: Transaction, i: int, out: TxOut, kind: str, deriv: Any,
                  keys: KeySource, network: Network, opts: SignOptions) -> InputPlan:
    if kind != "p2tr":
        raise DerivationMismatchError(f"input {i}: taproot derivation on a {kind} input",
                                      input_index=i)
    _check_path(i, deriv.path, kind, network, opts)
    # One keypair gives the internal key, the BIP-0086 output key and the signing key.
    key = ecc.TaprootSigningKey(_derive(keys, i, deriv.fingerprint, deriv.path).key)
    internal = key.internal_key
    if internal != deriv.xonly or psbt.tap_internal_key(i) not in (None, internal):
        raise DerivationMismatchError(f"input {i}: key derived at the PSBT's path differs from "
                                      "the PSBT's internal key", input_index=i)
    if psbt.tap_merkle_root(i) is not None or p2tr_script(key.output_key) != out.script_pubkey:
        raise DerivationMismatchError(f"input {i}: output key is not the BIP-0086 tweak of our "
                                      "internal key", input_index=i)
    hash_type = _sighash_type(psbt, tx, i, SIGHASH_DEFAULT, TAPROOT_SIGHASH_TYPES, opts)
    return InputPlan(i, kind, internal, tuple(deriv.path), hash_type, key)


def _sighash_type(psbt: PSBT, tx: Transaction, i: int, default: int,
                  valid: frozenset[int], opts: SignOptions) -> int:
    requested = psbt.sighash_type(i)
    hash_type = default if requested is None else requested
    standard = {default, SIGHASH_ALL}
    if hash_type not in valid:
        raise SighashNotAllowedError(f"input {i}: sighash type {hash_type:#x} is not valid for "
                                     "this input", input_index=i)
    if hash_type not in standard and not opts.allow_nonstandard_sighash:
        raise SighashNotAllowedError(f"input {i}: sighash type {hash_type:#x} is not ALL; pass "
                                     "allow_nonstandard_sighash=True to sign it", input_index=i)
    if hash_type & 0x1F == SIGHASH_SINGLE and i >= len(tx.outputs):
        raise SighashNotAllowedError(f"input {i}: SIGHASH_SINGLE without a matching output "
                                     "(the SIGHASH_SINGLE bug) is never signed", input_index=i)
    return hash_type


def check_utxo_evidence(psbt: PSBT, spent: list[TxOut | None], plans: list[InputPlan],
                        opts: SignOptions) -> None:
    """Require the UTXO evidence each signed input needs (see docs/security.md).

    Raises:
        MissingUtxoError: a legacy or segwit v0 input without its full previous
            transaction (unless ``trust_witness_utxo`` for segwit v0), or a taproot
            signature while some input's spent output is unknown.
    """
    for plan in plans:
        if psbt.non_witness_utxo_scan(plan.index) is not None or plan.kind == "p2tr":
            continue
        if plan.kind == "p2pkh" or not opts.trust_witness_utxo:
            raise MissingUtxoError(
                f"input {plan.index}: non_witness_utxo missing; without the previous "
                "transaction the amount cannot be proven (BIP-0143 fee attack)"
                + ("" if plan.kind == "p2pkh" else "; pass trust_witness_utxo=True to accept "
                   "witness_utxo alone"), input_index=plan.index)
    if any(p.kind == "p2tr" for p in plans):
        missing = [i for i, out in enumerate(spent) if out is None]
        if missing:
            raise MissingUtxoError(f"input {missing[0]}: spent output unknown; a taproot "
                                   "signature commits to every input's amount and script",
                                   input_index=missing[0])


def _sign_input(psbt: PSBT, cache: SighashCache, spent: list[TxOut | None],
                plan: InputPlan) -> None:
    i, out = plan.index, spent[plan.index]
    if out is None:  # plan_input refuses this earlier; kept so no path signs blind
        raise MissingUtxoError(f"input {i}: spent output unknown", input_index=i)
    if plan.kind == "p2tr":
        msg = cache.taproot_sighash(i, plan.hash_type)
        if not isinstance(plan.secret, ecc.TaprootSigningKey):  # pragma: no cover - by plan
            raise TypeError(f"input {i}: taproot plan without its signing key")
        try:  # verified under the output key, which the plan matched to the spent script
            sig = plan.secret.sign(msg)
        except ecc.SigningError as exc:
            raise ecc.SigningError(f"input {i}: {exc}") from None
        psbt.set_tap_key_sig(i, sig + (bytes([plan.hash_type]) if plan.hash_type else b""))
        return
    if plan.kind == "p2pkh":
        msg = cache.legacy_sighash(i, out.script_pubkey, plan.hash_type)
    else:
        code = p2pkh_script_code(hash160(plan.pubkey))
        msg = cache.segwit_v0_sighash(i, code, out.amount, plan.hash_type)
    if not isinstance(plan.secret, bytes):  # pragma: no cover - by plan
        raise TypeError(f"input {i}: ECDSA plan without its secret")
    try:  # verified under the PSBT's key
        sig = ecc.ecdsa_sign(plan.secret, msg, plan.pubkey)
    except ecc.SigningError as exc:
        raise ecc.SigningError(f"input {i}: {exc}") from None
    psbt.set_partial_sig(i, plan.pubkey, sig + bytes([plan.hash_type]))


