"""Tests of coins/bitcoin/descriptors.py: BIP-0380 checksums, our four single-key forms, export.

The BIP-0380..0389 test vectors are read in place (``bips/descriptors.json``): every valid
case in one of our forms over an xpub must give the BIP's scripts, and every other case --
invalid ones, and valid ones in forms we do not support -- must be refused with an
``InputError``. embit parses what we write, independently, and must agree.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from embit.descriptor import Descriptor as EmbitDescriptor
from embit.descriptor.checksum import checksum as embit_checksum

import qsigner
from coins.bitcoin.accounts import account_key_from_mnemonic, master_key
from coins.bitcoin.base58 import b58check_decode, b58check_encode
from coins.bitcoin.descriptors import (Descriptor, account_descriptor, add_checksum,
                                       check_checksum, descriptor_checksum, parse_descriptor,
                                       watcher_export)
from coins.bitcoin.keyexpr import parse_account_key
from coins.bitcoin.networks import NETWORKS
from coins.bitcoin.script import script_to_address
from qsigner.errors import InputError, SecretError

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
MAIN, REGTEST = NETWORKS["mainnet"], NETWORKS["regtest"]
TYPES = ("p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr")
WRAP = {"p2pkh": "pkh({})", "p2sh-p2wpkh": "sh(wpkh({}))", "p2wpkh": "wpkh({})", "p2tr": "tr({})"}
BIPS = ("bip381", "bip382", "bip383", "bip384", "bip385", "bip386", "bip387", "bip389")
# BIP-0380's checksum cases carry only a description; its notes say these two are acceptable.
ACCEPTABLE_CHECKSUM_CASES = {"Valid checksum", "No checksum"}

# Our forms, recognised independently of the parser: pkh/wpkh/tr/sh(wpkh) around one key
# that is an xpub followed only by unhardened steps, one <a;b;..> step and a final /*.
_OURS = re.compile(r"(?:pkh|wpkh|tr)\(([^(),]+)\)|sh\(wpkh\(([^(),]+)\)\)")
_XPUB_KEY = re.compile(r"(?:\[[0-9a-fA-F]{8}(?:/[0-9]+[h']?)*\])?xpub[1-9A-HJ-NP-Za-km-z]+"
                       r"(?:/[0-9]+|/<[0-9]+(?:;[0-9]+)+>)*(?:/\*)?")


def is_ours(desc: str) -> bool:
    """Return True if ``desc`` is one of the single-key xpub forms we support."""
    match = _OURS.fullmatch(desc)
    return bool(match) and bool(_XPUB_KEY.fullmatch(match.group(1) or match.group(2)))


def top_level(desc: str) -> str:
    """Return the outermost function name, e.g. ``multi`` or ``sh``."""
    return desc.split("(", 1)[0]


@pytest.fixture(scope="module")
def vectors(load_upstream: Any) -> dict[str, Any]:
    return load_upstream("bips/descriptors.json")  # type: ignore[no-any-return]


def valid_cases(vectors: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(bip, case) for bip in BIPS for case in vectors[bip]["valid"]]


def invalid_cases(vectors: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(bip, case) for bip in BIPS for case in vectors[bip]["invalid"]]


def embit_scripts(desc: str, count: int, branch: int | None = None) -> list[bytes]:
    """Return embit's scripts for children 0..count-1 (one script if there is no ``/*``)."""
    parsed = EmbitDescriptor.from_string(desc)
    # embit applies a key's derivation steps only in derive(), wildcard or not
    indices = range(count) if parsed.is_wildcard else range(1)
    return [parsed.derive(i, branch_index=branch).script_pubkey().data for i in indices]


# --- BIP-0380 checksum -------------------------------------------------------------------

def test_bip380_checksum_cases(vectors: dict[str, Any]) -> None:
    cases = vectors["bip380"]["checksum"]
    assert {c["description"] for c in cases} >= ACCEPTABLE_CHECKSUM_CASES
    for case in cases:
        text, label = case["descriptor"], f"bip380 checksum: {case['description']}"
        if case["description"] == "Valid checksum":
            body = check_checksum(text)
            assert add_checksum(body) == text, label
            assert check_checksum(text, required=False) == body, label
        elif case["description"] == "No checksum":
            assert check_checksum(text, required=False) == text, label
            with pytest.raises(InputError, match="missing"):
                check_checksum(text)
        else:
            for required in (True, False):
                with pytest.raises(InputError):
                    check_checksum(text, required=required)
                    pytest.fail(f"{label}: accepted")


def test_checksum_rejects_every_single_substitution() -> None:
    text = account_descriptor(account_key_from_mnemonic(MNEMONIC, "", MAIN, "p2wpkh", 0),
                              "p2wpkh").to_string()
    body, checksum = text.split("#")
    for position in range(len(text)):
        if text[position] == "#":
            continue
        pool = "qpzry9x8gf2tvdw0s3jn54khce6mua7l" if position > len(body) else "0123456789abch/"
        replacement = next(c for c in pool if c != text[position])
        corrupted = text[:position] + replacement + text[position + 1:]
        with pytest.raises(InputError):
            check_checksum(corrupted)
    with pytest.raises(InputError):
        check_checksum(f"{body}#{checksum.upper()}")
    with pytest.raises(InputError, match="already"):
        add_checksum(text)
    with pytest.raises(InputError, match="charset"):
        add_checksum("wpkh(\u00dc)")


def test_checksums_agree_with_embit(vectors: dict[str, Any]) -> None:
    texts = [c["descriptor"] for _, c in valid_cases(vectors) + invalid_cases(vectors)]
    texts += [e for _, c in valid_cases(vectors) for e in c.get("expands_to", [])]
    assert len(texts) > 80
    for text in texts:
        assert descriptor_checksum(text) == embit_checksum(text), text


# --- upstream vectors through the parser -------------------------------------------------

def test_upstream_valid_cases_in_our_forms(vectors: dict[str, Any]) -> None:
    ours = [(bip, c) for bip, c in valid_cases(vectors) if is_ours(c["descriptor"])]
    # bip381 pkh(xpub/0), bip382 wpkh(xpub/1/2/*), bip389 wpkh(<1;3>) and pkh(<0;1;2>)
    assert len(ours) == 4, [c["descriptor"] for _, c in ours]
    known: dict[str, list[str]] = {}
    for bip, case in ours:
        parsed = parse_descriptor(case["descriptor"], MAIN)
        if "scripts" in case:
            assert not parsed.is_multipath
            got = ([parsed.script_pubkey(i).hex() for i in range(len(case["scripts"]))]
                   if parsed.ranged else [parsed.script_pubkey().hex()])
            assert got == case["scripts"], f"{bip}: {case['descriptor']}"
            known[parsed.to_string()] = case["scripts"]
        with pytest.raises(InputError, match="another network"):
            parse_descriptor(case["descriptor"], REGTEST)
    cross_checked = 0
    for bip, case in ours:
        parsed = parse_descriptor(case["descriptor"], MAIN)
        if "expands_to" not in case:
            continue
        expansions = [parse_descriptor(e, MAIN) for e in case["expands_to"]]
        assert parsed.expand() == expansions, f"{bip}: {case['descriptor']}"
        for chain, single in enumerate(expansions):
            indices = range(3) if single.ranged else [None]
            assert [parsed.script_pubkey(i, chain=chain) for i in indices] == \
                [single.script_pubkey(i) for i in indices]
            if single.to_string() in known:   # BIP-0389 branch == a BIP-0382 vector
                cross_checked += 1
                assert [parsed.script_pubkey(i, chain=chain).hex() for i in range(3)] == \
                    known[single.to_string()]
    assert cross_checked == 1


def test_upstream_other_valid_cases_are_refused(vectors: dict[str, Any]) -> None:
    others = [(bip, c["descriptor"]) for bip, c in valid_cases(vectors)
              if not is_ours(c["descriptor"])]
    assert {top_level(d) for _, d in others} == {
        "pk", "pkh", "sh", "wpkh", "wsh", "multi", "sortedmulti", "combo", "raw", "addr", "tr"}
    for bip, desc in others:
        with pytest.raises(InputError) as refused:
            parse_descriptor(desc, MAIN)
        assert top_level(desc) + "(" in str(refused.value), f"{bip}: {desc}: {refused.value}"


def test_upstream_invalid_cases_are_refused(vectors: dict[str, Any]) -> None:
    for bip, case in invalid_cases(vectors):
        with pytest.raises(InputError):
            parse_descriptor(case["descriptor"], MAIN)
            pytest.fail(f"{bip}: {case['description']}: accepted")


def test_bip380_key_expressions_in_each_form(vectors: dict[str, Any]) -> None:
    expressions = vectors["bip380"]["key_expressions"]
    accepted = 0
    for case in expressions["valid"]:
        for kind, template in WRAP.items():
            desc = template.format(case["expression"])
            if not is_ours(desc):
                with pytest.raises(InputError):
                    parse_descriptor(desc, MAIN)
                continue
            accepted += 1
            parsed = parse_descriptor(desc, MAIN)
            assert parsed.address_type == kind
            assert parsed.to_string(checksum=False) == desc.replace("'", "h")
            indices = range(3) if parsed.ranged else [None]
            assert [parsed.script_pubkey(i) for i in indices] == \
                embit_scripts(desc, 3), f"{case['description']} in {kind}"
    assert accepted == 4 * len(WRAP)
    for case in expressions["invalid"]:
        for template in WRAP.values():
            with pytest.raises(InputError):
                parse_descriptor(template.format(case["expression"]), MAIN)


@pytest.mark.parametrize("text, match", [
    ("wpkh(XPUB/0h/*)", "hardened"),
    ("wpkh(XPUB/0/*h)", "hardened"),
    ("wpkh(XPUB/*/0)", "last"),
    ("wpkh(XPUB/<0;0>/*)", "distinct"),
    ("wpkh(XPUB/<0>/*)", "distinct"),
    ("wpkh(XPUB/<0;1>/<2;3>/*)", "more than one multipath"),
    ("wpkh(XPUB/2147483648/*)", "bad derivation step"),
    ("sh(pkh(XPUB/0/*))", "sh\\(pkh\\(\\)\\) is not supported"),
    ("tr(XPUB/0/*,pk(XPUB/1/*))", "script trees"),
    ("wpkh(XPUB/0/*))", "unbalanced"),
    ("wpkh(XPUB,XPUB)", "2 arguments"),
    ("WPKH(XPUB)", "script expression"),
    ("wpkh(XPUB/0/*)#", "8 characters"),
])
def test_refusals_name_the_problem(text: str, match: str) -> None:
    xpub = account_key_from_mnemonic(MNEMONIC, "", MAIN, "p2wpkh", 0).xpub.to_string()
    with pytest.raises(InputError, match=match):
        parse_descriptor(text.replace("XPUB", xpub), MAIN)


def test_private_and_slip132_keys_refused() -> None:
    xprv = master_key(MNEMONIC, "", MAIN).to_string()
    with pytest.raises(InputError, match="private") as refused:
        parse_descriptor(f"wpkh({xprv}/0/*)", MAIN)
    assert xprv not in str(refused.value)
    xpub = account_key_from_mnemonic(MNEMONIC, "", MAIN, "p2wpkh", 0).xpub.to_string()
    zpub = b58check_encode((0x04B24746).to_bytes(4, "big") + b58check_decode(xpub)[4:])
    assert parse_account_key(zpub, MAIN).implied_type == "p2wpkh"
    with pytest.raises(InputError, match="SLIP-0132"):
        parse_descriptor(f"wpkh({zpub}/0/*)", MAIN)


# --- descriptors we write ----------------------------------------------------------------

@pytest.mark.parametrize("network", [MAIN, REGTEST], ids=lambda n: n.name)
@pytest.mark.parametrize("kind", TYPES)
def test_written_descriptors_derive_our_addresses(kind: str, network: Any,
                                                  bitcoin: qsigner.CoinPlugin) -> None:
    account = account_key_from_mnemonic(MNEMONIC, "", network, kind, 0)
    receive = account_descriptor(account, kind)
    change = account_descriptor(account, kind, change=True)
    both = account_descriptor(account, kind, multipath=True)
    assert receive.to_string(checksum=False) == WRAP[kind].format(f"{account.to_string()}/0/*")
    assert change.to_string(checksum=False) == WRAP[kind].format(f"{account.to_string()}/1/*")
    assert both.to_string(checksum=False) == WRAP[kind].format(f"{account.to_string()}/<0;1>/*")
    assert both.expand() == [receive, change]
    for written in (receive, change, both):
        assert parse_descriptor(written.to_string(), network) == written
        assert parse_descriptor(written.to_string(checksum=False), network) == written
    for index in range(20):
        for chain, single in enumerate((receive, change)):
            expected = bitcoin.derive_address(MNEMONIC, index, network=network.name,
                                              change=bool(chain), address_type=kind)
            assert script_to_address(single.script_pubkey(index), network) == expected
            assert script_to_address(both.script_pubkey(index, chain=chain), network) == expected


@pytest.mark.parametrize("network", [MAIN, REGTEST], ids=lambda n: n.name)
@pytest.mark.parametrize("kind", TYPES)
def test_embit_reads_what_we_write(kind: str, network: Any) -> None:
    account = account_key_from_mnemonic(MNEMONIC, "", network, kind, 0)
    for written, branches in ((account_descriptor(account, kind), [None]),
                              (account_descriptor(account, kind, change=True), [None]),
                              (account_descriptor(account, kind, multipath=True), [0, 1])):
        text = written.to_string()
        body, checksum = text.split("#")
        assert embit_checksum(body) == checksum
        for branch in branches:
            ours = [written.script_pubkey(i, chain=branch or 0) for i in range(5)]
            assert embit_scripts(text, 5, branch) == ours, text


def test_descriptor_index_and_chain_checked() -> None:
    account = account_key_from_mnemonic(MNEMONIC, "", MAIN, "p2wpkh", 0)
    ranged = account_descriptor(account, "p2wpkh", multipath=True)
    fixed = parse_descriptor(f"wpkh({account.to_string()}/0/7)", MAIN)
    assert fixed.script_pubkey() == ranged.script_pubkey(7)
    for call in (lambda: ranged.script_pubkey(), lambda: fixed.script_pubkey(0),
                 lambda: ranged.script_pubkey(0, chain=2), lambda: ranged.script_pubkey(-1),
                 lambda: ranged.script_pubkey(2 ** 31), lambda: ranged.script_pubkey(True)):
        with pytest.raises(InputError):
            call()


def test_account_descriptor_refuses_a_contradicting_type() -> None:
    account = account_key_from_mnemonic(MNEMONIC, "", MAIN, "p2wpkh", 0)
    with pytest.raises(InputError, match="p2wpkh, not p2tr"):
        account_descriptor(account, "p2tr")
    with pytest.raises(InputError, match="address_type"):
        account_descriptor(account, "p2wsh")


# --- watcher_export ----------------------------------------------------------------------

def accounts(network: Any, types: tuple[str, ...] = TYPES) -> dict[str, Any]:
    return {t: account_key_from_mnemonic(MNEMONIC, "", network, t, 0) for t in types}


def test_watcher_export_shape() -> None:
    keys = accounts(REGTEST)
    exported = watcher_export(keys, range_end=1999, timestamp=1700000000)
    assert len(exported) == 2 * len(TYPES)
    for position, entry in enumerate(exported):
        kind, internal = TYPES[position // 2], bool(position % 2)
        assert entry == {"desc": account_descriptor(keys[kind], kind, change=internal).to_string(),
                         "active": True, "internal": internal, "range": [0, 1999],
                         "timestamp": 1700000000}
        assert list(entry) == ["desc", "active", "internal", "range", "timestamp"]
        assert check_checksum(entry["desc"]).endswith(("/1/*)" if internal else "/0/*)")
                                                      + (")" if kind == "p2sh-p2wpkh" else ""))
    assert json.loads(json.dumps(exported)) == exported
    assert watcher_export(keys)[0]["range"] == [0, 999]
    assert watcher_export(keys)[0]["timestamp"] == "now"


@pytest.mark.parametrize("options", [
    {"range_end": -1}, {"range_end": 1_000_000}, {"range_end": True}, {"range_end": "999"},
    {"timestamp": "later"}, {"timestamp": -1}, {"timestamp": 1.5}, {"timestamp": False},
])
def test_watcher_export_refuses_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(InputError, match=next(iter(options))):
        watcher_export(accounts(REGTEST, ("p2wpkh",)), **options)


def test_watcher_export_refuses_nothing() -> None:
    with pytest.raises(InputError, match="nothing"):
        watcher_export({})


def test_plugin_watcher_export(bitcoin: qsigner.CoinPlugin) -> None:
    exported = bitcoin.watcher_export(MNEMONIC, network="regtest")  # type: ignore[attr-defined]
    assert exported == watcher_export(accounts(REGTEST, ("p2wpkh", "p2sh-p2wpkh", "p2pkh",
                                                         "p2tr")))
    text = json.dumps(exported)
    assert "abandon" not in text and "prv" not in text
    one = bitcoin.watcher_export(  # type: ignore[attr-defined]
        MNEMONIC, network="mainnet", address_types=("p2tr",), account=3, passphrase="TREZOR",
        range_end=10, timestamp=0)
    key = account_key_from_mnemonic(MNEMONIC, "TREZOR", MAIN, "p2tr", 3)
    assert one == watcher_export({"p2tr": key}, range_end=10, timestamp=0)
    assert one[0]["desc"].startswith(f"tr([{key.origin.to_string()}]xpub")
    assert key.origin.to_string().endswith("/86h/0h/3h")


@pytest.mark.parametrize("options, error", [
    ({"network": "nonet"}, InputError),
    ({"address_types": ("p2wsh",)}, InputError),
    ({"address_types": ()}, InputError),
    ({"address_types": "p2wpkh"}, InputError),
    ({"address_types": ("p2tr", "p2tr")}, InputError),
    ({"account": -1}, InputError),
    ({"account": True}, InputError),
    ({"passphrase": None}, InputError),
    ({"range_end": 10 ** 7}, InputError),
    ({"timestamp": "yesterday"}, InputError),
])
def test_plugin_watcher_export_refuses(options: dict[str, Any], error: type[Exception],
                                       bitcoin: qsigner.CoinPlugin) -> None:
    call = {"network": "regtest", **options}
    with pytest.raises(error):
        bitcoin.watcher_export(MNEMONIC, **call)  # type: ignore[attr-defined]


def test_plugin_watcher_export_refuses_bad_mnemonic(bitcoin: qsigner.CoinPlugin) -> None:
    with pytest.raises(SecretError) as refused:
        bitcoin.watcher_export("abandon " * 12, network="regtest")  # type: ignore[attr-defined]
    assert "abandon" not in str(refused.value)


def test_descriptor_is_a_plain_value() -> None:
    account = account_key_from_mnemonic(MNEMONIC, "", MAIN, "p2wpkh", 0)
    written = account_descriptor(account, "p2wpkh")
    assert isinstance(written, Descriptor) and written.ranged and not written.is_multipath
    assert written.paths() == ((0,),)
    assert account_descriptor(account, "p2wpkh", multipath=True).paths() == ((0,), (1,))
