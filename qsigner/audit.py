"""The audit log: every signing decision as one JSON line, and the re-sign guard on top.

``audit.jsonl`` in the data directory gets one line per ``qsigner sign``,
signed or refused: time, coin, network, SHA-256 of the request, the inputs,
outputs and fee when the plugin can describe the transaction, the verdict (the
refusal's error type and message -- messages never hold secrets), and the txid.

The re-sign guard: an outpoint already signed in one transaction is not signed
in a different one (a replay or a double-spend attempt by a compromised
watcher) unless the operator allows it (``QSIGNER_ALLOW_RESIGN``). Signing the
same transaction again is idempotent and allowed.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from .datadir import DataDir
from .errors import ResignError, StateError

__all__ = ["AUDIT_FILE", "record", "read_entries", "check_resign"]

AUDIT_FILE = "audit.jsonl"


def record(datadir: DataDir, *, coin: str, network: str, request: bytes,
           description: dict[str, Any] | None, result: str,
           txid: str | None = None, signed_inputs: list[int] | None = None,
           error: BaseException | None = None) -> dict[str, Any]:
    """Append one decision to the audit log and return the entry written."""
    entry: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "coin": coin, "network": network, "result": result,
        "request_sha256": hashlib.sha256(request).hexdigest(),
    }
    if description:
        entry.update({k: description.get(k) for k in ("unsigned_txid", "inputs", "outputs",
                                                       "fee")})
    if result == "signed":
        entry.update({"txid": txid, "signed_inputs": signed_inputs or [], "policy": "passed"})
    elif error is not None:
        entry["error"] = {"type": type(error).__name__, "message": str(error)}
    datadir.append_line(AUDIT_FILE, json.dumps(entry, sort_keys=True))
    return entry


def read_entries(datadir: DataDir) -> list[dict[str, Any]]:
    """Return every audit entry.

    Raises:
        StateError: a line that is not a JSON object (a torn or edited log).
    """
    raw = datadir.read(AUDIT_FILE)
    entries = []
    for number, line in enumerate((raw or b"").decode(errors="replace").splitlines(), 1):
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except ValueError:
            raise StateError(f"{datadir.file(AUDIT_FILE)}: line {number} is not a JSON "
                             "object; the log was torn or edited") from None
        entries.append(entry)
    return entries


def check_resign(datadir: DataDir, coin: str, network: str,
                 description: dict[str, Any] | None, *, allow: bool) -> None:
    """Refuse inputs already signed in a different transaction of this coin and network.

    Raises:
        ResignError: names the input and the earlier transaction.
        StateError: the audit log is unreadable.
    """
    if allow or not description or not description.get("unsigned_txid"):
        return
    ours = description["unsigned_txid"]
    earlier: dict[str, str] = {}
    for entry in read_entries(datadir):
        if entry.get("result") == "signed" and entry.get("coin") == coin and \
                entry.get("network") == network and entry.get("unsigned_txid"):
            for outpoint in entry.get("inputs") or []:
                earlier.setdefault(str(outpoint), str(entry["unsigned_txid"]))
    for index, outpoint in enumerate(description.get("inputs") or []):
        previous = earlier.get(str(outpoint))
        if previous is not None and previous != ours:
            raise ResignError(f"input {index}: outpoint {outpoint} was already signed in "
                              f"transaction {previous}; set QSIGNER_ALLOW_RESIGN=1 to sign it "
                              "again in another", input_index=index)
