"""Broken on purpose (test fixture): derive_address is off by one (returns index + 1)."""

from typing import Any

from coins.bitcoin.plugin import BitcoinPlugin


class OffByOne(BitcoinPlugin):
    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        step = 1 if isinstance(index, int) and 0 <= index < 2**31 - 1 else 0
        return super().derive_address(key, index + step, network=network, change=change, **options)


plugin = OffByOne()
