"""secp256k1 for Bitcoin through coincurve (libsecp256k1): keys, tweaks, ECDSA, BIP-0340.

The only module that imports coincurve. ECDSA follows Bitcoin Core's
``CKey::Sign``: RFC6979 nonces, then low-R grinding by feeding a little-endian
counter as extra entropy until R fits in 32 bytes; libsecp256k1 always yields
low-S, and signatures are strict DER. Schnorr follows BIP-0340 with a fixed
all-zero ``aux_rand`` (documented in docs/keys.md): signatures are then
deterministic per key and message, as BIP-0340 allows when no randomness is
wanted. Every signature is verified before it is returned.

https://github.com/bitcoin/bips/blob/master/bip-0340.mediawiki
"""

from __future__ import annotations

from coincurve import PrivateKey, PublicKey, PublicKeyXOnly
from coincurve.keys import ffi

from qsigner.errors import InputError

from .hashes import tagged_hash

__all__ = ["ORDER", "pubkey_from_secret", "secret_add", "pubkey_add", "is_valid_pubkey",
           "is_valid_secret", "xonly", "taproot_tweak_pubkey", "taproot_tweak_secret",
           "ecdsa_sign", "ecdsa_verify", "schnorr_sign", "schnorr_verify", "SigningError",
           "pubkey_uncompressed", "ecdsa_sign_recoverable", "ecdsa_recover"]

ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
BIP340_AUX = bytes(32)


class SigningError(Exception):
    """A signature failed its own verification (a fault); never leaves ``ecc``'s callers."""


def is_valid_secret(secret: bytes) -> bool:
    """Return True if ``secret`` is a 32-byte scalar in [1, n-1]."""
    return len(secret) == 32 and 0 < int.from_bytes(secret, "big") < ORDER


def is_valid_pubkey(pubkey: bytes) -> bool:
    """Return True if ``pubkey`` is a valid compressed or uncompressed SEC1 point."""
    if len(pubkey) not in (33, 65) or pubkey[0] not in (2, 3, 4):
        return False
    try:
        PublicKey(pubkey)
    except ValueError:
        return False
    return True


def pubkey_from_secret(secret: bytes) -> bytes:
    """Return the 33-byte compressed public key of ``secret``."""
    return PublicKey.from_valid_secret(secret).format(compressed=True)


def secret_add(secret: bytes, tweak: bytes) -> bytes:
    """Return (secret + tweak) mod n; ``InputError`` if the tweak or the result is invalid."""
    t = int.from_bytes(tweak, "big")
    result = (int.from_bytes(secret, "big") + t) % ORDER
    if t >= ORDER or result == 0:
        raise InputError("key derivation produced an invalid key (BIP-0032: use the next index)")
    return result.to_bytes(32, "big")


def pubkey_add(pubkey: bytes, tweak: bytes) -> bytes:
    """Return compressed (P + tweak*G); ``InputError`` if the tweak or the result is invalid."""
    try:
        return PublicKey(pubkey).add(tweak).format(compressed=True)
    except ValueError:
        raise InputError("key derivation produced an invalid key (BIP-0032: use the next index)") from None


def xonly(pubkey: bytes) -> bytes:
    """Return the BIP-0340 x-only form (32 bytes) of a compressed public key."""
    return pubkey[1:33]


def taproot_tweak_pubkey(internal_xonly: bytes, merkle_root: bytes = b"") -> tuple[bytes, int]:
    """Return (output x-only key, parity) = lift_x(P) + hash_TapTweak(P || root)*G (BIP-0341)."""
    tweak = tagged_hash("TapTweak", internal_xonly + merkle_root)
    try:
        tweaked = PublicKeyXOnly(internal_xonly)
        tweaked.tweak_add(tweak)
    except ValueError:
        raise InputError("taproot tweak produced an invalid key") from None
    return tweaked.format(), int(tweaked.parity)


def taproot_tweak_secret(secret: bytes, merkle_root: bytes = b"") -> bytes:
    """Return the secret key of the BIP-0341 output key (negating first if P has odd y)."""
    pub = pubkey_from_secret(secret)
    d = int.from_bytes(secret, "big")
    if pub[0] == 3:
        d = ORDER - d
    return secret_add(d.to_bytes(32, "big"), tagged_hash("TapTweak", pub[1:] + merkle_root))


def ecdsa_sign(secret: bytes, msg32: bytes) -> bytes:
    """Return a strict-DER, low-S, low-R ECDSA signature of ``msg32`` as Bitcoin Core makes it."""
    key = PrivateKey(secret)
    der = key.sign(msg32, hasher=None)
    counter = 0
    # Core's SigHasLowR: a DER R of at most 32 bytes means R < 2^255.
    while der[3] > 32:
        counter += 1
        extra = ffi.new("unsigned char[32]", counter.to_bytes(32, "little"))
        der = key.sign(msg32, hasher=None, custom_nonce=(ffi.NULL, extra))
    if not ecdsa_verify(key.public_key.format(), der, msg32):
        raise SigningError("ecdsa signature failed verification")
    return der


def ecdsa_verify(pubkey: bytes, der: bytes, msg32: bytes) -> bool:
    """Return True if ``der`` is a valid signature of ``msg32`` by ``pubkey``."""
    try:
        return bool(PublicKey(pubkey).verify(der, msg32, hasher=None))
    except ValueError:
        return False


def schnorr_sign(secret: bytes, msg32: bytes) -> bytes:
    """Return a BIP-0340 signature of ``msg32`` with the fixed all-zero aux_rand."""
    key = PrivateKey(secret)
    sig = key.sign_schnorr(msg32, BIP340_AUX)
    if not schnorr_verify(key.public_key_xonly.format(), sig, msg32):
        raise SigningError("schnorr signature failed verification")
    return sig


def schnorr_verify(xonly_key: bytes, sig: bytes, msg32: bytes) -> bool:
    """Return True if ``sig`` is a valid BIP-0340 signature of ``msg32`` under ``xonly_key``."""
    try:
        return bool(PublicKeyXOnly(xonly_key).verify(sig, msg32))
    except ValueError:
        return False


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
