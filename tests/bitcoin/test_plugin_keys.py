"""The Bitcoin plugin's key contract: ``generate_keypair`` and ``derive_address``.

Uses the ``bitcoin`` fixture (the plugin loaded through the registry). Known answers
below are receive address 0 of the all-zero-entropy mnemonic as printed in BIP-0049,
BIP-0084 and BIP-0086; BIP-0044 has no vectors, so its p2pkh address was computed with
bip-utils 2.12.3.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from bip_utils import Bip39Languages, Bip39MnemonicEncoder

import qsigner
from coins.bitcoin.accounts import master_key
from coins.bitcoin.base58 import b58check_decode, b58check_encode
from coins.bitcoin.networks import NETWORKS
from qsigner.errors import InputError, SecretError

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
# A valid mnemonic whose words appear in no error message (BIP-0039 entropy 7f7f...7f).
PHRASE = "legal winner thank year wave sausage worth useful legal winner thank yellow"
TEST_NETWORKS = ("testnet", "testnet4", "signet", "regtest")
PURPOSE = {"p2pkh": 44, "p2sh-p2wpkh": 49, "p2wpkh": 84, "p2tr": 86}
# SLIP-0132 versions written out from the SLIP: (mainnet, testnet) per address type.
SLIP132 = {"p2sh-p2wpkh": (0x049D7CB2, 0x044A5262), "p2wpkh": (0x04B24746, 0x045F1CF6)}
SLIP132_PREFIX = {0x049D7CB2: "ypub", 0x044A5262: "upub", 0x04B24746: "zpub", 0x045F1CF6: "vpub"}
KNOWN = [   # (network, address_type, receive address 0 of MNEMONIC)
    ("mainnet", "p2pkh", "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"),                           # bip-utils
    ("mainnet", "p2wpkh", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"),                  # BIP-0084
    ("mainnet", "p2tr", "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"),  # BIP-0086
    ("testnet", "p2sh-p2wpkh", "2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2"),                     # BIP-0049
]
PUBLIC_RE = re.compile(r"^\[(?P<fp>[0-9a-f]{8})/(?P<purpose>\d+)h/(?P<coin>\d+)h/(?P<account>\d+)h\]"
                       r"(?P<key>(?P<prefix>xpub|tpub)[1-9A-HJ-NP-Za-km-z]{107})$")


def split_public(public: str) -> tuple[str, str]:
    """Return (origin with brackets, bare key) of a ``[origin]xpub`` string."""
    origin, _, key = public.partition("]")
    return origin + "]", key


def slip132(key: str, address_type: str, network: str) -> str:
    """Return ``key`` re-encoded with the SLIP-0132 version of ``address_type`` on ``network``."""
    version = SLIP132[address_type][network != "mainnet"]
    return b58check_encode(version.to_bytes(4, "big") + b58check_decode(key)[4:])


def messages(exc: BaseException | None) -> Iterator[str]:
    """Yield the text of an exception and of every exception chained to it."""
    while exc is not None:
        yield str(exc)
        yield repr(exc)
        exc = exc.__cause__ or exc.__context__


@pytest.fixture(scope="module")
def keys(bitcoin: qsigner.CoinPlugin) -> dict[tuple[str, str], qsigner.KeyPair]:
    """KeyPairs of MNEMONIC (all-zero entropy) per (network, address type)."""
    return {(n, t): bitcoin.generate_keypair(network=n, entropy=bytes(16), address_type=t)
            for n in ("mainnet",) + TEST_NETWORKS for t in PURPOSE}


def test_plugin_meets_the_protocol(bitcoin: qsigner.CoinPlugin) -> None:
    assert isinstance(bitcoin, qsigner.CoinPlugin)
    assert bitcoin.name == "bitcoin"
    assert set(bitcoin.networks) == {"mainnet", "testnet", "testnet4", "signet", "regtest"}
    assert set(bitcoin.address_types) == set(PURPOSE) and bitcoin.address_types[0] == "p2wpkh"
    assert repr(bitcoin) == "<BitcoinPlugin bitcoin>"


# ---- generate_keypair ---------------------------------------------------------------------

@pytest.mark.parametrize("length", [16, 20, 24, 28, 32])
def test_generate_keypair_deterministic(bitcoin: qsigner.CoinPlugin, length: int) -> None:
    entropy = bytes(range(100, 100 + length))
    first = bitcoin.generate_keypair(network="testnet", entropy=entropy)
    assert bitcoin.generate_keypair(network="testnet", entropy=entropy) == first
    assert bitcoin.generate_keypair(network="testnet", entropy=bytearray(entropy)) == first
    assert first.secret == str(Bip39MnemonicEncoder(Bip39Languages.ENGLISH).Encode(entropy))
    assert len(first.secret.split()) == length * 3 // 4
    assert first.address == bitcoin.derive_address(first.secret, 0, network="testnet")
    assert first.address == bitcoin.derive_address(first.public, 0, network="testnet")


def test_generate_keypair_random(bitcoin: qsigner.CoinPlugin) -> None:
    first = bitcoin.generate_keypair(network="regtest")
    second = bitcoin.generate_keypair(network="regtest", entropy=None)
    assert first.secret != second.secret
    assert first.public != second.public and first.address != second.address
    for pair in (first, second):
        assert len(pair.secret.split()) == 24
        assert pair.address == bitcoin.derive_address(pair.secret, 0, network="regtest")
        assert pair.address.startswith("bcrt1q")


@pytest.mark.parametrize("entropy", [b"", bytes(15), bytes(17), bytes(33), bytes(64),
                                     "00" * 16, 0, 1.5, [0] * 16, True])
def test_generate_keypair_bad_entropy(bitcoin: qsigner.CoinPlugin, entropy: Any) -> None:
    with pytest.raises(InputError, match="entropy"):
        bitcoin.generate_keypair(network="testnet", entropy=entropy)


@pytest.mark.parametrize("network", ("mainnet",) + TEST_NETWORKS)
@pytest.mark.parametrize("address_type", list(PURPOSE))
def test_public_form(keys: dict[tuple[str, str], qsigner.KeyPair], network: str,
                     address_type: str) -> None:
    pair = keys[network, address_type]
    match = PUBLIC_RE.match(pair.public)
    assert match, pair.public
    assert match["fp"] == "73c5da0a"
    assert int(match["purpose"]) == PURPOSE[address_type]
    assert match["coin"] == ("0" if network == "mainnet" else "1")
    assert match["account"] == "0"
    assert match["prefix"] == ("xpub" if network == "mainnet" else "tpub")


@pytest.mark.parametrize("network, address_type, address", KNOWN)
def test_known_first_addresses(keys: dict[tuple[str, str], qsigner.KeyPair], network: str,
                               address_type: str, address: str) -> None:
    assert keys[network, address_type].secret == MNEMONIC
    assert keys[network, address_type].address == address


def test_default_address_type_is_p2wpkh(bitcoin: qsigner.CoinPlugin,
                                        keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    assert bitcoin.generate_keypair(network="signet", entropy=bytes(16)) == keys["signet", "p2wpkh"]
    assert bitcoin.derive_address(MNEMONIC, 0, network="signet") == keys["signet", "p2wpkh"].address


def test_keypair_repr_hides_the_secret(keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    pair = keys["mainnet", "p2wpkh"]
    for text in (repr(pair), str(pair)):
        assert pair.secret not in text
        for word in set(pair.secret.split()):
            assert not re.search(rf"\b{word}\b", text), word     # base58 runs are one \w token
        assert pair.public in text and pair.address in text


def test_keypair_repr_hides_a_random_secret(bitcoin: qsigner.CoinPlugin) -> None:
    pair = bitcoin.generate_keypair(network="mainnet")
    text = repr(pair)
    assert pair.secret not in text
    assert not [w for w in pair.secret.split() if re.search(rf"\b{w}\b", text)]


# ---- derive_address: every key form gives the same addresses -------------------------------

@pytest.mark.parametrize("network", ("mainnet",) + TEST_NETWORKS)
@pytest.mark.parametrize("address_type", list(PURPOSE))
def test_key_forms_agree(bitcoin: qsigner.CoinPlugin, keys: dict[tuple[str, str], qsigner.KeyPair],
                         network: str, address_type: str) -> None:
    public = keys[network, address_type].public
    origin, bare = split_public(public)
    forms: list[tuple[str, dict[str, Any]]] = [
        (MNEMONIC, {"address_type": address_type}),
        (public, {}),                                   # origin purpose implies the type
        (public, {"address_type": address_type}),
        (bare, {"address_type": address_type}),
    ]
    if address_type in SLIP132:
        converted = slip132(bare, address_type, network)
        assert SLIP132_PREFIX[int.from_bytes(b58check_decode(converted)[:4], "big")] == converted[:4]
        forms += [(converted, {}), (converted, {"address_type": address_type}),
                  (origin + converted, {})]
    for index, change in ((0, False), (1, False), (0, True), (2**31 - 1, True)):
        got = {bitcoin.derive_address(key, index, network=network, change=change, **options)
               for key, options in forms}
        assert len(got) == 1, (index, change, got)
    assert bitcoin.derive_address(bare, 0, network=network, address_type=address_type) \
        == keys[network, address_type].address


def test_bare_key_defaults_to_p2wpkh(bitcoin: qsigner.CoinPlugin,
                                     keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    _, bare = split_public(keys["testnet", "p2wpkh"].public)
    assert bitcoin.derive_address(bare, 0, network="testnet") == keys["testnet", "p2wpkh"].address


def test_key_with_surrounding_whitespace(bitcoin: qsigner.CoinPlugin,
                                         keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    pair = keys["testnet", "p2tr"]
    assert bitcoin.derive_address(f"  {pair.public}\n", 0, network="testnet") == pair.address
    assert bitcoin.derive_address(f"\n{MNEMONIC}  ", 0, network="testnet",
                                  address_type="p2tr") == pair.address


def test_change_chain_differs(bitcoin: qsigner.CoinPlugin) -> None:
    receive = [bitcoin.derive_address(MNEMONIC, i, network="testnet") for i in range(3)]
    change = [bitcoin.derive_address(MNEMONIC, i, network="testnet", change=True) for i in range(3)]
    assert len(set(receive + change)) == 6
    assert bitcoin.derive_address(MNEMONIC, 0, network="testnet", change=False) == receive[0]


def test_account_option(bitcoin: qsigner.CoinPlugin,
                        keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    pair = bitcoin.generate_keypair(network="testnet", entropy=bytes(16), account=1)
    assert pair.public.startswith("[73c5da0a/84h/1h/1h]tpub")
    assert pair.address == bitcoin.derive_address(MNEMONIC, 0, network="testnet", account=1)
    assert pair.address != keys["testnet", "p2wpkh"].address
    for index in (0, 5):
        expected = bitcoin.derive_address(MNEMONIC, index, network="testnet", account=1)
        assert bitcoin.derive_address(pair.public, index, network="testnet") == expected
        assert bitcoin.derive_address(pair.public, index, network="testnet", account=1) == expected
    with pytest.raises(InputError, match="account"):
        bitcoin.derive_address(pair.public, 0, network="testnet", account=2)
    with pytest.raises(InputError, match="account"):
        bitcoin.derive_address(keys["testnet", "p2wpkh"].public, 0, network="testnet", account=1)


def test_account_option_checked_against_a_bare_key(bitcoin: qsigner.CoinPlugin,
                                                   keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    """A bare account-0 key asked for account 1 is refused, not silently read as account 0."""
    _, bare0 = split_public(keys["testnet", "p2wpkh"].public)
    _, bare1 = split_public(bitcoin.generate_keypair(network="testnet", entropy=bytes(16),
                                                     account=1).public)
    with pytest.raises(InputError, match="account"):
        bitcoin.derive_address(bare0, 0, network="testnet", account=1)
    assert bitcoin.derive_address(bare1, 3, network="testnet", account=1) \
        == bitcoin.derive_address(MNEMONIC, 3, network="testnet", account=1)


@pytest.mark.parametrize("account", [-1, 2**31, True, "1", 1.0, None])
def test_account_option_refused(bitcoin: qsigner.CoinPlugin, account: Any) -> None:
    with pytest.raises(InputError, match="account"):
        bitcoin.derive_address(MNEMONIC, 0, network="testnet", account=account)
    with pytest.raises(InputError, match="account"):
        bitcoin.generate_keypair(network="testnet", entropy=bytes(16), account=account)


def test_passphrase_changes_everything(bitcoin: qsigner.CoinPlugin,
                                       keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    plain = keys["mainnet", "p2wpkh"]
    salted = bitcoin.generate_keypair(network="mainnet", entropy=bytes(16), passphrase="TREZOR")
    assert salted.secret == plain.secret
    assert salted.public[:9] != plain.public[:9] and salted.address != plain.address
    assert bitcoin.derive_address(MNEMONIC, 0, network="mainnet", passphrase="TREZOR") == salted.address
    assert bitcoin.derive_address(salted.public, 0, network="mainnet") == salted.address
    assert bitcoin.derive_address(MNEMONIC, 0, network="mainnet", passphrase="") == plain.address


def test_passphrase_refused_with_a_public_key(bitcoin: qsigner.CoinPlugin,
                                              keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    with pytest.raises(InputError, match="passphrase"):
        bitcoin.derive_address(keys["mainnet", "p2wpkh"].public, 0, network="mainnet",
                               passphrase="TREZOR")


@pytest.mark.parametrize("passphrase", [None, b"TREZOR", 1])
def test_passphrase_must_be_a_string(bitcoin: qsigner.CoinPlugin, passphrase: Any) -> None:
    with pytest.raises(InputError, match="passphrase"):
        bitcoin.derive_address(MNEMONIC, 0, network="mainnet", passphrase=passphrase)
    with pytest.raises(InputError, match="passphrase"):
        bitcoin.generate_keypair(network="mainnet", entropy=bytes(16), passphrase=passphrase)


# ---- derive_address: refusals --------------------------------------------------------------

@pytest.mark.parametrize("address_type", ["p2sh-p2wpkh", "p2wpkh"])
@pytest.mark.parametrize("network", ["mainnet", "testnet"])
def test_slip132_contradicting_address_type(bitcoin: qsigner.CoinPlugin,
                                            keys: dict[tuple[str, str], qsigner.KeyPair],
                                            address_type: str, network: str) -> None:
    key = slip132(split_public(keys[network, address_type].public)[1], address_type, network)
    for other in set(PURPOSE) - {address_type}:
        with pytest.raises(InputError, match="address_type: key is for"):
            bitcoin.derive_address(key, 0, network=network, address_type=other)


@pytest.mark.parametrize("address_type", ["p2sh-p2wpkh", "p2wpkh"])
def test_slip132_of_another_network(bitcoin: qsigner.CoinPlugin,
                                    keys: dict[tuple[str, str], qsigner.KeyPair],
                                    address_type: str) -> None:
    main_key = slip132(split_public(keys["mainnet", address_type].public)[1], address_type, "mainnet")
    test_key = slip132(split_public(keys["testnet", address_type].public)[1], address_type, "testnet")
    for network in TEST_NETWORKS:
        with pytest.raises(InputError, match="another network"):
            bitcoin.derive_address(main_key, 0, network=network)
    with pytest.raises(InputError, match="another network"):
        bitcoin.derive_address(test_key, 0, network="mainnet")


def test_xpub_on_test_networks_and_tpub_on_mainnet(bitcoin: qsigner.CoinPlugin,
                                                   keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    xpub = keys["mainnet", "p2wpkh"].public
    tpub = keys["testnet", "p2wpkh"].public
    for key in (xpub, split_public(xpub)[1]):
        for network in TEST_NETWORKS:
            with pytest.raises(InputError, match="another network"):
                bitcoin.derive_address(key, 0, network=network)
    for key in (tpub, split_public(tpub)[1]):
        with pytest.raises(InputError, match="another network"):
            bitcoin.derive_address(key, 0, network="mainnet")


@pytest.mark.parametrize("address_type", list(PURPOSE))
def test_origin_purpose_contradicting_address_type(bitcoin: qsigner.CoinPlugin,
                                                   keys: dict[tuple[str, str], qsigner.KeyPair],
                                                   address_type: str) -> None:
    public = keys["testnet", address_type].public
    for other in set(PURPOSE) - {address_type}:
        with pytest.raises(InputError, match="address_type: key is for"):
            bitcoin.derive_address(public, 0, network="testnet", address_type=other)


def test_origin_on_another_network_refused(bitcoin: qsigner.CoinPlugin,
                                           keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    """A mainnet origin (coin type 0') on a tpub is a contradiction, not a hint."""
    origin, _ = split_public(keys["mainnet", "p2wpkh"].public)
    _, tpub = split_public(keys["testnet", "p2wpkh"].public)
    with pytest.raises(InputError, match="coin type"):
        bitcoin.derive_address(origin + tpub, 0, network="testnet")


def test_extended_private_key_refused(bitcoin: qsigner.CoinPlugin,
                                      keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    for network in ("mainnet", "testnet"):
        xprv = master_key(MNEMONIC, "", NETWORKS[network]).to_string()
        with pytest.raises(InputError, match="private extended keys are not accepted") as info:
            bitcoin.derive_address(xprv, 0, network=network)
        assert xprv not in str(info.value)


@pytest.mark.parametrize("index", [-1, 2**31, 2**32, True, False, "0", 1.5, None])
def test_bad_index(bitcoin: qsigner.CoinPlugin, index: Any) -> None:
    with pytest.raises(InputError, match="index"):
        bitcoin.derive_address(MNEMONIC, index, network="testnet")


@pytest.mark.parametrize("change", [1, 0, "yes", None])
def test_bad_change(bitcoin: qsigner.CoinPlugin, change: Any) -> None:
    with pytest.raises(InputError, match="change"):
        bitcoin.derive_address(MNEMONIC, 0, network="testnet", change=change)


@pytest.mark.parametrize("network", ["bitcoin", "Mainnet", "testnet3", "main", "", None, 1])
def test_unknown_network(bitcoin: qsigner.CoinPlugin, network: Any) -> None:
    with pytest.raises(InputError, match="network"):
        bitcoin.derive_address(MNEMONIC, 0, network=network)
    with pytest.raises(InputError, match="network"):
        bitcoin.generate_keypair(network=network, entropy=bytes(16))


@pytest.mark.parametrize("address_type", ["p2wsh", "P2WPKH", "p2sh", "segwit", "", 84])
def test_unknown_address_type(bitcoin: qsigner.CoinPlugin, address_type: Any,
                              keys: dict[tuple[str, str], qsigner.KeyPair]) -> None:
    for key in (MNEMONIC, keys["testnet", "p2wpkh"].public):
        with pytest.raises(InputError, match="address_type"):
            bitcoin.derive_address(key, 0, network="testnet", address_type=address_type)
    with pytest.raises(InputError, match="address_type"):
        bitcoin.generate_keypair(network="testnet", entropy=bytes(16), address_type=address_type)


@pytest.mark.parametrize("option", ["adress_type", "coin", "path", "entropy"])
def test_unknown_option(bitcoin: qsigner.CoinPlugin, option: str) -> None:
    with pytest.raises(InputError, match=f"option '{option}' is not known"):
        bitcoin.derive_address(MNEMONIC, 0, network="testnet", **{option: "x"})
    if option != "entropy":
        with pytest.raises(InputError, match=f"option '{option}' is not known"):
            bitcoin.generate_keypair(network="testnet", entropy=bytes(16), **{option: "x"})


BAD_MNEMONICS = [
    pytest.param(PHRASE.replace("winner", "winnr", 1), id="wrong-word"),
    pytest.param(PHRASE.replace("yellow", "year"), id="wrong-checksum"),
    pytest.param(PHRASE + " wave", id="13-words"),
    pytest.param(" ".join(PHRASE.split()[:11]), id="11-words"),
]


@pytest.mark.parametrize("phrase", BAD_MNEMONICS)
def test_bad_mnemonic_is_secret_error_without_words(bitcoin: qsigner.CoinPlugin, phrase: str) -> None:
    with pytest.raises(SecretError, match="mnemonic") as info:
        bitcoin.derive_address(phrase, 0, network="testnet")
    assert isinstance(info.value, InputError)
    for text in messages(info.value):
        assert not [w for w in phrase.split() if w in text.lower()], text


@pytest.mark.parametrize("key", ["", "   ", "legal", None, 12, b"tpub"])
def test_key_not_usable(bitcoin: qsigner.CoinPlugin, key: Any) -> None:
    with pytest.raises(InputError, match="key") as info:
        bitcoin.derive_address(key, 0, network="testnet")
    assert "legal" not in str(info.value)
