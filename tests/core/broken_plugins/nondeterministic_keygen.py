"""Broken on purpose (test fixture): generate_keypair ignores the entropy it is given."""

from typing import Any

from coins.bitcoin.plugin import BitcoinPlugin


class IgnoresEntropy(BitcoinPlugin):
    def generate_keypair(self, *, network: str, entropy: bytes | None = None, **options: Any):
        return super().generate_keypair(network=network, entropy=None, **options)  # the defect


plugin = IgnoresEntropy()
