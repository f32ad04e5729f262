#!/usr/bin/env python3
"""Cost a candidate against the memory floor, from InterleavedModesBenchmark runs with FLOOR_* modes (JMH JSON), as
docs/benchmarks.md plots it: one panel a (items, item vectors) trial, ns a candidate (request time / M) against M for
the engine's modes (solid) and the floors measured between their requests (dashed).

    python3 jmh/plot_floor.py OUT.svg RUN.json [RUN.json ...]
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FLOOR_NAMES = {"FLOOR_FLOAT": "floor: slot + float row", "FLOOR_SQ8": "floor: slot + 8-bit row",
               "FLOOR_RECORDS": "floor: slot + record"}
COLORS = {"TT": "tab:blue", "TARQ": "tab:green", "TARQ_F32": "tab:olive", "TA": "tab:purple",
          "FLOOR_FLOAT": "tab:red", "FLOOR_SQ8": "tab:orange", "FLOOR_RECORDS": "tab:brown"}


def trials(paths):
    """(title, {mode: [(M, ns a candidate)]}) for every InterleavedModesBenchmark trial in the files."""
    for path in paths:
        for r in json.load(open(path)):
            if not r["benchmark"].endswith("InterleavedModesBenchmark.request"):
                continue
            p = r["params"]
            modes = [m.strip() for m in p["modes"].split("+")]
            sizes = [int(m) for m in p["sizes"].split("+")]
            metrics = r["secondaryMetrics"]
            curves = {}
            for pair in range(len(modes) * len(sizes)):
                mode, m = modes[pair // len(sizes)], sizes[pair % len(sizes)]
                ns = metrics[f"pair{pair}Nanos"]["score"] / metrics[f"pair{pair}Requests"]["score"]
                curves.setdefault(mode, []).append((m, ns / m))
            items = int(p.get("items", 1000000))
            yield f"{items / 1e6:g}M items, {p['itemVectors'].lower()} rows", curves


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    panels = list(trials(paths))
    if not panels:
        sys.exit("no InterleavedModesBenchmark results in " + ", ".join(paths))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False, sharey=True)
    for ax, (title, curves) in zip(axes[0], panels):
        for mode, points in curves.items():
            points.sort()
            floor = mode.startswith("FLOOR_")
            ax.plot([m for m, _ in points], [ns for _, ns in points], "--" if floor else "-", marker="o",
                    markersize=3, color=COLORS.get(mode), label=FLOOR_NAMES.get(mode, mode))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("candidates a request (M)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("ns a candidate (request time / M)")
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main()
