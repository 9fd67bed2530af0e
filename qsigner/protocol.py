"""The contract a coin plugin implements, and the results it returns.

A plugin is any object with the attributes and methods of ``CoinPlugin``;
``qsigner.registry`` checks it against this file when it loads (names,
parameter kinds, keyword-only ``network``, ``**options``) and refuses it with a
``PluginError`` otherwise. Results are frozen dataclasses whose ``repr`` never
shows a secret.

Every method raises only ``QsignerError`` subclasses for bad input: an
``InputError`` for malformed data, a ``PolicyError`` for well-formed input the
signer refuses. No method talks to a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["CoinPlugin", "KeyPair", "SignedTransaction", "PROTOCOL_METHODS"]


@dataclass(frozen=True)
class KeyPair:
    """A new key: the secret to store offline, the public key for the watcher, address 0.

    ``secret`` is excluded from ``repr`` and comparisons' output; read it only to
    hand it to the operator once.
    """

    secret: str = field(repr=False)
    public: str
    address: str


@dataclass(frozen=True)
class SignedTransaction:
    """The outcome of signing.

    Attributes:
        psbt: the transaction with our signatures, in the format received
            (for Bitcoin: base64 PSBT of the same version).
        raw: the network serialization (hex) when every input is final, else None.
        txid: the transaction id (hex, as explorers show it) when ``raw`` is set.
        signed_inputs: indices of the inputs this call signed.
        partial: True when some input still lacks a final signature (another
            cosigner's), i.e. ``raw`` is None.
    """

    psbt: str | None
    raw: str | None
    txid: str | None
    signed_inputs: tuple[int, ...] = ()
    partial: bool = False


@runtime_checkable
class CoinPlugin(Protocol):
    """What a coin provides. ``qsigner check`` and the test suite run it against ``vectors/``."""

    name: str
    """Lower-case coin name, the entry-point name (``"bitcoin"``)."""

    networks: tuple[str, ...]
    """Networks the plugin knows; the first is not a default, ``network`` is always passed."""

    address_types: tuple[str, ...]
    """Address types ``derive_address`` accepts as ``address_type=``; first is the default."""

    def generate_keypair(self, *, network: str, entropy: bytes | None = None,
                         **options: Any) -> KeyPair:
        """Create a new secret and return it with its public key and first address.

        Args:
            network: one of ``networks``.
            entropy: bytes to derive the secret from (deterministic); ``None`` draws
                fresh randomness from the operating system.
            **options: coin-specific (Bitcoin: ``address_type``, ``account``,
                ``passphrase``); an unknown option is an ``InputError``.

        Raises:
            InputError: bad network, entropy or option.
        """
        ...

    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        """Return the address at ``index`` on the receive (or change) chain of ``key``.

        Args:
            key: the secret, or a public key the plugin documents (Bitcoin: the
                mnemonic, ``[origin]xpub``, a bare xpub/tpub or SLIP-0132 key).
            index: 0 .. 2**31 - 1.
            network: one of ``networks``.
            change: the change chain instead of the receive chain.
            **options: coin-specific (Bitcoin: ``address_type``, ``account``, ``passphrase``).

        Raises:
            InputError: bad key, index, network, type or option (never quoting a secret).
        """
        ...

    def sign_transaction(self, transaction: str | bytes, secret: str, *, network: str,
                         **options: Any) -> SignedTransaction:
        """Sign what belongs to ``secret`` in ``transaction`` and return the result.

        Every check runs before the first signature exists; on any refusal
        nothing is signed and nothing is returned.

        Args:
            transaction: the unsigned transaction in the coin's format (Bitcoin: a
                base64 PSBT, v0 or v2, or its raw bytes).
            secret: the secret that ``generate_keypair`` returned.
            network: one of ``networks``; the transaction must belong to it.
            **options: policy options (coin-specific, documented by the plugin).

        Raises:
            InputError: malformed transaction, secret or option.
            PolicyError: refused by policy (a subclass names the reason).
        """
        ...


PROTOCOL_METHODS: dict[str, dict[str, Any]] = {
    "generate_keypair": {"positional": [], "keyword": ["network", "entropy"]},
    "derive_address": {"positional": ["key", "index"], "keyword": ["network", "change"]},
    "sign_transaction": {"positional": ["transaction", "secret"], "keyword": ["network"]},
}
"""The parameters each method must accept, checked by ``qsigner.registry`` at load time."""
