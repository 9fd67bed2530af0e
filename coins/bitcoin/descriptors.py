"""Output descriptors for our four single-key account types, and bitcoind's import request.

Writes and reads exactly ``pkh(KEY)``, ``sh(wpkh(KEY))``, ``wpkh(KEY)`` and ``tr(KEY)``
(BIP-0381/0382/0386, key path only) where KEY is ``[origin]xpub/.../*`` (BIP-0380),
optionally with one BIP-0389 ``<a;b>`` step, plus the BIP-0380 checksum. Everything
else -- multi, raw, addr, combo, tr() script trees, single or private keys, hardened
steps below the xpub -- is an ``InputError`` naming it: these descriptors feed
watch-only wallets, and a descriptor read half-way watches the wrong scripts.

https://github.com/bitcoin/bips/blob/master/bip-0380.mediawiki
https://github.com/bitcoin/bips/blob/master/bip-0389.mediawiki
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from qsigner.errors import InputError

from .bip32 import HARDENED, MAX_INDEX, HDKey
from .keyexpr import AccountKey, KeyOrigin
from .networks import NETWORKS, Network, get_address_type
from .script import key_to_script

__all__ = ["Descriptor", "descriptor_checksum", "add_checksum", "check_checksum",
           "parse_descriptor", "account_descriptor",
           "watcher_export", "MAX_RANGE_END"]

# BIP-0380 "Checksum": the 95 characters a descriptor may contain, in the BIP's order.
INPUT_CHARSET = ("0123456789()[],'/*abcdefgh@:$%{}"
                 "IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~"
                 "ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ")
CHECKSUM_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
GENERATOR = (0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)

MAX_DESCRIPTOR_LENGTH = 4096
MAX_RANGE_END = 999_999  # bitcoind refuses ranges of a million entries or more

_TEMPLATES = {"p2pkh": "pkh({})", "p2sh-p2wpkh": "sh(wpkh({}))", "p2wpkh": "wpkh({})",
              "p2tr": "tr({})"}
_FORMS = {"pkh": "p2pkh", "wpkh": "p2wpkh", "tr": "p2tr"}
_CALL = re.compile(r"([a-z_]+)\((.*)\)", re.DOTALL)
_KEY = re.compile(r"(?:\[([0-9a-fA-F]{8})((?:/[0-9]+[h']?)*)\])?"   # [fingerprint/origin path]
                  r"([1-9A-HJ-NP-Za-km-z]+)((?:/[^/]*)*)")          # base58 key, then /steps
_HEX_KEY = re.compile(r"(?:\[[^\]]*\])?[0-9a-fA-F]{64,130}")
_PUBLIC = frozenset(n.xpub for n in NETWORKS.values())
_PRIVATE = frozenset({n.xprv for n in NETWORKS.values()}
                     | {v for n in NETWORKS.values() for _, v in n.slip132_prv})
_SLIP132 = frozenset(v for n in NETWORKS.values() for _, v in n.slip132_pub)


def _bad(message: str) -> InputError:
    return InputError(f"descriptor: {message}", field="descriptor")


def _is_int(value: object, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high


def _polymod(symbols: list[int]) -> int:
    chk = 1
    for value in symbols:
        top = chk >> 35
        chk = (chk & 0x7FFFFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= GENERATOR[i]
    return chk


def _expand(text: str) -> list[int]:
    # BIP-0380: each character gives its low 5 bits, and every 3 characters one more
    # symbol from their "group" (position // 32), so that case swaps are caught.
    symbols, groups = [], []
    for char in text:
        position = INPUT_CHARSET.find(char)
        if position < 0:
            raise _bad("character outside the BIP-0380 descriptor charset")
        symbols.append(position & 31)
        groups.append(position >> 5)
        if len(groups) == 3:
            symbols.append(groups[0] * 9 + groups[1] * 3 + groups[2])
            groups = []
    if len(groups) == 1:
        symbols.append(groups[0])
    elif len(groups) == 2:
        symbols.append(groups[0] * 3 + groups[1])
    return symbols


def descriptor_checksum(desc: str) -> str:
    """Return the 8-character BIP-0380 checksum of a descriptor without one.

    Raises:
        InputError: ``desc`` has a character outside the descriptor charset.
    """
    value = _polymod(_expand(desc) + [0] * 8) ^ 1
    return "".join(CHECKSUM_CHARSET[(value >> (5 * (7 - i))) & 31] for i in range(8))


def add_checksum(desc: str) -> str:
    """Return ``desc#checksum``.

    Raises:
        InputError: ``desc`` already has a ``#`` or a character outside the charset.
    """
    if "#" in desc:
        raise _bad("already has a checksum")
    return f"{desc}#{descriptor_checksum(desc)}"


def check_checksum(desc: str, *, required: bool = True) -> str:
    """Return the descriptor without its ``#checksum`` after verifying it.

    With ``required=False`` a descriptor without any ``#`` is returned unchanged
    (BIP-0380 makes the checksum optional on input); a present one is always checked.

    Raises:
        InputError: the checksum is missing (when required), malformed or wrong.
    """
    if not isinstance(desc, str):
        raise _bad("expected a string")
    body, mark, checksum = desc.partition("#")
    if not mark:
        if required:
            raise _bad("checksum missing")
        return body
    if "#" in checksum:
        raise _bad("more than one '#'")
    if len(checksum) != 8 or any(c not in CHECKSUM_CHARSET for c in checksum):
        raise _bad("checksum must be 8 characters of the bech32 charset")
    if _polymod(_expand(body) + [CHECKSUM_CHARSET.index(c) for c in checksum]) != 1:
        raise _bad("checksum does not match")
    return body


@dataclass(frozen=True)
class Descriptor:
    """A single-key descriptor: address type, the xpub with its origin, and the steps below it.

    ``steps`` holds one tuple per derivation step; a BIP-0389 multipath step holds
    its alternatives (``(0, 1)`` for ``<0;1>``), any other step one index.
    ``ranged`` means the path ends in ``/*``.
    """

    address_type: str
    key: HDKey
    origin: KeyOrigin | None
    steps: tuple[tuple[int, ...], ...]
    ranged: bool

    def paths(self) -> tuple[tuple[int, ...], ...]:
        """Return the derivation path below the key of each BIP-0389 branch (one if single)."""
        width = max((len(step) for step in self.steps), default=1)
        return tuple(tuple(step[branch] if len(step) > 1 else step[0] for step in self.steps)
                     for branch in range(width))

    @property
    def is_multipath(self) -> bool:
        """Return True for a BIP-0389 descriptor with several branches."""
        return len(self.paths()) > 1

    def expand(self) -> list[Descriptor]:
        """Return the single-path descriptors of every branch, in order (BIP-0389)."""
        return [replace(self, steps=tuple((index,) for index in path)) for path in self.paths()]

    def pubkey(self, index: int | None = None, *, chain: int = 0) -> bytes:
        """Return the compressed public key at ``index`` of branch ``chain``.

        Raises:
            InputError: an index for a fixed descriptor, none for a ranged one, or a bad chain.
        """
        paths = self.paths()
        if not _is_int(chain, len(paths) - 1):
            raise InputError(f"chain: must be 0 to {len(paths) - 1}", field="chain")
        if (index is None) == self.ranged:
            raise InputError("index: " + ("required by a ranged descriptor" if self.ranged
                                          else "not taken by a descriptor without /*"),
                             field="index")
        if index is not None and not _is_int(index, MAX_INDEX):
            raise InputError("index: must be an integer from 0 to 2147483647", field="index")
        path = paths[chain] + ((index,) if index is not None else ())
        return self.key.derive(path).pubkey

    def script_pubkey(self, index: int | None = None, *, chain: int = 0) -> bytes:
        """Return the scriptPubKey at ``index`` of branch ``chain``.

        Raises:
            InputError: as for ``pubkey``.
        """
        return key_to_script(self.pubkey(index, chain=chain), self.address_type)

    def key_expression(self) -> str:
        """Return ``[origin]xpub/steps`` with ``h`` for hardened origin steps."""
        origin = f"[{self.origin.to_string()}]" if self.origin else ""
        steps = "".join("/" + (f"<{';'.join(map(str, step))}>" if len(step) > 1 else str(step[0]))
                        for step in self.steps)
        return origin + self.key.to_string() + steps + ("/*" if self.ranged else "")

    def to_string(self, *, checksum: bool = True) -> str:
        """Return the descriptor text, with its ``#checksum`` unless told otherwise."""
        text = _TEMPLATES[self.address_type].format(self.key_expression())
        return add_checksum(text) if checksum else text


def parse_descriptor(text: str, network: Network) -> Descriptor:
    """Parse one of our four single-key descriptors over an xpub/tpub of ``network``.

    Raises:
        InputError: a wrong checksum, a form or key we do not support (named), or another
            network's key.
    """
    if not isinstance(text, str) or len(text) > MAX_DESCRIPTOR_LENGTH:
        raise _bad(f"expected a string of at most {MAX_DESCRIPTOR_LENGTH} characters")
    name, args = _split_call(check_checksum(text, required=False), "descriptor")
    form = f"{name}()"
    if name == "sh" and len(args) == 1:
        inner, args = _split_call(args[0], "sh()")
        form = f"sh({inner}())"
        if inner != "wpkh":
            raise _unsupported(form)
        kind = "p2sh-p2wpkh"
    elif name in _FORMS:
        kind = _FORMS[name]
    else:
        raise _unsupported(form)
    if len(args) != 1:
        tree = " (tr() script trees are not supported)" if name == "tr" else ""
        raise _bad(f"{form} takes one key here, got {len(args)} arguments{tree}")
    return _parse_key(args[0], kind, form, network)


def _unsupported(form: str) -> InputError:
    return _bad(f"{form} is not supported; only pkh(), sh(wpkh()), wpkh() and tr() "
                "with one extended public key")


def _split_call(text: str, where: str) -> tuple[str, list[str]]:
    """Return the function name and top-level arguments of ``name(arg,...)``."""
    match = _CALL.fullmatch(text)
    if not match:
        raise _bad(f"{where} must hold a script expression such as wpkh(KEY)")
    args, depth, start = [], 0, 0
    for position, char in enumerate(match.group(2)):
        depth += (char in "({") - (char in ")}")
        if depth < 0:
            break
        if char == "," and depth == 0:
            args.append(match.group(2)[start:position])
            start = position + 1
    if depth != 0:
        raise _bad(f"unbalanced brackets in {where}")
    return match.group(1), args + [match.group(2)[start:]]


def _parse_key(text: str, kind: str, form: str, network: Network) -> Descriptor:
    if "(" in text:
        raise _bad(f"{form} takes a key, not a script")
    if _HEX_KEY.fullmatch(text):
        raise _bad(f"{form}: single public keys are not supported; use an xpub")
    match = _KEY.fullmatch(text)
    if not match:
        raise _bad(f"{form}: malformed key expression")
    fingerprint, origin_path, xpub, path = match.groups()
    origin = None
    if fingerprint is not None:
        origin = KeyOrigin(bytes.fromhex(fingerprint), tuple(
            _index(step, form, hardened_ok=True) for step in origin_path.split("/")[1:]))
    key = _parse_xpub(xpub, form, network)
    steps, ranged = _parse_path(path.split("/")[1:], form)
    return Descriptor(kind, key, origin, steps, ranged)


def _parse_xpub(text: str, form: str, network: Network) -> HDKey:
    try:
        key = HDKey.parse(text, public_versions=set(_PUBLIC | _SLIP132),
                          private_versions=set(_PRIVATE))
    except InputError as exc:
        raise _bad(f"{form}: key is not an extended public key ({exc})") from None
    if key.is_private:
        raise _bad(f"{form}: private keys are not accepted; a watcher needs only the xpub")
    if key.version in _SLIP132:
        raise _bad(f"{form}: SLIP-0132 ypub/zpub/upub/vpub are not descriptor keys; "
                   "write the xpub/tpub")
    if key.version != network.xpub:
        raise _bad(f"{form}: extended key is for another network than {network.name}")
    return key


def _parse_path(parts: list[str], form: str) -> tuple[tuple[tuple[int, ...], ...], bool]:
    steps: list[tuple[int, ...]] = []
    for position, part in enumerate(parts):
        if part in ("*h", "*'", "*H"):
            raise _bad(f"{form}: hardened children of an xpub need the private key")
        if part == "*":
            if position != len(parts) - 1:
                raise _bad(f"{form}: '*' must be the last step")
            return tuple(steps), True
        if part.startswith("<") and part.endswith(">"):
            values = tuple(_index(v, form, hardened_ok=False) for v in part[1:-1].split(";"))
            if any(len(step) > 1 for step in steps):
                raise _bad(f"{form}: more than one multipath step")
            if len(values) < 2 or len(set(values)) != len(values):
                raise _bad(f"{form}: a multipath step needs two or more distinct indices")
            steps.append(values)
        else:
            steps.append((_index(part, form, hardened_ok=False),))
    return tuple(steps), False


def _index(step: str, form: str, *, hardened_ok: bool) -> int:
    """Return a path step: digits below 2^31 with ``h`` or ``'`` where hardening is allowed."""
    hardened = step[-1:] in ("h", "'")
    digits = step[:-1] if hardened else step
    if not digits.isdigit() or not digits.isascii() or int(digits) > MAX_INDEX:
        raise _bad(f"{form}: bad derivation step {step[:16]!r}")
    if hardened and not hardened_ok:
        raise _bad(f"{form}: hardened step {step[:16]!r} below an xpub needs the private key")
    return int(digits) + (HARDENED if hardened else 0)


def account_descriptor(account: AccountKey, address_type: str, *, change: bool = False,
                       multipath: bool = False) -> Descriptor:
    """Return ``KEY/0/*`` (receive), ``KEY/1/*`` (change) or, BIP-0389, ``KEY/<0;1>/*``.

    Raises:
        InputError: unknown address type, or one the account key does not imply.
    """
    kind = get_address_type(address_type).name
    if account.implied_type is not None and account.implied_type != kind:
        raise InputError(f"address_type: account key is for {account.implied_type}, not {kind}",
                         field="address_type")
    if account.xpub.is_private:
        raise InputError("key: a watcher's descriptor takes the public account key", field="key")
    chains = (0, 1) if multipath else (1,) if change else (0,)
    return Descriptor(kind, account.xpub, account.origin, (chains,), True)


def watcher_export(account_keys: dict[str, AccountKey], *, range_end: int = 999,
                   timestamp: str | int = "now") -> list[dict[str, Any]]:
    """Return the JSON array bitcoind's ``importdescriptors`` takes for these accounts.

    Per address type, in the dict's order: the receive descriptor (``internal``
    false) and then the change descriptor (``internal`` true), both active and
    ranged ``[0, range_end]``. ``timestamp`` is ``"now"`` or a unix time from which
    bitcoind rescans.

    Raises:
        InputError: no accounts, a bad type/account pair, range_end or timestamp.
    """
    if not _is_int(range_end, MAX_RANGE_END):
        raise InputError(f"range_end: must be an integer from 0 to {MAX_RANGE_END}",
                         field="range_end")
    if timestamp != "now" and (isinstance(timestamp, bool) or not isinstance(timestamp, int)
                               or timestamp < 0):
        raise InputError('timestamp: must be "now" or a unix time in seconds',
                         field="timestamp")
    if not account_keys:
        raise InputError("account_keys: nothing to export", field="account_keys")
    return [{"desc": account_descriptor(account, address_type, change=internal).to_string(),
             "active": True, "internal": internal, "range": [0, range_end],
             "timestamp": timestamp}
            for address_type, account in account_keys.items() for internal in (False, True)]
