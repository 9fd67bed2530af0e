"""The Litecoin plugin: the Bitcoin engine with Litecoin's network parameters.

The UTXO-family template: a coin whose scripts, sighashes and PSBTs are Bitcoin's
needs only its ``Network`` values and the address types it offers. p2pkh (L...),
p2sh-p2wpkh (M...) and p2wpkh (ltc1...) on mainnet, testnet and regtest, BIP-0044
coin type 2' (1' on test networks). Cross-coin safety comes from the coin type:
a Litecoin signer refuses paths under Bitcoin's 0' and the Bitcoin signer refuses 2'
(on test networks both use 1', as their wallets do).
"""

from coins.bitcoin.plugin import BitcoinPlugin

from .networks import LITECOIN_NETWORKS

__all__ = ["plugin", "LitecoinPlugin"]


class LitecoinPlugin(BitcoinPlugin):
    """Litecoin through the Bitcoin engine; MWEB is out of scope."""

    name = "litecoin"
    networks: tuple[str, ...] = tuple(LITECOIN_NETWORKS)
    address_types: tuple[str, ...] = ("p2wpkh", "p2sh-p2wpkh", "p2pkh")

    def __init__(self) -> None:
        super().__init__(LITECOIN_NETWORKS)


plugin = LitecoinPlugin()
