"""The Bitcoin reference plugin for qsigner (``plugin = BitcoinPlugin()``)."""

from .plugin import BitcoinPlugin

__all__ = ["plugin", "BitcoinPlugin"]

plugin = BitcoinPlugin()
