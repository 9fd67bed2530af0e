"""``qsigner demo``: the main job end to end on an embedded, publicly known regtest seed.

Keys from the built-in seed, addresses of every type the plugin offers, then an
unsigned transaction over made-up funds (from the plugin's optional
``example_transaction``), signed with the offline guard on and checked by the
plugin's optional ``verify_transaction`` (for Bitcoin: Bitcoin Core's
libbitcoinkernel). The report is human-readable text; the seed is a demo seed,
so printing its public key is fine, and its secret is never printed.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from . import offline
from .datadir import DataDir
from .keystore import bootstrap, keystore_name
from .protocol import CoinPlugin

__all__ = ["run_demo"]


def run_demo(plugin: CoinPlugin, network: str, entropy: bytes, *, out: TextIO,
             datadir: DataDir | None = None) -> int:
    """Run the demo and write its report to ``out``; return 0, or raise a ``QsignerError``."""
    def write(line: str = "") -> None:
        out.write(line + "\n")

    pair = plugin.generate_keypair(network=network, entropy=entropy)
    write(f"qsigner demo -- coin {plugin.name}, network {network}, embedded demo seed")
    write(f"  account key (for the watcher): {pair.public}")
    if datadir is not None:
        store = bootstrap(datadir, plugin, pair.secret, network)
        write(f"  key store bootstrapped: {datadir.file(keystore_name(plugin.name, network))}")
        write(f"    fingerprint {store.fingerprint}; {len(store.accounts)} account keys; "
              "no secret stored")
        if store.descriptors:
            write(f"  watcher export (bitcoind importdescriptors), {len(store.descriptors)} "
                  "descriptors, first:")
            write(f"    {json.dumps(store.descriptors[0])}")
    write("  addresses (receive 0..2):")
    for address_type in plugin.address_types:
        addresses = [plugin.derive_address(pair.secret, i, network=network,
                                           address_type=address_type) for i in range(3)]
        write(f"    {address_type:<12} {'  '.join(addresses)}")
    maker: Any = getattr(plugin, "example_transaction", None)
    if maker is None:
        write("  (this plugin offers no example_transaction; signing step skipped)")
        return 0
    for version in (0, 2):
        unsigned = maker(pair.secret, network=network, version=version)
        with offline.guard():
            signed = plugin.sign_transaction(unsigned, pair.secret, network=network)
        write(f"  signed example transaction (format {version}) offline, network use refused: "
              f"txid {signed.txid}")
        write(f"    inputs signed: {list(signed.signed_inputs)}; complete: {not signed.partial}")
        checker: Any = getattr(plugin, "verify_transaction", None)
        if checker is not None:
            write(f"    checked by: {checker(signed, network=network)}")
    write("demo finished: keys, addresses, offline signing and verification all ran")
    return 0
