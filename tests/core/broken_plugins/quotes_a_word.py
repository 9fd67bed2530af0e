"""Broken on purpose (test fixture): a refused multi-word key has its first word quoted."""

from typing import Any

from coins.bitcoin.plugin import BitcoinPlugin
from qsigner.errors import InputError


class QuotesAWord(BitcoinPlugin):
    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        try:
            return super().derive_address(key, index, network=network, change=change, **options)
        except InputError as exc:
            if isinstance(key, str) and len(key.split()) > 1:  # the defect: "helpful" context
                raise InputError(f"{exc} (key starting {key.split()[0]!r})") from None
            raise


plugin = QuotesAWord()
