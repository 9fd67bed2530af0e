"""Account key expressions: ``[fingerprint/84h/1h/0h]tpub...``, bare xpub/tpub and SLIP-0132.

The origin notation is BIP-0380's key expression; SLIP-0132 ypub/zpub/upub/vpub
prefixes are read (they imply an address type) and always written back as
xpub/tpub. Any contradiction between the string and the request -- another
network's version bytes, a SLIP-0132 type or origin purpose other than the
requested address type, an origin that does not match the key's depth -- is an
``InputError``: a silently reinterpreted key derives foreign addresses.

https://github.com/bitcoin/bips/blob/master/bip-0380.mediawiki#key-expressions
https://github.com/satoshilabs/slips/blob/master/slip-0132.md
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qsigner.errors import InputError

from .bip32 import HARDENED, HDKey, format_path, parse_path
from .networks import ADDRESS_TYPES, NETWORKS, Network

__all__ = ["KeyOrigin", "AccountKey", "parse_account_key"]

_ORIGIN = re.compile(r"^\[([0-9a-fA-F]{8})((?:/[0-9]+['hH]?)*)\](.+)$")


@dataclass(frozen=True)
class KeyOrigin:
    """Where a key sits below a master key: master fingerprint and path."""

    fingerprint: bytes
    path: tuple[int, ...]

    def to_string(self) -> str:
        """Return ``fingerprint/84h/1h/0h`` (no brackets)."""
        return format_path(self.path, prefix=self.fingerprint.hex())


@dataclass(frozen=True)
class AccountKey:
    """A public account key with its optional origin and the address type it implies."""

    xpub: HDKey
    origin: KeyOrigin | None
    implied_type: str | None

    def to_string(self) -> str:
        """Return ``[origin]xpub`` (or the bare key without an origin)."""
        key = self.xpub.to_string()
        return f"[{self.origin.to_string()}]{key}" if self.origin else key


def parse_account_key(text: str, network: Network) -> AccountKey:
    """Parse an account public key of ``network`` in any accepted form.

    Raises:
        InputError: malformed, private, of another network, or self-contradictory.
    """
    origin = None
    match = _ORIGIN.match(text)
    if match:
        path = tuple(parse_path(match.group(2)[1:])) if match.group(2) else ()
        origin = KeyOrigin(bytes.fromhex(match.group(1)), path)
        text = match.group(3)
    elif text.startswith("["):
        raise InputError("key: malformed origin; expected [fingerprint/path]xpub", field="key")
    xpub = _parse_extended_public(text, network)
    implied = network.slip132_type(xpub.version)
    if origin is not None:
        _check_origin(origin, xpub, network)
        implied = _purpose_type(origin, implied)
    return AccountKey(xpub.public(network.xpub), origin, implied)


def _parse_extended_public(text: str, network: Network) -> HDKey:
    own_pub = {network.xpub} | {v for _, v in network.slip132_pub}
    own_prv = {network.xprv} | {v for _, v in network.slip132_prv}
    others = [n for n in NETWORKS.values() if n.xpub != network.xpub]
    other_pub = {n.xpub for n in others} | {v for n in others for _, v in n.slip132_pub}
    other_prv = {n.xprv for n in others} | {v for n in others for _, v in n.slip132_prv}
    key = HDKey.parse(text, public_versions=own_pub | other_pub,
                      private_versions=own_prv | other_prv)
    if key.is_private:
        raise InputError("key: private extended keys are not accepted here; "
                         "pass the mnemonic or the account public key", field="key")
    if key.version not in own_pub:
        raise InputError(f"key: extended key is for another network than {network.name}",
                         field="key")
    return key


def _check_origin(origin: KeyOrigin, xpub: HDKey, network: Network) -> None:
    if len(origin.path) != xpub.depth:
        raise InputError(f"key: origin path has {len(origin.path)} steps but the key has "
                         f"depth {xpub.depth}", field="key")
    if origin.path and origin.path[-1] != xpub.child_number:
        raise InputError("key: origin path does not end in the key's child number", field="key")
    if len(origin.path) >= 2 and origin.path[1] >= HARDENED and \
            origin.path[1] - HARDENED != network.coin_type:
        raise InputError(f"key: origin coin type {origin.path[1] - HARDENED}' is not "
                         f"{network.name}'s {network.coin_type}'", field="key")


def _purpose_type(origin: KeyOrigin, implied: str | None) -> str | None:
    if not origin.path or origin.path[0] < HARDENED:
        return implied
    purpose = origin.path[0] - HARDENED
    by_purpose = next((t.name for t in ADDRESS_TYPES.values() if t.purpose == purpose), None)
    if implied and by_purpose and implied != by_purpose:
        raise InputError(f"key: SLIP-0132 prefix implies {implied} but the origin purpose is "
                         f"{purpose}'", field="key")
    return by_purpose or implied
