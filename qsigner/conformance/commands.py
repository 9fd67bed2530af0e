"""The kit's commands for ``qsigner``: ``check`` and ``new-plugin`` (argparse wiring).

``qsigner.cli`` registers them with ``add_commands(subparsers)`` and dispatches
through ``COMMANDS[name](args, env)``. Neither needs a network, a coin or a
secret, so the CLI calls them before resolving those. Errors are
``QsignerError``s for the CLI to print: ``ConfigError`` (exit 2) for usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigError
from .report import format_text, to_json, write_report
from .runner import KitSettings, run_kit
from .scaffold import FAMILIES, new_plugin
from .vectors import VectorFileError

__all__ = ["add_commands", "cmd_check", "cmd_new_plugin", "COMMANDS", "EXIT_OK", "EXIT_FAILED"]

EXIT_OK = 0
EXIT_FAILED = 1
"""``check``: 0 only when every check passes, 1 when any fails (as ``qsigner.cli.EXIT_ERROR``)."""


def add_commands(subparsers: Any) -> None:
    """Add ``check`` and ``new-plugin`` to the ``qsigner`` subcommands."""
    check = subparsers.add_parser(
        "check", help="run the conformance kit on a coin plugin",
        description="Run every check of the conformance kit on PLUGIN; exit 0 only if all pass.")
    check.add_argument("plugin", help="installed coin name, or path to the plugin module/package")
    check.add_argument("--vectors", metavar="DIR",
                       help="vector folder (default: vectors/<name>/ above the plugin)")
    check.add_argument("--report", metavar="FILE", help="also write the report as JSON to FILE")
    check.add_argument("--junit", metavar="FILE", help="also write the report as JUnit XML")
    check.add_argument("--format", choices=("text", "json"), default="text",
                       help="what to print on stdout (default: text)")
    check.add_argument("--verbose", action="store_true", help="list every vector case")
    check.add_argument("--seed", type=int, default=0, help="seed of generated inputs (default 0)")
    defaults = KitSettings()
    check.add_argument("--keys", type=int, default=defaults.keys,
                       help=f"key pairs from fixed entropy, at least (default {defaults.keys})")
    check.add_argument("--indices", type=int, default=defaults.indices,
                       help=f"random indices per chain (default {defaults.indices})")
    check.add_argument("--garbage", type=int, default=defaults.garbage,
                       help=f"random strings per bad-input battery (default {defaults.garbage})")
    new = subparsers.add_parser(
        "new-plugin", help="scaffold a coin plugin package",
        description="Write qsigner-NAME/: a plugin package that fails the kit until written.")
    new.add_argument("name", help="coin name, a lower-case identifier (the entry-point name)")
    new.add_argument("--family", choices=FAMILIES, default="utxo",
                     help="utxo (inputs and change) or account (nonces); default utxo")
    new.add_argument("--dir", default=".", metavar="PATH",
                     help="folder to create qsigner-NAME/ in (default: current folder)")


def cmd_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run the kit, print the report, write the files asked for; return 0 only if all pass.

    Raises:
        ConfigError: a bad count, a --vectors folder that does not exist, or a
            report file that cannot be written.
    """
    if min(args.keys, args.indices, args.garbage) < 0:
        raise ConfigError("check: --keys, --indices and --garbage must not be negative")
    settings = KitSettings(keys=args.keys, indices=args.indices, garbage=args.garbage)
    try:
        report = run_kit(args.plugin, vectors_dir=args.vectors, seed=args.seed,
                         settings=settings)
    except VectorFileError as exc:
        raise ConfigError(f"--vectors: {exc}") from None
    for path, kind in ((args.report, "json"), (args.junit, "junit")):
        if path:
            try:
                write_report(report, path, kind)
            except OSError as exc:
                raise ConfigError(f"--{'report' if kind == 'json' else 'junit'}: cannot write "
                                  f"{path}: {exc.strerror}") from None
    sys.stdout.write(to_json(report) if args.format == "json" else
                     format_text(report, verbose=args.verbose))
    return EXIT_OK if report.passed else EXIT_FAILED


def cmd_new_plugin(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Write the scaffold and print, as JSON, where it is and what to do next.

    Raises:
        ConfigError: bad name or family, or the folder exists and is not empty.
    """
    root = new_plugin(args.name, args.family, args.dir)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    sys.stdout.write(json.dumps({
        "created": str(root), "plugin": args.name, "family": args.family, "files": files,
        "next": f"implement qsigner_{args.name}/plugin.py and vectors/{args.name}/ (see "
                f"README.md), then: qsigner check {root / ('qsigner_' + args.name)}"}) + "\n")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Mapping[str, str]], int]] = {
    "check": cmd_check,
    "new-plugin": cmd_new_plugin,
}
"""Command name -> function ``(args, env) -> exit status``, for ``qsigner.cli`` to dispatch."""
