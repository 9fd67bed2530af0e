"""TEST-ONLY helpers: run a command in a network namespace with no usable interface.

Used by the offline tests and by the no-network run of the signer's corpus. Nothing
here is part of the library.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from typing import Any

import pytest

__all__ = ["run_without_network", "netns_prefix"]


@functools.cache
def netns_prefix() -> tuple[list[str] | None, str]:
    """Return (argv prefix that enters an empty network namespace, or None; reason)."""
    if shutil.which("unshare") is None:
        return None, "unshare(1) not found"
    reasons = []
    for prefix in (["unshare", "-n", "--"], ["unshare", "-r", "-n", "--"]):
        probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            return prefix, ""
        reasons.append(f"{' '.join(prefix[:-1])} true: {probe.stderr.strip() or probe.returncode}")
    return None, "; ".join(reasons)


def run_without_network(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run argv in a network namespace with no usable interface; skip if not permitted."""
    prefix, reason = netns_prefix()
    if prefix is None:
        pytest.skip(f"cannot create a network namespace: {reason}")
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    return subprocess.run([*prefix, *argv], **kw)


