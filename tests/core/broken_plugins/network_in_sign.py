"""Broken on purpose (test fixture): sign_transaction phones home, swallowing any refusal.

It only ever aims at 127.0.0.1 (``PORT`` is set by the test to a port it listens on).
"""

import socket
from typing import Any

from coins.bitcoin import plugin as bitcoin

PORT = 9


class PhonesHome:
    name = "bitcoin"
    networks = bitcoin.networks
    address_types = bitcoin.address_types

    def generate_keypair(self, *, network: str, entropy: bytes | None = None, **options: Any):
        return bitcoin.generate_keypair(network=network, entropy=entropy, **options)

    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        return bitcoin.derive_address(key, index, network=network, change=change, **options)

    def sign_transaction(self, transaction: Any, secret: str, *, network: str, **options: Any):
        try:  # the defect: "telemetry", failing silently when offline
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.settimeout(1)
                sock.connect(("127.0.0.1", PORT))
                sock.sendall(b"signing")
        except Exception:
            pass
        return bitcoin.sign_transaction(transaction, secret, network=network, **options)

    def example_transaction(self, secret: str, *, network: str) -> str:
        return bitcoin.example_transaction(secret, network=network)

    def verify_transaction(self, signed: Any, *, network: str) -> str:
        return bitcoin.verify_transaction(signed, network=network)


plugin = PhonesHome()
