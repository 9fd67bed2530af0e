"""Broken on purpose (test fixture): the signed raw transaction carries a corrupted signature."""

import dataclasses
from typing import Any

from coins.bitcoin.plugin import BitcoinPlugin

DER_SIGNATURE = "47304402"  # push of a 71-byte DER signature (ECDSA, low-R)


class CorruptsSignature(BitcoinPlugin):
    def sign_transaction(self, transaction: Any, secret: str, *, network: str, **options: Any):
        signed = super().sign_transaction(transaction, secret, network=network, **options)
        at = signed.raw.find(DER_SIGNATURE) if signed.raw else -1
        if at < 0:
            return signed
        at += 20  # a hex digit inside r
        flipped = "0" if signed.raw[at] != "0" else "1"
        return dataclasses.replace(signed, raw=signed.raw[:at] + flipped + signed.raw[at + 1:])


plugin = CorruptsSignature()
