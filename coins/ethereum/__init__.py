"""The Ethereum plugin for qsigner (``plugin = EthereumPlugin()``): the account-model template."""

from .plugin import EthereumPlugin

__all__ = ["plugin", "EthereumPlugin"]

plugin = EthereumPlugin()
