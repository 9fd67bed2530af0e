"""The signer's one question to the seed: "the key for (fingerprint, path)".

As rust-bitcoin's ``GetKey``/``KeyRequest``: signing code never holds a wallet,
only a ``KeySource`` that answers for its own master fingerprint. Parent nodes
are cached by path prefix, so a batch of N inputs under one account costs one
hardened derivation and N child steps instead of N full paths.
"""

from __future__ import annotations

from .bip32 import HDKey

__all__ = ["KeySource"]


class KeySource:
    """Private keys below one master key, looked up by (fingerprint, path)."""

    def __init__(self, master: HDKey) -> None:
        self._master = master
        self.fingerprint = master.fingerprint()
        self._nodes: dict[tuple[int, ...], HDKey] = {(): master}

    def __repr__(self) -> str:
        return f"<KeySource fingerprint={self.fingerprint.hex()}>"

    def get_key(self, fingerprint: bytes, path: list[int] | tuple[int, ...]) -> HDKey | None:
        """Return the private node at ``path`` if ``fingerprint`` is ours, else None."""
        if fingerprint != self.fingerprint:
            return None
        parent = self._node(tuple(path[:-1]))
        return parent.child(path[-1]) if path else parent

    def _node(self, path: tuple[int, ...]) -> HDKey:
        node = self._nodes.get(path)
        if node is None:
            node = self._node(path[:-1]).child(path[-1])
            self._nodes[path] = node
        return node
