"""Broken on purpose (test fixture): derive_address ends the process on a negative index."""

import sys
from typing import Any

from coins.bitcoin import plugin as bitcoin


class ExitsOnBadIndex:
    name = "bitcoin"
    networks = bitcoin.networks
    address_types = bitcoin.address_types

    def generate_keypair(self, *, network: str, entropy: bytes | None = None, **options: Any):
        return bitcoin.generate_keypair(network=network, entropy=entropy, **options)

    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        if isinstance(index, int) and index < 0:
            sys.exit("negative index")  # the defect: a command-line habit inside a library
        return bitcoin.derive_address(key, index, network=network, change=change, **options)

    def sign_transaction(self, transaction: Any, secret: str, *, network: str, **options: Any):
        return bitcoin.sign_transaction(transaction, secret, network=network, **options)

    def example_transaction(self, secret: str, *, network: str) -> str:
        return bitcoin.example_transaction(secret, network=network)

    def verify_transaction(self, signed: Any, *, network: str) -> str:
        return bitcoin.verify_transaction(signed, network=network)


plugin = ExitsOnBadIndex()
