"""The contract's forward pass on a model file, in float64 numpy: the oracle the trainer's export is checked with.

Written from ``docs/model.md`` alone (not from the torch modules), request semantics included:
unknown user -> row 0, unknown behaviours dropped and the newest ``n_max`` kept, unknown candidates an error.
It scores TARQ from the codes in the file (``item.codes``), as the engine does, but with the contract's formulas
as written, not through the serving identity or tables: the personalized codebook Pz, the student's output
ĥ = Σ_l Pz[l, z_l(i)], then ⟨ĥ, r_u⟩. With the cross head (format version 2) both logits add ⟨A·x, q_i⟩ for
x = t (teacher) and x = ĥ (student), with A and q_i = W_x·e_i + b_x computed here from ``ta.cross.*`` and
``item.emb``: the file's precomputed ``item.cross`` is not read, so a wrong one shows as a difference.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Reference"]


def _layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _softmax(s):
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(-1, keepdims=True)


class Reference:
    def __init__(self, tensors: dict, metadata: dict):
        self.t = {k: np.asarray(v, np.float64) if np.asarray(v).dtype.kind == "f" else np.asarray(v)
                  for k, v in tensors.items()}
        self.heads = int(metadata["heads"])
        self.n_max = int(metadata["n_max"])
        self.item_row = {int(i): r for r, i in enumerate(np.asarray(tensors["item.ids"]).tolist())}
        self.user_row = {int(u): r for r, u in enumerate(np.asarray(tensors["user.ids"]).tolist())}

    def _mha(self, prefix: str, q_in, h, level: int | None = None):
        t, heads = self.t, self.heads
        d = q_in.shape[-1]
        dh = d // heads
        wq, bq = t[f"{prefix}.wq"], t[f"{prefix}.bq"]
        if level is not None:
            wq, bq = wq[level], bq[level]
        q = q_in @ wq.T + bq
        out = np.zeros((q.shape[0], d))
        if h.shape[0] or f"{prefix}.null_k" in t:
            k = h @ t[f"{prefix}.wk"].T + t[f"{prefix}.bk"]
            v = h @ t[f"{prefix}.wv"].T + t[f"{prefix}.bv"]
            for j in range(heads):
                cols = slice(j * dh, (j + 1) * dh)
                s = q[:, cols] @ k[:, cols].T / np.sqrt(dh)
                if f"{prefix}.null_k" in t:
                    null = q[:, cols] @ t[f"{prefix}.null_k"][j] / np.sqrt(dh)
                    a = _softmax(np.concatenate([null[:, None], s], axis=1))[:, 1:]
                else:
                    a = _softmax(s)
                out[:, cols] = a @ v[:, cols]
        return out @ t[f"{prefix}.wo"].T + t[f"{prefix}.bo"]

    def sequence(self, rows) -> np.ndarray:
        """H [n, d]: the sequence block over the behaviours at item rows ``rows`` (oldest first, at most n_max)."""
        t = self.t
        n = len(rows)
        x = t["item.emb"][rows] + t["seq.pos"][n - 1 - np.arange(n)]  # the newest (j = n) gets P[0]
        return _layer_norm(x + self._mha("seq.attn", x, x), t["seq.ln.weight"], t["seq.ln.bias"]) if n else x

    def score(self, user_id: int, behaviours, candidates) -> dict[str, np.ndarray]:
        """Logits {tt, ta, tarq} for the candidates (external ids); KeyError naming an unknown candidate."""
        t = self.t
        rows = [self.item_row[b] for b in behaviours if b in self.item_row][-self.n_max:]
        cand = []
        for c in candidates:
            if c not in self.item_row:
                raise KeyError(f"candidate id {c} is not in the catalog")
            cand.append(self.item_row[c])
        h = self.sequence(rows)
        x_u = t["user.emb"][self.user_row.get(int(user_id), 0)]
        h_u = self._mha("user.attn", x_u[None], h)[0]
        z = np.maximum(np.concatenate([x_u, h_u]) @ t["user.mlp.0.weight"].T + t["user.mlp.0.bias"], 0)
        v_u = z @ t["user.mlp.2.weight"].T + t["user.mlp.2.bias"]
        u_hat = v_u / np.linalg.norm(v_u)
        r_u = t["ta.readout.weight"] @ v_u + t["ta.readout.bias"]
        e = t["item.emb"][cand]
        tt = t["head.tau"][0] * (t["item.vec"][cand] @ u_hat) + t["head.beta"][0]
        ta_out = self._mha("ta.attn", e, h)  # t(u, i) [C, d]
        if "ta.mlp.0.weight" in t:
            hid = np.maximum(np.concatenate([ta_out, e * ta_out, e], axis=1) @ t["ta.mlp.0.weight"].T
                             + t["ta.mlp.0.bias"], 0)
            ta = tt + (hid @ t["ta.mlp.2.weight"].T + t["ta.mlp.2.bias"])[:, 0]
        else:
            ta = tt + ta_out @ r_u + self._cross_term(ta_out, e)
        codes = t["item.codes"][:, cand]  # [L, C]
        pz = [self._mha("rq.attn", t["rq.codebooks"][level], h, level) for level in range(codes.shape[0])]  # [K, d]
        h_hat = sum(pz[level][codes[level]] for level in range(codes.shape[0]))  # ĥ(u, i) [C, d]
        tarq = tt + h_hat @ r_u + self._cross_term(h_hat, e)
        return {"tt": tt, "ta": ta, "tarq": tarq}

    def _cross_term(self, x, e) -> np.ndarray | float:
        """⟨A·x, q_i⟩ [C] for attention outputs x [C, d] of candidates with embeddings e [C, d]; 0 without the cross
        head (format version 1)."""
        t = self.t
        if "ta.cross.a" not in t:
            return 0.0
        q = e @ t["ta.cross.item.weight"].T + t["ta.cross.item.bias"]  # q_i = W_x·e_i + b_x [C, dx]
        return ((x @ t["ta.cross.a"].T) * q).sum(axis=1)  # A·x [C, dx]
