"""End to end on Bitcoin Core's consensus code: a block carrying qsigner's signatures, which
libbitcoinkernel (py-bitcoinkernel, ``pbk``) must connect, and corrupted copies it must refuse.

TEST-ONLY MINER -- WARNING: the block builder below (BIP-0034 height push, BIP-0141 witness
commitment, nonce grinding at regtest's 0x207fffff) makes throwaway regtest blocks for this file.
It checks nothing and is not part of the library; only the kernel's verdict counts.

The story: block 1's coinbase pays qsigner's receive address 0 of all four types (p2pkh,
p2sh-p2wpkh, p2wpkh, p2tr); blocks 2..100 mature it (COINBASE_MATURITY = 100, so height 101 is
the first that may spend it); qsigner signs a PSBT spending all four outputs; block 101 carries
the signed transaction. Regtest has segwit from genesis and taproot ALWAYS_ACTIVE, and
assumevalid unset, so every script here is really executed: the corrupted-taproot case would
be accepted if taproot were not enforced.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pbk
import pytest

from coins.bitcoin.accounts import account_path, master_key
from coins.bitcoin.creator import create_psbt, update_input, update_output
from coins.bitcoin.example import EXAMPLE_PAYEE_SCRIPT
from coins.bitcoin.hashes import sha256d
from coins.bitcoin.networks import get_network
from coins.bitcoin.script import address_to_script, key_to_script
from coins.bitcoin.tx import OutPoint, Transaction, TxIn, TxOut, ser_compact_size
from qsigner import CoinPlugin, SignedTransaction

MNEMONIC = "abandon " * 11 + "about"
REGTEST = get_network("regtest")
KINDS = ("p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr")

COIN = 100_000_000
SUBSIDY = 50 * COIN                      # regtest halves every 150 blocks; we stay below
COINBASE_MATURITY = 100                  # consensus/consensus.h
FUNDING_HEIGHT = 1
SPEND_HEIGHT = FUNDING_HEIGHT + COINBASE_MATURITY   # first height allowed to spend block 1
FEE_PER_INPUT = 1_000
REGTEST_BITS = 0x207FFFFF
BLOCK_VERSION = 0x20000000               # BIP-0009 top bits; >= 4 as BIP-0065 requires
NULL_OUTPOINT = OutPoint(bytes(32), 0xFFFFFFFF)
WITNESS_RESERVED_VALUE = bytes(32)
WITNESS_COMMITMENT_HEADER = bytes.fromhex("6a24aa21a9ed")   # OP_RETURN, push 36, BIP-0141 tag


# --- test-only block building -------------------------------------------------------------

def _height_push(height: int) -> bytes:
    """Return ``CScript() << height`` as BIP-0034 compares it (OP_1..OP_16 for 1..16)."""
    if 1 <= height <= 16:
        return bytes([0x50 + height])
    num = height.to_bytes((height.bit_length() + 8) // 8, "little")   # CScriptNum, sign bit clear
    return bytes([len(num)]) + num


def _merkle_root(hashes: list[bytes]) -> bytes:
    """Return the Bitcoin merkle root of ``hashes`` (odd levels repeat their last entry)."""
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[n] + level[n + 1]) for n in range(0, len(level), 2)]
    return level[0]


def _coinbase(height: int, outputs: list[TxOut], txs: list[Transaction]) -> Transaction:
    """Return the coinbase of block ``height`` holding ``txs``, committing to their witnesses."""
    # The trailing OP_0 keeps the scriptSig within the 2..100 bytes CheckTransaction wants.
    txin = TxIn(NULL_OUTPOINT, _height_push(height) + b"\x00", 0xFFFFFFFF)
    outputs = list(outputs)
    if any(tx.has_witness() for tx in txs):
        # BIP-0141: the coinbase's wtxid counts as zero; the reserved value is its witness.
        wtxids = [bytes(32)] + [sha256d(tx.serialize()) for tx in txs]
        commitment = sha256d(_merkle_root(wtxids) + WITNESS_RESERVED_VALUE)
        outputs.append(TxOut(0, WITNESS_COMMITMENT_HEADER + commitment))
        txin.witness = [WITNESS_RESERVED_VALUE]
    return Transaction(2, [txin], outputs, 0)


def _grind(header: bytes) -> bytes:
    """Return the 80-byte header whose nonce meets the regtest target (about two tries)."""
    exponent, mantissa = REGTEST_BITS >> 24, REGTEST_BITS & 0xFFFFFF
    target = mantissa << (8 * (exponent - 3))
    for nonce in range(2**32):
        candidate = header + nonce.to_bytes(4, "little")
        if int.from_bytes(sha256d(candidate), "little") <= target:
            return candidate
    raise RuntimeError("no nonce meets the regtest target")


def _block(prev_hash: bytes, height: int, time: int, coinbase_outputs: list[TxOut],
           txs: tuple[Transaction, ...] = ()) -> tuple[bytes, bytes]:
    """Return (serialized block, block hash in internal byte order)."""
    coinbase = _coinbase(height, coinbase_outputs, list(txs))
    all_txs = [coinbase, *txs]
    merkle = _merkle_root([tx.txid() for tx in all_txs])
    header = _grind(BLOCK_VERSION.to_bytes(4, "little") + prev_hash + merkle
                    + time.to_bytes(4, "little") + REGTEST_BITS.to_bytes(4, "little"))
    raw = header + ser_compact_size(len(all_txs)) + b"".join(tx.serialize() for tx in all_txs)
    return raw, sha256d(header)


def _corrupt_signature(tx: Transaction, i: int) -> Transaction:
    """Return a copy of ``tx`` with one byte of input ``i``'s signature flipped.

    The byte is the last of the signature proper (DER ``s`` or BIP-0340 ``s``), so the
    encoding stays valid (BIP-0066 is consensus) and only the signature itself is wrong.
    """
    copy = Transaction.parse(tx.serialize())
    txin = copy.inputs[i]
    if txin.witness:                        # p2wpkh, p2sh-p2wpkh, p2tr: the signature is item 0
        sig = bytearray(txin.witness[0])
        # Key path (one item): BIP-0340 sig, byte 63 ends s; else <DER sig+hashtype> <pubkey>.
        sig[63 if len(txin.witness) == 1 else len(sig) - 2] ^= 0x01
        txin.witness[0] = bytes(sig)
    else:                                   # p2pkh: scriptSig is <sig+hashtype> <pubkey>
        script = bytearray(txin.script_sig)
        script[script[0] - 1] ^= 0x01       # offset 1 + len - 2: the byte before the hashtype
        txin.script_sig = bytes(script)
    return copy


# --- the kernel ---------------------------------------------------------------------------

Verdict = tuple[pbk.ValidationMode, pbk.BlockValidationResult]


def _tip(chainman: pbk.ChainstateManager) -> tuple[int, bytes]:
    """Return the active chain's (height, tip hash in internal byte order)."""
    chain = chainman.get_active_chain()
    return chain.height, bytes(chain.block_tree_entries[-1].block_hash)


def _process(chainman: pbk.ChainstateManager, raw: bytes) -> bool:
    """Hand ``raw`` to the kernel; return whether it was new (raises ProcessBlockException)."""
    with pbk.Block(raw) as block:
        return chainman.process_block(block)


@dataclass
class KernelChain:
    """A regtest chainstate with block 1's coinbase matured, and qsigner's signed spend of it."""

    chainman: pbk.ChainstateManager
    consensus: pbk.ConsensusParams
    checked: dict[bytes, Verdict]           # block hash -> the kernel's block_checked verdict
    funding: Transaction                    # block 1's coinbase
    base_hash: bytes                        # the matured tip (height 100) the spend builds on
    base_time: int
    signed: SignedTransaction
    spend: Transaction

    def tip(self) -> tuple[int, bytes]:
        """Return the active chain's (height, tip hash)."""
        return _tip(self.chainman)

    def spend_block(self, tx: Transaction) -> tuple[bytes, bytes]:
        """Return block SPEND_HEIGHT carrying ``tx`` on the matured tip, fees to the miner."""
        fee = sum(self.funding.outputs[t.prevout.vout].amount for t in tx.inputs) \
            - sum(o.amount for o in tx.outputs)
        reward = TxOut(SUBSIDY + fee, self.funding.outputs[0].script_pubkey)
        return _block(self.base_hash, SPEND_HEIGHT, self.base_time + 1, [reward], (tx,))


@dataclass(frozen=True)
class Refusal:
    """What the kernel did with one corrupted copy of the spend block."""

    block_hash: bytes
    context_free: pbk.ValidationMode        # Block.check: merkle root, sizes, coinbase shape
    is_new: bool
    verdict: Verdict | None
    tip: tuple[int, bytes]
    stored: bool                            # known to the block index
    reasons: tuple[str, ...]                # the kernel's "Block validation error" log lines


def _receive_keys() -> dict[str, tuple[bytes, tuple[int, ...], bytes]]:
    """Return, per type, (pubkey, path, script) of receive address 0 of account 0."""
    master = master_key(MNEMONIC, "", REGTEST)
    keys = {}
    for kind in KINDS:
        path = account_path(kind, REGTEST, 0) + (0, 0)
        pubkey = master.derive(path).pubkey
        keys[kind] = (pubkey, path, key_to_script(pubkey, kind))
    return keys


def _mine_funding(chainman: pbk.ChainstateManager, scripts: dict[str, bytes]
                  ) -> tuple[Transaction, bytes, int]:
    """Mine block 1 (paying ``scripts``) and the blocks that mature it.

    Returns block 1's coinbase and the hash and time of the last block mined (height 100).
    """
    genesis = chainman.get_active_chain().block_tree_entries[0]
    prev = bytes(genesis.block_hash)
    time = int.from_bytes(bytes(genesis.block_header)[68:72], "little")
    funding = None
    for height in range(FUNDING_HEIGHT, SPEND_HEIGHT):
        time += 1                           # stays above the median of the last 11 blocks
        if height == FUNDING_HEIGHT:
            outputs = [TxOut(SUBSIDY // len(KINDS), scripts[kind]) for kind in KINDS]
        else:
            outputs = [TxOut(SUBSIDY, scripts["p2wpkh"])]
        raw, prev = _block(prev, height, time, outputs)
        assert _process(chainman, raw), f"block {height} was not new"
        assert _tip(chainman) == (height, prev), f"kernel did not connect mined block {height}"
        if height == FUNDING_HEIGHT:
            funding = Transaction.parse(raw[81:])   # header, count 1, then the coinbase alone
    assert funding is not None
    return funding, prev, time


def _spend_psbt(funding: Transaction,
                keys: dict[str, tuple[bytes, tuple[int, ...], bytes]]) -> str:
    """Return a v0 PSBT spending the four funding outputs to a payee and our p2wpkh change 0."""
    master = master_key(MNEMONIC, "", REGTEST)
    total = sum(o.amount for o in funding.outputs)
    change_path = account_path("p2wpkh", REGTEST, 0) + (1, 0)
    change_key = master.derive(change_path).pubkey
    payment = total // 2
    outputs = [TxOut(payment, EXAMPLE_PAYEE_SCRIPT),
               TxOut(total - payment - FEE_PER_INPUT * len(KINDS),
                     key_to_script(change_key, "p2wpkh"))]
    inputs = [TxIn(OutPoint(funding.txid(), n), sequence=0xFFFFFFFD) for n in range(len(KINDS))]
    psbt = create_psbt(Transaction(2, inputs, outputs, 0))
    for n, kind in enumerate(KINDS):
        pubkey, path, _ = keys[kind]
        update_input(psbt, n, kind=kind, pubkey=pubkey, fingerprint=master.fingerprint(),
                     path=path, prev_tx=funding if kind != "p2tr" else None,
                     witness_utxo=funding.outputs[n] if kind != "p2pkh" else None)
    update_output(psbt, 1, kind="p2wpkh", pubkey=change_key,
                  fingerprint=master.fingerprint(), path=change_path)
    return psbt.to_base64()


@pytest.fixture(scope="module")
def kernel_chain(bitcoin: CoinPlugin, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[KernelChain]:
    """Mine the funding and maturity blocks on a fresh kernel, then sign the spend with qsigner."""
    datadir: Path = tmp_path_factory.mktemp("kernel")
    checked: dict[bytes, Verdict] = {}

    def on_checked(_user_data: object, block: pbk.Block, state: pbk.BlockValidationState) -> None:
        # The state lives only during the callback: copy the verdict out.
        checked[bytes(block.block_hash)] = (state.validation_mode, state.block_validation_result)

    keys = _receive_keys()
    scripts: dict[str, bytes] = {}
    for kind in KINDS:                      # the scripts of the addresses qsigner hands out
        address = bitcoin.derive_address(MNEMONIC, 0, network="regtest", address_type=kind)
        scripts[kind] = address_to_script(address, REGTEST)
        assert scripts[kind] == keys[kind][2], f"{kind}: PSBT key does not pay its address"

    callbacks = pbk.ValidationInterfaceCallbacks(block_checked=on_checked)
    with pbk.ChainParameters(pbk.ChainType.REGTEST) as params, \
            pbk.ContextOptions() as context_options:
        context_options.set_chainparams(params)
        context_options.set_validation_interface(callbacks)
        with pbk.Context(context_options) as context, \
                pbk.ChainstateManagerOptions(context, str(datadir),
                                             str(datadir / "blocks")) as options, \
                pbk.ChainstateManager(options) as chainman:
            funding, base_hash, base_time = _mine_funding(chainman, scripts)
            signed = bitcoin.sign_transaction(_spend_psbt(funding, keys), MNEMONIC,
                                              network="regtest")
            assert not signed.partial and signed.raw is not None
            yield KernelChain(chainman, params.consensus_params, checked, funding, base_hash,
                              base_time, signed, Transaction.parse(bytes.fromhex(signed.raw)))


@pytest.fixture(scope="module")
def refusals(kernel_chain: KernelChain) -> dict[str, Refusal]:
    """Process, once, a copy of the spend block per input with that input's signature corrupted.

    These run before the valid block (whose test requests this fixture): a block at the height
    of the tip adds no work, so the kernel would store it without ever running its scripts.
    """
    chain, found = kernel_chain, {}
    for i, kind in enumerate(KINDS):
        raw, block_hash = chain.spend_block(_corrupt_signature(chain.spend, i))
        log: list[str] = []
        with pbk.LoggingConnection(log.append), pbk.Block(raw) as block:
            context_free = block.check(chain.consensus).validation_mode
            is_new = chain.chainman.process_block(block)
        with pbk.BlockHash(block_hash) as key:
            stored = key in chain.chainman.block_tree_entries
        reasons = tuple(line for line in log if "Block validation error" in line)
        found[kind] = Refusal(block_hash, context_free, is_new, chain.checked.get(block_hash),
                              chain.tip(), stored, reasons)
    return found


def test_mined_chain_pays_all_four_types(kernel_chain: KernelChain, bitcoin: CoinPlugin) -> None:
    """The kernel's own copy of block 1 pays receive address 0 of each type; 2..100 follow it."""
    chainman = kernel_chain.chainman
    entries = chainman.get_active_chain().block_tree_entries
    assert bytes(entries[SPEND_HEIGHT - 1].block_hash) == kernel_chain.base_hash
    with chainman.blocks[entries[FUNDING_HEIGHT]] as block:
        paid = [bytes(o.script_pubkey) for o in block.transactions[0].outputs]
    for kind in KINDS:
        address = bitcoin.derive_address(MNEMONIC, 0, network="regtest", address_type=kind)
        assert address_to_script(address, REGTEST) in paid, kind
    assert all(kernel_chain.checked[bytes(entries[h].block_hash)][0] == pbk.ValidationMode.VALID
               for h in range(FUNDING_HEIGHT, SPEND_HEIGHT))


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_refuses_corrupted_signature(refusals: dict[str, Refusal],
                                            kernel_chain: KernelChain, kind: str) -> None:
    """One flipped signature byte: a well-formed block, refused by consensus, tip unchanged."""
    refusal = refusals[kind]
    # Merkle root and witness commitment were recomputed: only the signature is wrong...
    assert refusal.context_free == pbk.ValidationMode.VALID
    assert refusal.is_new and refusal.stored
    # ...and script validation in ConnectBlock rejects it (a bad commitment would be MUTATED).
    assert refusal.verdict == (pbk.ValidationMode.INVALID, pbk.BlockValidationResult.CONSENSUS)
    index = KINDS.index(kind)
    assert any("script-verify-flag-failed" in line and f"input {index} of" in line
               for line in refusal.reasons), refusal.reasons
    assert refusal.tip == (SPEND_HEIGHT - 1, kernel_chain.base_hash)


def test_kernel_accepts_qsigner_spend(refusals: dict[str, Refusal],
                                      kernel_chain: KernelChain) -> None:
    """The block carrying qsigner's transaction becomes the tip; its undo data shows our coins."""
    chain = kernel_chain
    assert chain.signed.signed_inputs == (0, 1, 2, 3)
    with pbk.Transaction(bytes.fromhex(chain.signed.raw or "")) as kernel_tx:
        assert str(kernel_tx.txid) == chain.signed.txid == chain.spend.txid_hex()
    raw, block_hash = chain.spend_block(chain.spend)
    assert block_hash not in {r.block_hash for r in refusals.values()}

    assert _process(chain.chainman, raw)
    assert chain.checked[block_hash] == (pbk.ValidationMode.VALID,
                                         pbk.BlockValidationResult.UNSET)
    assert chain.tip() == (SPEND_HEIGHT, block_hash)

    entry = chain.chainman.get_active_chain().block_tree_entries[SPEND_HEIGHT]
    with chain.chainman.block_spent_outputs[entry] as undo:
        coins = undo.transactions[0].coins
        assert [(c.is_coinbase, c.confirmation_height) for c in coins] == \
            [(True, FUNDING_HEIGHT)] * len(KINDS)
        assert [bytes(c.output.script_pubkey) for c in coins] == \
            [o.script_pubkey for o in chain.funding.outputs]
