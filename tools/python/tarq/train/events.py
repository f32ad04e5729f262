"""Evaluation events as a file: the requests of an evaluation split, in external ids, with their labels.

The engine reads this to compute AUC, GAUC and fidelity without Python (``./tarq demo``; the parity fixtures use the
same request tensors). Tensors (safetensors, docs/training.md):

    request.user            [E]        int64  external user id
    request.history_offsets [E + 1]    int64  CSR over request.history
    request.history         [nnz]      int64  behaviour ids, oldest first (the newest n_max before the target)
    request.candidates      [E, C]     int64  candidate ids (the split's column 0 is the positive)
    request.labels          [E, C]     uint8  1 = clicked
"""

from __future__ import annotations

import numpy as np

from .. import safetensors_np
from ..data import Dataset, Examples

__all__ = ["request_tensors", "events_tensors", "write_events"]


def request_tensors(users, histories, candidates) -> dict[str, np.ndarray]:
    """The ``request.*`` tensors (external ids) of requests given as user ids [R], histories (R sequences, oldest
    first) and candidates [R, C]: the layout shared by the events file and the parity fixtures."""
    lengths = [len(h) for h in histories]
    flat = np.concatenate([np.asarray(h, np.int64) for h in histories]) if len(histories) else np.zeros(0)
    return {
        "request.user": np.asarray(users, np.int64),
        "request.history_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "request.history": flat.astype(np.int64),
        "request.candidates": np.asarray(candidates, np.int64),
    }


def events_tensors(dataset: Dataset, examples: Examples, limit: int = 0) -> dict[str, np.ndarray]:
    rows = len(examples) if not limit else min(limit, len(examples))
    tensors = request_tensors(dataset.user_ids[examples.users[:rows]],
                              [dataset.item_ids[examples.history(r)] for r in range(rows)],
                              dataset.item_ids[examples.candidates[:rows]])
    tensors["request.labels"] = (examples.labels[:rows] > 0.5).astype(np.uint8)
    return tensors


def write_events(path, dataset: Dataset, examples: Examples, metadata: dict[str, str], limit: int = 0) -> None:
    safetensors_np.write(path, events_tensors(dataset, examples, limit), metadata)
