"""Ranking metrics of the trainer (numpy): AUC, GAUC, logloss, teacher-student fidelity, codebook utilization.

Scores come per evaluation row as [E, C] arrays (one user a row, column 0 the positive in the split's layout, but
nothing here assumes where the positive is: ``labels`` say it).
"""

from __future__ import annotations

import numpy as np

__all__ = ["auc", "gauc", "logloss", "fidelity", "utilization", "code_entropy", "ranking_metrics"]


def _ranks(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Average ranks (1-based) along ``axis``, ties sharing the mean of their ranks."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    order = np.argsort(x, axis=-1, kind="stable")
    sorted_x = np.take_along_axis(x, order, axis=-1)
    n = x.shape[-1]
    ranks_sorted = np.broadcast_to(np.arange(1, n + 1, dtype=np.float64), x.shape).copy()
    # Average over runs of equal values: a run spans [start, end); its mean rank is (start + end + 1) / 2.
    flat_sorted = sorted_x.reshape(-1, n)
    flat_ranks = ranks_sorted.reshape(-1, n)
    for row in np.flatnonzero((np.diff(flat_sorted, axis=1) == 0).any(axis=1)):
        values = flat_sorted[row]
        starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
        ends = np.concatenate([starts[1:], [n]])
        flat_ranks[row] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    ranks = np.empty_like(ranks_sorted)
    np.put_along_axis(ranks, order, flat_ranks.reshape(x.shape), axis=-1)
    return np.moveaxis(ranks, -1, axis)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC over all (row, candidate) pairs pooled, ties counted half (Mann-Whitney)."""
    s = np.asarray(scores, np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1) > 0.5
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    r = _ranks(s)
    return float((r[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def gauc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Per-row AUC averaged with each row weighted by its impressions (candidates); rows with only positives or
    only negatives are left out."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(labels) > 0.5
    r = _ranks(s, axis=1)
    pos = y.sum(axis=1)
    neg = (~y).sum(axis=1)
    keep = (pos > 0) & (neg > 0)
    if not keep.any():
        return float("nan")
    per_row = ((r * y).sum(axis=1) - pos * (pos + 1) / 2)[keep] / (pos * neg)[keep]
    weights = (pos + neg)[keep]
    return float((per_row * weights).sum() / weights.sum())


def logloss(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy of sigmoid(logits), computed stably from the logits."""
    z = np.asarray(logits, np.float64).reshape(-1)
    y = np.asarray(labels, np.float64).reshape(-1)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def fidelity(student: np.ndarray, teacher: np.ndarray, k: int = 10) -> dict:
    """How the student ranks each row's candidates like the teacher: mean per-row Spearman of the logits, and mean
    recall of the teacher's top-k among the student's top-k."""
    s = np.asarray(student, np.float64)
    t = np.asarray(teacher, np.float64)
    rs, rt = _ranks(s, axis=1), _ranks(t, axis=1)
    rs -= rs.mean(axis=1, keepdims=True)
    rt -= rt.mean(axis=1, keepdims=True)
    denominator = np.sqrt((rs * rs).sum(axis=1) * (rt * rt).sum(axis=1))
    spearman = np.where(denominator > 0, (rs * rt).sum(axis=1) / np.where(denominator > 0, denominator, 1), 0.0)
    k = min(k, s.shape[1])
    # Ties at the k-th place go to the lower candidate position, as the engine's top-k breaks them.
    top_s = np.argsort(-s, axis=1, kind="stable")[:, :k]
    top_t = np.argsort(-t, axis=1, kind="stable")[:, :k]
    hits = (top_s[:, :, None] == top_t[:, None, :]).any(axis=2).sum(axis=1)
    return {"spearman": float(spearman.mean()), f"recall_at_{k}": float((hits / k).mean())}


def utilization(codes: np.ndarray, codebook_size: int) -> list[float]:
    """Per level: distinct codes used over the catalog / K, for codes [L, N]."""
    return [float(np.unique(level).size / codebook_size) for level in np.asarray(codes)]


def code_entropy(codes: np.ndarray, codebook_size: int) -> list[float]:
    """Per level: entropy in bits of the code distribution over the catalog (log2 K at most)."""
    out = []
    for level in np.asarray(codes):
        p = np.bincount(level.astype(np.int64), minlength=codebook_size) / max(level.size, 1)
        p = p[p > 0]
        out.append(float(-(p * np.log2(p)).sum()))
    return out


def ranking_metrics(logits: dict[str, np.ndarray], labels: np.ndarray) -> dict:
    """{"auc": {model: ..}, "gauc": {..}, "logloss": {..}} for logits {model: [E, C]}."""
    return {
        "auc": {name: auc(z, labels) for name, z in logits.items()},
        "gauc": {name: gauc(z, labels) for name, z in logits.items()},
        "logloss": {name: logloss(z, labels) for name, z in logits.items()},
    }
