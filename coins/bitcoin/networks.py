"""Network parameters: address prefixes, extended-key versions and BIP-0044 coin types.

Sources: Bitcoin Core ``src/kernel/chainparams.cpp`` (prefixes, HRPs),
BIP-0032 (xpub/tpub versions), SLIP-0132 (ypub/zpub/upub/vpub versions),
SLIP-0044 (coin types). Other UTXO coins reuse this module by defining their own
``Network`` values rather than copying the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from qsigner.errors import InputError

__all__ = ["Network", "NETWORKS", "ADDRESS_TYPES", "AddressType", "get_network",
           "get_address_type", "DEFAULT_ADDRESS_TYPE"]


@dataclass(frozen=True)
class AddressType:
    """An address type: its contract name and the BIP-0043 purpose of its account path."""

    name: str
    purpose: int
    bip: str


ADDRESS_TYPES: dict[str, AddressType] = {
    "p2pkh": AddressType("p2pkh", 44, "BIP-0044"),
    "p2sh-p2wpkh": AddressType("p2sh-p2wpkh", 49, "BIP-0049"),
    "p2wpkh": AddressType("p2wpkh", 84, "BIP-0084"),
    "p2tr": AddressType("p2tr", 86, "BIP-0086"),
}
DEFAULT_ADDRESS_TYPE = "p2wpkh"


@dataclass(frozen=True)
class Network:
    """Everything that differs between networks of one coin."""

    name: str
    coin_type: int          # SLIP-0044, hardened in paths
    p2pkh_prefix: int       # Base58Check version byte
    p2sh_prefix: int
    hrp: str                # BIP-0173 human-readable part
    wif_prefix: int
    xpub: int               # BIP-0032 version bytes (xpub/tpub)
    xprv: int
    slip132_pub: tuple[tuple[str, int], ...]   # (address type, version) pairs
    slip132_prv: tuple[tuple[str, int], ...]

    def slip132_type(self, version: int) -> str | None:
        """Return the address type a SLIP-0132 public or private version implies."""
        for address_type, known in self.slip132_pub + self.slip132_prv:
            if known == version:
                return address_type
        return None


_MAIN_SLIP132_PUB = (("p2sh-p2wpkh", 0x049D7CB2), ("p2wpkh", 0x04B24746))
_MAIN_SLIP132_PRV = (("p2sh-p2wpkh", 0x049D7878), ("p2wpkh", 0x04B2430C))
_TEST_SLIP132_PUB = (("p2sh-p2wpkh", 0x044A5262), ("p2wpkh", 0x045F1CF6))
_TEST_SLIP132_PRV = (("p2sh-p2wpkh", 0x044A4E28), ("p2wpkh", 0x045F18BC))


def _test_network(name: str, hrp: str) -> Network:
    return Network(name, 1, 0x6F, 0xC4, hrp, 0xEF, 0x043587CF, 0x04358394,
                   _TEST_SLIP132_PUB, _TEST_SLIP132_PRV)


NETWORKS: dict[str, Network] = {
    "mainnet": Network("mainnet", 0, 0x00, 0x05, "bc", 0x80, 0x0488B21E, 0x0488ADE4,
                       _MAIN_SLIP132_PUB, _MAIN_SLIP132_PRV),
    "testnet": _test_network("testnet", "tb"),      # testnet3
    "testnet4": _test_network("testnet4", "tb"),
    "signet": _test_network("signet", "tb"),
    "regtest": _test_network("regtest", "bcrt"),
}


def get_network(name: object, networks: dict[str, Network] = NETWORKS) -> Network:
    """Return the parameters of network ``name``.

    Raises:
        InputError: ``name`` is not one of ``networks``.
    """
    if not isinstance(name, str) or name not in networks:
        raise InputError(f"network: {name!r} is not one of {', '.join(networks)}",
                         field="network")
    return networks[name]


def get_address_type(name: object) -> AddressType:
    """Return the address type called ``name``.

    Raises:
        InputError: ``name`` is not a known address type.
    """
    if not isinstance(name, str) or name not in ADDRESS_TYPES:
        raise InputError(f"address_type: {name!r} is not one of {', '.join(ADDRESS_TYPES)}",
                         field="address_type")
    return ADDRESS_TYPES[name]
