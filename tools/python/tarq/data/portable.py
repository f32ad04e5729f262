"""A sampler of evaluation negatives that the Java engine reproduces bit for bit (``./tarq eval``).

numpy's generators cannot be reproduced outside numpy, so the evaluation candidates (validation and test) are drawn
from SplitMix64 with plain integer arithmetic, the same in both languages:

- one stream per (seed, split, user row): ``state = mix(seed·γ ⊕ mix(split·γ ⊕ mix(user·γ)))`` where γ =
  0x9E3779B97F4A7C15 and ``mix`` is SplitMix64's finalizer (all arithmetic modulo 2⁶⁴);
- each draw: ``state += γ``, ``x = mix(state)``, item = ⌊x · N / 2⁶⁴⌋ (no modulo bias to speak of);
- a draw is kept when the user never touched the item and it was not drawn before for this row, until k are kept.

Java's twin is ``io.tarq.tools.data.PortableNegatives``; a test pins both to the same values.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GAMMA", "mix", "portable_negatives"]

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def mix(z: int) -> int:
    """SplitMix64's finalizer (Stafford's variant 13), on a 64-bit unsigned value."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def stream_state(seed: int, split: int, user: int) -> int:
    return mix(((seed * GAMMA) & MASK) ^ mix(((split * GAMMA) & MASK) ^ mix((user * GAMMA) & MASK)))


def portable_negatives(seed: int, split: int, users: np.ndarray, k: int, touched_of, items: int) -> np.ndarray:
    """int32 [len(users), k]: for each user row, k distinct items outside ``touched_of(user)`` (a set), in draw
    order. The caller guarantees at least k such items exist."""
    out = np.empty((len(users), k), np.int32)
    for r, user in enumerate(users.tolist()):
        state = stream_state(seed, split, user)
        touched = touched_of(user)
        kept: list[int] = []
        seen: set[int] = set()
        while len(kept) < k:
            state = (state + GAMMA) & MASK
            item = (mix(state) * items) >> 64
            if item in touched or item in seen:
                continue
            seen.add(item)
            kept.append(item)
        out[r] = kept
    return out
