"""Broken on purpose (test fixture): derive_address assumes a multi-word key has 12 words."""

from typing import Any

from coins.bitcoin.plugin import BitcoinPlugin


class AssumesTwelveWords(BitcoinPlugin):
    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        if isinstance(key, str) and " " in key:
            key.split()[11]  # the defect: IndexError on fewer than 12 words
        return super().derive_address(key, index, network=network, change=change, **options)


plugin = AssumesTwelveWords()
