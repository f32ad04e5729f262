#!/usr/bin/env python3
"""Line plots of request latency from JMH JSON results (RequestBenchmark), as standalone SVG with no dependencies.

    python3 jmh/plot_requests.py RESULTS.json PARAM OUT.svg [--title T]

PARAM is the swept @Param (candidates, history or items); one line per mode, log-log axes, error bars from JMH's
99.9% confidence interval.
"""
import argparse
import json
import math

COLORS = {"TT": "#4477aa", "TARQ": "#228833", "TARQ_F32": "#ccbb44", "TA": "#ee6677",
          "ORT_TT": "#4477aa", "ORT_TARQ": "#228833", "ORT_TA": "#ee6677", "ORT_TARQ_CANDIDATE": "#66ccee"}
LABELS = {"candidates": "candidates a request (M)", "history": "behaviours a request (n)", "items": "catalog items (N)"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("param")
    ap.add_argument("out")
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    series = {}
    for r in json.load(open(args.results)):
        if not r["benchmark"].endswith("RequestBenchmark.request"):
            continue
        mode = r["params"]["mode"]
        x = float(r["params"][args.param])
        m = r["primaryMetric"]
        series.setdefault(mode, []).append((x, m["score"], m["scoreError"]))
    for points in series.values():
        points.sort()
    xs = [p[0] for s in series.values() for p in s]
    ys = [max(p[1] - p[2], p[1] * 0.5) for s in series.values() for p in s] + [p[1] + p[2] for s in series.values() for p in s]
    x0, x1 = math.log10(min(xs)), math.log10(max(xs))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    w, h, left, right, top, bottom = 640, 400, 70, 130, 40, 50

    def px(x):
        return left + (math.log10(x) - x0) / max(x1 - x0, 1e-9) * (w - left - right)

    def py(y):
        return h - bottom - (math.log10(max(y, 1e-9)) - y0) / (y1 - y0) * (h - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{args.title}</text>']
    for e in range(int(y0), int(y1) + 1):
        y = py(10 ** e)
        out.append(f'<line x1="{left}" y1="{y}" x2="{w - right}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{10 ** e:g} µs</text>')
    for x in sorted(set(xs)):
        out.append(f'<line x1="{px(x)}" y1="{top}" x2="{px(x)}" y2="{h - bottom}" stroke="#eee"/>')
        out.append(f'<text x="{px(x)}" y="{h - bottom + 16}" text-anchor="middle">{int(x):,}</text>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - 12}" text-anchor="middle">{LABELS.get(args.param, args.param)}</text>')
    for i, (mode, points) in enumerate(sorted(series.items(), key=lambda kv: list(COLORS).index(kv[0]) if kv[0] in COLORS else 9)):
        color = COLORS.get(mode, "#666")
        path = " ".join(f"{'M' if j == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for j, (x, y, _) in enumerate(points))
        dash = ' stroke-dasharray="6,4"' if mode.startswith("ORT_") else ""  # ONNX Runtime: dashed, same colour
        out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y, err in points:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
            out.append(f'<line x1="{px(x):.1f}" y1="{py(y + err):.1f}" x2="{px(x):.1f}" y2="{py(max(y - err, y * 0.5)):.1f}" stroke="{color}"/>')
        out.append(f'<line x1="{w - right + 12}" y1="{top + 20 * i + 8}" x2="{w - right + 32}" y2="{top + 20 * i + 8}" stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{w - right + 38}" y="{top + 20 * i + 12}">{mode}</text>')
    out.append("</svg>")
    open(args.out, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
