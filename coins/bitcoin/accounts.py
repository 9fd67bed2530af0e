"""Accounts of BIP-0044/0049/0084/0086: their paths, and the chain keys addresses come from.

Path: ``m / purpose' / coin_type' / account' / change / index`` with purpose 44,
49, 84 or 86 by address type and coin type 0' on mainnet, 1' elsewhere.

Address generation calls ``chain_keys`` once per address; the public chain
keys (``.../0`` and ``.../1``) of the last few accounts are cached so that
neither PBKDF2 nor the hardened account derivation runs again per address. The
cache is keyed by a SHA-256 of the key material, so it never holds a mnemonic
as a dictionary key, and it stores only public keys.

An account public key string is not a secret, so its results are also kept under
the call's own arguments (``_public_cache``): a repeated call with the same key
string -- the exchange's loop over deposit indices, issue #9 -- is one dictionary
lookup, with no hashing of the key and no re-checking of what was checked when
the entry was made. Only exact types are looked up there (a ``True`` account
must not find the entry of account 1), and an entry answers only for the very
``Network`` object it was made with.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from qsigner.errors import InputError

from .bip32 import HARDENED, MAX_INDEX, HDKey
from .bip39 import mnemonic_to_seed
from .keyexpr import AccountKey, KeyOrigin, parse_account_key
from .networks import DEFAULT_ADDRESS_TYPE, Network, get_address_type

__all__ = ["account_path", "master_key", "account_key_from_mnemonic", "chain_keys",
           "resolve_address_type", "is_mnemonic"]

_CACHE_SIZE = 64
_chain_cache: "OrderedDict[bytes, tuple[AccountKey, str, HDKey, HDKey]]" = OrderedDict()
_ChainKeys = tuple[AccountKey, str, HDKey, HDKey]
_public_cache: dict[tuple[object, ...], tuple[Network, _ChainKeys]] = {}


def is_mnemonic(key: str) -> bool:
    """Return True if ``key`` looks like a mnemonic (several words), not an extended key."""
    return len(key.split()) > 1


def account_path(address_type: str, network: Network, account: int) -> tuple[int, ...]:
    """Return the hardened path purpose'/coin_type'/account' of an account."""
    purpose = get_address_type(address_type).purpose
    return (purpose + HARDENED, network.coin_type + HARDENED, account + HARDENED)


def master_key(mnemonic: str, passphrase: str, network: Network) -> HDKey:
    """Return the BIP-0032 master private key of a BIP-0039 mnemonic and passphrase."""
    return HDKey.from_seed(mnemonic_to_seed(mnemonic, passphrase), network.xprv)


def account_key_from_mnemonic(mnemonic: str, passphrase: str, network: Network,
                              address_type: str, account: int) -> AccountKey:
    """Return the public account key, with its origin, for a mnemonic."""
    master = master_key(mnemonic, passphrase, network)
    path = account_path(address_type, network, account)
    node = master.derive(path)
    return AccountKey(node.public(network.xpub), KeyOrigin(master.fingerprint(), path),
                      address_type)


def resolve_address_type(requested: object, implied: str | None) -> str:
    """Return the address type to use; refuse a request that contradicts the key.

    Raises:
        InputError: unknown type, or a type other than the one the key implies.
    """
    if requested is None:
        return implied or DEFAULT_ADDRESS_TYPE
    name = get_address_type(requested).name
    if implied is not None and implied != name:
        raise InputError(f"address_type: key is for {implied}, not {name}", field="address_type")
    return name


def check_account(account: object) -> int:
    """Return ``account`` if it is an index 0..2^31-1.

    Raises:
        InputError: not an int in range.
    """
    if isinstance(account, bool) or not isinstance(account, int) or not 0 <= account <= MAX_INDEX:
        raise InputError("account: must be an integer from 0 to 2147483647", field="account")
    return account


def chain_keys(key: str, network: Network, address_type: object, account: int | None,
               passphrase: str) -> tuple[AccountKey, str, HDKey, HDKey]:
    """Return (account key, address type, receive chain key, change chain key), cached.

    ``account`` None means 0 for a mnemonic and "whatever the key is" for an account
    key; a number given with an account key must match the key's last step.

    Raises:
        InputError: the key, type or account is unusable (SecretError for a bad mnemonic).
    """
    public = _public_lookup(key, address_type, account, passphrase)
    if public is not None:
        entry = _public_cache.get(public)
        if entry is not None and entry[0] is network:
            return entry[1]
    if not isinstance(key, str) or not key.strip():
        raise InputError("key: expected a mnemonic or an account public key string", field="key")
    if not isinstance(passphrase, str):
        raise InputError("passphrase: expected a string", field="passphrase")
    if account is not None:
        check_account(account)
    digest = hashlib.sha256("\x00".join(
        [key, passphrase, repr(network), str(address_type), str(account)]).encode()).digest()
    cached = _chain_cache.get(digest)
    if cached is not None:
        _chain_cache.move_to_end(digest)
        return cached
    result = _chain_keys_uncached(key, network, address_type, account, passphrase)
    _chain_cache[digest] = result
    if len(_chain_cache) > _CACHE_SIZE:
        _chain_cache.popitem(last=False)
    if public is not None and not is_mnemonic(key):   # never a mnemonic as a dictionary key
        if len(_public_cache) >= _CACHE_SIZE:
            _public_cache.clear()
        _public_cache[public] = (network, result)
    return result


def _public_lookup(key: object, address_type: object, account: object,
                   passphrase: object) -> tuple[object, ...] | None:
    """Return the ``_public_cache`` key of a call whose arguments have exact types, else None."""
    if (type(key) is str and type(passphrase) is str and passphrase == ""
            and (address_type is None or type(address_type) is str)
            and (account is None or type(account) is int)):
        return (key, address_type, account)
    return None


def _chain_keys_uncached(key: str, network: Network, address_type: object, account: int | None,
                         passphrase: str) -> tuple[AccountKey, str, HDKey, HDKey]:
    if is_mnemonic(key):
        kind = resolve_address_type(address_type, None)
        acct = account_key_from_mnemonic(key, passphrase, network, kind, account or 0)
    else:
        if passphrase:
            raise InputError("passphrase: only applies to a mnemonic, not to a public key",
                             field="passphrase")
        acct = parse_account_key(key.strip(), network)
        kind = resolve_address_type(address_type, acct.implied_type)
        # The key's own child number is its account step (and equals the origin's last step).
        if account is not None and acct.xpub.child_number != account + HARDENED:
            raise InputError("account: does not match the account key's last derivation step",
                             field="account")
    return acct, kind, acct.xpub.child(0), acct.xpub.child(1)
