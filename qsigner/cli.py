"""The ``qsigner`` command: JSON on stdout, one error object on failure, named exit codes.

Every setting comes from a ``QSIGNER_*`` variable or its flag (``qsigner.config``;
a flag wins). Secrets come only from ``QSIGNER_SECRET`` / ``QSIGNER_SECRET_FILE``
(and ``QSIGNER_PASSPHRASE[_FILE]``), never from arguments, which ``ps`` shows.
Commands that use the secret keep their state in the one data directory
(``QSIGNER_DATA_DIR``): the key store pinning the seed, the audit log, the lock.

Output contract (pinned in docs/operator.md and tests/core/test_cli.py):
``keygen`` {"secret", "public", "address"}; ``derive`` {"address", "index",
"change", "path"} per line; ``public`` {"address_type", "public"} per line;
``watcher-export`` the ``importdescriptors`` array; ``sign`` {"psbt", "raw",
"txid", "signed_inputs"}; errors {"error": {"type", "message"}} with exit
status ``EXIT_USAGE`` (2: usage or configuration), ``EXIT_POLICY`` (3: refused
by policy) or ``EXIT_ERROR`` (1: anything else).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__, offline, spool
from .config import Config, add_flags, load_config, read_secret
from .conformance.commands import COMMANDS as KIT_COMMANDS
from .conformance.commands import add_commands as add_kit_commands
from .datadir import DataDir
from .errors import ConfigError, InputError, PolicyError, QsignerError
from .keystore import bootstrap, load_keystore
from .protocol import CoinPlugin
from .registry import available_coins, load_coin

__all__ = ["main", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_POLICY", "DEMO_ENTROPY"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_POLICY = 3
DEMO_ENTROPY = hashlib.sha256(b"qsigner demo seed (regtest only, publicly known)").digest()[:16]
"""The embedded demo seed: public, for regtest only; it must never hold real funds."""
PROGRESS_FROM = 1_000  # derive ranges at least this long report progress on stderr


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"usage: {message}")


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")


class Context:
    """What a command needs: the configuration, the environment and the plugin."""

    def __init__(self, args: argparse.Namespace, env: Mapping[str, str]) -> None:
        self.args = args
        self.env = env
        self.config: Config = load_config(args, env)
        if args.command != "demo":
            self.config.require_network()
        self.plugin: CoinPlugin = load_coin(self.config.coin)
        self._passphrase: str | None = None

    @property
    def network(self) -> str:
        return self.config.require_network()

    def passphrase(self) -> str:
        """Return the BIP-0039 passphrase ("" when unset), read once."""
        if self._passphrase is None:
            self._passphrase = read_secret(self.env, "QSIGNER_PASSPHRASE", required=False)
        return self._passphrase

    def key_options(self) -> dict[str, Any]:
        """Return address_type/account/passphrase options for key commands."""
        options: dict[str, Any] = {}
        if self.config.account is not None:
            options["account"] = self.config.account
        if self.config.address_type:
            options["address_type"] = self.config.address_type
        if self.passphrase():
            options["passphrase"] = self.passphrase()
        return options

    def bootstrapped_secret(self, datadir: DataDir) -> str:
        """Return the secret after pinning (or checking) it in the key store."""
        secret = read_secret(self.env)
        bootstrap(datadir, self.plugin, secret, self.network,
                  account=self.config.account or 0, passphrase=self.passphrase())
        return secret


def cmd_version(ctx: Context) -> int:
    """Print the version and the installed coins."""
    _emit({"version": __version__, "coins": available_coins()})
    return EXIT_OK


def cmd_keygen(ctx: Context) -> int:
    """Print a new secret (this command's whole job), its public key and first address."""
    entropy = None
    if ctx.args.entropy is not None:
        try:
            entropy = bytes.fromhex(ctx.args.entropy)
        except ValueError:
            raise ConfigError("--entropy: not hex") from None
    pair = ctx.plugin.generate_keypair(network=ctx.network, entropy=entropy,
                                       **ctx.key_options())
    _emit({"secret": pair.secret, "public": pair.public, "address": pair.address})
    return EXIT_OK


def cmd_derive(ctx: Context) -> int:
    """Print one JSON object per address: address, index, change, path."""
    if ctx.args.count < 1:
        raise ConfigError("--count: must be at least 1")
    key = ctx.args.key or ctx.env.get("QSIGNER_PUBLIC_KEY")
    if key:
        return _derive(ctx, key, {k: v for k, v in ctx.key_options().items()
                                  if k != "passphrase"})
    with DataDir(ctx.config.data_dir) as datadir:
        return _derive(ctx, ctx.bootstrapped_secret(datadir), ctx.key_options())


def _derive(ctx: Context, key: str, options: dict[str, Any]) -> int:
    path_of: Any = getattr(ctx.plugin, "address_path", None)
    start, count, change = ctx.args.index, ctx.args.count, ctx.args.change
    for n, index in enumerate(range(start, start + count), 1):
        address = ctx.plugin.derive_address(key, index, network=ctx.network, change=change,
                                            **options)
        path = path_of(key, index, network=ctx.network, change=change, **options) \
            if path_of else None
        _emit({"address": address, "index": index, "change": change, "path": path})
        if count >= PROGRESS_FROM and (n % 500 == 0 or n == count):
            sys.stderr.write(f"\rderive: {n}/{count} [{'#' * (20 * n // count):<20}]")
            sys.stderr.write("\n" if n == count else "")
    return EXIT_OK


def cmd_public(ctx: Context) -> int:
    """Print the account public key of each address type (for the watcher); no secret."""
    account_key: Any = getattr(ctx.plugin, "account_key", None)
    if account_key is None:
        raise ConfigError(f"coin {ctx.plugin.name}: plugin offers no account_key")
    with DataDir(ctx.config.data_dir) as datadir:
        secret = ctx.bootstrapped_secret(datadir)
    options = ctx.key_options()
    chosen = options.pop("address_type", None)
    for address_type in [chosen] if chosen else ctx.plugin.address_types:
        _emit({"address_type": address_type,
               "public": account_key(secret, network=ctx.network, address_type=address_type,
                                     **options)})
    return EXIT_OK


def cmd_watcher_export(ctx: Context) -> int:
    """Print the JSON array bitcoind's ``importdescriptors`` takes (from the key store)."""
    with DataDir(ctx.config.data_dir) as datadir:
        if ctx.env.get("QSIGNER_SECRET") or ctx.env.get("QSIGNER_SECRET_FILE"):
            ctx.bootstrapped_secret(datadir)
        store = load_keystore(datadir, ctx.plugin.name, ctx.network)
    if store is None:
        raise ConfigError("QSIGNER_SECRET: no key store yet in QSIGNER_DATA_DIR; start once "
                          "with the secret to bootstrap it", variable="QSIGNER_SECRET")
    if not store.descriptors:
        raise ConfigError(f"coin {ctx.plugin.name}: plugin offers no watcher_export")
    _emit(store.descriptors)
    return EXIT_OK


def cmd_sign(ctx: Context) -> int:
    """Read a transaction from a file or stdin, check, sign, audit, print the result."""
    data = sys.stdin.read() if ctx.args.file in (None, "-") else _read_file(ctx.args.file)
    with DataDir(ctx.config.data_dir) as datadir:
        output = spool.sign_request(ctx, datadir, data)
    _emit(output)
    return EXIT_OK


def _read_file(name: str) -> str:
    try:
        return Path(name).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"transaction file {name}: cannot read: {exc}") from None


def cmd_demo(ctx: Context) -> int:
    """Run the main job on the embedded regtest seed in a temporary data directory."""
    from .demo import run_demo  # noqa: PLC0415 - only the demo needs it
    with tempfile.TemporaryDirectory(prefix="qsigner-demo-") as tmp:
        with DataDir(Path(tmp) / "data") as datadir:
            networks = ctx.plugin.networks
            default = "regtest" if "regtest" in networks else networks[-1]
            return run_demo(ctx.plugin, ctx.config.network or default, DEMO_ENTROPY,
                            out=sys.stdout, datadir=datadir)


COMMANDS: dict[str, Callable[[Context], int]] = {
    "version": cmd_version, "keygen": cmd_keygen, "derive": cmd_derive, "public": cmd_public,
    "watcher-export": cmd_watcher_export, "sign": cmd_sign, "demo": cmd_demo,
    "spool": spool.cmd_spool,
}
EPILOG = """\
environment: every flag above has a QSIGNER_* variable (docs/operator.md); the secret only
comes from QSIGNER_SECRET or QSIGNER_SECRET_FILE. Output is JSON; errors are
{"error": {"type", "message"}} with exit 2 (configuration), 3 (refused by policy), 1 (other).
first steps:  qsigner --network regtest keygen   |   qsigner demo
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (global options and one subcommand each)."""
    settings = _Parser(add_help=False)
    add_flags(settings)  # accepted before or after the command
    parser = _Parser(prog="qsigner", epilog=EPILOG, parents=[settings],
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Offline signer with coin plugins (Bitcoin built in).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, parents=[settings])

    command("version", "print the version and the installed coins")
    keygen = command("keygen", "create a new secret and print it once")
    keygen.add_argument("--entropy", help="hex entropy for a deterministic secret (tests)")
    derive = command("derive", "derive addresses (from --key or the secret)")
    derive.add_argument("--key", help="account public key (else QSIGNER_PUBLIC_KEY or secret)")
    derive.add_argument("--index", type=int, default=0, help="first index (default 0)")
    derive.add_argument("--count", type=int, default=1, help="how many (JSON line each)")
    derive.add_argument("--change", action="store_true", help="the change chain")
    command("public", "print the account public keys for the watcher")
    command("watcher-export", "print bitcoind's importdescriptors JSON")
    sign = command("sign", "check and sign a transaction from FILE or stdin")
    sign.add_argument("file", nargs="?", help="file holding the transaction; - or none: stdin")
    command("demo", "keys, addresses, offline signing on the embedded seed")
    spool.add_spool_parser(command)  # the signer's way in without a network
    add_kit_commands(sub)  # check, new-plugin: the conformance kit
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
        if args.command in KIT_COMMANDS:
            return KIT_COMMANDS[args.command](args, env)
        if args.command == "version":
            _emit({"version": __version__, "coins": available_coins()})
            return EXIT_OK
        config = load_config(args, env)
        if args.command in ("sign", "demo", "spool") and config.offline:
            offline.enable()
        return COMMANDS[args.command](Context(args, env))
    except QsignerError as exc:
        _emit({"error": {"type": type(exc).__name__, "message": str(exc)}})
        return _exit_code(exc)
    except BrokenPipeError:  # the reader went away (`qsigner derive ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:  # a bug: its text could quote a secret, so only the type shows
        if env.get("QSIGNER_DEBUG") == "1":
            raise
        _emit({"error": {"type": "InternalError", "message": f"unexpected {type(exc).__name__};"
                         " details hidden as they may hold secrets (QSIGNER_DEBUG=1 shows)"}})
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
