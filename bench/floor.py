"""BENCH-ONLY floor: the benchmark's work with the fewest raw calls Python allows.

WARNING: benchmark reference, not a library. No option, no error reporting, no
policy beyond what the same work needs; never sign with it.

"Floor" as issue #9 defines it: libsecp256k1 through coincurve's low-level
``lib``/``ffi`` (no wrapper objects), hashlib, parsed parent nodes and HMAC
midstates kept across calls, sighash midstates once per transaction. It does
the same work as qsigner so the ratio means something:

* derivation: one child of a cached chain node per address, then the script
  and its address string (bech32/bech32m with a table-driven checksum,
  Base58Check by integer division);
* keygen: mnemonic checksum, PBKDF2, master, three hardened steps, the account
  xpub with its origin;
* signing: parse the PSBT maps, derive each input's key, check it against the
  PSBT's key and the spent script, check non-witness UTXOs against the
  outpoints, the fee and the change output, sign (Core's low-R grinding for
  ECDSA, BIP-0340 with zero aux_rand), verify every signature, finalize, and
  return the signed PSBT and the network transaction.

For the same inputs its signatures are byte-identical to qsigner's (both are
deterministic), which ``run.py`` checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata

from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

__all__ = ["FloorChain", "floor_addresses", "floor_account_key", "floor_sign"]

CTX = GLOBAL_CONTEXT.ctx
COMPRESSED = lib.SECP256K1_EC_COMPRESSED
HARDENED = 0x80000000
ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_sha256 = hashlib.sha256
_new = hashlib.new


def _require(condition: object, what: str = "libsecp256k1 call failed") -> None:
    """Stop the run on a failed check (``assert`` would vanish under ``python -O``)."""
    if not condition:
        raise RuntimeError(f"floor: {what}")


# ---- encodings ------------------------------------------------------------------------

_B58 = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58check_encode(payload: bytes) -> str:
    data = payload + _sha256(_sha256(payload).digest()).digest()[:4]
    n, out = int.from_bytes(data, "big"), bytearray()
    while n:
        n, r = divmod(n, 58)
        out.append(_B58[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    out.extend(b"1" * pad)
    out.reverse()
    return out.decode()


def b58check_decode(text: str) -> bytes:
    n = 0
    for c in text.encode():
        n = n * 58 + _B58.index(c)
    pad = len(text) - len(text.lstrip("1"))
    raw = b"\0" * pad + n.to_bytes((n.bit_length() + 7) // 8, "big")
    _require(_sha256(_sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:])
    return raw[:-4]


_CHARSET = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_TO_CHARSET = bytes.maketrans(bytes(range(32)), _CHARSET)
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
# Checksum contribution of the 5 bits shifted out at each step, for all 32 values.
_POLY = [0] * 32
for _top in range(32):
    for _i in range(5):
        if (_top >> _i) & 1:
            _POLY[_top] ^= _GEN[_i]


def _hrp_state(hrp: str) -> int:
    chk = 1
    for v in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]:
        chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ _POLY[chk >> 25]
    return chk


class Bech32:
    """Segwit addresses for one HRP, the HRP's checksum state computed once."""

    def __init__(self, hrp: str) -> None:
        self.prefix = hrp + "1"
        self.state = _hrp_state(hrp)

    def encode(self, version: int, program: bytes) -> str:
        # 20 bytes = 32 groups exactly; 32 bytes = 52 groups after 4 bits of padding.
        bits = len(program) * 8
        n = int.from_bytes(program, "big") << ((-bits) % 5)
        data = [version] + [(n >> s) & 31 for s in range(((bits + 4) // 5 - 1) * 5, -1, -5)]
        chk, poly = self.state, _POLY
        for v in data:
            chk = ((chk & 0x1FFFFFF) << 5) ^ v ^ poly[chk >> 25]
        for _ in range(6):
            chk = ((chk & 0x1FFFFFF) << 5) ^ poly[chk >> 25]
        chk ^= 1 if version == 0 else 0x2BC830A3
        data += [(chk >> s) & 31 for s in (25, 20, 15, 10, 5, 0)]
        return self.prefix + bytes(data).translate(_TO_CHARSET).decode()


# ---- hashes and secp256k1 ----------------------------------------------------------------

def hash160(data: bytes) -> bytes:
    return _new("ripemd160", _sha256(data).digest()).digest()


def _tag(tag: str) -> "hashlib._Hash":
    t = _sha256(tag.encode()).digest()
    return _sha256(t + t)


_TAPTWEAK = _tag("TapTweak")
_TAPSIGHASH = _tag("TapSighash")


class HmacKey:
    """HMAC-SHA512 with one key: the inner and outer pads hashed once."""

    def __init__(self, key: bytes) -> None:
        key = key.ljust(128, b"\0")
        self.inner = hashlib.sha512(bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.sha512(bytes(b ^ 0x5C for b in key))

    def digest(self, data: bytes) -> bytes:
        h = self.inner.copy()
        h.update(data)
        o = self.outer.copy()
        o.update(h.digest())
        return o.digest()


def _point_create(secret: bytes) -> "ffi.CData":
    p = ffi.new("secp256k1_pubkey *")
    _require(lib.secp256k1_ec_pubkey_create(CTX, p, secret))
    return p


def _serialize(point: "ffi.CData") -> bytes:
    out, size = ffi.new("unsigned char[33]"), ffi.new("size_t *", 33)
    lib.secp256k1_ec_pubkey_serialize(CTX, out, size, point, COMPRESSED)
    return ffi.buffer(out)[:]


def _point_add_tweak(point: "ffi.CData", tweak: bytes) -> "ffi.CData":
    """Return point + tweak*G: pubkey_create + combine beats pubkey_tweak_add here."""
    tg = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ec_pubkey_create(CTX, tg, tweak):  # 0 or >= n: BIP-0032 skips
        raise ValueError("invalid tweak")
    out = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ec_pubkey_combine(CTX, out, ffi.new("secp256k1_pubkey *[2]",
                                                              [point, tg]), 2):
        raise ValueError("point at infinity")
    return out


# ---- derivation ----------------------------------------------------------------------------

class FloorChain:
    """A parsed public chain node (account/0 or account/1): its point, pubkey, HMAC pads."""

    def __init__(self, xpub: str, chain: int) -> None:
        raw = b58check_decode(xpub)
        account = ffi.new("secp256k1_pubkey *")
        _require(lib.secp256k1_ec_pubkey_parse(CTX, account, raw[45:78], 33))
        digest = hmac.digest(raw[13:45], raw[45:78] + chain.to_bytes(4, "big"), "sha512")
        self.point = _point_add_tweak(account, digest[:32])
        self.pubkey = _serialize(self.point)
        self.hmac = HmacKey(digest[32:])

    def child(self, index: int) -> "ffi.CData":
        digest = self.hmac.digest(self.pubkey + index.to_bytes(4, "big"))
        return _point_add_tweak(self.point, digest[:32])


def floor_addresses(xpub: str, kind: str, start: int, count: int, change: int = 0,
                    hrp: str = "bc", p2pkh_prefix: bytes = b"\x00") -> list[str]:
    """Return the addresses ``start..start+count-1`` of chain ``change`` of an account xpub."""
    chain = FloorChain(xpub, change)
    b32, out = Bech32(hrp), []
    if kind == "p2wpkh":
        for i in range(start, start + count):
            out.append(b32.encode(0, hash160(_serialize(chain.child(i)))))
    elif kind == "p2pkh":
        for i in range(start, start + count):
            out.append(b58check_encode(p2pkh_prefix + hash160(_serialize(chain.child(i)))))
    elif kind == "p2tr":
        neg = lib.secp256k1_ec_pubkey_negate
        for i in range(start, start + count):
            point = chain.child(i)
            pub = _serialize(point)
            if pub[0] == 3:   # lift_x: the even-y point with this x
                neg(CTX, point)
            h = _TAPTWEAK.copy()
            h.update(pub[1:])
            out.append(b32.encode(1, _serialize(_point_add_tweak(point, h.digest()))[1:]))
    else:
        raise ValueError(kind)
    return out


# ---- keygen --------------------------------------------------------------------------------

def _words() -> dict[str, int]:
    from mnemonic import Mnemonic  # noqa: PLC0415 - the wordlist only
    return {w: i for i, w in enumerate(Mnemonic("english").wordlist)}


_WORDS = _words()


def _seed(mnemonic: str, passphrase: str = "") -> bytes:
    words = unicodedata.normalize("NFKD", mnemonic).split()
    n = 0
    for w in words:
        n = (n << 11) | _WORDS[w]
    cs = len(words) * 11 // 33
    entropy = (n >> cs).to_bytes(len(words) * 11 // 33 * 4, "big")
    _require(_sha256(entropy).digest()[0] >> (8 - cs) == n & ((1 << cs) - 1), "checksum")
    return hashlib.pbkdf2_hmac("sha512", " ".join(words).encode(),
                               ("mnemonic" + unicodedata.normalize("NFKD", passphrase)).encode(),
                               2048)


def _private_child(secret: bytes, chain_code: bytes, index: int,
                   pubkey: bytes | None = None) -> tuple[bytes, bytes]:
    if index >= HARDENED:
        data = b"\0" + secret + index.to_bytes(4, "big")
    else:
        data = (pubkey or _serialize(_point_create(secret))) + index.to_bytes(4, "big")
    digest = hmac.digest(chain_code, data, "sha512")
    k = (int.from_bytes(digest[:32], "big") + int.from_bytes(secret, "big")) % ORDER
    return k.to_bytes(32, "big"), digest[32:]


def floor_account_key(mnemonic: str, purpose: int, coin: int = 0, account: int = 0,
                      version: bytes = bytes.fromhex("0488b21e")) -> str:
    """Return ``[fingerprint/purpose'/coin'/account']xpub`` of a mnemonic."""
    digest = hmac.digest(b"Bitcoin seed", _seed(mnemonic), "sha512")
    secret, chain_code = digest[:32], digest[32:]
    master_fp = hash160(_serialize(_point_create(secret)))[:4]
    path = (purpose + HARDENED, coin + HARDENED, account + HARDENED)
    # Hardened steps need no public key; only the account's parent (its fingerprint),
    # the account itself and the master (the origin) cost a scalar multiplication.
    parent_secret = secret
    for index in path:
        parent_secret = secret
        secret, chain_code = _private_child(secret, chain_code, index)
    parent_fp = hash160(_serialize(_point_create(parent_secret)))[:4]
    pubkey = _serialize(_point_create(secret))
    raw = (version + bytes([3]) + parent_fp + path[-1].to_bytes(4, "big") + chain_code + pubkey)
    return f"[{master_fp.hex()}/{purpose}h/{coin}h/{account}h]{b58check_encode(raw)}"


# ---- signing -------------------------------------------------------------------------------

def _compact(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")


def _read_compact(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    width = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    return int.from_bytes(data[pos + 1:pos + 1 + width], "little"), pos + 1 + width


def _read_map(data: bytes, pos: int) -> tuple[dict[bytes, bytes], int]:
    fields = {}
    while True:
        n, pos = _read_compact(data, pos)
        if n == 0:
            return fields, pos
        key = data[pos:pos + n]
        n, pos = _read_compact(data, pos + n)
        fields[key] = data[pos:pos + n]
        pos += n


def _serialize_map(fields: dict[bytes, bytes]) -> bytes:
    return b"".join(_compact(len(k)) + k + _compact(len(v)) + v
                    for k, v in fields.items()) + b"\0"


def _parse_tx(raw: bytes) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
    """Return ([(outpoint, sequence)], [serialized outputs]) of a non-witness transaction."""
    n, pos = _read_compact(raw, 4)
    inputs = []
    for _ in range(n):
        outpoint = raw[pos:pos + 36]
        slen, pos = _read_compact(raw, pos + 36)
        pos += slen
        inputs.append((outpoint, raw[pos:pos + 4]))
        pos += 4
    n, pos = _read_compact(raw, pos)
    outputs = []
    for _ in range(n):
        slen, end = _read_compact(raw, pos + 8)
        outputs.append(raw[pos:end + slen])
        pos = end + slen
    return inputs, outputs


def _sha256d(data: bytes) -> bytes:
    return _sha256(_sha256(data).digest()).digest()


class _Keys:
    """Private keys below the master, parents cached by path prefix."""

    def __init__(self, mnemonic: str) -> None:
        digest = hmac.digest(b"Bitcoin seed", _seed(mnemonic), "sha512")
        self.fingerprint = hash160(_serialize(_point_create(digest[:32])))[:4]
        self.nodes: dict[tuple[int, ...], tuple[bytes, bytes, bytes, HmacKey]] = {}
        self.nodes[()] = self._node(digest[:32], digest[32:])

    @staticmethod
    def _node(secret: bytes, chain_code: bytes) -> tuple[bytes, bytes, bytes, HmacKey]:
        return secret, chain_code, _serialize(_point_create(secret)), HmacKey(chain_code)

    def parent(self, path: tuple[int, ...]) -> tuple[bytes, bytes, bytes, HmacKey]:
        node = self.nodes.get(path)
        if node is None:
            secret, chain_code, pub, _ = self.parent(path[:-1])
            node = self._node(*_private_child(secret, chain_code, path[-1], pub))
            self.nodes[path] = node
        return node

    def secret(self, path: tuple[int, ...]) -> bytes:
        secret, _, pub, pads = self.parent(path[:-1])
        digest = pads.digest(pub + path[-1].to_bytes(4, "big"))   # unhardened last step
        k = (int.from_bytes(digest[:32], "big") + int.from_bytes(secret, "big")) % ORDER
        return k.to_bytes(32, "big")


def _origin_path(value: bytes) -> tuple[bytes, tuple[int, ...]]:
    return value[:4], tuple(int.from_bytes(value[i:i + 4], "little")
                            for i in range(4, len(value), 4))


def _ecdsa_sign_low_r(secret: bytes, msg: bytes, point: "ffi.CData") -> bytes:
    sig = ffi.new("secp256k1_ecdsa_signature *")
    compact = ffi.new("unsigned char[64]")
    extra, counter = ffi.NULL, 0
    while True:
        _require(lib.secp256k1_ecdsa_sign(CTX, sig, msg, secret, ffi.NULL, extra))
        lib.secp256k1_ecdsa_signature_serialize_compact(CTX, compact, sig)
        if compact[0] < 0x80:     # Core's low-R: R fits in 32 DER bytes
            break
        counter += 1
        extra = counter.to_bytes(32, "little")
    _require(lib.secp256k1_ecdsa_verify(CTX, sig, msg, point))
    der, size = ffi.new("unsigned char[72]"), ffi.new("size_t *", 72)
    lib.secp256k1_ecdsa_signature_serialize_der(CTX, der, size, sig)
    return ffi.buffer(der, size[0])[:]


def _taproot_keypair(secret: bytes) -> tuple["ffi.CData", bytes, "ffi.CData", bytes]:
    """Return (tweaked keypair, internal x-only key, output key, its 32 bytes) (BIP-0086)."""
    kp = ffi.new("secp256k1_keypair *")
    _require(lib.secp256k1_keypair_create(CTX, kp, secret))
    xo, x = ffi.new("secp256k1_xonly_pubkey *"), ffi.new("unsigned char[32]")
    lib.secp256k1_keypair_xonly_pub(CTX, xo, ffi.NULL, kp)
    lib.secp256k1_xonly_pubkey_serialize(CTX, x, xo)
    internal = ffi.buffer(x)[:]
    h = _TAPTWEAK.copy()
    h.update(internal)
    _require(lib.secp256k1_keypair_xonly_tweak_add(CTX, kp, h.digest()))
    lib.secp256k1_keypair_xonly_pub(CTX, xo, ffi.NULL, kp)
    lib.secp256k1_xonly_pubkey_serialize(CTX, x, xo)
    return kp, internal, xo, ffi.buffer(x)[:]


def floor_sign(psbt_b64: str, mnemonic: str) -> tuple[str, str]:
    """Sign every p2wpkh / p2tr / p2pkh input of ``mnemonic``; return (PSBT base64, raw hex)."""
    data = base64.b64decode(psbt_b64)
    _require(data[:5] == b"psbt\xff")
    gmap, pos = _read_map(data, 5)
    unsigned = gmap[b"\x00"]
    txins, txouts = _parse_tx(unsigned)
    inputs = []
    for _ in txins:
        m, pos = _read_map(data, pos)
        inputs.append(m)
    outputs = []
    for _ in txouts:
        m, pos = _read_map(data, pos)
        outputs.append(m)
    keys = _Keys(mnemonic)
    version, locktime = unsigned[:4], unsigned[-4:]

    # Spent outputs, checked against the full previous transactions.
    spent = []
    for (outpoint, _), m in zip(txins, inputs):
        out = m.get(b"\x01")
        prev = m.get(b"\x00")
        if prev is not None:
            _require(_sha256d(prev) == outpoint[:32], "non_witness_utxo does not match")
            full = _parse_tx(prev)[1][int.from_bytes(outpoint[32:], "little")]
            _require(out is None or out == full)
            out = full
        spent.append(out)
    amounts = [int.from_bytes(o[:8], "little") for o in spent]
    fee = sum(amounts) - sum(int.from_bytes(o[:8], "little") for o in txouts)
    _require(0 <= fee <= 10_000_000)

    # Change: an output with our derivation must pay our key's script.
    for out, m in zip(txouts, outputs):
        for k, v in m.items():
            if k[0] == 0x02 and v[:4] == keys.fingerprint:      # PSBT_OUT_BIP32_DERIVATION
                pub = _serialize(_point_create(keys.secret(_origin_path(v)[1])))
                h160 = hash160(pub)
                _require(pub == k[1:] and out[9:] in (b"\x00\x14" + h160,
                                                    b"\x76\xa9\x14" + h160 + b"\x88\xac"))
            elif k[0] == 0x07 and v[:1] == b"\0" and v[1:5] == keys.fingerprint:  # taproot
                _, internal, _, output = _taproot_keypair(keys.secret(_origin_path(v[1:])[1]))
                _require(internal == k[1:] and out[9:] == b"\x51\x20" + output)

    # Midstates, once.
    prevouts = b"".join(op for op, _ in txins)
    sequences = b"".join(seq for _, seq in txins)
    outs = b"".join(txouts)
    hash_prevouts, hash_sequence, hash_outputs = (_sha256d(prevouts), _sha256d(sequences),
                                                  _sha256d(outs))
    taproot = None

    witnesses: list[list[bytes]] = []
    script_sigs: list[bytes] = []
    for i, ((outpoint, seq), m, out) in enumerate(zip(txins, inputs, spent)):
        spk = out[9:]
        deriv = [(k, v) for k, v in m.items() if k[0] == 0x06 and v[:4] == keys.fingerprint]
        if deriv:
            pubkey, (_, path) = deriv[0][0][1:], _origin_path(deriv[0][1])
            secret = keys.secret(path)
            point = _point_create(secret)
            _require(_serialize(point) == pubkey, "key mismatch")
            h160 = hash160(pubkey)
            code = b"\x19\x76\xa9\x14" + h160 + b"\x88\xac"
            if spk == b"\x00\x14" + h160:
                msg = _sha256d(version + hash_prevouts + hash_sequence + outpoint + code
                               + out[:8] + seq + hash_outputs + locktime + b"\x01\0\0\0")
                sig = _ecdsa_sign_low_r(secret, msg, point) + b"\x01"
                witnesses.append([sig, pubkey])
                script_sigs.append(b"")
            else:
                _require(spk == code[1:], "not our p2pkh script")
                msg = _sha256d(_legacy_preimage(version, txins, outs, len(txouts), locktime,
                                                i, code))
                sig = _ecdsa_sign_low_r(secret, msg, point) + b"\x01"
                script_sigs.append(_compact(len(sig)) + sig + b"\x21" + pubkey)
                witnesses.append([])
            continue
        tap = [(k, v) for k, v in m.items() if k[0] == 0x16 and v[1:5] == keys.fingerprint]
        xonly, (_, path) = tap[0][0][1:], _origin_path(tap[0][1][1:])
        kp, internal, xo, output = _taproot_keypair(keys.secret(path))
        _require(internal == xonly, "key mismatch")
        _require(spk == b"\x51\x20" + output, "not our BIP-0086 output key")
        if taproot is None:
            taproot = (b"\0\0" + version + locktime + _sha256(prevouts).digest()
                       + _sha256(b"".join(o[:8] for o in spent)).digest()
                       + _sha256(b"".join(o[8:] for o in spent)).digest()
                       + _sha256(sequences).digest() + _sha256(outs).digest() + b"\0")
        h = _TAPSIGHASH.copy()
        h.update(taproot + i.to_bytes(4, "little"))
        msg = h.digest()
        sig = ffi.new("unsigned char[64]")
        _require(lib.secp256k1_schnorrsig_sign32(CTX, sig, msg, kp, bytes(32)))
        _require(lib.secp256k1_schnorrsig_verify(CTX, sig, msg, 32, xo))
        witnesses.append([ffi.buffer(sig)[:]])
        script_sigs.append(b"")

    # Finalize (BIP-0174: keep the UTXOs, drop the rest) and extract.
    for m, ss, wit in zip(inputs, script_sigs, witnesses):
        kept = {k: v for k, v in m.items() if k[0] in (0x00, 0x01)}
        if ss:
            kept[b"\x07"] = ss
        if wit:
            kept[b"\x08"] = _compact(len(wit)) + b"".join(_compact(len(w)) + w for w in wit)
        m.clear()
        m.update(sorted(kept.items()))
    signed = data[:5] + _serialize_map(gmap) + b"".join(_serialize_map(m) for m in inputs) \
        + b"".join(_serialize_map(m) for m in outputs)
    segwit = any(witnesses)
    raw = b"".join([version, b"\0\1" if segwit else b"", _compact(len(txins)),
                    *[op + _compact(len(ss)) + ss + seq
                      for (op, seq), ss in zip(txins, script_sigs)],
                    _compact(len(txouts)), outs,
                    *([_compact(len(w)) + b"".join(_compact(len(x)) + x for x in w)
                       for w in witnesses] if segwit else []), locktime])
    return base64.b64encode(signed).decode(), raw.hex()


def _legacy_preimage(version: bytes, txins: list[tuple[bytes, bytes]], outs: bytes,
                     n_out: int, locktime: bytes, index: int, code: bytes) -> bytes:
    parts = [version, _compact(len(txins))]
    for n, (outpoint, seq) in enumerate(txins):
        parts += [outpoint, code if n == index else b"\0", seq]
    return b"".join(parts + [_compact(n_out), outs, locktime, b"\x01\0\0\0"])
