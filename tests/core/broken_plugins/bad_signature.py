"""Broken on purpose (test fixture): the signed raw transaction carries a corrupted signature."""

import dataclasses
from typing import Any

from coins.bitcoin import plugin as bitcoin

DER_SIGNATURE = "47304402"  # push of a 71-byte DER signature (ECDSA, low-R)


class CorruptsSignature:
    name = "bitcoin"
    networks = bitcoin.networks
    address_types = bitcoin.address_types

    def generate_keypair(self, *, network: str, entropy: bytes | None = None, **options: Any):
        return bitcoin.generate_keypair(network=network, entropy=entropy, **options)

    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        return bitcoin.derive_address(key, index, network=network, change=change, **options)

    def sign_transaction(self, transaction: Any, secret: str, *, network: str, **options: Any):
        signed = bitcoin.sign_transaction(transaction, secret, network=network, **options)
        at = signed.raw.find(DER_SIGNATURE) if signed.raw else -1
        if at < 0:
            return signed
        at += 20  # a hex digit inside r
        flipped = "0" if signed.raw[at] != "0" else "1"
        return dataclasses.replace(signed, raw=signed.raw[:at] + flipped + signed.raw[at + 1:])

    def example_transaction(self, secret: str, *, network: str) -> str:
        return bitcoin.example_transaction(secret, network=network)

    def verify_transaction(self, signed: Any, *, network: str) -> str:
        return bitcoin.verify_transaction(signed, network=network)


plugin = CorruptsSignature()
