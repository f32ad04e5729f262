#!/usr/bin/env python3
"""Slopes and ratios from a RequestBenchmark M sweep or an InterleavedModesBenchmark run (JMH JSON), as
docs/benchmarks.md states them.

    python3 jmh/request_ratios.py RESULTS.json
"""
import json
import sys


def main():
    groups = {}
    for r in json.load(open(sys.argv[1])):
        if r["benchmark"].endswith("InterleavedModesBenchmark.request"):
            interleaved(r)
        elif r["benchmark"].endswith("RequestBenchmark.request"):
            p = r["params"]
            # Runs over several itemVectors (FLOAT32, SQ8) are reported one group each.
            groups.setdefault(p.get("itemVectors", "FLOAT32"), {})[(p["mode"], int(p["candidates"]))] = r["primaryMetric"]["score"]
    for name, t in groups.items():
        if len(groups) > 1:
            print(f"== itemVectors = {name}")
        report(t)


def interleaved(r):
    """One InterleavedModesBenchmark trial: µs a request of each (mode, M) from its counters, all forks and each fork."""
    p = r["params"]
    modes = [m.strip() for m in p["modes"].split("+")]
    sizes = [int(m) for m in p["sizes"].split("+")]
    metrics = r["secondaryMetrics"]
    forks = len(metrics["pair0Nanos"]["rawData"])
    print(f"== interleaved: api = {p['api']}, itemVectors = {p['itemVectors']}, {forks} fork(s)")

    def table(fork):
        t = {}
        for pair in range(len(modes) * len(sizes)):
            nanos, requests = (metrics[f"pair{pair}{kind}"] for kind in ("Nanos", "Requests"))
            pick = (lambda x: sum(x["rawData"][fork])) if fork is not None else (lambda x: x["score"])
            t[(modes[pair // len(sizes)], sizes[pair % len(sizes)])] = pick(nanos) / pick(requests) / 1e3
        return t

    t = table(None)
    for (mode, m), us in sorted(t.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"  {mode:9s} M = {m:>6,}: {us:10.1f} µs a request")
    report(t)
    lo, hi = min(sizes), max(sizes)
    for fork in range(forks):
        ft = table(fork)
        parts = []
        if lo < hi:
            slope = {mode: (ft[(mode, hi)] - ft[(mode, lo)]) / (hi - lo) * 1e3 for mode in modes if mode != "FMA_PEAK"}
            parts.append("slopes " + " / ".join(slope) + " = " + " / ".join(f"{v:.1f}" for v in slope.values()) + " ns")
            if {"TARQ", "TA"} <= slope.keys():
                parts.append(f"TA / TARQ slope {slope['TA'] / slope['TARQ']:.2f}")
            for floor in (m for m in modes if m.startswith("FLOOR_")):
                parts.append(f"against {floor} " + " / ".join(
                    f"{slope[m] / slope[floor]:.2f}" for m in slope if not m.startswith("FLOOR_")))
        if "TARQ" in modes:
            ratios = [f"TARQ / TT {ft[('TARQ', hi)] / ft[('TT', hi)]:.2f}" if mode == "TT"
                      else f"{mode} / TARQ {ft[(mode, hi)] / ft[('TARQ', hi)]:.2f}" for mode in modes
                      if mode != "TARQ" and not mode.startswith("FLOOR_")]
            parts.append(f"M = {hi:,}: " + ", ".join(ratios))
        print(f"  fork {fork + 1}: " + ", ".join(parts))


def report(t):
    ms = sorted({m for _, m in t})
    lo, hi = ms[0], ms[-1]
    slope = {} if lo == hi else {mode: (t[(mode, hi)] - t[(mode, lo)]) / (hi - lo) * 1e3 for mode in ("TT", "TARQ", "TARQ_F32", "TA", "ORT_TT", "ORT_TARQ", "ORT_TA", "ORT_TARQ_CANDIDATE")
             if (mode, hi) in t and (mode, lo) in t}
    floors = {} if lo == hi else {mode: (t[(mode, hi)] - t[(mode, lo)]) / (hi - lo) * 1e3 for mode, _ in t
                                  if mode.startswith("FLOOR_") and (mode, lo) in t and (mode, hi) in t}
    if slope or floors:  # a run at one M has no slope
        print(f"per-candidate slope, M = {lo:,} .. {hi:,} (ns a candidate):")
    for mode, s in list(slope.items()) + list(floors.items()):
        print(f"  {mode:13s} {s:8.1f}")
    for floor, f in floors.items():  # the engine's slopes against the memory floor of the same run
        print(f"  against {floor}: " + ", ".join(f"{mode} {s / f:.2f}x" for mode, s in slope.items()))
    if {"TT", "TARQ", "TA"} <= slope.keys():
        print(f"  TARQ / TT slope  {slope['TARQ'] / slope['TT']:.2f}   (target <= 1.2)")
        print(f"  TA / TARQ slope  {slope['TA'] / slope['TARQ']:.2f}   (target >= 10)")
    # FMA_PEAK: the user side's multiply-adds at the core's FMA peak, timed in the same run.
    peaks = [us for (mode, _), us in t.items() if mode == "FMA_PEAK"]
    if peaks:
        peak = sum(peaks) / len(peaks)
        print(f"user side's multiply-adds at the FMA peak: {peak:.1f} µs")
        for m in ms:
            if ("TT", m) in t:
                print(f"  TT at M = {m:>6,}: {t[('TT', m)] / peak:.2f}x that ({peak / t[('TT', m)]:.0%} of the peak)"
                      "   (target at M = 100: <= 2x)")
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
