"""Summarize training runs for docs/results.md: mean ± standard deviation over seeds of every metric.

    python3 -m tarq.train.results runs/beauty/s*.safetensors.metrics.json --ablation runs/beauty/noalign-s*.metrics.json

prints a Markdown table: AUC, GAUC and logloss of TT (the separate baseline), TA, TARQ, and TARQ without alignment
(from the ablation runs), utilization per level with and without alignment, fidelity and training time.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

__all__ = ["summarize", "main"]


def _load(paths):
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            out.append(json.load(f))
    return out


def _fmt(values, digits=4) -> str:
    values = np.asarray(values, np.float64)
    if values.size == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _gain_and_gap(runs, metric):
    """Per run, TARQ − TT of ``metric`` and its share of TA − TT (NaN where the teacher is level with TT)."""
    gain = [r[metric]["tarq"] - r[metric]["tt"] for r in runs]
    gap = [g / (r[metric]["ta"] - r[metric]["tt"]) if r[metric]["ta"] != r[metric]["tt"] else float("nan")
           for g, r in zip(gain, runs)]
    return gain, gap


def summarize(runs: list[dict], ablation: list[dict]) -> str:
    lines = [f"runs: {len(runs)} seeds" + (f", ablation: {len(ablation)} seeds" if ablation else ""), "",
             "| model | AUC | GAUC | logloss |", "|---|---|---|---|"]
    tt_label = "TT (separate baseline)" if all(r.get("tt_source", "baseline") == "baseline" for r in runs) \
        else "TT (the joint model's)"
    for label, key in ((tt_label, "tt"), ("TA (teacher)", "ta"), ("TARQ", "tarq")):
        lines.append(f"| {label} | {_fmt([r['auc'][key] for r in runs])} | {_fmt([r['gauc'][key] for r in runs])} "
                     f"| {_fmt([r['logloss'][key] for r in runs])} |")
        if key == "tt" and all("joint_tt" in r for r in runs) and tt_label.endswith("baseline)"):
            lines.append(f"| TT score of the joint model | {_fmt([r['joint_tt']['auc'] for r in runs])} "
                         f"| {_fmt([r['joint_tt']['gauc'] for r in runs])} | |")
    if ablation:
        lines.append(f"| TARQ without alignment | {_fmt([r['auc']['tarq'] for r in ablation])} "
                     f"| {_fmt([r['gauc']['tarq'] for r in ablation])} "
                     f"| {_fmt([r['logloss']['tarq'] for r in ablation])} |")
    gain, gap = _gain_and_gap(runs, "auc")
    lines += ["", f"TARQ − TT AUC: {_fmt(gain)} (seeds: {', '.join(f'{g:+.4f}' for g in gain)}); "
                  f"share of the TT→TA gap recovered: {_fmt(gap, 2)} (seeds: {', '.join(f'{g:.2f}' for g in gap)})"]
    gauc_gain, gauc_gap = _gain_and_gap(runs, "gauc")
    lines.append(f"TARQ − TT GAUC: {_fmt(gauc_gain)}; share of the GAUC gap: {_fmt(gauc_gap, 2)}")
    util = np.array([r["utilization"] for r in runs])
    lines.append("utilization per level (alignment): " + ", ".join(_fmt(util[:, l], 3) for l in range(util.shape[1])))
    if ablation:
        util = np.array([r["utilization"] for r in ablation])
        lines.append("utilization per level (no alignment): "
                     + ", ".join(_fmt(util[:, l], 3) for l in range(util.shape[1])))
    lines.append(f"fidelity: Spearman {_fmt([r['fidelity']['spearman'] for r in runs], 3)}, "
                 f"recall@10 {_fmt([r['fidelity']['recall_at_10'] for r in runs], 3)}")
    seconds = {name: [r["train_seconds"][name] for r in runs if name in r.get("train_seconds", {})]
               for name in ("tt", "tarq")}
    lines.append("training time (s): " + ", ".join(f"{k} {_fmt(v, 0)}" for k, v in seconds.items() if v)
                 + "; best epochs: " + ", ".join(str(r.get("best_epoch")) for r in runs))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m tarq.train.results", description=__doc__.split("\n\n")[0])
    p.add_argument("metrics", nargs="+", help="MODEL.metrics.json files of the runs (one per seed)")
    p.add_argument("--ablation", nargs="*", default=[], help="metrics files of the --no-align runs")
    args = p.parse_args(argv)
    print(summarize(_load(args.metrics), _load(args.ablation)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
