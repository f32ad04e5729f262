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

__all__ = ["events_tensors", "write_events"]


def events_tensors(dataset: Dataset, examples: Examples, limit: int = 0) -> dict[str, np.ndarray]:
    rows = len(examples) if not limit else min(limit, len(examples))
    histories = [dataset.item_ids[examples.history(r)] for r in range(rows)]
    lengths = [len(h) for h in histories]
    return {
        "request.user": dataset.user_ids[examples.users[:rows]].astype(np.int64),
        "request.history_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "request.history": (np.concatenate(histories) if rows else np.zeros(0)).astype(np.int64),
        "request.candidates": dataset.item_ids[examples.candidates[:rows]].astype(np.int64),
        "request.labels": (examples.labels[:rows] > 0.5).astype(np.uint8),
    }


def write_events(path, dataset: Dataset, examples: Examples, metadata: dict[str, str], limit: int = 0) -> None:
    safetensors_np.write(path, events_tensors(dataset, examples, limit), metadata)
