"""Broken on purpose (test fixture): derive_address ends the process on a negative index."""

import sys
from typing import Any

from coins.bitcoin.plugin import BitcoinPlugin


class ExitsOnBadIndex(BitcoinPlugin):
    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        if isinstance(index, int) and index < 0:
            sys.exit("negative index")  # the defect: a command-line habit inside a library
        return super().derive_address(key, index, network=network, change=change, **options)


plugin = ExitsOnBadIndex()
