"""Tests of coins/bitcoin/sighash.py: Core's sighash.json, the BIP-0341 wallet vectors
and the examples of BIP-0143, each preimage and hash compared with the published value."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from coins.bitcoin import ecc
from coins.bitcoin.hashes import hash160, tagged_hash
from coins.bitcoin.networks import NETWORKS
from coins.bitcoin.script import p2tr_script, script_to_address
from coins.bitcoin.sighash import (SighashCache, legacy_sighash, legacy_sighash_msg,
                                   p2pkh_script_code, remove_codeseparators)
from coins.bitcoin.tx import Transaction, TxOut
from kernel import verify_with_kernel
from qsigner.errors import InputError

Loader = Callable[[str], Any]
BIP341 = "bitcoin-core/bip341_wallet_vectors.json"


# ---- legacy: Bitcoin Core src/test/data/sighash.json ----------------------------------------

def test_core_sighash_json(load_upstream: Loader) -> None:
    """Every row of Core's sighash.json: [raw tx, script, input index, hashType, sighash]."""
    rows = [r for r in load_upstream("bitcoin-core/sighash.json") if len(r) == 5]
    assert len(rows) == 500
    for n, (raw, script, index, hash_type, expected) in enumerate(rows):
        tx = Transaction.parse(bytes.fromhex(raw))
        got = legacy_sighash(tx, index, bytes.fromhex(script), hash_type)
        # Core prints a uint256 with GetHex: the bytes reversed.
        assert got[::-1].hex() == expected, f"sighash.json row {n}: hashType {hash_type}"


def test_legacy_sighash_single_bug() -> None:
    """SIGHASH_SINGLE without a matching output and an index out of range hash to 1."""
    tx = Transaction.parse(bytes.fromhex(BIP143_P2WPKH["unsigned_tx"]))
    one = (1).to_bytes(32, "little")
    tx.outputs = tx.outputs[:1]
    assert legacy_sighash_msg(tx, 1, b"\x51", 0x03) is None
    assert legacy_sighash(tx, 1, b"\x51", 0x03) == one
    assert legacy_sighash(tx, 1, b"\x51", 0x83) == one
    assert legacy_sighash(tx, 5, b"\x51", 0x01) == one
    assert legacy_sighash(tx, 0, b"\x51", 0x03) != one


def test_remove_codeseparators_walks_ops() -> None:
    """OP_CODESEPARATOR goes; a 0xab byte inside a push stays; a truncated push ends the walk."""
    assert remove_codeseparators(bytes.fromhex("ab51ab52")) == bytes.fromhex("5152")
    assert remove_codeseparators(bytes.fromhex("01ab51")) == bytes.fromhex("01ab51")
    assert remove_codeseparators(bytes.fromhex("ab4c05abab")) == bytes.fromhex("4c05abab")


# ---- BIP-0341: bip341_wallet_vectors.json ---------------------------------------------------

def _key_path(load: Loader) -> dict[str, Any]:
    vectors = load(BIP341)["keyPathSpending"]
    assert len(vectors) == 1
    return vectors[0]


def _cache(case: dict[str, Any]) -> tuple[Transaction, SighashCache, list[TxOut]]:
    tx = Transaction.parse(bytes.fromhex(case["given"]["rawUnsignedTx"]))
    spent = [TxOut(u["amountSats"], bytes.fromhex(u["scriptPubKey"]))
             for u in case["given"]["utxosSpent"]]
    return tx, SighashCache(tx, list(spent)), spent


def test_bip341_precomputed_hashes(load_upstream: Loader) -> None:
    """hashPrevouts, hashAmounts, hashScriptPubkeys, hashSequences, hashOutputs."""
    case = _key_path(load_upstream)
    _, cache, _ = _cache(case)
    want = case["intermediary"]
    assert cache.sha_prevouts.hex() == want["hashPrevouts"]
    assert cache.sha_amounts.hex() == want["hashAmounts"]
    assert cache.sha_scriptpubkeys.hex() == want["hashScriptPubkeys"]
    assert cache.sha_sequences.hex() == want["hashSequences"]
    assert cache.sha_outputs.hex() == want["hashOutputs"]


def test_bip341_key_path_spending(load_upstream: Loader) -> None:
    """sigMsg (with the epoch byte), sigHash, internal key, tweak, tweaked secret, witness.

    The vectors' signatures were made with an all-zero aux_rand, so ``ecc.schnorr_sign``
    (which always uses zero aux) reproduces each witness byte for byte.
    """
    case = _key_path(load_upstream)
    _, cache, spent = _cache(case)
    assert len(case["inputSpending"]) == 7
    for spend in case["inputSpending"]:
        given, mid = spend["given"], spend["intermediary"]
        i, hash_type = given["txinIndex"], given["hashType"]
        where = f"bip341 keyPathSpending input {i} (hashType {hash_type:#x})"
        secret = bytes.fromhex(given["internalPrivkey"])
        root = bytes.fromhex(given["merkleRoot"]) if given["merkleRoot"] else b""
        internal = ecc.xonly(ecc.pubkey_from_secret(secret))
        assert internal.hex() == mid["internalPubkey"], where
        assert tagged_hash("TapTweak", internal + root).hex() == mid["tweak"], where
        tweaked = ecc.taproot_tweak_secret(secret, root)
        assert tweaked.hex() == mid["tweakedPrivkey"], where
        assert cache.taproot_sighash_msg(i, hash_type).hex() == mid["sigMsg"], where
        sighash = cache.taproot_sighash(i, hash_type)
        assert sighash.hex() == mid["sigHash"], where
        output_key = spent[i].script_pubkey[2:]
        assert ecc.xonly(ecc.pubkey_from_secret(tweaked)) == output_key, where
        sig = ecc.schnorr_sign(tweaked, sighash)
        witness = sig + (bytes([hash_type]) if hash_type else b"")
        assert [witness.hex()] == spend["expected"]["witness"], where
        assert ecc.schnorr_verify(output_key, sig, sighash), where


def test_bip341_fully_signed_tx_passes_kernel(load_upstream: Loader) -> None:
    """The vectors' fully signed transaction checks out in libbitcoinkernel (helper self-test)."""
    case = _key_path(load_upstream)
    _, _, spent = _cache(case)
    raw = case["auxiliary"]["fullySignedTx"]
    verify_with_kernel(raw, spent)
    lying = list(spent)
    lying[3] = TxOut(spent[3].amount + 1, spent[3].script_pubkey)
    with pytest.raises(AssertionError, match="input 0"):
        # taproot commits to every amount: input 0 fails first
        verify_with_kernel(raw, lying)


def test_bip341_taproot_sighash_refusals(load_upstream: Loader) -> None:
    """Invalid hash types and SIGHASH_SINGLE past the last output are refused."""
    case = _key_path(load_upstream)
    tx, cache, _ = _cache(case)
    for bad in (0x04, 0x80, 0x84, 0xFF):
        with pytest.raises(InputError, match="invalid for taproot"):
            cache.taproot_sighash_msg(0, bad)
    with pytest.raises(InputError, match="SIGHASH_SINGLE"):
        cache.taproot_sighash_msg(len(tx.outputs), 0x03)
    unknown = SighashCache(tx, [None] * len(tx.inputs))
    with pytest.raises(InputError, match="spent output unknown"):
        unknown.taproot_sighash_msg(0, 0x00)


def test_bip341_script_pubkeys(load_upstream: Loader) -> None:
    """Internal key -> tweak -> output key -> scriptPubKey -> bech32m address.

    Entries without a script tree go through the whole chain; for the others the
    vectors' merkle root is given to the tweak (the tree itself is not our job).
    """
    entries = load_upstream(BIP341)["scriptPubKey"]
    assert sum(e["given"]["scriptTree"] is None for e in entries) == 1
    for n, entry in enumerate(entries):
        internal = bytes.fromhex(entry["given"]["internalPubkey"])
        mid, want = entry["intermediary"], entry["expected"]
        root = bytes.fromhex(mid["merkleRoot"]) if mid["merkleRoot"] else b""
        if entry["given"]["scriptTree"] is None:
            assert mid["merkleRoot"] is None
        output_key, _ = ecc.taproot_tweak_pubkey(internal, root)
        assert tagged_hash("TapTweak", internal + root).hex() == mid["tweak"], n
        assert output_key.hex() == mid["tweakedPubkey"], f"scriptPubKey entry {n}"
        script = p2tr_script(output_key)
        assert script.hex() == want["scriptPubKey"], f"scriptPubKey entry {n}"
        assert script_to_address(script, NETWORKS["mainnet"]) == want["bip350Address"], n


# ---- BIP-0143, section "Example" ------------------------------------------------------------
# Not in the upstream folder: values copied from bitcoin/bips bip-0143.mediawiki,
# section "Example", subsections "Native P2WPKH", "P2SH-P2WPKH" and "Native P2WSH".

BIP143_P2WPKH = {
    "unsigned_tx": "0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f"
                   "0000000000eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57"
                   "b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85"
                   "c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2"
                   "f0167faa815988ac11000000",
    "index": 1,
    "amount": 600_000_000,
    "script_code": "76a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ac",
    "hash_type": 1,
    "hash_prevouts": "96b827c8483d4e9b96712b6713a7b68d6e8003a781feba36c31143470b4efd37",
    "hash_sequence": "52b0a642eea2fb7ae638c36f6252b6750293dbe574a806984b8e4d8548339a3b",
    "hash_outputs": "863ef3e1a92afbfdb97f31ad0fc7683ee943e9abcf2501590ff8f6551f47e5e5",
    "preimage": "0100000096b827c8483d4e9b96712b6713a7b68d6e8003a781feba36c31143470b4efd3752b0"
                "a642eea2fb7ae638c36f6252b6750293dbe574a806984b8e4d8548339a3bef51e1b804cc89d1"
                "82d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a010000001976a9141d0f172a0ecb"
                "48aee1be1f2687d2963ae33f71a188ac0046c32300000000ffffffff863ef3e1a92afbfdb97f"
                "31ad0fc7683ee943e9abcf2501590ff8f6551f47e5e51100000001000000",
    "sighash": "c37af31116d1b27caf68aae9e3ac82f1477929014d5b917657d0eb49478cb670",
    "secret": "619c335025c7f4012e556c2a58b2506e30b8511b53ade95ea316fd8c3286feb9",
    "pubkey": "025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee6357",
    "signature": "304402203609e17b84f6a7d30c80bfa610b5b4542f32a8a0d5447a12fb1366d7f01cc44a02"
                 "20573a954c4518331561406f90300e8f3358f51928d43c212a8caed02de67eebee",
    # The serialized signed transaction and what its two inputs spend (a P2PK of 6.25 BTC
    # and the P2WPKH of 6 BTC).
    "signed_tx": "01000000000102fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad96"
                 "9f00000000494830450221008b9d1dc26ba6a9cb62127b02742fa9d754cd3bebf337f7a55d114c"
                 "8e5cdd30be022040529b194ba3f9281a99f2b1c0a19c0489bc22ede944ccf4ecbab4cc618ef3ed"
                 "01eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100"
                 "000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d"
                 "5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac0002"
                 "47304402203609e17b84f6a7d30c80bfa610b5b4542f32a8a0d5447a12fb1366d7f01cc44a0220"
                 "573a954c4518331561406f90300e8f3358f51928d43c212a8caed02de67eebee0121025476c2e8"
                 "3188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee635711000000",
    "spent": [(625_000_000, "2103c9f4836b9a4f77fc0d81f7bcb01b7f1b35916864b9476c241ce9fc198bd2"
                            "5432ac"),
              (600_000_000, "00141d0f172a0ecb48aee1be1f2687d2963ae33f71a1")],
}

BIP143_P2SH_P2WPKH = {
    "unsigned_tx": "0100000001db6b1b20aa0fd7b23880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a5477"
                   "0100000000feffffff02b8b4eb0b000000001976a914a457b684d7f0d539a46a45bbc043f3"
                   "5b59d0d96388ac0008af2f000000001976a914fd270b1ee6abcaea97fea7ad0402e8bd8ad6"
                   "d77c88ac92040000",
    "index": 0,
    "amount": 1_000_000_000,
    "script_code": "76a91479091972186c449eb1ded22b78e40d009bdf008988ac",
    "hash_type": 1,
    "hash_prevouts": "b0287b4a252ac05af83d2dcef00ba313af78a3e9c329afa216eb3aa2a7b4613a",
    "hash_sequence": "18606b350cd8bf565266bc352f0caddcf01e8fa789dd8a15386327cf8cabe198",
    "hash_outputs": "de984f44532e2173ca0d64314fcefe6d30da6f8cf27bafa706da61df8a226c83",
    "preimage": "01000000b0287b4a252ac05af83d2dcef00ba313af78a3e9c329afa216eb3aa2a7b4613a1860"
                "6b350cd8bf565266bc352f0caddcf01e8fa789dd8a15386327cf8cabe198db6b1b20aa0fd7b2"
                "3880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a5477010000001976a91479091972186c"
                "449eb1ded22b78e40d009bdf008988ac00ca9a3b00000000feffffffde984f44532e2173ca0d"
                "64314fcefe6d30da6f8cf27bafa706da61df8a226c839204000001000000",
    "sighash": "64f3b0f4dd2bb3aa1ce8566d220cc74dda9df97d8490cc81d89d735c92e59fb6",
    "secret": "eb696a065ef48a2192da5b28b694f87544b30fae8327c4510137a922f32c6dcf",
    "pubkey": "03ad1d8e89212f0b92c74d23bb710c00662ad1470198ac48c43f7d6f93a2a26873",
    "signature": "3044022047ac8e878352d3ebbde1c94ce3a10d057c24175747116f8288e5d794d12d482f02"
                 "20217f36a485cae903c713331d877c1f64677e3622ad4010726870540656fe9dcb",
    "signed_tx": "01000000000101db6b1b20aa0fd7b23880be2ecbd4a98130974cf4748fb66092ac4d3ceb1a54"
                 "77010000001716001479091972186c449eb1ded22b78e40d009bdf0089feffffff02b8b4eb0b00"
                 "0000001976a914a457b684d7f0d539a46a45bbc043f35b59d0d96388ac0008af2f000000001976"
                 "a914fd270b1ee6abcaea97fea7ad0402e8bd8ad6d77c88ac02473044022047ac8e878352d3ebbd"
                 "e1c94ce3a10d057c24175747116f8288e5d794d12d482f0220217f36a485cae903c713331d877c"
                 "1f64677e3622ad4010726870540656fe9dcb012103ad1d8e89212f0b92c74d23bb710c00662ad1"
                 "470198ac48c43f7d6f93a2a2687392040000",
    "spent": [(1_000_000_000, "a9144733f37cf4db86fbc2efed2500b4f4e49f31202387")],
}

BIP143_EXAMPLES = {"native-p2wpkh": BIP143_P2WPKH, "p2sh-p2wpkh": BIP143_P2SH_P2WPKH}


@pytest.mark.parametrize("name", list(BIP143_EXAMPLES))
def test_bip143_example(name: str) -> None:
    """hashPrevouts/hashSequence/hashOutputs, preimage and sigHash; then sign and verify."""
    ex = BIP143_EXAMPLES[name]
    tx = Transaction.parse(bytes.fromhex(ex["unsigned_tx"]))
    cache = SighashCache(tx, [None] * len(tx.inputs))
    assert cache.hash_prevouts.hex() == ex["hash_prevouts"]
    assert cache.hash_sequence.hex() == ex["hash_sequence"]
    assert cache.hash_outputs.hex() == ex["hash_outputs"]
    secret, pubkey = bytes.fromhex(ex["secret"]), bytes.fromhex(ex["pubkey"])
    assert ecc.pubkey_from_secret(secret) == pubkey
    code = p2pkh_script_code(hash160(pubkey))
    assert code.hex() == ex["script_code"]
    msg = cache.segwit_v0_sighash_msg(ex["index"], code, ex["amount"], ex["hash_type"])
    assert msg.hex() == ex["preimage"]
    sighash = cache.segwit_v0_sighash(ex["index"], code, ex["amount"], ex["hash_type"])
    assert sighash.hex() == ex["sighash"]
    sig = ecc.ecdsa_sign(secret, sighash)
    assert ecc.ecdsa_verify(pubkey, sig, sighash)
    # BIP-0143's signatures are RFC6979 with a low R on the first try, as Core makes them.
    assert sig.hex() == ex["signature"]


@pytest.mark.parametrize("name", list(BIP143_EXAMPLES))
def test_bip143_example_signed_tx_passes_kernel(name: str) -> None:
    """The BIP's signed transaction passes libbitcoinkernel; a lie about the amount fails."""
    ex = BIP143_EXAMPLES[name]
    spent = [TxOut(amount, bytes.fromhex(spk)) for amount, spk in ex["spent"]]
    verify_with_kernel(ex["signed_tx"], spent)
    i = ex["index"]
    spent[i] = TxOut(spent[i].amount - 1, spent[i].script_pubkey)
    with pytest.raises(AssertionError, match=f"input {i}"):
        verify_with_kernel(ex["signed_tx"], spent)


def test_bip143_native_p2wsh_codeseparator_and_single() -> None:
    """BIP-0143 "Native P2WSH": SIGHASH_SINGLE past the last output hashes zero outputs,
    and the scriptCode keeps not-yet-executed OP_CODESEPARATORs."""
    tx = Transaction.parse(bytes.fromhex(
        "0100000002fe3dc9208094f3ffd12645477b3dc56f60ec4fa8e6f5d67c565d1c6b9216b36e0000000000"
        "ffffffff0815cf020f013ed6cf91d29f4202e8a58726b1ac6c79da47c23d1bee0a6925f80000000000ff"
        "ffffff0100f2052a010000001976a914a30741f8145e5acadf23f751864167f32e0963f788ac00000000"))
    cache = SighashCache(tx, [None, None])
    cases = [
        ("21026dccc749adc2a9d0d89497ac511f760f45c47dc5ed9cf352a58ac706453880aeadab210255a962"
         "6aebf5e29c0e6538428ba0d1dcf6ca98ffdf086aa8ced5e0d0215ea465ac",
         "82dde6e4f1e94d02c2b7ad03d2115d691f48d064e9d52f58194a6637e4194391"),
        ("210255a9626aebf5e29c0e6538428ba0d1dcf6ca98ffdf086aa8ced5e0d0215ea465ac",
         "fef7bd749cce710c5c052bd796df1af0d935e59cea63736268bcbe2d2134fc47"),
    ]
    for code, expected in cases:
        got = cache.segwit_v0_sighash(1, bytes.fromhex(code), 4_900_000_000, 0x03)
        assert got.hex() == expected
