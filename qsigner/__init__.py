"""qsigner: an offline signer with coin plugins; Bitcoin is the reference plugin.

Public API: ``load_coin``, ``available_coins``, the result types ``KeyPair`` and
``SignedTransaction``, the ``CoinPlugin`` protocol and the error tree.
"""

from __future__ import annotations

from . import errors
from .errors import (ConfigError, DerivationMismatchError, FeeError, FraudulentChangeError,
                     InputError, MissingUtxoError, NetworkMismatchError, NothingToSignError,
                     OfflineError, OutputNotAllowedError, PaymentMismatchError, PluginError,
                     PolicyError, QsignerError, SecretError, SighashNotAllowedError,
                     ResignError, StateError, TransactionSizeError)
from .protocol import CoinPlugin, KeyPair, SignedTransaction
from .registry import available_coins, load_coin

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "load_coin",
    "available_coins",
    "CoinPlugin",
    "KeyPair",
    "SignedTransaction",
    *errors.__all__,
]
