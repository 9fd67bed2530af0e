"""Configuration from ``QSIGNER_*`` environment variables or CLI flags (a flag wins).

``VARIABLES`` is the one table of every setting: its variable, its flag, its kind,
its default and what it means; the CLI builds its flags from it and
``docs/operator.md`` documents it (a test keeps the two in step). A value that
does not parse is a ``ConfigError`` naming the variable (exit status 2).

Secrets are never flags (arguments show in ``ps``): ``QSIGNER_SECRET`` or
``QSIGNER_SECRET_FILE`` (exactly one; Docker secrets use the file), likewise the
BIP-0039 passphrase. A trailing newline is not part of a secret; a secret file
readable by group or others is refused.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["Setting", "VARIABLES", "parse_bool", "POLICY_SETTINGS", "Config", "load_config", "read_secret",
           "add_flags", "DEFAULT_DATA_DIR"]

DEFAULT_DATA_DIR = "/home/docker/data"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Setting:
    """One configuration setting: where it comes from and what it means."""

    name: str           # attribute of Config, or a sign_transaction option
    variable: str
    kind: type
    default: Any
    help: str
    policy: bool = False  # passed to sign_transaction as a keyword

    @property
    def flag(self) -> str:
        """Return the CLI flag, ``--max-fee-sat`` for ``max_fee_sat``."""
        return "--" + self.name.replace("_", "-")


VARIABLES: tuple[Setting, ...] = (
    Setting("coin", "QSIGNER_COIN", str, "bitcoin", "coin plugin: installed name or path"),
    Setting("network", "QSIGNER_NETWORK", str, None,
            "network name (bitcoin: mainnet, testnet, testnet4, signet, regtest); required"),
    Setting("data_dir", "QSIGNER_DATA_DIR", str, DEFAULT_DATA_DIR,
            "the one directory for all state (key store, audit log, lock)"),
    Setting("address_type", "QSIGNER_ADDRESS_TYPE", str, None,
            "address type (bitcoin: p2wpkh default, p2sh-p2wpkh, p2pkh, p2tr)"),
    Setting("account", "QSIGNER_ACCOUNT", int, None,
            "BIP-0044 account number (default 0; an account key says its own)"),
    Setting("offline", "QSIGNER_OFFLINE", bool, True,
            "offline guard for sign and demo: any socket or DNS use is an error"),
    Setting("allow_resign", "QSIGNER_ALLOW_RESIGN", bool, False,
            "sign an outpoint already signed in a different transaction (see the audit log)"),
    Setting("max_fee_sat", "QSIGNER_MAX_FEE_SAT", int, 10_000_000,
            "refuse a fee above this many satoshi", policy=True),
    Setting("max_fee_rate", "QSIGNER_MAX_FEE_RATE", int, 1_000,
            "refuse a fee rate above this many sat/vB", policy=True),
    Setting("max_fee_percent", "QSIGNER_MAX_FEE_PERCENT", int, 10,
            "refuse a fee above this percentage of the amount sent", policy=True),
    Setting("trust_witness_utxo", "QSIGNER_TRUST_WITNESS_UTXO", bool, False,
            "accept segwit v0 inputs without their previous transaction", policy=True),
    Setting("allow_dust", "QSIGNER_ALLOW_DUST", bool, False, "sign dust outputs", policy=True),
    Setting("allow_nonstandard_outputs", "QSIGNER_ALLOW_NONSTANDARD_OUTPUTS", bool, False,
            "sign non-standard output scripts", policy=True),
    Setting("allow_nonstandard_sighash", "QSIGNER_ALLOW_NONSTANDARD_SIGHASH", bool, False,
            "sign sighash types other than ALL/DEFAULT", policy=True),
    Setting("allow_nonstandard_path", "QSIGNER_ALLOW_NONSTANDARD_PATH", bool, False,
            "sign keys outside purpose'/coin'/account'/(0|1)/index", policy=True),
)
POLICY_SETTINGS = tuple(s for s in VARIABLES if s.policy)


@dataclass(frozen=True)
class Config:
    """The resolved configuration (never holds a secret)."""

    coin: str
    network: str | None
    data_dir: Path
    address_type: str | None
    account: int | None
    offline: bool
    allow_resign: bool
    policy: dict[str, Any]

    def require_network(self) -> str:
        """Return the network, or raise a ``ConfigError`` naming ``QSIGNER_NETWORK``."""
        if not self.network:
            raise ConfigError("QSIGNER_NETWORK: not set (or pass --network)",
                              variable="QSIGNER_NETWORK")
        return self.network


def parse_bool(variable: str, raw: str) -> bool:
    """Return the boolean a variable's text means: 1/true/yes/on or 0/false/no/off.

    Raises:
        ConfigError: any other text (quoted up to 32 characters), naming ``variable``.
    """
    value = raw.strip().lower()
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ConfigError(f"{variable}: expected 1/true/yes/on or 0/false/no/off, got {raw[:32]!r}",
                      variable=variable)


def _parse(setting: Setting, raw: Any) -> Any:
    if setting.kind is str or not isinstance(raw, str):
        return raw
    if setting.kind is bool:
        return parse_bool(setting.variable, raw)
    if raw.strip().isdigit():
        return int(raw.strip())
    raise ConfigError(f"{setting.variable}: expected a whole number, got {raw[:32]!r}",
                      variable=setting.variable)


def load_config(args: argparse.Namespace | None, env: Mapping[str, str]) -> Config:
    """Return the configuration: each flag if given, else its variable, else its default.

    Raises:
        ConfigError: a value that does not parse, naming its variable.
    """
    values: dict[str, Any] = {}
    policy: dict[str, Any] = {}
    for setting in VARIABLES:
        flag_value = getattr(args, setting.name, None) if args is not None else None
        raw = flag_value if flag_value is not None else env.get(setting.variable) or None
        value = setting.default if raw is None else _parse(setting, raw)
        if setting.policy:
            if raw is not None:
                policy[setting.name] = value
        else:
            values[setting.name] = value
    return Config(values["coin"], values["network"], Path(values["data_dir"]),
                  values["address_type"], values["account"], values["offline"],
                  values["allow_resign"], policy)


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting; an absent flag sets nothing, so its variable applies."""
    for setting in VARIABLES:
        parser.add_argument(setting.flag, dest=setting.name, default=argparse.SUPPRESS,
                            metavar=setting.kind.__name__.upper(),
                            help=f"{setting.help} ({setting.variable})")


def read_secret(env: Mapping[str, str], name: str = "QSIGNER_SECRET", *,
                required: bool = True) -> str:
    """Return a secret from ``name`` or ``name_FILE`` (exactly one).

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
