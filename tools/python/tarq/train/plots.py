"""Loss and codebook-utilization curves as PNG, with matplotlib when it is installed (it is optional: Debian's
``python3-matplotlib``). Without it the curves are still in the training log JSON, and one line says so."""

from __future__ import annotations

__all__ = ["have_matplotlib", "write_curves"]


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _smooth(values: list[float], window: int = 20) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def write_curves(runs: dict[str, list[dict]], prefix: str) -> list[str]:
    """``runs`` maps a run name (``tt``, ``tarq``) to its logged steps. Writes ``{prefix}.loss.png`` (every loss term
    of every run, smoothed) and, when a run logged utilization, ``{prefix}.utilization.png``. Returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    written = []
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for run, steps in runs.items():
        terms = sorted({k for s in steps for k in s} - {"step", "epoch", "utilization", "restarted"})
        for term in terms:
            points = [(s["step"], s[term]) for s in steps if term in s]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, _smooth(list(ys)), label=f"{run}: {term}", linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss term (moving average of 20 logs)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = f"{prefix}.loss.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    util = {run: [(s["step"], s["utilization"]) for s in steps if "utilization" in s] for run, steps in runs.items()}
    if any(util.values()):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for run, points in util.items():
            if not points:
                continue
            for level in range(len(points[0][1])):
                ax.plot([p[0] for p in points], [p[1][level] for p in points], label=f"{run}: level {level + 1}")
        ax.set_xlabel("step")
        ax.set_ylabel("codes used over the catalog / K")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = f"{prefix}.utilization.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
