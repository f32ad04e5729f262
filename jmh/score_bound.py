#!/usr/bin/env python3
"""How large a model's LUT-build attention scores get, in the kernels' base-2 units, for random histories:

    /usr/bin/python3 jmh/score_bound.py MODEL.safetensors [MODEL ...]

Prints the largest |score| seen and the bound the engine checks (max ‖q_j‖ · max ‖k_j‖ over codeword queries and
keys, null key included). Where the bound is at most 64, the Panama kernels' softmax skips its max (AttentionKeys,
docs/engine.md). Needs numpy and tools/python (the contract's float64 reference).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "python"))
from tarq import safetensors_np  # noqa: E402
from tarq.reference import Reference  # noqa: E402

LOG2E = 1.4426950408889634


def main():
    for path in sys.argv[1:]:
        tensors, metadata = safetensors_np.read(path)
        ref = Reference(tensors, metadata)
        t, heads, n = ref.t, ref.heads, ref.n_max
        random = np.random.default_rng(0)
        largest_score = largest_bound = 0.0
        for _ in range(20):  # requests with n_max random behaviours
            h = ref.sequence(random.integers(0, t["item.emb"].shape[0], n))
            dh = h.shape[1] // heads
            keys = h @ t["rq.attn.wk"].T + t["rq.attn.bk"]
            for level in range(t["rq.codebooks"].shape[0]):
                q = t["rq.codebooks"][level] @ t["rq.attn.wq"][level].T + t["rq.attn.bq"][level]
                for j in range(heads):
                    cols = slice(j * dh, (j + 1) * dh)
                    qj = q[:, cols] * LOG2E / np.sqrt(dh)
                    key_norm = np.linalg.norm(keys[:, cols], axis=1).max()
                    if "rq.attn.null_k" in t:
                        key_norm = max(key_norm, np.linalg.norm(t["rq.attn.null_k"][j]))
                    largest_score = max(largest_score, np.abs(qj @ keys[:, cols].T).max())
                    largest_bound = max(largest_bound, np.linalg.norm(qj, axis=1).max() * key_norm)
        verdict = "within" if largest_bound <= 64 else "beyond"
        print(f"{path}: largest |score| {largest_score:.1f}, bound {largest_bound:.1f} ({verdict} ±64), n = {n}")


if __name__ == "__main__":
    main()
