"""Broken on purpose (test fixture): without entropy, keys come from the random module."""

import random
from typing import Any

from coins.bitcoin.plugin import BitcoinPlugin


class RandomModuleKeys(BitcoinPlugin):
    def generate_keypair(self, *, network: str, entropy: bytes | None = None, **options: Any):
        if entropy is None:
            entropy = random.randbytes(32)  # the defect: not a cryptographic source
        return super().generate_keypair(network=network, entropy=entropy, **options)


plugin = RandomModuleKeys()
