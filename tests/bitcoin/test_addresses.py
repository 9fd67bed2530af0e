"""Tests of addresses and single keys: coins/bitcoin/script.py, bech32.py, base58.py, wif.py.

Upstream files read in place: bitcoin-core/key_io_valid.json and key_io_invalid.json
(Bitcoin Core's key_io tests), bips/bip173.json and bips/bip350.json (bech32, bech32m,
segwit addresses). Core's chain "testnet4" shares every prefix with testnet3, so its
cases run on our "testnet4" and "testnet"; a chain named "test" would be our "testnet".
"""

from __future__ import annotations

import hypothesis
import hypothesis.strategies

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import base58 as base58_package
import pytest

from coins.bitcoin import ecc
from coins.bitcoin.base58 import b58check_decode, b58check_encode
from coins.bitcoin.bech32 import (BECH32_CONST, BECH32M_CONST, bech32_decode,
                                  decode_segwit_address, encode_segwit_address)
from coins.bitcoin.networks import NETWORKS
from coins.bitcoin.script import (address_to_script, classify_script, key_to_script,
                                  p2pkh_script, p2sh_script, p2tr_script, p2wpkh_script,
                                  script_to_address, witness_script)
from coins.bitcoin.wif import decode_wif, encode_wif
from qsigner.errors import InputError

try:  # tests/ is not a package: pytest puts tests/ on sys.path and loads it as "conftest"
    from tests.conftest import upstream_dir
except ImportError:
    from conftest import upstream_dir

Loader = Callable[[str], Any]

CHAINS = {"main": ("mainnet",), "test": ("testnet",), "testnet4": ("testnet4", "testnet"),
          "signet": ("signet",), "regtest": ("regtest",)}
# Written out from Core's chainparams.cpp, not read from networks.py.
HRP = {"mainnet": "bc", "testnet": "tb", "testnet4": "tb", "signet": "tb", "regtest": "bcrt"}
BASE58_FAMILY = {"mainnet": "main", "testnet": "test", "testnet4": "test", "signet": "test",
                 "regtest": "test"}
SEGWIT_HRP_NETWORK = {"bc": "mainnet", "tb": "testnet"}


def _upstream_params(relpath: str, build: Callable[[Any], list[Any]]) -> list[Any]:
    """Return ``build(data)`` of an upstream JSON file, or one skipped case where it is absent."""
    path = Path(upstream_dir()) / relpath
    if not path.is_file():
        return [pytest.param(None, id="upstream-missing", marks=pytest.mark.skip(
            reason=f"upstream vector file {path} is missing: set QSIGNER_UPSTREAM_VECTORS "
            "or put shared/ beside the checkout"))]
    return build(json.loads(path.read_text()))


def _key_io_valid(data: Any) -> list[Any]:
    return [pytest.param(entry, id=f"{i}-{entry[2]['chain']}-{entry[0][:14]}")
            for i, entry in enumerate(data)]


def _key_io_invalid(data: Any) -> list[Any]:
    return [pytest.param(entry[0], id=f"{i}-{entry[0][:14]}") for i, entry in enumerate(data)]


def _bech32_strings(data: Any, name: str) -> list[Any]:
    """(string, expected constant or None for invalid) of bip173.json / bip350.json."""
    valid, const = (("valid_bech32", BECH32_CONST) if name == "bip173"
                    else ("valid_bech32m", BECH32M_CONST))
    invalid = "invalid_bech32" if name == "bip173" else "invalid_bech32m"
    return ([pytest.param((s, const, ""), id=f"{name}-valid-{i}") for i, s in enumerate(data[valid])]
            + [pytest.param((c["string"], None, c["reason"]), id=f"{name}-invalid-{i}")
               for i, c in enumerate(data[invalid])])


def _segwit(data: Any, name: str) -> list[Any]:
    """(address, scriptPubKey hex or None, reason): BIP-0173's v1+ examples are invalid now."""
    cases = []
    for i, c in enumerate(data["valid_segwit_addresses"]):
        if name == "bip173" and c["scriptPubKey"][:2] != "00":
            cases.append(pytest.param((c["address"], None, "bech32 for v1+ (BIP-0350)"),
                                      id=f"{name}-valid-now-invalid-{i}"))
        else:
            cases.append(pytest.param((c["address"], c["scriptPubKey"], ""), id=f"{name}-valid-{i}"))
    cases += [pytest.param((c["address"], None, c["reason"]), id=f"{name}-invalid-{i}")
              for i, c in enumerate(data["invalid_segwit_addresses"])]
    return cases


KEY_IO_VALID = _upstream_params("bitcoin-core/key_io_valid.json", _key_io_valid)
KEY_IO_INVALID = _upstream_params("bitcoin-core/key_io_invalid.json", _key_io_invalid)
BECH32_STRINGS = (_upstream_params("bips/bip173.json", lambda d: _bech32_strings(d, "bip173"))
                  + _upstream_params("bips/bip350.json", lambda d: _bech32_strings(d, "bip350")))
SEGWIT = (_upstream_params("bips/bip173.json", lambda d: _segwit(d, "bip173"))
          + _upstream_params("bips/bip350.json", lambda d: _segwit(d, "bip350")))


def test_every_upstream_case_collected(load_upstream: Loader) -> None:
    assert len(KEY_IO_VALID) == len(load_upstream("bitcoin-core/key_io_valid.json")) == 70
    assert len(KEY_IO_INVALID) == len(load_upstream("bitcoin-core/key_io_invalid.json")) == 70
    b173, b350 = load_upstream("bips/bip173.json"), load_upstream("bips/bip350.json")
    assert len(BECH32_STRINGS) == sum(len(d[k]) for d, k in (
        (b173, "valid_bech32"), (b173, "invalid_bech32"),
        (b350, "valid_bech32m"), (b350, "invalid_bech32m")))
    assert len(SEGWIT) == sum(len(d[k]) for d in (b173, b350)
                              for k in ("valid_segwit_addresses", "invalid_segwit_addresses"))
    chains = {e[2]["chain"] for e in load_upstream("bitcoin-core/key_io_valid.json")}
    assert chains <= set(CHAINS), f"a chain we do not map: {chains - set(CHAINS)}"


# ---- Bitcoin Core key_io_valid.json -------------------------------------------------------

@pytest.mark.parametrize("entry", KEY_IO_VALID)
def test_key_io_valid(entry: list[Any]) -> None:
    text, payload, meta = entry
    for name in CHAINS[meta["chain"]]:
        network = NETWORKS[name]
        if meta["isPrivkey"]:
            assert decode_wif(text, network) == (bytes.fromhex(payload), meta["isCompressed"])
            assert encode_wif(bytes.fromhex(payload), network,
                              compressed=meta["isCompressed"]) == text
            with pytest.raises(InputError):
                address_to_script(text, network)
        else:
            assert address_to_script(text, network).hex() == payload, name
            assert script_to_address(bytes.fromhex(payload), network) == text
            with pytest.raises(InputError):
                decode_wif(text, network)


@pytest.mark.parametrize("entry", KEY_IO_VALID)
def test_key_io_valid_case_flip(entry: list[Any]) -> None:
    """As Core's key_io_tests: flipping case keeps bech32 valid and breaks base58."""
    text, payload, meta = entry
    flipped = text.swapcase()
    for name in CHAINS[meta["chain"]]:
        network = NETWORKS[name]
        if meta.get("tryCaseFlip"):
            assert address_to_script(flipped, network).hex() == payload
            continue
        with pytest.raises(InputError):
            decode_wif(flipped, network) if meta["isPrivkey"] else address_to_script(flipped, network)


@pytest.mark.parametrize("entry", KEY_IO_VALID)
def test_key_io_valid_only_on_its_networks(entry: list[Any]) -> None:
    """A string of one network family is refused on the others (bech32 by HRP, base58 by prefix)."""
    text, payload, meta = entry
    home = CHAINS[meta["chain"]][0]
    for name, network in NETWORKS.items():
        if meta["isPrivkey"] or not meta.get("tryCaseFlip"):
            accepted = BASE58_FAMILY[name] == BASE58_FAMILY[home]
        else:
            accepted = HRP[name] == HRP[home]
        decode = decode_wif if meta["isPrivkey"] else address_to_script
        if accepted:
            decode(text, network)
        else:
            with pytest.raises(InputError):
                decode(text, network)


# ---- Bitcoin Core key_io_invalid.json -----------------------------------------------------

@pytest.mark.parametrize("text", KEY_IO_INVALID)
def test_key_io_invalid_refused_everywhere(text: str) -> None:
    for network in NETWORKS.values():
        with pytest.raises(InputError):
            address_to_script(text, network)
        with pytest.raises(InputError):
            decode_wif(text, network)


# ---- BIP-0173 / BIP-0350: bech32 and bech32m strings, segwit addresses ----------------------

@pytest.mark.parametrize("case", BECH32_STRINGS)
def test_bech32_strings(case: tuple[str, int | None, str]) -> None:
    text, const, reason = case
    if const is None:
        with pytest.raises(InputError):
            bech32_decode(text)
        return
    hrp, data, got = bech32_decode(text)
    # BIP-0350: no string is valid under both checksums; the constant tells them apart
    assert got == const
    assert hrp == text[:text.rfind("1")].lower()
    assert len(data) == len(text) - len(hrp) - 1 - 6


@pytest.mark.parametrize("case", SEGWIT)
def test_segwit_addresses(case: tuple[str, str | None, str]) -> None:
    address, script_hex, reason = case
    if script_hex is None:
        for network in NETWORKS.values():
            with pytest.raises(InputError):
                address_to_script(address, network)
        return
    hrp = address[:2].lower()
    for name, network in NETWORKS.items():
        if HRP[name] == hrp:
            assert address_to_script(address, network).hex() == script_hex, name
            assert script_to_address(bytes.fromhex(script_hex), network) == address.lower()
        else:
            with pytest.raises(InputError):
                address_to_script(address, network)


def test_bip173_v1_examples_fail_for_the_checksum_variant(load_upstream: Loader) -> None:
    for entry in load_upstream("bips/bip173.json")["valid_segwit_addresses"]:
        if entry["scriptPubKey"][:2] != "00":
            network = NETWORKS[SEGWIT_HRP_NETWORK[entry["address"][:2].lower()]]
            with pytest.raises(InputError, match="wrong checksum variant"):
                address_to_script(entry["address"], network)


# ---- script.py ------------------------------------------------------------------------------

G = ecc.pubkey_from_secret((1).to_bytes(32, "big"))     # the generator, compressed
H20, H32 = bytes(range(20)), bytes(range(32))


@pytest.mark.parametrize("script, kind", [
    (p2pkh_script(H20), "p2pkh"),
    (p2sh_script(H20), "p2sh"),
    (p2wpkh_script(H20), "p2wpkh"),
    (witness_script(0, H32), "p2wsh"),
    (p2tr_script(H32), "p2tr"),
    (witness_script(1, H20), "witness_unknown"),
    (witness_script(16, b"\x01\x02"), "witness_unknown"),
    (witness_script(0, bytes(21)), None),                # v0 programs are 20 or 32 bytes
    (bytes([0x6A, 4]) + b"data", None),                  # OP_RETURN
    (b"", None),
    (p2pkh_script(H20)[:-1], None),
])
def test_classify_script(script: bytes, kind: str | None) -> None:
    assert classify_script(script) == kind


@pytest.mark.parametrize("script", [b"", bytes([0x6A, 4]) + b"data", witness_script(0, bytes(21))])
def test_script_without_address_refused(script: bytes) -> None:
    with pytest.raises(InputError, match="has no address form"):
        script_to_address(script, NETWORKS["mainnet"])


@pytest.mark.parametrize("address_type", ["p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr"])
@pytest.mark.parametrize("network", list(NETWORKS))
def test_key_to_script_round_trips_through_the_address(address_type: str, network: str) -> None:
    script = key_to_script(G, address_type)
    address = script_to_address(script, NETWORKS[network])
    assert address_to_script(address, NETWORKS[network]) == script
    assert address.startswith({"p2wpkh": HRP[network] + "1q", "p2tr": HRP[network] + "1p"}.get(
        address_type, ""))


def test_key_to_script_unknown_type() -> None:
    with pytest.raises(InputError, match="address_type"):
        key_to_script(G, "p2wsh")


def test_p2tr_uses_the_bip86_tweak() -> None:
    output_key, _ = ecc.taproot_tweak_pubkey(G[1:])
    assert key_to_script(G, "p2tr") == b"\x51\x20" + output_key
    assert output_key != G[1:]


@pytest.mark.parametrize("address", [None, b"bc1q", "", "1" * 101, 7])
def test_address_to_script_refuses_non_strings_and_sizes(address: Any) -> None:
    with pytest.raises(InputError, match="address"):
        address_to_script(address, NETWORKS["mainnet"])


def test_base58_wrong_version_byte_refused() -> None:
    """A 21-byte payload with a prefix of neither kind is not an address."""
    text = b58check_encode(bytes([0x30]) + H20)       # Litecoin's p2pkh prefix
    for network in NETWORKS.values():
        with pytest.raises(InputError, match="not a valid"):
            address_to_script(text, network)


# ---- bech32.py ------------------------------------------------------------------------------

@pytest.mark.parametrize("version, program", [(0, H20), (0, H32), (1, H32), (16, b"\xff\xee")])
def test_segwit_round_trip(version: int, program: bytes) -> None:
    address = encode_segwit_address("bcrt", version, program)
    assert decode_segwit_address("bcrt", address) == (version, program)
    assert decode_segwit_address("bcrt", address.upper()) == (version, program)
    with pytest.raises(InputError, match="human-readable part"):
        decode_segwit_address("tb", address)


def test_bech32_refuses_mixed_case_and_length() -> None:
    address = encode_segwit_address("bc", 0, H20)
    with pytest.raises(InputError, match="mixed case"):
        bech32_decode(address[:4].upper() + address[4:])
    with pytest.raises(InputError, match="length"):
        bech32_decode("a1" + "q" * 89)


# ---- base58.py ------------------------------------------------------------------------------

def test_base58check_round_trip_and_checksum() -> None:
    text = b58check_encode(b"\x00" + H20)
    assert b58check_decode(text) == b"\x00" + H20
    assert text == base58_package.b58encode_check(b"\x00" + H20).decode()
    broken = text[:-1] + ("1" if text[-1] != "1" else "2")
    with pytest.raises(InputError, match="checksum"):
        b58check_decode(broken)


@pytest.mark.parametrize("text", [None, b"1abc", "0OIl", "ab\u00e9", "1" * 201, "", "1"])
def test_base58check_refusals(text: Any) -> None:
    with pytest.raises(InputError, match="test thing"):
        b58check_decode(text, "test thing")


# ---- wif.py ---------------------------------------------------------------------------------

SECRET = bytes(range(1, 33))


@pytest.mark.parametrize("network", list(NETWORKS))
@pytest.mark.parametrize("compressed", [True, False])
def test_wif_round_trip(network: str, compressed: bool) -> None:
    text = encode_wif(SECRET, NETWORKS[network], compressed=compressed)
    assert decode_wif(text, NETWORKS[network]) == (SECRET, compressed)
    assert text[0] in ("KL5" if network == "mainnet" else "c9")


@pytest.mark.parametrize("payload, reason", [
    (b"\x80" + SECRET + b"\x02", "not a mainnet WIF key"),    # compression flag must be 1
    (b"\x80" + SECRET[:31], "not a mainnet WIF key"),
    (b"\x80" + SECRET + b"\x01\x01", "not a mainnet WIF key"),
    (b"\xef" + SECRET + b"\x01", "not a mainnet WIF key"),    # testnet prefix
    (b"\x80" + bytes(32) + b"\x01", "scalar out of range"),
    (b"\x80" + ecc.ORDER.to_bytes(32, "big") + b"\x01", "scalar out of range"),
])
def test_wif_refusals_never_quote_the_key(payload: bytes, reason: str) -> None:
    text = b58check_encode(payload)
    with pytest.raises(InputError, match=reason) as info:
        decode_wif(text, NETWORKS["mainnet"])
    assert text not in str(info.value)


@hypothesis.settings(max_examples=300, deadline=None, derandomize=True, database=None)
@hypothesis.given(payload=hypothesis.strategies.binary(max_size=80).map(lambda b: b"\x00" * (len(b) % 4) + b))
def test_own_base58check_encoder_equals_the_package(payload: bytes) -> None:
    import base58 as package
    from coins.bitcoin.base58 import b58check_decode, b58check_encode
    assert b58check_encode(payload) == package.b58encode_check(payload).decode()
    assert b58check_decode(b58check_encode(payload)) == payload
