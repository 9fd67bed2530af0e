"""Broken on purpose (test fixture): generate_keypair logs the new mnemonic at DEBUG."""

import logging
from typing import Any

from coins.bitcoin.plugin import BitcoinPlugin

log = logging.getLogger("mycoin.keys")
log.propagate = False  # its own quiet logger: the kit must see it anyway
log.setLevel(logging.WARNING)


class LogsSecret(BitcoinPlugin):
    def generate_keypair(self, *, network: str, entropy: bytes | None = None, **options: Any):
        pair = super().generate_keypair(network=network, entropy=entropy, **options)
        log.debug("new key: %s", pair.secret)  # the defect
        return pair


plugin = LogsSecret()
