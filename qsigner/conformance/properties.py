"""The kit's generic properties: what every coin plugin must do, whatever its coin.

Inputs come from ``random.Random(seed)``, so a run is reproducible from its seed
and needs no test library: key generation is deterministic for given entropy and
random without it; the secret and the public key derive the same addresses;
indices and chains give distinct addresses; signing is deterministic where the
scheme is; and bad input raises ``InputError`` or ``PolicyError``, nothing else.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, OfflineError, PolicyError, QsignerError
from ..protocol import KeyPair, SignedTransaction
from .session import InstrumentedPlugin

__all__ = ["PropertyContext", "Failed", "Skipped", "PROPERTIES", "ENTROPY_BYTES",
           "MAX_INDEX", "describe_error"]

ENTROPY_BYTES = 32
"""Entropy the kit passes to ``generate_keypair``; every plugin must accept 32 bytes."""
MAX_INDEX = 2**31 - 1
RANDOM_PROBE_SEED = 20240
"""The seed given to Python's ``random`` before each entropy-less ``generate_keypair``."""


class Failed(Exception):
    """A property does not hold; the message says where and why."""


class Skipped(Exception):
    """A property does not apply to this plugin; the message says why."""


@dataclass
class Pair:
    """A key pair the kit generated from known entropy."""

    label: str
    network: str
    entropy: bytes
    keypair: KeyPair


@dataclass
class PropertyContext:
    """What the properties share: the plugin, the random source, and what earlier ones built."""

    plugin: InstrumentedPlugin
    rng: random.Random
    keys: int = 2
    indices: int = 3
    garbage: int = 6
    pairs: list[Pair] = field(default_factory=list)
    addresses: dict[tuple[int, str, bool], dict[int, str]] = field(default_factory=dict)
    transactions: dict[int, str] = field(default_factory=dict)
    index_list: list[int] = field(default_factory=list)


def describe_error(exc: BaseException) -> str:
    """Return ``Type: message`` for an error, or ``not implemented yet`` for a stub."""
    if isinstance(exc, NotImplementedError):
        return f"{type(exc).__name__}: {exc or 'not implemented yet'}"
    return f"{type(exc).__name__}: {exc}"


def _attempt(what: str, call: Callable[[], Any]) -> Any:
    """Run one positive call; any error fails the property, naming the call."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - every error is the plugin's to explain
        raise Failed(f"{what} raised {describe_error(exc)}") from None


def _needs_pairs(ctx: PropertyContext) -> list[Pair]:
    if not ctx.pairs:
        raise Failed("cannot run: no key pair (see properties/keygen-deterministic)")
    return ctx.pairs


def keygen_deterministic(ctx: PropertyContext) -> str:
    """Check that the same entropy gives the same key pair, and different entropy another."""
    plugin = ctx.plugin
    count = max(ctx.keys, min(len(plugin.networks), 8))
    for k in range(count):
        network = plugin.networks[k % len(plugin.networks)]
        entropy = ctx.rng.randbytes(ENTROPY_BYTES)
        what = f"generate_keypair(network={network!r}, entropy=<{ENTROPY_BYTES} bytes #{k + 1}>)"
        first = _attempt(what, lambda: plugin.generate_keypair(network=network, entropy=entropy))
        if not isinstance(first, KeyPair):
            raise Failed(f"{what} returned {type(first).__name__}, not a KeyPair")
        again = _attempt(what, lambda: plugin.generate_keypair(network=network, entropy=entropy))
        for name in ("secret", "public", "address"):
            if getattr(first, name) != getattr(again, name):
                raise Failed(f"{what} twice gave two different {name}s: key generation "
                             "must be a function of the entropy")
        ctx.pairs.append(Pair(f"keypair {k + 1} ({network})", network, entropy, first))
    if len({p.keypair.secret for p in ctx.pairs}) != len(ctx.pairs):
        raise Failed("different entropy gave the same secret")
    return f"{count} entropies, each twice, on {min(count, len(plugin.networks))} networks"


def keygen_random(ctx: PropertyContext) -> str:
    """Check that key generation without entropy gives a fresh secret each time.

    Python's ``random`` module is seeded identically before each call, so a
    plugin that draws its keys from ``random`` (not ``os.urandom``) gives the
    same secret twice and fails.
    """
    network = ctx.plugin.networks[0]
    what = f"generate_keypair(network={network!r})"
    state = random.getstate()
    secrets = []
    try:
        for _ in range(2):
            random.seed(RANDOM_PROBE_SEED)
            secrets.append(_attempt(what, lambda: ctx.plugin.generate_keypair(network=network)))
    finally:
        random.setstate(state)
    if not all(isinstance(s, KeyPair) for s in secrets):
        raise Failed(f"{what} returned {type(secrets[0]).__name__}, not a KeyPair")
    if secrets[0].secret == secrets[1].secret:
        raise Failed(f"{what} twice gave the same secret: without entropy the secret must come "
                     "from the operating system (os.urandom, secrets), not from the random "
                     "module or a constant")
    if {s.secret for s in secrets} & {p.keypair.secret for p in ctx.pairs}:
        raise Failed(f"{what} gave a secret that an entropy also gave")
    return "two calls, two different secrets (with the random module seeded alike)"


def keypair_address(ctx: PropertyContext) -> str:
    """Check that ``KeyPair.address`` is address 0 derived from the secret and from the public key."""
    derive = ctx.plugin.derive_address
    for pair in _needs_pairs(ctx):
        kp, net = pair.keypair, pair.network
        from_secret = _attempt(f"{pair.label}: derive_address(secret, 0)",
                               lambda: derive(kp.secret, 0, network=net))
        from_public = _attempt(f"{pair.label}: derive_address(public, 0)",
                               lambda: derive(kp.public, 0, network=net))
        if not isinstance(from_secret, str):
            raise Failed(f"{pair.label}: derive_address returned {type(from_secret).__name__}, "
                         "not str")
        if not kp.address == from_secret == from_public:
            raise Failed(f"{pair.label}: KeyPair.address {kp.address!r}, derive_address(secret, "
                         f"0) {from_secret!r} and derive_address(public, 0) {from_public!r} must "
                         "be one address")
    return f"{len(ctx.pairs)} key pairs"


def _indices(ctx: PropertyContext) -> list[int]:
    if not ctx.index_list:
        extra = ctx.rng.sample(range(3, MAX_INDEX), ctx.indices)
        ctx.index_list = [0, 1, 2, *extra, MAX_INDEX]
    return ctx.index_list


def secret_vs_public(ctx: PropertyContext) -> str:
    """Check that the secret and the public key derive the same addresses, for every type."""
    plugin, count = ctx.plugin, 0
    for n, pair in enumerate(_needs_pairs(ctx)):
        for kind in plugin.address_types:
            net, entropy = pair.network, pair.entropy
            typed = _attempt(f"{pair.label}: generate_keypair(address_type={kind!r})",
                             lambda: plugin.generate_keypair(network=net, entropy=entropy,
                                                             address_type=kind))
            for change in (False, True):
                table = ctx.addresses.setdefault((n, kind, change), {})
                for index in _indices(ctx):
                    where = f"{pair.label} {kind} index {index}{' change' if change else ''}"
                    a = _attempt(f"{where}: derive_address(secret)", lambda: plugin.derive_address(
                        typed.secret, index, network=net, change=change, address_type=kind))
                    b = _attempt(f"{where}: derive_address(public)", lambda: plugin.derive_address(
                        typed.public, index, network=net, change=change, address_type=kind))
                    if a != b:
                        raise Failed(f"{where}: the secret gives {a!r}, the public key {b!r}")
                    table[index] = a
                    count += 1
            if typed.address != ctx.addresses[(n, kind, False)][0]:
                raise Failed(f"{pair.label} {kind}: KeyPair.address {typed.address!r} is not "
                             f"receive address 0 {ctx.addresses[(n, kind, False)][0]!r}")
    return f"{count} addresses, each from the secret and from the public key"


def _tables(ctx: PropertyContext) -> dict[tuple[int, str, bool], dict[int, str]]:
    if not ctx.addresses:
        raise Failed("cannot run: no addresses (see properties/secret-vs-public)")
    return ctx.addresses


def distinct_indices(ctx: PropertyContext) -> str:
    """Check that different indices give different addresses."""
    for (n, kind, change), table in _tables(ctx).items():
        seen: dict[str, int] = {}
        for index, address in table.items():
            if address in seen:
                raise Failed(f"{ctx.pairs[n].label} {kind}{' change' if change else ''}: indices "
                             f"{seen[address]} and {index} give the same address {address!r}")
            seen[address] = index
    return f"{len(ctx.addresses)} chains"


def distinct_types(ctx: PropertyContext) -> str:
    """Check that different address types give different addresses for the same key and index."""
    tables = _tables(ctx)
    if len(ctx.plugin.address_types) < 2:
        raise Skipped("the plugin declares one address type")
    for (n, kind, change), table in tables.items():
        for other in ctx.plugin.address_types:
            if other == kind:
                continue
            shared = set(table.values()) & set(tables.get((n, other, change), {}).values())
            if shared:
                raise Failed(f"{ctx.pairs[n].label}: types {kind!r} and {other!r} give the same "
                             f"address {sorted(shared)[0]!r}; is address_type ignored?")
    return f"{len(ctx.plugin.address_types)} types, no address shared"


def change_vs_receive(ctx: PropertyContext) -> str:
    """Check that the change chain and the receive chain never share an address."""
    tables = _tables(ctx)
    for (n, kind, change), table in tables.items():
        other = tables.get((n, kind, not change), {})
        shared = set(table.values()) & set(other.values())
        if not change and shared:
            raise Failed(f"{ctx.pairs[n].label} {kind}: receive and change chains share "
                         f"{sorted(shared)[0]!r}")
    return f"{len(tables) // 2} receive/change pairs"


def signing_deterministic(ctx: PropertyContext) -> str:
    """Check that signing the same transaction twice gives the same result (where it should)."""
    plugin = ctx.plugin
    if not plugin.has("example_transaction"):
        raise Skipped("the plugin declares no example_transaction(secret, *, network), so the "
                      "kit cannot build a transaction to sign; only the vectors exercise signing")
    differ: list[str] = []
    for n, pair in enumerate(_needs_pairs(ctx)):
        secret, net = pair.keypair.secret, pair.network
        tx = _attempt(f"{pair.label}: example_transaction(secret)",
                      lambda: plugin.call("example_transaction", secret, network=net))
        ctx.transactions[n] = tx
        what = f"{pair.label}: sign_transaction(example, secret)"
        first, again = (_attempt(what, lambda: plugin.sign_transaction(tx, secret, network=net))
                        for _ in range(2))
        for result in (first, again):
            _check_signed(what, result)
        if first != again:
            differ.append(pair.label)
    if getattr(plugin.plugin, "deterministic_signatures", True) is False:
        raise Skipped(f"the plugin declares deterministic_signatures = False; {len(ctx.pairs)} "
                      "transactions signed twice, every signature goes to verification")
    if differ:
        raise Failed(f"{differ[0]}: the same transaction signed twice gave two results; a "
                     "scheme with random nonces must declare deterministic_signatures = False")
    return f"{len(ctx.pairs)} transactions, each signed twice"


def _check_signed(what: str, result: Any) -> None:
    if not isinstance(result, SignedTransaction):
        raise Failed(f"{what} returned {type(result).__name__}, not a SignedTransaction")
    if not result.partial and (result.raw is None or result.txid is None):
        raise Failed(f"{what}: a complete result (partial=False) must carry raw and txid")


BadCase = tuple[str, str, tuple[Any, ...], dict[str, Any], bool]
"""(description, method, args, kwargs, must_refuse); a description never holds a secret."""


def _garbage(ctx: PropertyContext) -> list[tuple[str, str]]:
    """Return (description, text) pairs: fixed oddities plus ``garbage`` random strings."""
    rng = ctx.rng
    items = [("empty string", ""), ("a space", " "), ("'garbage'", "garbage"),
             ("8 NUL characters", "\x00" * 8), ("5000 x 'a'", "a" * 5000)]
    for k in range(ctx.garbage):
        if k % 4 == 0:
            text = "".join(rng.choices(string.printable, k=rng.randint(1, 80)))
        elif k % 4 == 1:  # looks like a mnemonic, but of made-up words
            text = " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8)))
                            for _ in range(12))
        elif k % 4 == 2:  # odd-length hex: never a key
            text = "".join(rng.choices("0123456789abcdef", k=2 * rng.randint(1, 40) + 1))
        else:
            text = "".join(chr(rng.randint(0x80, 0x2FFF)) for _ in range(rng.randint(1, 40)))
        items.append((f"random string #{k + 1} ({len(text)} chars)", text))
    return items


def _keygen_cases(ctx: PropertyContext) -> list[BadCase]:
    net = ctx.plugin.networks[0]
    cases: list[BadCase] = []
    for desc, kwargs in (("network 'no-such-network'", {"network": "no-such-network"}),
                         ("network None", {"network": None}), ("network 7", {"network": 7}),
                         ("entropy as hex text", {"network": net, "entropy": "00" * 32}),
                         ("entropy as int", {"network": net, "entropy": 7}),
                         ("empty entropy", {"network": net, "entropy": b""}),
                         ("1 byte of entropy", {"network": net, "entropy": b"\x01"}),
                         ("address_type 'no-such-type'",
                          {"network": net, "address_type": "no-such-type"}),
                         ("unknown option", {"network": net, "no_such_option": 1})):
        cases.append((f"generate_keypair({desc})", "generate_keypair", (), kwargs, True))
    return cases


def _derive_cases(ctx: PropertyContext, pair: Pair) -> list[BadCase]:
    secret, public, net = pair.keypair.secret, pair.keypair.public, pair.network
    cases: list[BadCase] = []

    def add(desc: str, args: tuple[Any, ...], must: bool = True, **kwargs: Any) -> None:
        cases.append((f"{pair.label}: derive_address({desc})", "derive_address", args,
                      {"network": net, **kwargs}, must))

    for index in (-1, MAX_INDEX + 1, "0", 1.5, None):
        add(f"secret, index {index!r}", (secret, index))
        add(f"public, index {index!r}", (public, index))
    for desc, text in _garbage(ctx):
        add(f"key: {desc}", (text, 0))
    for key in (123, None, b"bytes", ["list"]):
        add(f"key of type {type(key).__name__}", (key, 0))
    add("secret + ' notaword'", (secret + " notaword", 0), must=False)
    add("secret less its last character", (secret[:-1], 0), must=False)
    add("secret, network 'no-such-network'", (secret, 0), network="no-such-network")
    add("secret, network None", (secret, 0), network=None)
    add("secret, address_type 'no-such-type'", (secret, 0), address_type="no-such-type")
    add("secret, unknown option", (secret, 0), no_such_option=1)
    add("secret, change 'no'", (secret, 0), change="no")
    for other in ctx.plugin.networks:
        if other != net:
            add(f"public key of {net}, network {other!r}", (public, 0), must=False,
                network=other)
            break
    return cases


def _sign_cases(ctx: PropertyContext, n: int, pair: Pair) -> list[BadCase]:
    secret, net = pair.keypair.secret, pair.network
    tx = ctx.transactions.get(n)
    cases: list[BadCase] = []

    def add(desc: str, args: tuple[Any, ...], must: bool = True, **kwargs: Any) -> None:
        cases.append((f"{pair.label}: sign_transaction({desc})", "sign_transaction", args,
                      {"network": net, **kwargs}, must))

    for desc, text in _garbage(ctx):
        add(f"transaction: {desc}, secret", (text, secret))
    for value in (b"\x00\x01garbage", 12345, None):
        add(f"transaction of type {type(value).__name__}, secret", (value, secret))
    if tx is None:
        return cases
    add("example cut in half, secret", (tx[: len(tx) // 2], secret))
    for desc, bad in (("'garbage'", "garbage"), ("empty", ""), ("int", 123), ("None", None)):
        add(f"example, secret {desc}", (tx, bad))
    add("example, secret, network 'no-such-network'", (tx, secret), network="no-such-network")
    add("example, secret, unknown option", (tx, secret), no_such_option=1)
    others = [p for p in ctx.pairs if p is not pair and p.network == net]
    if others:
        add("example, another key pair's secret", (tx, others[0].keypair.secret), must=False)
    for other in ctx.plugin.networks:
        if other != net:
            add(f"example of {net}, secret, network {other!r}", (tx, secret), must=False,
                network=other)
            break
    return cases


def _bad_input(ctx: PropertyContext, cases: list[BadCase]) -> str:
    problems: list[str] = []
    for desc, method, args, kwargs, must_refuse in cases:
        try:
            result = ctx.plugin.call(method, *args, **kwargs)
        except (InputError, PolicyError):
            continue
        except NotImplementedError as exc:
            problems.append(f"{desc}: {describe_error(exc)}")
        except OfflineError as exc:
            problems.append(f"{desc}: network use ({exc}); see offline")
        except QsignerError as exc:
            problems.append(f"{desc}: raised {describe_error(exc)}; bad input must raise "
                            "InputError (malformed) or PolicyError (refused)")
        except Exception as exc:  # noqa: BLE001 - exactly what this property looks for
            problems.append(f"{desc}: raised {describe_error(exc)}, not a QsignerError")
        else:
            if must_refuse:
                problems.append(f"{desc}: accepted (returned {repr(result)[:60]})")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise Failed("; ".join(problems[:3]) + more)
    return f"{len(cases)} bad calls, each refused with InputError or PolicyError"


def bad_input_generate_keypair(ctx: PropertyContext) -> str:
    """Check that bad networks, entropy and options raise InputError or PolicyError."""
    return _bad_input(ctx, _keygen_cases(ctx))


def bad_input_derive_address(ctx: PropertyContext) -> str:
    """Check that bad keys, indices, networks and options raise InputError or PolicyError."""
    pairs = _needs_pairs(ctx)[:2]
    return _bad_input(ctx, [c for pair in pairs for c in _derive_cases(ctx, pair)])


def bad_input_sign_transaction(ctx: PropertyContext) -> str:
    """Check that bad transactions, secrets, networks and options raise InputError or PolicyError."""
    pairs = _needs_pairs(ctx)[:2]
    return _bad_input(ctx, [c for n, pair in enumerate(pairs) for c in _sign_cases(ctx, n, pair)])


PROPERTIES: tuple[tuple[str, Callable[[PropertyContext], str]], ...] = (
    ("keygen-deterministic", keygen_deterministic),
    ("keygen-random", keygen_random),
    ("keypair-address", keypair_address),
    ("secret-vs-public", secret_vs_public),
    ("distinct-indices", distinct_indices),
    ("distinct-types", distinct_types),
    ("change-vs-receive", change_vs_receive),
    ("signing-deterministic", signing_deterministic),
    ("bad-input-generate_keypair", bad_input_generate_keypair),
    ("bad-input-derive_address", bad_input_derive_address),
    ("bad-input-sign_transaction", bad_input_sign_transaction),
)
"""The properties in the order they run (later ones use what earlier ones built)."""
