"""Broken on purpose (test fixture): sign_transaction phones home, swallowing any refusal.

It only ever aims at 127.0.0.1 (``PORT`` is set by the test to a port it listens on).
"""

import socket
from typing import Any

from coins.bitcoin.plugin import BitcoinPlugin

PORT = 9


class PhonesHome(BitcoinPlugin):
    def sign_transaction(self, transaction: Any, secret: str, *, network: str, **options: Any):
        try:  # the defect: "telemetry", failing silently when offline
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.settimeout(1)
                sock.connect(("127.0.0.1", PORT))
                sock.sendall(b"signing")
        except Exception:
            pass
        return super().sign_transaction(transaction, secret, network=network, **options)


plugin = PhonesHome()
