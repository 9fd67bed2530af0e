"""Pin qsigner's public API: ``qsigner.__all__`` exactly, and every name in it exists.

Adding or removing a public name is a deliberate change: update EXPORTED here with it
(as encode/httpx:tests/test_exported_members.py does).
"""

from __future__ import annotations

import qsigner

EXPORTED = [
    "CoinPlugin",
    "ConfigError",
    "DerivationMismatchError",
    "FeeError",
    "FraudulentChangeError",
    "InputError",
    "KeyPair",
    "MissingUtxoError",
    "NetworkMismatchError",
    "NothingToSignError",
    "OfflineError",
    "OutputNotAllowedError",
    "PaymentMismatchError",
    "PluginError",
    "PolicyError",
    "QsignerError",
    "ResignError",
    "SecretError",
    "SighashNotAllowedError",
    "SignedTransaction",
    "StateError",
    "TransactionSizeError",
    "__version__",
    "available_coins",
    "load_coin",
]


def test_all_is_pinned() -> None:
    assert sorted(qsigner.__all__) == EXPORTED
    assert len(set(qsigner.__all__)) == len(qsigner.__all__)


def test_every_exported_name_exists() -> None:
    for name in qsigner.__all__:
        assert hasattr(qsigner, name), name


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from qsigner import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == EXPORTED


def test_errors_are_exported_from_one_tree() -> None:
    from qsigner import errors
    for name in errors.__all__:
        assert getattr(qsigner, name) is getattr(errors, name)
        assert issubclass(getattr(qsigner, name), qsigner.QsignerError)
    assert issubclass(qsigner.InputError, ValueError)
    assert issubclass(qsigner.SecretError, qsigner.InputError)


def test_version_is_a_string() -> None:
    assert isinstance(qsigner.__version__, str) and qsigner.__version__.count(".") == 2
