#!/usr/bin/env python3
"""Slopes and ratios from a RequestBenchmark M sweep or an InterleavedRequestBenchmark run (JMH JSON), as
docs/benchmarks.md states them.

    python3 jmh/request_ratios.py RESULTS.json
"""
import json
import sys


def main():
    groups = {}
    for r in json.load(open(sys.argv[1])):
        if r["benchmark"].endswith("InterleavedRequestBenchmark.request"):
            interleaved(r)
        elif r["benchmark"].endswith("RequestBenchmark.request"):
            p = r["params"]
            # Runs over several itemVectors (FLOAT32, SQ8) are reported one group each.
            groups.setdefault(p.get("itemVectors", "FLOAT32"), {})[(p["mode"], int(p["candidates"]))] = r["primaryMetric"]["score"]
    for name, t in groups.items():
        if len(groups) > 1:
            print(f"== itemVectors = {name}")
        report(t)


INTERLEAVED_MODES = {"tt": "TT", "tarq": "TARQ", "ta": "TA"}


def interleaved(r):
    """One InterleavedRequestBenchmark trial: µs a request of each (mode, M) from its counters, all forks and each fork."""
    p = r["params"]
    sizes = {"Small": int(p["smallM"]), "Large": int(p["largeM"])}
    metrics = r["secondaryMetrics"]
    forks = len(metrics["ttSmallNanos"]["rawData"])
    print(f"== interleaved: api = {p['api']}, itemVectors = {p['itemVectors']}, {forks} fork(s)")

    def table(fork):
        t = {}
        for prefix, mode in INTERLEAVED_MODES.items():
            for size, m in sizes.items():
                nanos, requests = (metrics[f"{prefix}{size}{kind}"] for kind in ("Nanos", "Requests"))
                pick = (lambda x: sum(x["rawData"][fork])) if fork is not None else (lambda x: x["score"])
                t[(mode, m)] = pick(nanos) / pick(requests) / 1e3
        return t

    t = table(None)
    for (mode, m), us in sorted(t.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"  {mode:5s} M = {m:>6,}: {us:10.1f} µs a request")
    report(t)
    for fork in range(forks):
        ft = table(fork)
        lo, hi = sorted(sizes.values())
        slope = {mode: (ft[(mode, hi)] - ft[(mode, lo)]) / (hi - lo) * 1e3 for mode in INTERLEAVED_MODES.values()}
        print(f"  fork {fork + 1}: slopes TT / TARQ / TA = {slope['TT']:.1f} / {slope['TARQ']:.1f} / {slope['TA']:.1f} ns,"
              f" TA / TARQ slope {slope['TA'] / slope['TARQ']:.2f}, M = {hi:,}: TA / TARQ {ft[('TA', hi)] / ft[('TARQ', hi)]:.2f},"
              f" TARQ / TT {ft[('TARQ', hi)] / ft[('TT', hi)]:.2f}")


def report(t):
    ms = sorted({m for _, m in t})
    lo, hi = ms[0], ms[-1]
    slope = {} if lo == hi else {mode: (t[(mode, hi)] - t[(mode, lo)]) / (hi - lo) * 1e3 for mode in ("TT", "TARQ", "TARQ_F32", "TA", "ORT_TT", "ORT_TARQ", "ORT_TA", "ORT_TARQ_CANDIDATE")
             if (mode, hi) in t and (mode, lo) in t}
    if slope:  # a run at one M has no slope
        print(f"per-candidate slope, M = {lo:,} .. {hi:,} (ns a candidate):")
    for mode, s in slope.items():
        print(f"  {mode:9s} {s:8.1f}")
    if {"TT", "TARQ", "TA"} <= slope.keys():
        print(f"  TARQ / TT slope  {slope['TARQ'] / slope['TT']:.2f}   (target <= 1.2)")
        print(f"  TA / TARQ slope  {slope['TA'] / slope['TARQ']:.2f}   (target >= 10)")
    for m in ms:
        if ("TA", m) in t and ("TARQ", m) in t and ("TT", m) in t:
            print(f"M = {m:>6,}: TA / TARQ = {t[('TA', m)] / t[('TARQ', m)]:.2f}, TARQ / TT = {t[('TARQ', m)] / t[('TT', m)]:.2f}")
    # ONNX Runtime (./tarq jmh --ort): how much faster the engine's TARQ request is than ORT's graphs.
    for m in ms:
        if ("TARQ", m) not in t:
            continue
        parts = [f"{mode} / TARQ = {t[(mode, m)] / t[('TARQ', m)]:.2f}"
                 for mode in ("ORT_TT", "ORT_TARQ", "ORT_TA", "ORT_TARQ_CANDIDATE") if (mode, m) in t]
        if parts:
            print(f"M = {m:>6,}: " + ", ".join(parts) + "   (targets at M = 5,000: ORT_TARQ >= 3, ORT_TA >= 5)")


if __name__ == "__main__":
    main()
