"""secp256k1 for Bitcoin through coincurve (libsecp256k1): keys, tweaks, ECDSA, BIP-0340.

The only module that imports coincurve. ECDSA follows Bitcoin Core's
``CKey::Sign``: RFC6979 nonces, then low-R grinding by feeding a little-endian
counter as extra entropy until R fits in 32 bytes; libsecp256k1 always yields
low-S, and signatures are strict DER. Schnorr follows BIP-0340 with a fixed
all-zero ``aux_rand`` (documented in docs/keys.md): signatures are then
deterministic per key and message, as BIP-0340 allows when no randomness is
wanted. Every signature is verified before it is returned.

Speed (issue #9): the hot paths -- public child derivation, the BIP-0341 tweak,
signing -- call libsecp256k1 through coincurve's own ``lib``/``ffi`` rather than
its ``PrivateKey``/``PublicKey`` objects, which compute keys nobody asked for
(``PrivateKey()`` makes both public keys, two scalar multiplications) and
re-parse points on every call. ``P + t*G`` is ``pubkey_create`` plus
``pubkey_combine``, measured cheaper than ``pubkey_tweak_add`` (docs/performance.md). The
last ``_POINTS_KEPT`` public keys parsed or computed stay parsed (an LRU of
public data only), so the chain key every address comes from, and a child key
about to get its taproot tweak, are not decompressed again. Every length that
libsecp256k1 would trust is checked here first.

https://github.com/bitcoin/bips/blob/master/bip-0340.mediawiki
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from coincurve import PrivateKey, PublicKey
from coincurve.context import GLOBAL_CONTEXT
from coincurve.keys import ffi, lib

from qsigner.errors import InputError, QsignerError

from .hashes import tagged_hash

__all__ = ["ORDER", "pubkey_from_secret", "secret_add", "pubkey_add", "is_valid_pubkey",
           "is_valid_secret", "xonly", "taproot_tweak_pubkey", "taproot_tweak_secret",
           "ecdsa_sign", "ecdsa_verify", "schnorr_sign", "schnorr_verify", "SigningError",
           "TaprootSigningKey",
           "pubkey_uncompressed", "ecdsa_sign_recoverable", "ecdsa_recover"]

ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
BIP340_AUX = bytes(32)
_CTX = GLOBAL_CONTEXT.ctx
_COMPRESSED = lib.SECP256K1_EC_COMPRESSED
_POINTS_KEPT = 64
_points: "OrderedDict[bytes, Any]" = OrderedDict()   # SEC1 encoding -> secp256k1_pubkey


class SigningError(QsignerError):
    """A signature failed its own verification (a fault): refused, so it never leaves the signer."""


# ---- points kept in libsecp256k1's parsed form --------------------------------------------

def _point(pubkey: bytes) -> Any:
    """Return the parsed point of a SEC1 key (kept, or parsed now and kept), None if invalid."""
    if type(pubkey) is not bytes:   # a bytearray or memoryview is not a dictionary key
        pubkey = bytes(pubkey)
    point = _points.get(pubkey)
    if point is not None:
        try:
            _points.move_to_end(pubkey)
        except KeyError:  # evicted meanwhile by another thread; still valid here
            pass
        return point
    if len(pubkey) not in (33, 65) or pubkey[0] not in (2, 3, 4):
        return None   # libsecp256k1 would also take the hybrid 06/07 forms
    point = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ec_pubkey_parse(_CTX, point, pubkey, len(pubkey)):
        return None
    _keep(pubkey, point)
    return point


def _keep(pubkey: bytes, point: Any) -> None:
    _points[pubkey] = point
    if len(_points) > _POINTS_KEPT:
        try:
            _points.popitem(last=False)
        except KeyError:  # emptied meanwhile by another thread
            pass


def _serialize(point: Any) -> bytes:
    out, size = ffi.new("unsigned char[33]"), ffi.new("size_t *", 33)
    lib.secp256k1_ec_pubkey_serialize(_CTX, out, size, point, _COMPRESSED)
    return ffi.buffer(out, 33)[:]


def _secret_point(secret: bytes) -> Any:
    """Return secret*G, or None if ``secret`` is not a 32-byte scalar in [1, n-1]."""
    point = ffi.new("secp256k1_pubkey *")
    if len(secret) != 32 or not lib.secp256k1_ec_pubkey_create(_CTX, point, secret):
        return None
    return point


def _add_tweak(point: Any, tweak: bytes) -> Any:
    """Return P + tweak*G, or None if the tweak is >= n or the sum is the point at infinity."""
    if len(tweak) != 32:
        return None
    tweak_point = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ec_pubkey_create(_CTX, tweak_point, tweak):
        return point if not any(tweak) else None   # a zero tweak adds nothing (BIP-0032 allows it)
    out = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ec_pubkey_combine(_CTX, out, ffi.new("secp256k1_pubkey *[2]",
                                                               [point, tweak_point]), 2):
        return None
    return out


def _lift_x(x: bytes) -> Any:
    """Return BIP-0340 lift_x(x), the even-y point, from a kept point if there is one."""
    point = _points.get(b"\x02" + x)
    if point is None:
        odd = _points.get(b"\x03" + x)
        if odd is None:
            return _point(b"\x02" + x)
        point = ffi.new("secp256k1_pubkey *", odd[0])
        lib.secp256k1_ec_pubkey_negate(_CTX, point)
    return point


# ---- keys ----------------------------------------------------------------------------------

def is_valid_secret(secret: bytes) -> bool:
    """Return True if ``secret`` is a 32-byte scalar in [1, n-1]."""
    return len(secret) == 32 and 0 < int.from_bytes(secret, "big") < ORDER


def is_valid_pubkey(pubkey: bytes) -> bool:
    """Return True if ``pubkey`` is a valid compressed or uncompressed SEC1 point."""
    return _point(pubkey) is not None


def pubkey_from_secret(secret: bytes) -> bytes:
    """Return the 33-byte compressed public key of ``secret``.

    Raises:
        ValueError: ``secret`` is not a 32-byte scalar in [1, n-1].
    """
    point = _secret_point(secret)
    if point is None:
        raise ValueError("invalid secret key")
    pubkey = _serialize(point)
    _keep(pubkey, point)
    return pubkey


def secret_add(secret: bytes, tweak: bytes) -> bytes:
    """Return (secret + tweak) mod n; ``InputError`` if the tweak or the result is invalid."""
    t = int.from_bytes(tweak, "big")
    result = (int.from_bytes(secret, "big") + t) % ORDER
    if t >= ORDER or result == 0:
        raise InputError("key derivation produced an invalid key (BIP-0032: use the next index)")
    return result.to_bytes(32, "big")


def pubkey_add(pubkey: bytes, tweak: bytes) -> bytes:
    """Return compressed (P + tweak*G); ``InputError`` if the tweak or the result is invalid."""
    point = _point(pubkey)
    child = None if point is None else _add_tweak(point, tweak)
    if child is None:
        raise InputError("key derivation produced an invalid key (BIP-0032: use the next index)")
    result = _serialize(child)
    _keep(result, child)
    return result


def xonly(pubkey: bytes) -> bytes:
    """Return the BIP-0340 x-only form (32 bytes) of a compressed public key."""
    return pubkey[1:33]


def taproot_tweak_pubkey(internal_xonly: bytes, merkle_root: bytes = b"") -> tuple[bytes, int]:
    """Return (output x-only key, parity) = lift_x(P) + hash_TapTweak(P || root)*G (BIP-0341)."""
    point = _lift_x(internal_xonly) if len(internal_xonly) == 32 else None
    tweaked = None if point is None else _add_tweak(
        point, tagged_hash("TapTweak", internal_xonly + merkle_root))
    if tweaked is None:
        raise InputError("taproot tweak produced an invalid key")
    output = _serialize(tweaked)
    return output[1:], output[0] - 2


def taproot_tweak_secret(secret: bytes, merkle_root: bytes = b"",
                         pubkey: bytes | None = None) -> bytes:
    """Return the secret key of the BIP-0341 output key (negating first if P has odd y).

    ``pubkey``, when the caller already has it, is the secret's compressed public key.
    """
    pub = pubkey_from_secret(secret) if pubkey is None else pubkey
    d = int.from_bytes(secret, "big")
    if pub[0] == 3:
        d = ORDER - d
    return secret_add(d.to_bytes(32, "big"), tagged_hash("TapTweak", pub[1:] + merkle_root))


# ---- signatures ----------------------------------------------------------------------------

def ecdsa_sign(secret: bytes, msg32: bytes, pubkey: bytes | None = None) -> bytes:
    """Return a strict-DER, low-S, low-R ECDSA signature of ``msg32`` as Bitcoin Core makes it.

    The signature is verified before it is returned, under ``pubkey`` when given
    (the key the transaction names), else under the secret's own public key.

    Raises:
        ValueError: ``secret`` or ``msg32`` is not 32 bytes, or the secret is not in [1, n-1].
        SigningError: the signature does not verify.
    """
    if len(secret) != 32 or len(msg32) != 32:
        raise ValueError("ecdsa_sign needs a 32-byte secret and a 32-byte message")
    sig = ffi.new("secp256k1_ecdsa_signature *")
    compact = ffi.new("unsigned char[64]")
    extra: Any = ffi.NULL
    counter = 0
    while True:
        if not lib.secp256k1_ecdsa_sign(_CTX, sig, msg32, secret, ffi.NULL, extra):
            raise ValueError("invalid secret key")
        lib.secp256k1_ecdsa_signature_serialize_compact(_CTX, compact, sig)
        if compact[0] < 0x80:   # Core's SigHasLowR: R < 2^255, at most 32 bytes in DER
            break
        counter += 1
        extra = counter.to_bytes(32, "little")   # Core's WriteLE32 into 32 zero bytes
    point = _secret_point(secret) if pubkey is None else _point(pubkey)
    if point is None or not lib.secp256k1_ecdsa_verify(_CTX, sig, msg32, point):
        raise SigningError("ecdsa signature failed verification")
    der, size = ffi.new("unsigned char[72]"), ffi.new("size_t *", 72)
    lib.secp256k1_ecdsa_signature_serialize_der(_CTX, der, size, sig)
    return ffi.buffer(der, size[0])[:]


def ecdsa_verify(pubkey: bytes, der: bytes, msg32: bytes) -> bool:
    """Return True if ``der`` is a valid (low-S) signature of ``msg32`` by ``pubkey``."""
    point = _point(pubkey)
    if point is None or len(msg32) != 32:
        return False
    sig = ffi.new("secp256k1_ecdsa_signature *")
    if not lib.secp256k1_ecdsa_signature_parse_der(_CTX, sig, der, len(der)):
        return False
    return bool(lib.secp256k1_ecdsa_verify(_CTX, sig, msg32, point))


def _keypair(secret: bytes) -> Any:
    if len(secret) != 32:
        raise ValueError("a secret key is 32 bytes")
    keypair = ffi.new("secp256k1_keypair *")
    if not lib.secp256k1_keypair_create(_CTX, keypair, secret):
        raise ValueError("invalid secret key")
    return keypair


def _keypair_xonly(keypair: Any) -> tuple[Any, bytes]:
    """Return (parsed x-only key, its 32 bytes) of a keypair."""
    key, out = ffi.new("secp256k1_xonly_pubkey *"), ffi.new("unsigned char[32]")
    lib.secp256k1_keypair_xonly_pub(_CTX, key, ffi.NULL, keypair)
    lib.secp256k1_xonly_pubkey_serialize(_CTX, out, key)
    return key, ffi.buffer(out, 32)[:]


def _schnorr_sign(keypair: Any, key: Any, msg32: bytes) -> bytes:
    """Return the zero-aux BIP-0340 signature of ``msg32`` by ``keypair``, checked by ``key``."""
    if len(msg32) != 32:
        raise ValueError("schnorr signing takes a 32-byte message")
    sig = ffi.new("unsigned char[64]")
    if not lib.secp256k1_schnorrsig_sign32(_CTX, sig, msg32, keypair, BIP340_AUX):
        raise SigningError("schnorr signing failed")
    if not lib.secp256k1_schnorrsig_verify(_CTX, sig, msg32, 32, key):
        raise SigningError("schnorr signature failed verification")
    return ffi.buffer(sig, 64)[:]


def schnorr_sign(secret: bytes, msg32: bytes, xonly_key: bytes | None = None) -> bytes:
    """Return a BIP-0340 signature of ``msg32`` with the fixed all-zero aux_rand.

    The signature is verified before it is returned, under the secret's x-only
    key, which must equal ``xonly_key`` when given (the key the output commits to).

    Raises:
        ValueError: ``secret`` or ``msg32`` is not 32 bytes, or the secret is not in [1, n-1].
        SigningError: the key is not ``xonly_key``, or the signature does not verify.
    """
    keypair = _keypair(secret)
    key, own = _keypair_xonly(keypair)
    if xonly_key is not None and own != xonly_key:
        raise SigningError("schnorr signing key is not the expected x-only key")
    return _schnorr_sign(keypair, key, msg32)


class TaprootSigningKey:
    """The BIP-0341 output key's signing key for one secret: a libsecp256k1 keypair, tweaked.

    Opaque; the repr shows only the output key. ``internal_key`` (the secret's
    x-only key) and ``output_key`` (its tweak) are what a signer checks against
    the PSBT and the spent script. Built once while an input is planned, it then
    signs without any further key derivation (``taproot_tweak_secret`` plus
    ``schnorr_sign`` would compute two more public keys).
    """

    __slots__ = ("_keypair", "_output", "internal_key", "output_key")

    def __init__(self, secret: bytes, merkle_root: bytes = b"") -> None:
        """Tweak ``secret`` by hash_TapTweak(internal key || merkle_root), as BIP-0341 does.

        Raises:
            ValueError: ``secret`` is not a 32-byte scalar in [1, n-1].
            InputError: the tweak gives an invalid key.
        """
        keypair = _keypair(secret)
        self.internal_key = _keypair_xonly(keypair)[1]
        # libsecp256k1 negates the secret first when the internal key has odd y (BIP-0341).
        tweak = tagged_hash("TapTweak", self.internal_key + merkle_root)
        if not lib.secp256k1_keypair_xonly_tweak_add(_CTX, keypair, tweak):
            raise InputError("taproot tweak produced an invalid key")
        self._keypair = keypair
        self._output, self.output_key = _keypair_xonly(keypair)

    def __repr__(self) -> str:
        return f"<TaprootSigningKey output_key={self.output_key.hex()}>"

    def sign(self, msg32: bytes) -> bytes:
        """Return a BIP-0340 signature (zero aux_rand) of ``msg32``, verified under ``output_key``.

        Raises:
            ValueError: ``msg32`` is not 32 bytes.
            SigningError: the signature does not verify.
        """
        return _schnorr_sign(self._keypair, self._output, msg32)


def schnorr_verify(xonly_key: bytes, sig: bytes, msg32: bytes) -> bool:
    """Return True if ``sig`` is a valid BIP-0340 signature of ``msg32`` under ``xonly_key``.

    BIP-0340 allows messages of any length; Bitcoin signs 32-byte digests.
    """
    if len(xonly_key) != 32 or len(sig) != 64:
        return False
    key = ffi.new("secp256k1_xonly_pubkey *")
    if not lib.secp256k1_xonly_pubkey_parse(_CTX, key, xonly_key):
        return False
    return bool(lib.secp256k1_schnorrsig_verify(_CTX, sig, msg32, len(msg32), key))


def pubkey_uncompressed(pubkey: bytes) -> bytes:
    """Return the 65-byte uncompressed SEC1 form of a public key (Ethereum addresses hash it)."""
    return PublicKey(pubkey).format(compressed=False)


def ecdsa_sign_recoverable(secret: bytes, msg32: bytes) -> tuple[int, int, int]:
    """Return (r, s, recovery id) of an RFC6979, low-S ECDSA signature of ``msg32``.

    Used by account-model coins (Ethereum: EIP-2 requires low S). The signature is
    recovered back to the signer's key before it is returned.
    """
    key = PrivateKey(secret)
    sig = key.sign_recoverable(msg32, hasher=None)
    if ecdsa_recover(sig, msg32) != key.public_key.format(compressed=True):
        raise SigningError("recoverable signature does not recover to the signing key")
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]


def ecdsa_recover(sig65: bytes, msg32: bytes) -> bytes | None:
    """Return the compressed key that made ``sig65`` (r || s || recid) over ``msg32``, or None."""
    try:
        return PublicKey.from_signature_and_message(sig65, msg32, hasher=None).format()
    except ValueError:
        return None
