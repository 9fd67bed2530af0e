"""BENCH-ONLY adapters: qsigner, the floor and the peers, each doing the workloads its own way.

Every implementation turns a workload into a *thunk* (a no-argument callable that
does exactly the timed work and returns its output) or names why it cannot do
it. Setup that a long-running service does once -- BDK's wallet with its
look-ahead scripts -- happens outside the thunk and is said so in the report.

* qsigner: only the public API of ``qsigner.load_coin("bitcoin")``:
  ``derive_address(key, i, ...)`` once per address with the account key string,
  ``account_key(mnemonic, ...)``, ``sign_transaction(psbt, mnemonic, ...)``.
* floor: ``bench/floor.py``.
* embit, bip-utils, bdkpython: their idiomatic fast path (the chain node parsed
  and derived once per batch, then one child per address).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import qsigner

from bench import floor
from bench.fixtures import DERIVE_NETWORK, MNEMONIC, SIGN_NETWORK, Account, SignCase

__all__ = ["Impl", "implementations", "xpub_payload", "PURPOSE"]

PURPOSE = {"p2pkh": 44, "p2wpkh": 84, "p2tr": 86}
Thunk = Callable[[], Any]


def xpub_payload(text: str) -> str:
    """Return an extended key without its version bytes (xpub/zpub compare equal), as hex."""
    raw = floor.b58check_decode(text.split("]", 1)[-1].split("/", 1)[0])
    return raw[4:].hex()


@dataclass
class Impl:
    """One implementation: thunk makers per workload, or the reason it cannot do one."""

    name: str
    derive: Callable[[Account, int], Thunk] | None = None
    keygen: Callable[[list[str]], Thunk] | None = None
    sign: Callable[[SignCase], Thunk] | None = None
    skip: dict[str, str] = field(default_factory=dict)   # workload -> reason
    max_sign_inputs: int | None = None
    cap_note: str = ""    # why signing stops at max_sign_inputs
    sign_note: str = ""   # how its signing is set up


# ---- qsigner (public API only) ------------------------------------------------------------

def _qsigner() -> Impl:
    coin = qsigner.load_coin("bitcoin")

    def derive(acct: Account, count: int) -> Thunk:
        key, kind, derive_address = acct.key, acct.kind, coin.derive_address
        return lambda: [derive_address(key, i, network=DERIVE_NETWORK, address_type=kind)
                        for i in range(count)]

    def keygen(mnemonics: list[str]) -> Thunk:
        return lambda: [coin.account_key(m, network=DERIVE_NETWORK, address_type="p2wpkh")
                        for m in mnemonics]

    def sign(case: SignCase) -> Thunk:
        return lambda: coin.sign_transaction(case.psbt, MNEMONIC, network=SIGN_NETWORK).raw

    return Impl("qsigner", derive, keygen, sign)


# ---- the floor -----------------------------------------------------------------------------

def _floor() -> Impl:
    def derive(acct: Account, count: int) -> Thunk:
        return lambda: floor.floor_addresses(acct.xpub, acct.kind, 0, count)

    def keygen(mnemonics: list[str]) -> Thunk:
        return lambda: [floor.floor_account_key(m, 84) for m in mnemonics]

    def sign(case: SignCase) -> Thunk:
        return lambda: floor.floor_sign(case.psbt, MNEMONIC)[1]

    return Impl("floor", derive, keygen, sign)


# ---- embit ---------------------------------------------------------------------------------

def _embit() -> Impl:
    from embit import bip32, bip39, script  # noqa: PLC0415
    from embit.finalizer import finalize_psbt  # noqa: PLC0415
    from embit.networks import NETWORKS  # noqa: PLC0415
    from embit.psbt import PSBT  # noqa: PLC0415

    scripts = {"p2wpkh": script.p2wpkh, "p2tr": script.p2tr, "p2pkh": script.p2pkh}
    main, regtest = NETWORKS["main"], NETWORKS["regtest"]

    def derive(acct: Account, count: int) -> Thunk:
        make = scripts[acct.kind]

        def run() -> list[str]:
            chain = bip32.HDKey.from_string(acct.xpub).derive([0])
            return [make(chain.derive([i]).key).address(main) for i in range(count)]
        return run

    def keygen(mnemonics: list[str]) -> Thunk:
        def run() -> list[str]:
            out = []
            for m in mnemonics:
                root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(m))
                out.append(root.derive("m/84h/0h/0h").to_public().to_string())
            return out
        return run

    def sign(case: SignCase) -> Thunk:

        def run() -> str:
            root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(MNEMONIC),
                                         version=regtest["xprv"])
            psbt = PSBT.from_string(case.psbt)
            psbt.sign_with(root)
            return str(finalize_psbt(psbt).serialize().hex())
        return run

    return Impl("embit", derive, keygen, sign, max_sign_inputs=1000,
                cap_note="its signing time grows ~N^1.75 (N=3,000 would take minutes per "
                         "run), so N <= 1,000 only")


# ---- bip-utils -----------------------------------------------------------------------------

def _bip_utils() -> Impl:
    from bip_utils import (Bip32Secp256k1, Bip39SeedGenerator, Bip84,  # noqa: PLC0415
                           Bip84Coins, P2PKHAddrEncoder, P2TRAddrEncoder, P2WPKHAddrEncoder)

    encoders: dict[str, Callable[[Any], str]] = {
        "p2wpkh": lambda k: P2WPKHAddrEncoder.EncodeKey(k, hrp="bc"),
        "p2tr": lambda k: P2TRAddrEncoder.EncodeKey(k, hrp="bc"),
        "p2pkh": lambda k: P2PKHAddrEncoder.EncodeKey(k, net_ver=b"\x00"),
    }

    def derive(acct: Account, count: int) -> Thunk:
        encode = encoders[acct.kind]

        def run() -> list[str]:
            chain = Bip32Secp256k1.FromExtendedKey(acct.xpub).ChildKey(0)
            return [encode(chain.ChildKey(i).PublicKey().KeyObject()) for i in range(count)]
        return run

    def keygen(mnemonics: list[str]) -> Thunk:
        def run() -> list[str]:
            out = []
            for m in mnemonics:
                seed = Bip39SeedGenerator(m).Generate()
                acct = Bip84.FromSeed(seed, Bip84Coins.BITCOIN).Purpose().Coin().Account(0)
                out.append(acct.PublicKey().ToExtended())
            return out
        return run

    return Impl("bip-utils", derive, keygen, None,
                skip={"sign": "bip-utils has keys and addresses but no transactions or PSBTs"})


# ---- bdkpython -----------------------------------------------------------------------------

def _bdk() -> Impl | None:
    try:
        import bdkpython as bdk  # noqa: PLC0415
    except ImportError:
        return None
    functions = {"p2wpkh": "wpkh", "p2tr": "tr", "p2pkh": "pkh"}
    wallets: dict[tuple[str, int], Any] = {}

    def derive(acct: Account, count: int) -> Thunk:
        def run() -> list[str]:
            desc = bdk.Descriptor(f"{functions[acct.kind]}({acct.xpub}/0/*)",
                                  bdk.NetworkKind.MAIN)
            return [str(desc.derive_address(i, bdk.Network.BITCOIN)) for i in range(count)]
        return run

    def keygen(mnemonics: list[str]) -> Thunk:
        path = bdk.DerivationPath("m/84h/0h/0h")

        def run() -> list[str]:
            return [str(bdk.DescriptorSecretKey(bdk.NetworkKind.MAIN,
                                                bdk.Mnemonic.from_string(m), None)
                        .derive(path).as_public()) for m in mnemonics]
        return run

    options = bdk.SignOptions(trust_witness_utxo=False, assume_height=None,
                              allow_all_sighashes=False, try_finalize=True,
                              sign_with_tap_internal_key=True, allow_grinding=True)

    def wallet(kind: str, n: int) -> Any:
        """Return a wallet whose look-ahead covers receive 0..n-1 (setup, not timed)."""
        if (kind, n) not in wallets:
            wallets.clear()   # one at a time: a 3,000-script look-ahead is not small
            key = bdk.DescriptorSecretKey(bdk.NetworkKind.TEST, bdk.Mnemonic.from_string(MNEMONIC),
                                          None)
            f, purpose = functions[kind], PURPOSE[kind]
            ext, chg = (bdk.Descriptor(f"{f}({key}/{purpose}h/1h/0h/{c}/*)", bdk.NetworkKind.TEST)
                        for c in (0, 1))
            wallets[(kind, n)] = bdk.Wallet(ext, chg, bdk.Network.REGTEST,
                                            bdk.Persister.new_in_memory(), lookahead=n + 1)
        return wallets[(kind, n)]

    def sign(case: SignCase) -> Thunk:
        w = wallet(case.kind, case.n)

        def run() -> str:
            psbt = bdk.Psbt(case.psbt)
            w.sign(psbt, options)
            return bytes(psbt.extract_tx().serialize()).hex()
        return run

    return Impl("bdk", derive, keygen, sign,
                sign_note="signs through a Wallet whose look-ahead covers the inputs; building "
                          "it (seed, N scripts) is setup, not timed")


def implementations(peers: bool = True) -> list[Impl]:
    """Return qsigner, the floor and (with ``peers``) every importable peer."""
    impls = [_qsigner(), _floor()]
    if peers:
        impls += [_embit(), _bip_utils()]
        bdk = _bdk()
        if bdk is not None:
            impls.append(bdk)
    return impls
