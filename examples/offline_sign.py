"""Keys, addresses and a signed transaction with no node and no network.

Run:  .venv/bin/python examples/offline_sign.py
Everything below runs with qsigner's offline guard on: any socket or DNS use in this
process would raise OfflineError. The seed is a publicly known test seed on regtest.
"""

from __future__ import annotations

import qsigner
from qsigner import offline

NETWORK = "regtest"


def main() -> None:
    offline.enable()                                   # the signer never touches a network
    bitcoin = qsigner.load_coin("bitcoin")

    # 1. A key pair. Without entropy= it draws 32 fresh bytes from the OS.
    pair = bitcoin.generate_keypair(network=NETWORK, entropy=bytes(16))
    print("secret (store offline):", " ".join(pair.secret.split()[:2]), "...")
    print("public (for the watcher):", pair.public)

    # 2. Deposit addresses, from the public key alone.
    for index in range(3):
        print(f"receive {index}:", bitcoin.derive_address(pair.public, index, network=NETWORK))
    print("change 0: ", bitcoin.derive_address(pair.public, 0, network=NETWORK, change=True))

    # 3. A withdrawal. In production the watcher (bitcoind walletcreatefundedpsbt) builds
    #    this PSBT; here the plugin invents one spending made-up coins of this seed.
    unsigned = bitcoin.example_transaction(pair.secret, network=NETWORK)
    signed = bitcoin.sign_transaction(unsigned, pair.secret, network=NETWORK,
                                      max_fee_sat=50_000)
    print("signed inputs:", list(signed.signed_inputs))
    print("txid:", signed.txid)
    print("raw:", signed.raw[:64] + "...")


if __name__ == "__main__":
    main()
