"""Refusals of coins/bitcoin/signer.py and policy.py: one test per reason, asserting the
exact error type, that nothing was signed or mutated, and then the opt-in path if one exists.

Each refusal runs twice: through the plugin (base64 in) and through ``signer.sign_psbt``
with a PSBT object, whose bytes must be unchanged afterwards (all checks run before the
first signature, so a refusal never leaves a half-signed PSBT behind).
"""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

from coins.bitcoin import ecc
from coins.bitcoin.accounts import master_key
from coins.bitcoin.bip32 import HARDENED
from coins.bitcoin.creator import create_psbt, key_origin, update_input
from coins.bitcoin.example import EXAMPLE_PAYEE_SCRIPT, example_psbt
from coins.bitcoin.hashes import hash160, sha256
from coins.bitcoin.keysource import KeySource
from coins.bitcoin.networks import NETWORKS
from coins.bitcoin.policy import MAX_CHANGE_INDEX
from coins.bitcoin.psbt import (PSBT, PSBT_IN_BIP32_DERIVATION, PSBT_IN_REDEEM_SCRIPT,
                                PSBT_IN_SIGHASH_TYPE, PSBT_IN_TAP_BIP32_DERIVATION,
                                PSBT_IN_TAP_MERKLE_ROOT, PSBT_IN_WITNESS_UTXO,
                                PSBT_OUT_BIP32_DERIVATION, PSBT_OUT_REDEEM_SCRIPT)
from coins.bitcoin.script import (key_to_redeem_script, p2tr_script, p2wpkh_script,
                                  script_to_address, witness_script)
from coins.bitcoin.signer import SignOptions, sign_psbt
from coins.bitcoin.tx import OutPoint, Transaction, TxIn, TxOut
from kernel import (SEED_A, SEED_B, Change, Coin, build_psbt, fingerprint, key_at, spent_of,
                    verify_with_kernel)
from qsigner.errors import (DerivationMismatchError, FeeError, FraudulentChangeError,
                            InputError, MissingUtxoError, NetworkMismatchError,
                            NothingToSignError, OutputNotAllowedError, PaymentMismatchError,
                            QsignerError, SecretError, SighashNotAllowedError)
from qsigner.protocol import SignedTransaction

REGTEST = NETWORKS["regtest"]
H = HARDENED
PAY = EXAMPLE_PAYEE_SCRIPT
OTHER_PAYEE = p2wpkh_script(hash160(b"another payee"))
E = TypeVar("E", bound=QsignerError)


def refuse(bitcoin: Any, psbt: PSBT, error: type[E], *, mnemonic: str = SEED_A,
           network: str = "regtest", **options: Any) -> E:
    """Assert that signing ``psbt`` raises exactly ``error``, both ways, mutating nothing."""
    before = psbt.serialize()
    with pytest.raises(error) as plugin_refusal:
        bitcoin.sign_transaction(psbt.to_base64(), mnemonic, network=network, **options)
    assert type(plugin_refusal.value) is error, repr(plugin_refusal.value)
    net = NETWORKS[network]
    obj = PSBT.parse(before)
    with pytest.raises(error) as direct_refusal:
        sign_psbt(obj, KeySource(master_key(mnemonic, "", net)), net,
                  SignOptions.from_options(options))
    assert type(direct_refusal.value) is error
    assert obj.serialize() == before, "sign_psbt mutated the PSBT before refusing"
    assert psbt.serialize() == before
    return plugin_refusal.value


def signs(bitcoin: Any, psbt: PSBT, *, mnemonic: str = SEED_A, network: str = "regtest",
          **options: Any) -> SignedTransaction:
    """Sign ``psbt`` completely and check every input with libbitcoinkernel."""
    result = bitcoin.sign_transaction(psbt.to_base64(), mnemonic, network=network, **options)
    assert not result.partial and result.raw is not None
    verify_with_kernel(result.raw, spent_of(psbt))
    return result


def one_input(kind: str = "p2wpkh", amount: int = 100_000, pay: int = 99_000,
              **coin: Any) -> PSBT:
    """Return a regtest PSBT: one coin of seed A paying ``pay`` to the example payee."""
    return build_psbt([Coin(SEED_A, kind, amount=amount, **coin)], REGTEST, [TxOut(pay, PAY)])


def _set_sighash(psbt: PSBT, i: int, hash_type: int) -> None:
    psbt.inputs[i].set(PSBT_IN_SIGHASH_TYPE, hash_type.to_bytes(4, "little"))


# ---- NothingToSignError ---------------------------------------------------------------------

def test_nothing_to_sign_foreign_inputs_only(bitcoin: Any) -> None:
    """A PSBT whose inputs all belong to another seed."""
    refuse(bitcoin, example_psbt(SEED_B, REGTEST), NothingToSignError)
    signs(bitcoin, example_psbt(SEED_B, REGTEST), mnemonic=SEED_B)


def test_nothing_to_sign_already_final(bitcoin: Any) -> None:
    """A PSBT that we already signed and finalized has nothing left for us."""
    done = signs(bitcoin, example_psbt(SEED_A, REGTEST))
    refuse(bitcoin, PSBT.from_base64(done.psbt or ""), NothingToSignError)


# ---- MissingUtxoError -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["p2wpkh", "p2sh-p2wpkh"])
def test_segwit_v0_needs_non_witness_utxo(bitcoin: Any, kind: str) -> None:
    """witness_utxo alone does not prove the amount (BIP-0143 fee attack); opt in to trust it."""
    psbt = one_input(kind, full_utxo=False)
    error = refuse(bitcoin, psbt, MissingUtxoError)
    assert error.input_index == 0 and "trust_witness_utxo" in str(error)
    signs(bitcoin, psbt, trust_witness_utxo=True)


def test_p2pkh_needs_non_witness_utxo_even_when_trusting(bitcoin: Any) -> None:
    """p2pkh: with no UTXO, or only a witness_utxo, refused even with trust_witness_utxo."""
    bare = one_input("p2pkh", full_utxo=False)
    refuse(bitcoin, bare, MissingUtxoError)
    refuse(bitcoin, bare, MissingUtxoError, trust_witness_utxo=True)
    with_witness_utxo = one_input("p2pkh", full_utxo=False)
    with_witness_utxo.inputs[0].set(PSBT_IN_WITNESS_UTXO,
                                    spent_of(one_input("p2pkh"))[0].serialize())
    refuse(bitcoin, with_witness_utxo, MissingUtxoError, trust_witness_utxo=True)
    signs(bitcoin, one_input("p2pkh"))


def test_taproot_needs_every_spent_output(bitcoin: Any) -> None:
    """A taproot signature commits to all inputs' amounts: refused if one is unknown."""
    coins = [Coin(SEED_A, "p2tr"), Coin(SEED_B, "p2wpkh", full_utxo=False, witness_utxo=False)]
    psbt = build_psbt(coins, REGTEST, [TxOut(199_000, PAY)])
    error = refuse(bitcoin, psbt, MissingUtxoError)
    assert error.input_index == 1
    refuse(bitcoin, psbt, MissingUtxoError, trust_witness_utxo=True)
    known = build_psbt([Coin(SEED_A, "p2tr"), Coin(SEED_B, "p2wpkh")], REGTEST,
                       [TxOut(199_000, PAY)])
    result = bitcoin.sign_transaction(known.to_base64(), SEED_A, network="regtest")
    assert result.partial and result.signed_inputs == (0,)


def test_unknown_foreign_amount_means_unknown_fee(bitcoin: Any) -> None:
    """ECDSA inputs with full evidence, but another input's amount unknown: fee unknowable."""
    coins = [Coin(SEED_A, "p2wpkh"), Coin(SEED_B, "p2wpkh", full_utxo=False, witness_utxo=False)]
    error = refuse(bitcoin, build_psbt(coins, REGTEST, [TxOut(199_000, PAY)]), MissingUtxoError)
    assert "fee" in str(error) and error.input_index == 1


def test_bip143_two_round_fee_attack(bitcoin: Any) -> None:
    """The attack of BIP-0143's amount commitment: two rounds, each lying about one amount.

    Our two 1 BTC coins; the outputs total 1.00999 BTC. Round 1 claims input 1 holds
    0.01 BTC, round 2 claims input 0 does: each round shows a 1,000 sat fee. Each round's
    signature for the input it told the truth about is valid; together they spend 2 BTC
    with a 0.99 BTC fee. Refused by default (witness_utxo only); with
    ``trust_witness_utxo=True`` the attack goes through, as the kernel confirms.
    """
    true_amount, lie, total_out = 100_000_000, 1_000_000, 100_999_000
    coins = [Coin(SEED_A, "p2wpkh", amount=true_amount, index=i) for i in range(2)]
    honest = build_psbt(coins, REGTEST, [TxOut(total_out, PAY)], tag=b"attack")
    truth = spent_of(honest)
    rounds = []
    for lied_about in (1, 0):
        psbt = build_psbt([Coin(SEED_A, "p2wpkh", amount=true_amount, index=i,
                                full_utxo=False) for i in range(2)],
                          REGTEST, [TxOut(total_out, PAY)], tag=b"attack")
        psbt.inputs[lied_about].set(
            PSBT_IN_WITNESS_UTXO, TxOut(lie, truth[lied_about].script_pubkey).serialize())
        error = refuse(bitcoin, psbt, MissingUtxoError)
        assert error.input_index == 0
        rounds.append(bitcoin.sign_transaction(psbt.to_base64(), SEED_A, network="regtest",
                                               trust_witness_utxo=True))
    first, second = (Transaction.parse(bytes.fromhex(r.raw or "")) for r in rounds)
    with pytest.raises(AssertionError, match="input 1"):
        verify_with_kernel(rounds[0].raw or "", truth)
    first.inputs[1].witness = second.inputs[1].witness
    stolen = first.serialize().hex()
    verify_with_kernel(stolen, truth)  # valid on chain: 2 BTC in, 99,001,000 sat fee
    assert sum(o.amount for o in truth) - total_out == 99_001_000


def test_lying_witness_utxo_beside_non_witness_utxo(bitcoin: Any) -> None:
    """With the full previous transaction present, a witness_utxo lying about the amount."""
    psbt = one_input("p2wpkh")
    real = spent_of(psbt)[0]
    psbt.inputs[0].set(PSBT_IN_WITNESS_UTXO, TxOut(real.amount - 1, real.script_pubkey).serialize())
    error = refuse(bitcoin, psbt, InputError)
    assert error.input_index == 0
    refuse(bitcoin, psbt, InputError, trust_witness_utxo=True)


# ---- DerivationMismatchError ----------------------------------------------------------------

def _replace_derivation(psbt: PSBT, i: int, pubkey: bytes, path: tuple[int, ...]) -> None:
    psbt.inputs[i].remove(PSBT_IN_BIP32_DERIVATION)
    psbt.inputs[i].set(PSBT_IN_BIP32_DERIVATION, key_origin(fingerprint(SEED_A, REGTEST), path),
                       pubkey)


def test_psbt_key_differs_from_derived_key(bitcoin: Any) -> None:
    """Our fingerprint and path, but the PSBT names another key (or the path another index)."""
    psbt = one_input("p2wpkh")
    path = (84 + H, 1 + H, H, 0, 0)
    _replace_derivation(psbt, 0, key_at(SEED_A, REGTEST, path[:-1] + (1,)).pubkey, path)
    refuse(bitcoin, psbt, DerivationMismatchError)
    psbt = one_input("p2wpkh")
    _replace_derivation(psbt, 0, key_at(SEED_A, REGTEST, path).pubkey, path[:-1] + (1,))
    refuse(bitcoin, psbt, DerivationMismatchError)


def test_taproot_key_differs_from_derived_key(bitcoin: Any) -> None:
    """A taproot derivation whose x-only key is not the one at its path."""
    psbt = one_input("p2tr")
    path = (86 + H, 1 + H, H, 0, 0)
    other = ecc.xonly(key_at(SEED_A, REGTEST, path[:-1] + (5,)).pubkey)
    psbt.inputs[0].remove(PSBT_IN_TAP_BIP32_DERIVATION)
    psbt.inputs[0].set(PSBT_IN_TAP_BIP32_DERIVATION,
                       b"\x00" + key_origin(fingerprint(SEED_A, REGTEST), path), other)
    refuse(bitcoin, psbt, DerivationMismatchError)


def test_wrong_redeem_script(bitcoin: Any) -> None:
    """p2sh-p2wpkh whose redeem script is another key's p2wpkh program."""
    psbt = one_input("p2sh-p2wpkh")
    other = key_at(SEED_A, REGTEST, (49 + H, 1 + H, H, 0, 1)).pubkey
    psbt.inputs[0].set(PSBT_IN_REDEEM_SCRIPT, key_to_redeem_script(other))
    error = refuse(bitcoin, psbt, DerivationMismatchError)
    assert "redeem script" in str(error)


def test_purpose_84_path_on_p2pkh(bitcoin: Any) -> None:
    """A p2pkh script with a BIP-0084 path; ``allow_nonstandard_path=True`` signs it."""
    psbt = one_input("p2pkh", path=(84 + H, 1 + H, H, 0, 0))
    error = refuse(bitcoin, psbt, DerivationMismatchError)
    assert "purpose" in str(error)
    signs(bitcoin, psbt, allow_nonstandard_path=True)


def test_nonstandard_path_shape(bitcoin: Any) -> None:
    """A path that is not purpose'/coin'/account'/chain/index; the opt-in signs it."""
    psbt = one_input("p2wpkh", path=(H + 7, 3))
    refuse(bitcoin, psbt, DerivationMismatchError)
    signs(bitcoin, psbt, allow_nonstandard_path=True)


def _p2tr_psbt(out_script: bytes) -> PSBT:
    path = (86 + H, 1 + H, H, 0, 0)
    out = TxOut(100_000, out_script)
    prev = Transaction(2, [TxIn(OutPoint(sha256(b"tweak"), 0))], [out], 0)
    psbt = create_psbt(Transaction(2, [TxIn(OutPoint(prev.txid(), 0))], [TxOut(99_000, PAY)], 0))
    update_input(psbt, 0, kind="p2tr", pubkey=key_at(SEED_A, REGTEST, path).pubkey,
                 fingerprint=fingerprint(SEED_A, REGTEST), path=path, witness_utxo=out)
    return psbt


def test_taproot_tweak_mismatch_and_merkle_root(bitcoin: Any) -> None:
    """Only the BIP-0086 key path is signed: a script-tree tweak or a merkle root is refused."""
    internal = ecc.xonly(key_at(SEED_A, REGTEST, (86 + H, 1 + H, H, 0, 0)).pubkey)
    root = sha256(b"some script tree")
    tree_key, _ = ecc.taproot_tweak_pubkey(internal, root)
    refuse(bitcoin, _p2tr_psbt(p2tr_script(tree_key)), DerivationMismatchError)
    with_root = _p2tr_psbt(p2tr_script(tree_key))
    with_root.inputs[0].set(PSBT_IN_TAP_MERKLE_ROOT, root)
    refuse(bitcoin, with_root, DerivationMismatchError)
    bip86 = one_input("p2tr")
    bip86.inputs[0].set(PSBT_IN_TAP_MERKLE_ROOT, root)
    refuse(bitcoin, bip86, DerivationMismatchError)
    untweaked = _p2tr_psbt(p2tr_script(internal))
    refuse(bitcoin, untweaked, DerivationMismatchError)
    signs(bitcoin, _p2tr_psbt(p2tr_script(ecc.taproot_tweak_pubkey(internal)[0])))


def test_derivation_kind_does_not_fit_script(bitcoin: Any) -> None:
    """ECDSA derivation on a taproot input, and our key named for a p2wsh script."""
    psbt = one_input("p2tr")
    path = (86 + H, 1 + H, H, 0, 0)
    psbt.inputs[0].remove(PSBT_IN_TAP_BIP32_DERIVATION)
    psbt.inputs[0].set(PSBT_IN_BIP32_DERIVATION, key_origin(fingerprint(SEED_A, REGTEST), path),
                       key_at(SEED_A, REGTEST, path).pubkey)
    refuse(bitcoin, psbt, DerivationMismatchError)
    p2wsh = one_input("p2wpkh", full_utxo=False)
    p2wsh.inputs[0].set(PSBT_IN_WITNESS_UTXO,
                        TxOut(100_000, witness_script(0, sha256(b"script"))).serialize())
    refuse(bitcoin, p2wsh, DerivationMismatchError, trust_witness_utxo=True)


# ---- NetworkMismatchError -------------------------------------------------------------------

def test_mainnet_coin_type_on_regtest(bitcoin: Any) -> None:
    """Coin type 0' on regtest: refused, and no option lifts it."""
    psbt = one_input("p2wpkh", path=(84 + H, 0 + H, H, 0, 0))
    error = refuse(bitcoin, psbt, NetworkMismatchError)
    assert error.input_index == 0
    refuse(bitcoin, psbt, NetworkMismatchError, allow_nonstandard_path=True)


def test_test_coin_type_on_mainnet(bitcoin: Any) -> None:
    """A testnet PSBT (coin type 1') offered for mainnet."""
    refuse(bitcoin, example_psbt(SEED_A, NETWORKS["testnet"]), NetworkMismatchError,
           network="mainnet")


# ---- SighashNotAllowedError -----------------------------------------------------------------

NONSTANDARD = [0x02, 0x03, 0x81, 0x82, 0x83]


@pytest.mark.parametrize("kind", ["p2wpkh", "p2sh-p2wpkh", "p2pkh", "p2tr"])
@pytest.mark.parametrize("hash_type", NONSTANDARD, ids=lambda t: f"{t:#04x}")
def test_nonstandard_sighash(bitcoin: Any, kind: str, hash_type: int) -> None:
    """NONE, SINGLE and ANYONECANPAY refused; ``allow_nonstandard_sighash=True`` signs them."""
    psbt = example_psbt(SEED_A, REGTEST, kinds=(kind,))
    _set_sighash(psbt, 0, hash_type)
    error = refuse(bitcoin, psbt, SighashNotAllowedError)
    assert error.input_index == 0
    signs(bitcoin, psbt, allow_nonstandard_sighash=True)


@pytest.mark.parametrize("kind", ["p2wpkh", "p2tr"])
def test_explicit_sighash_all_is_standard(bitcoin: Any, kind: str) -> None:
    """An explicit SIGHASH_ALL needs no opt-in (taproot then signs 65 bytes)."""
    psbt = example_psbt(SEED_A, REGTEST, kinds=(kind,))
    _set_sighash(psbt, 0, 0x01)
    signs(bitcoin, psbt)


@pytest.mark.parametrize("hash_type", [0x03, 0x83])
def test_sighash_single_bug_always_refused(bitcoin: Any, hash_type: int) -> None:
    """SIGHASH_SINGLE on an input without a matching output, even with the opt-in."""
    for i in (2, 3):  # p2pkh and p2tr; the example has two outputs
        psbt = example_psbt(SEED_A, REGTEST)
        _set_sighash(psbt, i, hash_type)
        refuse(bitcoin, psbt, SighashNotAllowedError, allow_nonstandard_sighash=True)


@pytest.mark.parametrize("kind,hash_type", [("p2wpkh", 0x00), ("p2wpkh", 0x04),
                                            ("p2pkh", 0x80), ("p2tr", 0x84), ("p2tr", 0x41)])
def test_invalid_sighash_type(bitcoin: Any, kind: str, hash_type: int) -> None:
    """Types that are not valid for the input at all, even with the opt-in."""
    psbt = example_psbt(SEED_A, REGTEST, kinds=(kind,))
    _set_sighash(psbt, 0, hash_type)
    refuse(bitcoin, psbt, SighashNotAllowedError, allow_nonstandard_sighash=True)


# ---- FeeError -------------------------------------------------------------------------------

def test_negative_fee(bitcoin: Any) -> None:
    """Outputs worth more than the inputs; no limit lifts it."""
    psbt = one_input("p2wpkh", amount=100_000, pay=100_001)
    refuse(bitcoin, psbt, FeeError)
    refuse(bitcoin, psbt, FeeError, max_fee_sat=10**15, max_fee_rate=10**9, max_fee_percent=10**6)


def test_fee_above_max_fee_sat(bitcoin: Any) -> None:
    """A fee of 0.1 BTC + 1 sat is above the default cap; raising ``max_fee_sat`` signs."""
    psbt = one_input("p2wpkh", amount=200_000_000, pay=200_000_000 - 10_000_001)
    loose = {"max_fee_rate": 1_000_000, "max_fee_percent": 100}
    refuse(bitcoin, psbt, FeeError)
    error = refuse(bitcoin, psbt, FeeError, **loose)
    assert "max_fee_sat" in str(error)
    signs(bitcoin, psbt, max_fee_sat=10_000_001, **loose)


def test_fee_above_max_fee_rate(bitcoin: Any) -> None:
    """200,000 sat on ~141 vB is ~1,400 sat/vB; ``max_fee_rate=2000`` signs."""
    psbt = build_psbt([Coin(SEED_A, "p2wpkh", amount=10_000_000)], REGTEST,
                      [TxOut(5_000_000, PAY)], [Change(SEED_A, "p2wpkh", 4_800_000)])
    error = refuse(bitcoin, psbt, FeeError)
    assert "max_fee_rate" in str(error)
    signs(bitcoin, psbt, max_fee_rate=2_000)


def test_fee_above_max_fee_percent(bitcoin: Any) -> None:
    """1,000 sat fee to send 5,000 sat (20%; change not counted); 25% signs."""
    psbt = build_psbt([Coin(SEED_A, "p2wpkh", amount=100_000)], REGTEST,
                      [TxOut(5_000, PAY)], [Change(SEED_A, "p2wpkh", 94_000)])
    error = refuse(bitcoin, psbt, FeeError)
    assert "%" in str(error)
    signs(bitcoin, psbt, max_fee_percent=25)


# ---- OutputNotAllowedError ------------------------------------------------------------------

def test_dust_output(bitcoin: Any) -> None:
    """293 sat to p2wpkh is dust (Core: 294 at 3 sat/vB); ``allow_dust=True`` signs."""
    def psbt_paying(amount: int) -> PSBT:
        return build_psbt([Coin(SEED_A, "p2wpkh", amount=200_000)], REGTEST,
                          [TxOut(100_000, PAY), TxOut(amount, OTHER_PAYEE)],
                          [Change(SEED_A, "p2wpkh", 99_000 - amount)])
    error = refuse(bitcoin, psbt_paying(293), OutputNotAllowedError)
    assert error.output_index == 1
    signs(bitcoin, psbt_paying(293), allow_dust=True)
    signs(bitcoin, psbt_paying(294))


@pytest.mark.parametrize("script", [b"\x51", witness_script(2, bytes(32)),
                                    b"\x6a" + b"\x4c\x51" + bytes(81)],
                         ids=["bare-op-true", "witness-v2", "op-return-84-bytes"])
def test_nonstandard_output_script(bitcoin: Any, script: bytes) -> None:
    """Non-standard scripts are refused; ``allow_nonstandard_outputs=True`` signs them."""
    psbt = build_psbt([Coin(SEED_A, "p2wpkh", amount=200_000)], REGTEST,
                      [TxOut(100_000, PAY), TxOut(1_000, script)],
                      [Change(SEED_A, "p2wpkh", 98_000)])
    error = refuse(bitcoin, psbt, OutputNotAllowedError)
    assert error.output_index == 1
    signs(bitcoin, psbt, allow_nonstandard_outputs=True)


def test_op_return_83_bytes_is_standard(bitcoin: Any) -> None:
    """A zero-value OP_RETURN of 83 bytes needs no opt-in."""
    psbt = build_psbt([Coin(SEED_A, "p2wpkh", amount=200_000)], REGTEST,
                      [TxOut(100_000, PAY), TxOut(0, b"\x6a\x4c\x50" + bytes(80))],
                      [Change(SEED_A, "p2wpkh", 99_000)])
    signs(bitcoin, psbt)


def test_no_outputs(bitcoin: Any) -> None:
    """A transaction without outputs is refused, whatever the options."""
    psbt = build_psbt([Coin(SEED_A, "p2wpkh")], REGTEST, [])
    refuse(bitcoin, psbt, OutputNotAllowedError)
    refuse(bitcoin, psbt, OutputNotAllowedError, allow_dust=True, allow_nonstandard_outputs=True,
           max_fee_percent=10**6, max_fee_rate=10**9)


# ---- FraudulentChangeError ------------------------------------------------------------------

def test_change_key_does_not_pay_script(bitcoin: Any) -> None:
    """Our change derivation on the payee's output; without the claim it is a payment."""
    psbt = example_psbt(SEED_A, REGTEST, kinds=("p2wpkh",))
    path = (84 + H, 1 + H, H, 1, 0)
    psbt.outputs[0].set(PSBT_OUT_BIP32_DERIVATION, key_origin(fingerprint(SEED_A, REGTEST), path),
                        key_at(SEED_A, REGTEST, path).pubkey)
    error = refuse(bitcoin, psbt, FraudulentChangeError)
    assert error.output_index == 0
    psbt.outputs[0].remove(PSBT_OUT_BIP32_DERIVATION)
    signs(bitcoin, psbt)


def _with_change(change: Change, kind: str = "p2wpkh") -> PSBT:
    return build_psbt([Coin(SEED_A, kind, amount=200_000)], REGTEST, [TxOut(100_000, PAY)],
                      [change])


def test_change_index_above_limit(bitcoin: Any) -> None:
    """Index 1,000,001 pays us but could never be found by a wallet scan; 1,000,000 signs."""
    error = refuse(bitcoin, _with_change(Change(SEED_A, "p2wpkh", 99_000,
                                                index=MAX_CHANGE_INDEX + 1)),
                   FraudulentChangeError)
    assert error.output_index == 1
    signs(bitcoin, _with_change(Change(SEED_A, "p2wpkh", 99_000, index=MAX_CHANGE_INDEX)))


@pytest.mark.parametrize("change", [
    Change(SEED_A, "p2wpkh", 99_000, account=1),
    Change(SEED_A, "p2tr", 99_000),
    Change(SEED_A, "p2wpkh", 99_000, path=(84 + H, 1 + H, H, 2, 0)),
], ids=["other-account", "other-purpose", "chain-2"])
def test_change_outside_signing_account(bitcoin: Any, change: Change) -> None:
    """Change in an account, purpose or chain we do not sign inputs from."""
    refuse(bitcoin, _with_change(change), FraudulentChangeError)


def test_change_with_wrong_redeem_script(bitcoin: Any) -> None:
    """p2sh-p2wpkh change whose output redeem script is another key's program."""
    psbt = _with_change(Change(SEED_A, "p2sh-p2wpkh", 99_000), kind="p2sh-p2wpkh")
    signs(bitcoin, psbt)
    other = key_at(SEED_A, REGTEST, (49 + H, 1 + H, H, 1, 1)).pubkey
    psbt.outputs[1].set(PSBT_OUT_REDEEM_SCRIPT, key_to_redeem_script(other))
    refuse(bitcoin, psbt, FraudulentChangeError)


# ---- PaymentMismatchError -------------------------------------------------------------------

def test_expected_payments(bitcoin: Any) -> None:
    """Outputs other than verified change must be exactly the expected payments."""
    psbt = example_psbt(SEED_A, REGTEST)
    amount = psbt.unsigned_tx().outputs[0].amount
    payee = script_to_address(PAY, REGTEST)
    other = script_to_address(OTHER_PAYEE, REGTEST)
    for wrong in ([(payee, amount + 1)], [(other, amount)], [],
                  [(payee, amount), (payee, 1_000)], [(payee, amount), (payee, amount)]):
        refuse(bitcoin, psbt, PaymentMismatchError, expected_payments=wrong)
    signs(bitcoin, psbt, expected_payments=[(payee, amount)])
    signs(bitcoin, psbt, expected_payments=((payee.upper(), amount),))


# ---- InputError and SecretError -------------------------------------------------------------

def test_duplicate_inputs(bitcoin: Any) -> None:
    """The same outpoint spent twice."""
    single = one_input("p2wpkh")
    tx = single.unsigned_tx()
    psbt = create_psbt(Transaction(2, [tx.inputs[0], tx.inputs[0]], tx.outputs, 0))
    psbt.inputs = [single.inputs[0], single.inputs[0]]
    error = refuse(bitcoin, psbt, InputError)
    assert error.input_index == 1


@pytest.mark.parametrize("options", [
    {"max_fee": 1}, {"trust_witness_utxos": True}, {"address_type": "p2wpkh"}])
def test_unknown_option(bitcoin: Any, options: dict[str, Any]) -> None:
    """A misspelt or foreign option is refused, not ignored."""
    psbt = example_psbt(SEED_A, REGTEST)
    error = refuse(bitcoin, psbt, InputError, **options)
    assert error.field == next(iter(options))


@pytest.mark.parametrize("options", [
    {"trust_witness_utxo": 1}, {"allow_dust": "yes"}, {"max_fee_sat": "1000"},
    {"max_fee_sat": True}, {"max_fee_sat": -1}, {"max_fee_rate": 0}, {"max_fee_percent": 1.5},
    {"expected_payments": "bcrt1q..."}, {"expected_payments": [("addr", 0)]},
    {"expected_payments": [("addr",)]}, {"passphrase": b"x"}])
def test_bad_option_type(bitcoin: Any, options: dict[str, Any]) -> None:
    """Options of the wrong type or range."""
    psbt = example_psbt(SEED_A, REGTEST)
    with pytest.raises(InputError) as info:
        bitcoin.sign_transaction(psbt.to_base64(), SEED_A, network="regtest", **options)
    assert type(info.value) is InputError


def test_expected_payment_address_of_another_network(bitcoin: Any) -> None:
    """An expected payment to a mainnet address while signing on regtest."""
    psbt = example_psbt(SEED_A, REGTEST)
    amount = psbt.unsigned_tx().outputs[0].amount
    refuse(bitcoin, psbt, InputError,
           expected_payments=[(script_to_address(PAY, NETWORKS["mainnet"]), amount)])


@pytest.mark.parametrize("transaction", [
    "not base64!!", "", "cHNidP8=", "cHNidP8BAA==\n\ncHNidP8=", b"\xff\xfe garbage",
    b"psbt\xff\x00", 12345, None],
    ids=["not-base64", "empty", "magic-only", "two-blobs", "non-ascii-bytes",
         "bytes-magic-only", "int", "none"])
def test_garbage_transaction(bitcoin: Any, transaction: Any) -> None:
    """Anything that is not one PSBT is an InputError."""
    with pytest.raises(InputError) as info:
        bitcoin.sign_transaction(transaction, SEED_A, network="regtest")
    assert type(info.value) is InputError


def test_truncated_or_extended_psbt(bitcoin: Any) -> None:
    """A good PSBT cut short by a byte, or with a byte appended."""
    data = example_psbt(SEED_A, REGTEST).serialize()
    for bad in (data[:-1], data + b"\x00"):
        with pytest.raises(InputError) as info:
            bitcoin.sign_transaction(bad, SEED_A, network="regtest")
        assert type(info.value) is InputError


def test_empty_transaction_has_nothing_to_sign(bitcoin: Any) -> None:
    """A well-formed PSBT of a transaction without inputs or outputs."""
    psbt = PSBT.from_base64("cHNidP8BAAoCAAAAAAAAAAAAAA==")
    refuse(bitcoin, psbt, NothingToSignError)


@pytest.mark.parametrize("secret", [
    "abandon " * 11 + "abandon",           # checksum
    "abandon abandon abandon",             # length
    SEED_A.replace("about", "abuot"),     # word not in the list
    "", None, 42])
def test_bad_mnemonic(bitcoin: Any, secret: Any) -> None:
    """A bad mnemonic is a SecretError and its message quotes no word of it."""
    psbt = example_psbt(SEED_A, REGTEST)
    with pytest.raises(SecretError) as info:
        bitcoin.sign_transaction(psbt.to_base64(), secret, network="regtest")
    assert type(info.value) is SecretError
    message = str(info.value)
    for word in (secret.split() if isinstance(secret, str) else []):
        assert word not in message


def test_unknown_network(bitcoin: Any) -> None:
    """A network name the plugin does not know."""
    with pytest.raises(InputError) as info:
        bitcoin.sign_transaction(example_psbt(SEED_A, REGTEST).to_base64(), SEED_A,
                                 network="bitcoin")
    assert type(info.value) is InputError


# ---- TransactionSizeError ------------------------------------------------------------------

def _many(kind: str, n: int) -> PSBT:
    coins = [Coin(SEED_A, kind, amount=10_000, index=i, full_utxo=kind != "p2tr")
             for i in range(n)]
    return build_psbt(coins, REGTEST, [TxOut(n * 10_000 - n * 500, PAY)])


def test_legacy_inputs_in_a_nonstandard_size_are_refused(bitcoin: Any) -> None:
    from qsigner.errors import TransactionSizeError
    # 2,800 p2pkh inputs weigh ~1.66 M: minable, but not standard, and quadratic to sign.
    error = refuse(bitcoin, _many("p2pkh", 2_800), TransactionSizeError)
    assert "400000" in str(error)
    signs(bitcoin, _many("p2pkh", 20))


def test_transaction_heavier_than_a_block_is_refused(bitcoin: Any) -> None:
    from qsigner.errors import TransactionSizeError
    # 9,000 p2wpkh inputs (~0.61 M vB) and 10,000 p2tr outputs (~0.43 M vB) weigh over 4 M.
    wide = p2tr_script(ecc.xonly(key_at(SEED_B, REGTEST, (86 + H, 1 + H, H, 0, 0)).pubkey))
    psbt = build_psbt([Coin(SEED_A, "p2wpkh", amount=100_000, index=i) for i in range(9_000)],
                      REGTEST, [TxOut(80_000, wide)] * 10_000, tag=b"heavy")
    error = refuse(bitcoin, psbt, TransactionSizeError)
    assert "4000000" in str(error) and "never be mined" in str(error)
