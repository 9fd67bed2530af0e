"""Broken on purpose (test fixture): without entropy, keys come from the random module."""

import random
from typing import Any

from coins.bitcoin import plugin as bitcoin


class RandomModuleKeys:
    name = "bitcoin"
    networks = bitcoin.networks
    address_types = bitcoin.address_types

    def generate_keypair(self, *, network: str, entropy: bytes | None = None, **options: Any):
        if entropy is None:
            entropy = random.randbytes(32)  # the defect: not a cryptographic source
        return bitcoin.generate_keypair(network=network, entropy=entropy, **options)

    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        return bitcoin.derive_address(key, index, network=network, change=change, **options)

    def sign_transaction(self, transaction: Any, secret: str, *, network: str, **options: Any):
        return bitcoin.sign_transaction(transaction, secret, network=network, **options)

    def example_transaction(self, secret: str, *, network: str) -> str:
        return bitcoin.example_transaction(secret, network=network)

    def verify_transaction(self, signed: Any, *, network: str) -> str:
        return bitcoin.verify_transaction(signed, network=network)


plugin = RandomModuleKeys()
