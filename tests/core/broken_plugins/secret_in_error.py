"""Broken on purpose (test fixture): a refused derive_address quotes the key in its message."""

from typing import Any

from coins.bitcoin.plugin import BitcoinPlugin
from qsigner.errors import InputError


class QuotesKey(BitcoinPlugin):
    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        try:
            return super().derive_address(key, index, network=network, change=change, **options)
        except InputError as exc:
            raise InputError(f"{exc} (key {key!r})") from None  # the defect


plugin = QuotesKey()
