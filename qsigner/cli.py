"""The ``qsigner`` command: JSON on stdout, one error object on failure, named exit codes.

Commands: ``keygen``, ``derive``, ``public``, ``sign``, ``demo``, ``version``. Global options
mirror environment variables (a flag wins over its variable): ``--coin``
(``QSIGNER_COIN``), ``--network`` (``QSIGNER_NETWORK``), ``--address-type``
(``QSIGNER_ADDRESS_TYPE``). The secret comes only from ``QSIGNER_SECRET`` or
``QSIGNER_SECRET_FILE``, never from an argument (arguments show in ``ps``).
``sign`` runs with the offline guard on unless ``QSIGNER_OFFLINE=0``.

Errors print ``{"error": {"type": ..., "message": ...}}`` on stdout and exit with
``EXIT_USAGE`` (2: usage or configuration), ``EXIT_POLICY`` (3: refused by
policy) or ``EXIT_ERROR`` (1: anything else).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__, offline
from .errors import ConfigError, InputError, PolicyError, QsignerError
from .protocol import CoinPlugin
from .registry import available_coins, load_coin

__all__ = ["main", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_POLICY", "DEMO_ENTROPY"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_POLICY = 3
DEMO_ENTROPY = hashlib.sha256(b"qsigner demo seed (regtest only, publicly known)").digest()[:16]
"""The embedded demo seed: public, for regtest only; it must never hold real funds."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"usage: {message}")


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")


def _setting(args: argparse.Namespace, env: Mapping[str, str], name: str,
             variable: str) -> str | None:
    value = getattr(args, name, None)
    return value if value is not None else env.get(variable) or None


def _required(value: str | None, variable: str, flag: str) -> str:
    if not value:
        raise ConfigError(f"{variable}: not set (or pass {flag})", variable=variable)
    return value


def read_secret(env: Mapping[str, str], name: str = "QSIGNER_SECRET", *,
                required: bool = True) -> str:
    """Return a secret from ``name`` or ``name_FILE`` (exactly one; Docker secrets use _FILE).

    A trailing newline is not part of the secret; a group- or world-readable
    file is refused. When not ``required`` and neither is set, return "".

    Raises:
        ConfigError: neither (when required) or both set, or the file is
            unreadable or readable by others. The message never holds the secret.
    """
    direct, path = env.get(name), env.get(f"{name}_FILE")
    if direct and path or (required and not direct and not path):
        raise ConfigError(f"{name} / {name}_FILE: set exactly one", variable=name)
    if direct or not path:
        return (direct or "").rstrip("\r\n")
    file = Path(path)
    try:
        if file.stat().st_mode & 0o077:
            raise ConfigError(f"{name}_FILE: file is readable by group or others; chmod 600 it",
                              variable=f"{name}_FILE")
        return file.read_text().rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"{name}_FILE: cannot read {file}: {exc.strerror}",
                          variable=f"{name}_FILE") from None


POLICY_VARIABLES: dict[str, tuple[str, type]] = {
    "QSIGNER_MAX_FEE_SAT": ("max_fee_sat", int),
    "QSIGNER_MAX_FEE_RATE": ("max_fee_rate", int),
    "QSIGNER_MAX_FEE_PERCENT": ("max_fee_percent", int),
    "QSIGNER_TRUST_WITNESS_UTXO": ("trust_witness_utxo", bool),
    "QSIGNER_ALLOW_DUST": ("allow_dust", bool),
    "QSIGNER_ALLOW_NONSTANDARD_OUTPUTS": ("allow_nonstandard_outputs", bool),
    "QSIGNER_ALLOW_NONSTANDARD_SIGHASH": ("allow_nonstandard_sighash", bool),
    "QSIGNER_ALLOW_NONSTANDARD_PATH": ("allow_nonstandard_path", bool),
}
"""Signing-policy variables and the ``sign_transaction`` option each sets (docs/security.md)."""
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def policy_options(env: Mapping[str, str]) -> dict[str, Any]:
    """Return the signing options set by ``POLICY_VARIABLES`` in ``env``.

    Raises:
        ConfigError: a value that is not a whole number / a boolean word.
    """
    options: dict[str, Any] = {}
    for variable, (option, kind) in POLICY_VARIABLES.items():
        raw = env.get(variable)
        if raw is None or raw == "":
            continue
        value = raw.strip().lower()
        if kind is bool and value in _TRUE | _FALSE:
            options[option] = value in _TRUE
        elif kind is int and value.isdigit():
            options[option] = int(value)
        else:
            expected = "1/true/yes/on or 0/false/no/off" if kind is bool else "a whole number"
            raise ConfigError(f"{variable}: expected {expected}", variable=variable)
    return options


def _key_options(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    address_type = _setting(args, env, "address_type", "QSIGNER_ADDRESS_TYPE")
    if address_type:
        options["address_type"] = address_type
    passphrase = read_secret(env, "QSIGNER_PASSPHRASE", required=False)
    if passphrase:
        options["passphrase"] = passphrase
    return options


def cmd_version(plugin: CoinPlugin | None, args: argparse.Namespace,
                env: Mapping[str, str]) -> int:
    """Print the version and the installed coins."""
    _emit({"version": __version__, "coins": available_coins()})
    return EXIT_OK


def cmd_keygen(plugin: CoinPlugin, args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Print a new secret (this command's whole job), its public key and first address."""
    entropy = None
    if args.entropy is not None:
        try:
            entropy = bytes.fromhex(args.entropy)
        except ValueError:
            raise ConfigError("--entropy: not hex") from None
    pair = plugin.generate_keypair(network=args.network_value, entropy=entropy,
                                   **_key_options(args, env))
    _emit({"secret": pair.secret, "public": pair.public, "address": pair.address})
    return EXIT_OK


def cmd_derive(plugin: CoinPlugin, args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Print one JSON object per address: address, index, change."""
    key = args.key or env.get("QSIGNER_PUBLIC_KEY") or read_secret(env)
    if args.count < 1:
        raise ConfigError("--count: must be at least 1")
    for index in range(args.index, args.index + args.count):
        address = plugin.derive_address(key, index, network=args.network_value,
                                        change=args.change, **_key_options(args, env))
        _emit({"address": address, "index": index, "change": args.change})
    return EXIT_OK


def cmd_public(plugin: CoinPlugin, args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Print the account public key of each address type (for the watcher); no secret."""
    account_key: Any = getattr(plugin, "account_key", None)
    if account_key is None:
        raise ConfigError(f"coin {plugin.name}: plugin offers no account_key")
    secret = read_secret(env)
    chosen = _setting(args, env, "address_type", "QSIGNER_ADDRESS_TYPE")
    options = _key_options(args, env)
    options.pop("address_type", None)
    for address_type in [chosen] if chosen else plugin.address_types:
        _emit({"address_type": address_type,
               "public": account_key(secret, network=args.network_value,
                                     address_type=address_type, **options)})
    return EXIT_OK


def cmd_sign(plugin: CoinPlugin, args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Read a transaction from a file or stdin, sign it, print the result."""
    secret = read_secret(env)
    data = sys.stdin.read() if args.file in (None, "-") else _read_file(args.file)
    options = policy_options(env)
    passphrase = read_secret(env, "QSIGNER_PASSPHRASE", required=False)
    if passphrase:
        options["passphrase"] = passphrase
    result = plugin.sign_transaction(data, secret, network=args.network_value, **options)
    _emit({"psbt": result.psbt, "raw": result.raw, "txid": result.txid,
           "signed_inputs": list(result.signed_inputs)})
    return EXIT_OK


def _read_file(name: str) -> str:
    try:
        return Path(name).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"transaction file {name}: cannot read: {exc}") from None


def cmd_demo(plugin: CoinPlugin, args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run the main job on the embedded regtest seed and print a short report."""
    from .demo import run_demo  # noqa: PLC0415 - only the demo needs it
    return run_demo(plugin, args.network_value, DEMO_ENTROPY, out=sys.stdout)


COMMANDS: dict[str, Callable[..., int]] = {
    "version": cmd_version, "keygen": cmd_keygen, "derive": cmd_derive, "public": cmd_public,
    "sign": cmd_sign,
    "demo": cmd_demo,
}


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (global options and one subcommand each)."""
    parser = _Parser(prog="qsigner", description="Offline signer with coin plugins.")
    parser.add_argument("--coin", help="coin plugin name or path (QSIGNER_COIN, default bitcoin)")
    parser.add_argument("--network", help="network name (QSIGNER_NETWORK)")
    parser.add_argument("--address-type", dest="address_type",
                        help="address type (QSIGNER_ADDRESS_TYPE)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("version", help="print the version and installed coins")
    keygen = sub.add_parser("keygen", help="create a new secret (prints it once)")
    keygen.add_argument("--entropy", help="hex entropy for a deterministic secret")
    derive = sub.add_parser("derive", help="derive addresses from the public key or secret")
    derive.add_argument("--key", help="public account key (else QSIGNER_PUBLIC_KEY or the secret)")
    derive.add_argument("--index", type=int, default=0)
    derive.add_argument("--count", type=int, default=1)
    derive.add_argument("--change", action="store_true")
    sub.add_parser("public", help="print the account public keys for the watcher")
    sign = sub.add_parser("sign", help="sign a transaction from FILE or stdin")
    sign.add_argument("file", nargs="?", help="file holding the transaction; - for stdin")
    sub.add_parser("demo", help="run keygen, derive and sign offline on the embedded seed")
    return parser


def _exit_code(exc: QsignerError) -> int:
    if isinstance(exc, ConfigError):
        return EXIT_USAGE
    return EXIT_POLICY if isinstance(exc, PolicyError) else EXIT_ERROR


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the command line; return the exit status."""
    env = os.environ if env is None else env
    try:
        args = build_parser().parse_args(argv)
        if args.command == "version":
            return cmd_version(None, args, env)
        default_network = "regtest" if args.command == "demo" else None
        args.network_value = _required(_setting(args, env, "network", "QSIGNER_NETWORK")
                                       or default_network, "QSIGNER_NETWORK", "--network")
        if args.command in ("sign", "demo") and offline.enabled_from_env(env, default=True):
            offline.enable()
        plugin = load_coin(_setting(args, env, "coin", "QSIGNER_COIN") or "bitcoin")
        return COMMANDS[args.command](plugin, args, env)
    except QsignerError as exc:
        _emit({"error": {"type": type(exc).__name__, "message": str(exc)}})
        return _exit_code(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
