"""BIP-0032 hierarchical deterministic keys: master key, child derivation, (de)serialization.

https://github.com/bitcoin/bips/blob/master/bip-0032.mediawiki

Written on coincurve rather than taken from bip-utils: derivation is the hot path
of address generation (issue #9 measures it), and bip-utils is used by the tests
as the independent implementation we are compared with.

A node computes what its children share once and keeps it: its public key (a
scalar multiplication for a private node), its fingerprint, and the HMAC-SHA512
state keyed by its chain code. A chain key (``.../0``) kept by ``accounts`` thus
costs one HMAC and one point addition per address.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from functools import cached_property

from qsigner.errors import InputError

from . import ecc
from .base58 import b58check_decode, b58check_encode
from .hashes import HmacSha512, hash160

__all__ = ["HARDENED", "HDKey", "parse_path", "format_path", "MAX_INDEX"]

HARDENED = 0x80000000
MAX_INDEX = 0x7FFFFFFF


def parse_path(text: str) -> list[int]:
    """Return the indices of a path like ``m/84'/1'/0'`` or ``84h/1h/0h``.

    Raises:
        InputError: a step is not a number below 2^31 with an optional ' or h.
    """
    steps = text.split("/")
    if steps and steps[0] == "m":
        steps = steps[1:]
    path = []
    for step in steps:
        hardened = step[-1:] in ("'", "h", "H")
        digits = step[:-1] if hardened else step
        if not digits.isdigit() or not digits.isascii() or int(digits) > MAX_INDEX:
            raise InputError(f"derivation path: bad step {step!r}", field="path")
        path.append(int(digits) + (HARDENED if hardened else 0))
    return path


def format_path(path: list[int] | tuple[int, ...], *, prefix: str = "m", mark: str = "h") -> str:
    """Return ``path`` as text, hardened steps marked with ``mark``."""
    steps = [f"{i - HARDENED}{mark}" if i >= HARDENED else str(i) for i in path]
    return "/".join([prefix] + steps) if prefix else "/".join(steps)


@dataclass(frozen=True)
class HDKey:
    """An extended key. ``key`` is a 33-byte public key or a 32-byte secret; repr hides it."""

    version: int
    depth: int
    parent_fingerprint: bytes
    child_number: int
    chain_code: bytes = field(repr=False)
    key: bytes = field(repr=False)

    @property
    def is_private(self) -> bool:
        """Return True if this key holds a secret."""
        return len(self.key) == 32

    @property
    def pubkey(self) -> bytes:
        """Return the compressed public key."""
        return self.key if len(self.key) == 33 else self._secret_pubkey

    # Computed on first use and kept in the instance's __dict__ (the dataclass is frozen;
    # cached_property writes around __setattr__). Public data, and the chain code's HMAC.
    @cached_property
    def _secret_pubkey(self) -> bytes:
        return ecc.pubkey_from_secret(self.key)

    @cached_property
    def _fingerprint(self) -> bytes:
        return hash160(self.pubkey)[:4]

    @cached_property
    def _hmac(self) -> HmacSha512:
        return HmacSha512(self.chain_code)

    def fingerprint(self) -> bytes:
        """Return the BIP-0032 key fingerprint (first 4 bytes of HASH160 of the pubkey)."""
        return self._fingerprint

    @classmethod
    def from_seed(cls, seed: bytes, version: int) -> "HDKey":
        """Return the master key of a 16..64-byte seed."""
        digest = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
        if not ecc.is_valid_secret(digest[:32]):
            raise InputError("seed: gives an invalid master key (BIP-0032)", field="seed")
        return cls(version, 0, bytes(4), 0, digest[32:], digest[:32])

    def child(self, index: int) -> "HDKey":
        """Return child ``index`` (hardened when index >= 2^31; needs a private key)."""
        if not 0 <= index <= 0xFFFFFFFF:
            raise InputError(f"derivation index {index} out of range", field="index")
        if index >= HARDENED:
            if not self.is_private:
                raise InputError("hardened derivation needs a private key", field="path")
            data = b"\x00" + self.key + index.to_bytes(4, "big")
        else:
            data = self.pubkey + index.to_bytes(4, "big")
        digest = self._hmac.digest(data)
        tweak, chain_code = digest[:32], digest[32:]
        key = (ecc.secret_add(self.key, tweak) if len(self.key) == 32
               else ecc.pubkey_add(self.key, tweak))
        return HDKey(self.version, self.depth + 1, self._fingerprint, index, chain_code, key)

    def derive(self, path: list[int] | tuple[int, ...]) -> "HDKey":
        """Return the key at ``path`` below this one."""
        node = self
        for index in path:
            node = node.child(index)
        return node

    def public(self, version: int) -> "HDKey":
        """Return the public (neutered) form of this key with the given version bytes."""
        return HDKey(version, self.depth, self.parent_fingerprint, self.child_number,
                     self.chain_code, self.pubkey)

    def serialize(self) -> bytes:
        """Return the 78-byte BIP-0032 serialization."""
        key = b"\x00" + self.key if self.is_private else self.key
        return (self.version.to_bytes(4, "big") + bytes([self.depth]) + self.parent_fingerprint
                + self.child_number.to_bytes(4, "big") + self.chain_code + key)

    def to_string(self) -> str:
        """Return the Base58Check form (xpub..., tprv..., ...)."""
        return b58check_encode(self.serialize())

    @classmethod
    def parse(cls, text: str, *, public_versions: set[int], private_versions: set[int]) -> "HDKey":
        """Parse an extended key, checking everything BIP-0032 test vector 5 expects refused.

        Raises:
            InputError: bad encoding, unknown version, or inconsistent key data.
        """
        raw = b58check_decode(text, "extended key")
        if len(raw) != 78:
            raise InputError("extended key: length is not 78 bytes", field="key")
        version = int.from_bytes(raw[:4], "big")
        depth, parent, child_number = raw[4], raw[5:9], int.from_bytes(raw[9:13], "big")
        chain_code, key = raw[13:45], raw[45:]
        if depth == 0 and (parent != bytes(4) or child_number != 0):
            raise InputError("extended key: depth 0 with a parent fingerprint or index",
                             field="key")
        if version in private_versions:
            if key[0] != 0 or not ecc.is_valid_secret(key[1:]):
                raise InputError("extended key: private key data invalid for a private version",
                                 field="key")
            key = key[1:]
        elif version in public_versions:
            if key[0] not in (2, 3) or not ecc.is_valid_pubkey(key):
                raise InputError("extended key: public key data invalid for a public version",
                                 field="key")
        else:
            raise InputError("extended key: unknown version bytes", field="key")
        return cls(version, depth, parent, child_number, chain_code, key)
