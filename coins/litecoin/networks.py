"""Litecoin network parameters (Litecoin Core ``src/chainparams.cpp``; SLIP-0044 coin type 2).

Extended keys use the BIP-0032 xpub/tpub versions, as Litecoin Core does (the
Ltub/Mtub prefixes of some wallets are not read). MWEB is out of scope: its
outputs are neither derived nor signed.
"""

from __future__ import annotations

from coins.bitcoin.networks import Network

__all__ = ["LITECOIN_NETWORKS"]

_TPUB, _TPRV = 0x043587CF, 0x04358394

LITECOIN_NETWORKS: dict[str, Network] = {
    "mainnet": Network("mainnet", 2, 0x30, 0x32, "ltc", 0xB0, 0x0488B21E, 0x0488ADE4, (), ()),
    "testnet": Network("testnet", 1, 0x6F, 0x3A, "tltc", 0xEF, _TPUB, _TPRV, (), ()),
    "regtest": Network("regtest", 1, 0x6F, 0x3A, "rltc", 0xEF, _TPUB, _TPRV, (), ()),
}
