"""The key store: what the signer pins about its seed, bootstrapped from the secret.

On the first start with a secret, ``bootstrap`` writes
``keystore-<coin>-<network>.json`` in the data directory: the master
fingerprint, the account public keys per address type and, when the plugin
offers them, the watcher's descriptors -- never the secret. On later starts it
refuses to run when the secret's fingerprint differs from the pinned one: a
signer started with the wrong seed would sign nothing, or hand out addresses of
someone else's wallet. A corrupt or truncated file is a ``StateError``; it is
never reset silently.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from .datadir import DataDir
from .errors import ConfigError, StateError
from .protocol import CoinPlugin

__all__ = ["KeyStore", "bootstrap", "load_keystore", "keystore_name", "SCHEMA"]

SCHEMA = "qsigner-keystore/1"


@dataclass
class KeyStore:
    """The public facts pinned for one coin and network."""

    coin: str
    network: str
    fingerprint: str
    accounts: dict[str, str] = field(default_factory=dict)      # "p2wpkh/0" -> [origin]xpub
    descriptors: list[Any] = field(default_factory=list)         # importdescriptors entries
    created: int = 0

    def to_json(self) -> bytes:
        """Return the file's bytes."""
        return (json.dumps({"schema": SCHEMA, "coin": self.coin, "network": self.network,
                            "fingerprint": self.fingerprint, "accounts": self.accounts,
                            "descriptors": self.descriptors, "created": self.created},
                           indent=1, sort_keys=True) + "\n").encode()


def keystore_name(coin: str, network: str) -> str:
    """Return the key store's file name for ``coin`` on ``network``."""
    return f"keystore-{coin}-{network}.json"


def load_keystore(datadir: DataDir, coin: str, network: str) -> KeyStore | None:
    """Return the key store of ``coin``/``network``, or None if there is none yet.

    Raises:
        StateError: the file exists but is not a complete, valid key store.
    """
    name = keystore_name(coin, network)
    raw = datadir.read(name)
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        if doc.get("schema") != SCHEMA or doc["coin"] != coin or doc["network"] != network:
            raise ValueError("schema, coin or network differ")
        store = KeyStore(doc["coin"], doc["network"], str(doc["fingerprint"]),
                         dict(doc["accounts"]), list(doc["descriptors"]), int(doc["created"]))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StateError(f"{datadir.file(name)}: corrupt or truncated key store ({exc}); "
                         "restore it from backup or move it away to bootstrap again") from None
    return store


def _fingerprint(plugin: CoinPlugin, secret: str, network: str, options: dict[str, Any]) -> str:
    """Return the plugin's fingerprint of the seed, or its first address as a public pin."""
    method: Any = getattr(plugin, "fingerprint", None)
    if method is not None:
        return str(method(secret, network=network, **options))
    return "address:" + plugin.derive_address(secret, 0, network=network, **options)


def bootstrap(datadir: DataDir, plugin: CoinPlugin, secret: str, network: str, *,
              account: int = 0, passphrase: str = "") -> KeyStore:
    """Pin the secret's fingerprint and public keys on first use; check them afterwards.

    Raises:
        ConfigError: the secret belongs to another seed than the pinned one.
        StateError: the key store is corrupt.
    """
    options = {"passphrase": passphrase} if passphrase else {}
    fingerprint = _fingerprint(plugin, secret, network, options)
    store = load_keystore(datadir, plugin.name, network)
    if store is not None and store.fingerprint != fingerprint:
        raise ConfigError(
            f"QSIGNER_SECRET: this seed's fingerprint {fingerprint} differs from the one pinned "
            f"in {datadir.file(keystore_name(plugin.name, network))} ({store.fingerprint}); "
            "refusing to run with another seed", variable="QSIGNER_SECRET")
    store = store or KeyStore(plugin.name, network, fingerprint, created=int(time.time()))
    if _add_accounts(store, plugin, secret, network, account, options):
        datadir.write_atomic(keystore_name(plugin.name, network), store.to_json())
    return store


def _add_accounts(store: KeyStore, plugin: CoinPlugin, secret: str, network: str,
                  account: int, options: dict[str, Any]) -> bool:
    account_key: Any = getattr(plugin, "account_key", None)
    export: Any = getattr(plugin, "watcher_export", None)
    missing = [t for t in plugin.address_types if f"{t}/{account}" not in store.accounts]
    if not missing and store.created:
        return False
    for address_type in missing:
        if account_key is not None:
            store.accounts[f"{address_type}/{account}"] = account_key(
                secret, network=network, address_type=address_type, account=account, **options)
    if export is not None and missing:
        store.descriptors = export(secret, network=network, account=account, **options)
    return True
