"""No secret leaves the signer: every operation and error path, scanned for a canary seed.

The canary is a fresh mnemonic. We collect what the library and the CLI print, raise,
log and store -- results' reprs, exception texts, stdout/stderr of every CLI command
except ``keygen`` (whose whole job is to print a new secret), every file in the data
directory (key store, audit log) -- and look for the canary's
words, seed, entropy, master xprv/tprv and the WIF and hex of its first private keys.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import qsigner
from coins.bitcoin.accounts import account_path, master_key
from coins.bitcoin.example import example_psbt
from coins.bitcoin.networks import NETWORKS
from coins.bitcoin.wif import encode_wif

ENTROPY = bytes.fromhex("5b2c0ed3b1a4e7a9c6f0d8e21fb9a3c4")
OTHER = "legal winner thank year wave sausage worth useful legal winner thank yellow"
FOREIGN = "letter advice cage absurd amount doctor acoustic avoid letter advice cage above"


def _tokens(mnemonic: str) -> set[str]:
    """The strings that would betray the canary if they appeared anywhere."""
    tokens = {mnemonic, ENTROPY.hex()}
    for name in ("mainnet", "regtest"):
        net = NETWORKS[name]
        master = master_key(mnemonic, "", net)
        tokens |= {master.to_string(), master.key.hex(), master.chain_code.hex()}
        for kind in ("p2wpkh", "p2tr", "p2pkh", "p2sh-p2wpkh"):
            node = master.derive(account_path(kind, net, 0))
            tokens.add(node.to_string())
            for index in range(3):
                child = node.derive((0, index))
                tokens |= {child.key.hex(), encode_wif(child.key, net)}
    return tokens


def _error_paths(btc: Any, secret: str) -> list[str]:
    """Run every operation and error path with ``secret``; return all text they produced."""
    seen: list[str] = []
    regtest = NETWORKS["regtest"]
    pair = btc.generate_keypair(network="regtest", entropy=ENTROPY)
    seen += [repr(pair), str(pair.public), pair.address]
    calls = [
        lambda: btc.derive_address(secret, -1, network="regtest"),
        lambda: btc.derive_address(secret, 0, network="nonet"),
        lambda: btc.derive_address(secret, 0, network="regtest", address_type="p2wsh"),
        lambda: btc.derive_address(secret, 0, network="regtest", secret_option=1),
        lambda: btc.derive_address(secret + " abandon", 0, network="regtest"),
        lambda: btc.derive_address(" ".join(secret.split()[::-1]), 0, network="regtest"),
        lambda: btc.derive_address(secret.replace(secret.split()[3], "qwerty"), 0,
                                   network="regtest"),
        lambda: btc.derive_address(secret.upper(), 0, network="regtest"),
        lambda: btc.sign_transaction("garbage", secret, network="regtest"),
        lambda: btc.sign_transaction(example_psbt(FOREIGN, regtest).to_base64(), secret,
                                     network="regtest"),
        lambda: btc.sign_transaction(example_psbt(secret, regtest).to_base64(), secret,
                                     network="mainnet"),
        lambda: btc.sign_transaction(example_psbt(secret, regtest).to_base64(), secret,
                                     network="regtest", max_fee_sat=1),
        lambda: btc.sign_transaction(example_psbt(secret, regtest).to_base64(), secret[:-3],
                                     network="regtest"),
        lambda: btc.sign_transaction(example_psbt(secret, regtest).to_base64(), secret,
                                     network="regtest", passphrase=5),
    ]
    for call in calls:
        with pytest.raises(qsigner.QsignerError) as info:
            call()
        seen += [str(info.value), repr(info.value), repr(info.value.args)]
    signed = btc.sign_transaction(example_psbt(secret, regtest).to_base64(), secret,
                                  network="regtest")
    seen += [repr(signed), str(signed.psbt), str(signed.raw)]
    return seen


def _cli(args: list[str], secret: str, tmp: Path, stdin: str = "") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSIGNER_")}
    env.update(QSIGNER_SECRET=secret, QSIGNER_NETWORK="regtest", HOME=str(tmp),
               QSIGNER_DATA_DIR=str(tmp / "data"))
    proc = subprocess.run([sys.executable, "-m", "qsigner.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp)
    return proc.stdout + proc.stderr


def _leaks(texts: list[str], tokens: set[str], words: set[str]) -> list[str]:
    blob = "\n".join(texts)
    found = sorted(t for t in tokens if t in blob)
    found += sorted(w for w in words if re.search(rf"\b{re.escape(w)}\b", blob))
    return found


def test_no_secret_in_reprs_errors_logs_or_cli(bitcoin: Any, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    canary = bitcoin.generate_keypair(network="regtest", entropy=ENTROPY).secret
    # Words that our own messages use anyway (seen with another seed) prove nothing.
    baseline = " ".join(_error_paths(bitcoin, OTHER)).lower()
    words = {w for w in canary.split() if not re.search(rf"\b{w}\b", baseline)}
    assert len(words) >= 6, "canary too close to the message vocabulary to be a test"
    texts = _error_paths(bitcoin, canary)
    psbt = example_psbt(canary, NETWORKS["regtest"]).to_base64()
    refused = example_psbt(FOREIGN, NETWORKS["regtest"]).to_base64()
    for args, stdin in ((["derive", "--count", "3"], ""), (["public"], ""),
                        (["sign"], psbt), (["sign"], refused), (["sign"], "junk"),
                        (["derive", "--index", "-4"], ""), (["--network", "x", "derive"], "")):
        texts.append(_cli(args, canary, tmp_path, stdin))
    texts += [r.getMessage() for r in caplog.records]
    state = sorted((tmp_path / "data").iterdir())
    assert {p.name for p in state} >= {"audit.jsonl", "keystore-bitcoin-regtest.json"}
    texts += [p.read_text() for p in state]
    assert _leaks(texts, _tokens(canary), words) == []
    assert [p.name for p in tmp_path.iterdir()] == ["data"], "files outside the data dir"


def test_the_scan_would_see_a_leak(bitcoin: Any) -> None:
    canary = bitcoin.generate_keypair(network="regtest", entropy=ENTROPY).secret
    word = canary.split()[5]
    assert _leaks([f"oops {word} here"], set(), {word}) == [word]
    regtest = NETWORKS["regtest"]
    first = master_key(canary, "", regtest).derive(account_path("p2wpkh", regtest, 0) + (0, 0))
    assert _leaks([encode_wif(first.key, regtest)], _tokens(canary), set())
