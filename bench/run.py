"""`make bench`: qsigner against the floor and the peers, interleaved, every output checked.

Issue #9's workloads, on the fixtures of ``bench/fixtures.py``:

* derive 20,000 p2wpkh / p2tr / p2pkh receive addresses from an account xpub
  (qsigner: ``derive_address(key, i, ...)`` once per address, the key a string);
* keygen: mnemonic -> PBKDF2 -> account key (``account_key``), fresh mnemonics
  per repetition so that no cache answers;
* sign p2wpkh and p2tr PSBTs of N = 1, 10, 100, 1,000, 3,000 inputs, and legacy
  p2pkh PSBTs (full previous transactions) of N = 1, 10, 100.

Each repetition runs every implementation once, in a rotated order; times are
medians. Addresses must be equal across implementations, account keys too, and
every signed transaction is checked by libbitcoinkernel (all inputs of the first
repetition, a sample of the others). Ratios to the floor (``bench/floor.py``)
are medians of ratios paired within a repetition, which cancels a shared
machine's drift; against the best peer, ratios of medians. The scaling exponent
is the slope of log(time) on log(N). No target is asserted here: the report
says met or not.

    .venv/bin/python bench/run.py [--quick] [--only derive,keygen,sign,legacy] [--no-peers]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench.check import BenchCheckError, verify_inputs  # noqa: E402
from bench.fixtures import account, keygen_mnemonics, sign_case  # noqa: E402
from bench.peers import Impl, implementations, xpub_payload  # noqa: E402

TARGETS = {"derive": 1.3, "keygen": 1.2, "sign": 2.0, "exponent": 1.05}
BASELINES = ("qsigner", "floor")


# ---- measuring -----------------------------------------------------------------------------

def timed(thunk: Callable[[], Any]) -> tuple[float, Any]:
    """Return (seconds, result) of one call, after a collection so no run pays another's garbage."""
    gc.collect()
    start = time.perf_counter()
    result = thunk()
    return time.perf_counter() - start, result


def interleave(thunks: dict[str, Callable[[], Any]], reps: int, peer_reps: int,
               check: Callable[[str, int, Any], None]) -> dict[str, list[float]]:
    """Run each thunk ``reps`` times (peers ``peer_reps``), rotating the order each round.

    qsigner and the floor first run once untimed (imports, caches, CPU clock).
    """
    names = list(thunks)
    times: dict[str, list[float]] = {n: [] for n in names}
    for name in BASELINES:
        if name in thunks:
            thunks[name]()
    for rep in range(reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            if name not in BASELINES and rep >= peer_reps:
                continue
            seconds, result = timed(thunks[name])
            check(name, rep, result)
            times[name].append(seconds)
    return times


def median(values: Sequence[float]) -> float:
    """Return the median (NaN for no values)."""
    return statistics.median(values) if values else math.nan


def paired_ratio(times: dict[str, list[float]], name: str, base: str) -> float:
    """Return the median over repetitions of t[name] / t[base] within the same repetition.

    Both ran in each repetition, one right after the other (the order rotates), so
    the ratio of a pair cancels the drift of a shared machine's speed.
    """
    pairs = [a / b for a, b in zip(times[name], times[base])]
    return median(pairs)


def slope(points: Sequence[tuple[int, float]]) -> float:
    """Return the least-squares slope of log(t) on log(N): the scaling exponent."""
    if len(points) < 2:
        return math.nan
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


# ---- workloads -----------------------------------------------------------------------------

def run_derive(impls: list[Impl], args: argparse.Namespace, out: dict[str, Any]) -> None:
    """Derive ``args.addresses`` receive addresses per type; all must agree with qsigner's."""
    for kind in ("p2wpkh", "p2tr", "p2pkh"):
        acct = account(kind)
        thunks = {i.name: i.derive(acct, args.addresses) for i in impls if i.derive}
        reference: list[str] = []

        def check(name: str, rep: int, result: list[str]) -> None:
            if not reference:
                reference.extend(result)
            if result != reference:
                bad = next(n for n, (a, b) in enumerate(zip(result, reference)) if a != b)
                raise BenchCheckError(f"{name}: {kind} address {bad} differs: "
                                      f"{result[bad]} != {reference[bad]}")
        print(f"\n== derive {args.addresses:,} {kind} addresses from an account xpub ==")
        times = interleave(thunks, args.reps, args.peer_reps, check)
        rows = _report_rows(times, per=args.addresses, unit="us/addr")
        out["derive"][kind] = rows
        print(f"   addresses equal across {', '.join(thunks)}; first {reference[0]}")


def run_keygen(impls: list[Impl], args: argparse.Namespace, out: dict[str, Any]) -> None:
    """Turn fresh mnemonics into p2wpkh account keys; the keys must agree with qsigner's."""
    thunks_by_rep = []
    for rep in range(args.reps):
        mnemonics = keygen_mnemonics(args.keys, f"rep{rep}")
        thunks_by_rep.append({i.name: i.keygen(mnemonics) for i in impls if i.keygen})
    names = list(thunks_by_rep[0])
    times: dict[str, list[float]] = {n: [] for n in names}
    print(f"\n== keygen: {args.keys} mnemonics -> PBKDF2 -> account key (m/84h/0h/0h) ==")
    for rep, thunks in enumerate(thunks_by_rep):
        reference: list[str] = []
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            if name not in BASELINES and rep >= args.peer_reps:
                continue
            seconds, result = timed(thunks[name])
            payloads = [xpub_payload(k) for k in result]
            if not reference:
                reference.extend(payloads)
            if payloads != reference:
                raise BenchCheckError(f"{name}: keygen gives another account key")
            times[name].append(seconds)
    out["keygen"] = _report_rows(times, per=args.keys, unit="ms/key", scale=1e3)
    print(f"   account keys equal across {', '.join(names)}")


def run_sign(impls: list[Impl], args: argparse.Namespace, out: dict[str, Any], kind: str,
             sizes: Sequence[int]) -> None:
    """Sign PSBTs of each size in ``sizes``; every transaction is checked by the kernel."""
    label = "legacy p2pkh (full previous transactions)" if kind == "p2pkh" else kind
    print(f"\n== sign {label} PSBTs of N inputs (sign_transaction on the base64 PSBT) ==")
    for impl in impls:
        if impl.sign is None:
            print(f"   {impl.name}: skipped: {impl.skip.get('sign', 'cannot sign')}")
            continue
        if impl.max_sign_inputs and impl.max_sign_inputs < max(sizes):
            print(f"   {impl.name}: {impl.cap_note}")
        if impl.sign_note:
            print(f"   {impl.name}: {impl.sign_note}")
    results: dict[int, dict[str, Any]] = {}
    for n in sizes:
        case = sign_case(kind, n)
        thunks = {i.name: i.sign(case) for i in impls
                  if i.sign and (i.max_sign_inputs is None or n <= i.max_sign_inputs)}
        first_raw: dict[str, str] = {}   # for the (informative) byte-identity column

        def check(name: str, rep: int, raw: str) -> None:
            verify_inputs(raw, case.spent, sample=None if rep == 0 else min(n, 20), seed=rep)
            first_raw.setdefault(name, raw)
        times = interleave(thunks, args.reps, args.peer_reps, check)
        ref = first_raw.get("floor")
        results[n] = {"times": {k: median(v) for k, v in times.items()},
                      "x_floor": paired_ratio(times, "qsigner", "floor"),
                      "reps": {k: len(v) for k, v in times.items()},
                      "identical_to_floor": {k: v == ref for k, v in first_raw.items()}}
        print(f"   N={n:<5} " + "  ".join(f"{k} {median(v) * 1e3:9.2f} ms" for k, v in
                                           times.items()))
    out["sign"][kind] = _report_sign(results, sizes)


# ---- reporting -----------------------------------------------------------------------------

def _report_rows(times: dict[str, list[float]], *, per: int, unit: str,
                 scale: float = 1e6) -> dict[str, Any]:
    peers = {k: median(v) for k, v in times.items() if k not in BASELINES and v}
    best = min(peers.values()) if peers else math.nan
    print(f"   {'impl':10} {'median s':>9} {unit:>9} {'x floor':>8} {'x qsigner':>10} reps")
    rows: dict[str, Any] = {}
    for name, values in times.items():
        t = median(values)
        x_floor = paired_ratio(times, name, "floor")
        rows[name] = {"median_s": t, "per": t / per * scale, "x_floor": x_floor,
                      "reps": len(values)}
        print(f"   {name:10} {t:9.3f} {t / per * scale:9.1f} {x_floor:8.2f} "
              f"{paired_ratio(times, name, 'qsigner'):10.2f} {len(values)}")
    rows["best_peer_over_qsigner"] = best / median(times["qsigner"])
    return rows


def _report_sign(results: dict[int, dict[str, Any]], sizes: Sequence[int]) -> dict[str, Any]:
    names = list(results[sizes[0]]["times"])
    for n in sizes:
        names += [k for k in results[n]["times"] if k not in names]
    print(f"\n   {'N':>5} " + " ".join(f"{k + ' us/in':>15}" for k in names)
          + f" {'q/floor':>8} {'peer/q':>7}  byte-identical to floor")
    rows = {}
    for n in sizes:
        t = results[n]["times"]
        peers = [v for k, v in t.items() if k not in BASELINES]
        ratio = results[n]["x_floor"]
        best = min(peers) / t["qsigner"] if peers else math.nan
        same = ", ".join(k for k, v in results[n]["identical_to_floor"].items() if v
                         and k != "floor")
        print(f"   {n:>5} " + " ".join(f"{t[k] / n * 1e6:15.1f}" if k in t else f"{'-':>15}"
                                        for k in names) + f" {ratio:8.2f} {best:7.1f}  {same}")
        rows[n] = {"times_s": t, "x_floor": ratio, "best_peer_over_qsigner": best,
                   "reps": results[n]["reps"]}
    exps = {}
    for k in names:
        pts = [(n, results[n]["times"][k]) for n in sizes if k in results[n]["times"]]
        big = pts[-3:]
        # Fixed costs (PBKDF2, the account's hardened steps) pull the fitted slope below 1;
        # the slope between the two largest N is the growth of the per-input cost alone.
        exps[k] = {"3 largest N": slope(big), "last two N": slope(big[-2:]), "all N": slope(pts)}
    print("   scaling exponent (slope of log t on log N), fit over the three largest N / "
          "two largest N / all N:")
    for k, v in exps.items():
        print(f"     {k:10} {v['3 largest N']:5.2f} / {v['last two N']:5.2f} / {v['all N']:5.2f}")
    return {"rows": rows, "exponent": exps}


def _versions() -> str:
    parts = []
    for dist in ("coincurve", "embit", "bip-utils", "bdkpython", "py-bitcoinkernel"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()} "
            f"on {platform.system()} {platform.release()}")


def summarize(out: dict[str, Any]) -> None:
    """Print each issue #9 target with the measured value and whether it is met."""
    print("\n== targets (issue #9; ratios within this run) ==")
    lines = []
    for kind, rows in out["derive"].items():
        r = rows["qsigner"]["x_floor"]
        lines.append((f"derive {kind}: qsigner <= {TARGETS['derive']}x floor", r,
                      r <= TARGETS["derive"]))
        peer = rows["best_peer_over_qsigner"]
        if not math.isnan(peer):
            lines.append((f"derive {kind}: ahead of every peer (best peer / qsigner)", peer,
                          peer > 1))
    if "keygen" in out:
        r = out["keygen"]["qsigner"]["x_floor"]
        lines.append((f"keygen: qsigner <= {TARGETS['keygen']}x floor", r, r <= TARGETS["keygen"]))
    for kind, res in out["sign"].items():
        if kind == "p2pkh":
            continue
        big = [row["x_floor"] for n, row in res["rows"].items() if n >= 100]
        if big:
            worst = max(big)
            lines.append((f"sign {kind}: qsigner <= {TARGETS['sign']}x floor at every N >= 100",
                          worst, worst <= TARGETS["sign"]))
        exps = res["exponent"]["qsigner"]
        exp = max(exps["3 largest N"], exps["last two N"])
        if not math.isnan(exp):
            lines.append((f"sign {kind}: exponent in N <= {TARGETS['exponent']} "
                          "(the larger of the two fits over the largest N)", exp,
                          exp <= TARGETS["exponent"]))
    for text, value, met in lines:
        print(f"   {'met    ' if met else 'NOT MET'}  {text}: {value:.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 0 (1 if an output was wrong)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2,000 addresses, N up to 1,000, fewer repetitions (~1-2 min)")
    parser.add_argument("--only", default="derive,keygen,sign,legacy",
                        help="comma-separated workloads (derive, keygen, sign, legacy)")
    parser.add_argument("--no-peers", action="store_true", help="qsigner and the floor only")
    parser.add_argument("--reps", type=int, help="repetitions of qsigner and the floor")
    parser.add_argument("--peer-reps", type=int, help="repetitions of each peer")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    args.reps = args.reps or (3 if args.quick else 7)
    args.peer_reps = min(args.peer_reps or (1 if args.quick else 3), args.reps)
    args.addresses = 2_000 if args.quick else 20_000
    args.keys = 20 if args.quick else 100
    sizes = (1, 10, 100, 1_000) if args.quick else (1, 10, 100, 1_000, 3_000)
    only = set(args.only.split(","))

    print(f"qsigner bench{' --quick' if args.quick else ''}: {_machine()}")
    print(f"peers: {_versions()}")
    print(f"repetitions: {args.reps} (qsigner, floor), {args.peer_reps} (peers); "
          "times are medians")
    impls = implementations(peers=not args.no_peers)
    if not args.no_peers and "bdk" not in [i.name for i in impls]:
        print("   bdk: skipped: bdkpython is not installed (make bench installs it)")
    out: dict[str, Any] = {"machine": _machine(), "versions": _versions(), "derive": {},
                           "sign": {}}
    start = time.perf_counter()
    try:
        if "derive" in only:
            run_derive(impls, args, out)
        if "keygen" in only:
            run_keygen(impls, args, out)
        if "sign" in only:
            for kind in ("p2wpkh", "p2tr"):
                run_sign(impls, args, out, kind, sizes)
        if "legacy" in only:
            run_sign(impls, args, out, "p2pkh", (1, 10, 100))
    except BenchCheckError as exc:
        print(f"\nWRONG OUTPUT: {exc}")
        return 1
    summarize(out)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
