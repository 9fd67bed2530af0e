"""The one error tree of qsigner: every refusal or failure is a ``QsignerError``.

::

    QsignerError
    ├── ConfigError          bad or missing configuration (exit status 2 in the CLI)
    ├── PluginError          a coin plugin that does not meet the protocol
    ├── OfflineError         network use while the offline guard is on
    ├── StateError           the data directory's state is corrupt or unreadable
    ├── InputError(ValueError)   malformed PSBT / key / address / hex / index
    │   └── SecretError      a malformed secret (mnemonic, passphrase); never quoted
    └── PolicyError          well-formed but refused; nothing was signed
        ├── NetworkMismatchError
        ├── SighashNotAllowedError
        ├── MissingUtxoError
        ├── DerivationMismatchError
        ├── FraudulentChangeError
        ├── FeeError
        ├── OutputNotAllowedError
        ├── PaymentMismatchError
        ├── TransactionSizeError
        ├── ResignError
        └── NothingToSignError

Messages say where and what, in lower case, and never contain a secret. Context
travels as attributes (``input_index``, ``output_index``, ``field``, ``plugin``)
so callers need not parse the text.

``SecretError`` sits under ``InputError`` (not beside it, as first sketched in
STYLE.md): a mistyped mnemonic is malformed input like any other bad key, so one
``except InputError`` catches every bad key, and the subclass tells that the
message was written with special care not to quote the secret.
"""

from __future__ import annotations

__all__ = [
    "QsignerError",
    "ConfigError",
    "PluginError",
    "OfflineError",
    "StateError",
    "SecretError",
    "InputError",
    "PolicyError",
    "NetworkMismatchError",
    "SighashNotAllowedError",
    "MissingUtxoError",
    "DerivationMismatchError",
    "FraudulentChangeError",
    "FeeError",
    "OutputNotAllowedError",
    "PaymentMismatchError",
    "TransactionSizeError",
    "ResignError",
    "NothingToSignError",
]


class QsignerError(Exception):
    """Base of every error qsigner raises on purpose."""


class ConfigError(QsignerError):
    """A configuration value (environment variable or flag) is missing or wrong."""

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


class PluginError(QsignerError):
    """A coin plugin failed to load or does not meet the protocol."""

    def __init__(self, message: str, *, plugin: str | None = None,
                 method: str | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.method = method


class OfflineError(QsignerError):
    """Network use was attempted while the offline guard was on."""


class StateError(QsignerError):
    """A state file in the data directory is corrupt, truncated or unreadable; never reset."""


class InputError(QsignerError, ValueError):
    """Malformed input: a PSBT, key, address, hex string, index or option."""

    def __init__(self, message: str, *, field: str | None = None,
                 input_index: int | None = None,
                 output_index: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.input_index = input_index
        self.output_index = output_index


class SecretError(InputError):
    """A secret (mnemonic, passphrase, seed file) cannot be used; it is never quoted."""


class PolicyError(QsignerError):
    """Well-formed input refused by the signer's policy; nothing was signed."""

    def __init__(self, message: str, *, input_index: int | None = None,
                 output_index: int | None = None) -> None:
        super().__init__(message)
        self.input_index = input_index
        self.output_index = output_index


class NetworkMismatchError(PolicyError):
    """The transaction, key or path belongs to another network than requested."""


class SighashNotAllowedError(PolicyError):
    """An input asks for a sighash type the policy does not allow."""


class MissingUtxoError(PolicyError):
    """An input lacks the previous output needed to sign it safely."""


class DerivationMismatchError(PolicyError):
    """A key derived from our seed does not match the key or script the PSBT claims."""


class FraudulentChangeError(PolicyError):
    """An output claims to be our change but does not re-derive to its script."""


class FeeError(PolicyError):
    """The fee is negative, unknown, or above a cap (absolute, rate or percentage)."""


class OutputNotAllowedError(PolicyError):
    """No outputs, a dust output, or a non-standard output script."""


class PaymentMismatchError(PolicyError):
    """The outputs other than verified change differ from ``expected_payments``."""


class TransactionSizeError(PolicyError):
    """The signed transaction would be too heavy to mine, or to relay with legacy inputs."""


class ResignError(PolicyError):
    """An input's outpoint was already signed in a different transaction (audit log)."""


class NothingToSignError(PolicyError):
    """No input of the transaction belongs to this seed."""
