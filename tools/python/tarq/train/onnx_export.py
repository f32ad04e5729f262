"""Export a model file's TT, TA and TARQ logits to ONNX graphs (``torch.onnx.export``, opset 13) for ONNX Runtime.

    python3 -m tarq.train.onnx_export MODEL.safetensors --out-dir DIR [--tarq-form lut|candidate|both]

writes ``DIR/tt.onnx``, ``DIR/ta.onnx``, ``DIR/tarq.onnx`` (and ``DIR/tarq-candidate.onnx`` with ``candidate`` or
``both``) and ``DIR/export.json`` (the source file's size and SHA-256, the forms, the dimensions). The graphs are
built from the model FILE, not from a trainer checkpoint: any file the engine serves can be exported, the JMH
benchmarks' synthetic catalogs included.

One graph scores one request, in catalog rows (the caller resolves ids and applies the request semantics: unknown
user -> row 0, unknown behaviours dropped, the newest ``n_max`` kept, as the engine's ``Scorer`` does):

    user        int64 [1]    user row
    history     int64 [n]    behaviour rows, oldest first; dynamic n, 0 <= n <= n_max (n = 0 works, see below)
    candidates  int64 [M]    candidate rows; dynamic M >= 1
    -> logits   float32 [M]

Everything else is an initializer inside the graph: the catalog (``item.emb``, ``item.vec``, the codes), the user
table and every weight. So a graph is about as large as the model file (a 1M-item catalog at d = dv = 64 is about
0.5 GB a graph: each holds ``item.emb`` and ``item.vec``). Protobuf caps one file at 2 GB; past that torch 1.13 would
write initializers as external files named after them beside the graph, where the graphs of one directory could
overwrite each other's, so files above :data:`MAX_SOURCE_BYTES` (about 3.5M items at the defaults) are refused
with a message instead.

The math is the contract's (``docs/model.md``) written for one request, the way an ONNX Runtime user
would write it, with nothing of the engine's serving tricks:

- **TT**: s_TT = τ·⟨û, î⟩ + β, î gathered from ``item.vec``.
- **TA**: t = MHA_ta(e_i; H) for every candidate (its query projection, one attention row, Wo), then the readout
  ⟨t, r_u⟩ or, when the file has ``ta.mlp.*``, the DIN-style head MLP([t; e⊙t; e]).
- **TARQ** (``tarq.onnx``, form ``lut``): the contract's equations as written. Once per request the personalized
  codebook Pz[l, k] = MHA_rq(C_l[k]; H) (full multi-head attention: values, Wo and bo for all L·K codewords), the
  table LUT[l][k] = ⟨Pz[l, k], r_u⟩, and per candidate s_TT + Σ_l LUT[l][z_l(i)] (codes stored item-major, [N, L]
  uint8, one gathered row a candidate). What the engine adds and the graph lacks is the serving identity
  (⟨MHA(q; H), r⟩ = Σ_j softmax·u_j + ⟨bo, r⟩: no values, no Wo, no readout per codeword), the codeword queries
  precomputed at load (the export's constant folding does the same here: they depend on initializers only), and the uint8
  table scan.
- **TARQ, form ``candidate``** (``tarq-candidate.onnx``): the student as trained (``TarqNet.student``), ĥ(u, i) =
  Σ_l MHA_rq(C_l[z_l(i)]; H) per candidate, then s_TT + ⟨ĥ, r_u⟩: L attention rows a candidate, no personalized
  codebook at all. The same logits; it measures what the codebook itself saves.
- **The cross head** (format version 2, ``ta.cross.*``): q_i is gathered from ``item.cross``, as î from ``item.vec``.
  TA adds ⟨A·t, q_i⟩; TARQ ``lut`` adds the contract's second table, X[l, k] = A·Pz[l, k] ([L, K, dx] once per
  request), and per candidate ⟨Σ_l X[l, z_l(i)], q_i⟩; TARQ ``candidate`` adds ⟨A·ĥ, q_i⟩. Inputs and output are the
  same as for version 1, so a caller runs either version's graphs alike.

Attention with n = 0 and without a null key (the contract: out = bo) is written so that no reduction runs over an
empty axis: the scores get one extra column first, the null key's score when the attention has one, else a constant
-1e30 (its weight is exactly 0 as soon as one real key exists), and that column's value is a zero row. With n = 0
the whole weight goes to that column and o = 0, so out = bo, with no special case in the graph.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn

from .. import safetensors_np

__all__ = ["OPSET", "FORMS", "MAX_SOURCE_BYTES", "RequestGraph", "load_tensors", "export_graph", "export_model", "main"]

OPSET = 13
FORMS = ("lut", "candidate")
GRAPH_FILES = {"tt": "tt.onnx", "ta": "ta.onnx", "tarq": "tarq.onnx", "tarq-candidate": "tarq-candidate.onnx"}
INPUTS = ("user", "history", "candidates")
OUTPUT = "logits"
_NO_KEY = -1e30  # the score of the extra column of an attention without a null key
MAX_SOURCE_BYTES = 1_900_000_000  # a graph holds about the whole file; protobuf's limit is 2 GB


def load_tensors(path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The model file's tensors as torch tensors (float32, int64, uint8 as stored) and its metadata."""
    arrays, metadata = safetensors_np.read(path)
    tensors = {name: torch.from_numpy(np.array(a)) for name, a in arrays.items()}  # np.array: a writable copy
    return tensors, dict(metadata)


class _Attention(nn.Module):
    """MHA(q; H) for one request: q [m, d], H [n, d] -> [m, d]; per-level query projections when wq is [L, d, d]."""

    def __init__(self, t: dict[str, torch.Tensor], prefix: str, heads: int):
        super().__init__()
        for name in ("wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo"):
            self.register_buffer(name, t[f"{prefix}.{name}"].float())
        null = t.get(f"{prefix}.null_k")
        self.register_buffer("null_k", null.float() if null is not None else None)
        self.d = self.wk.shape[0]
        self.heads, self.dh = heads, self.d // heads
        self.register_buffer("zero_value", torch.zeros(heads, 1, self.dh))  # the extra column's value

    def queries(self, x: torch.Tensor, level: int | None = None) -> torch.Tensor:
        if level is None:
            return x @ self.wq.T + self.bq
        return x @ self.wq[level].T + self.bq[level]

    def keys(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return h @ self.wk.T + self.bk, h @ self.wv.T + self.bv

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        heads, dh = self.heads, self.dh
        qh = q.reshape(-1, heads, dh).transpose(0, 1)  # [h, m, dh]
        kh = k.reshape(-1, heads, dh).transpose(0, 1)  # [h, n, dh]
        vh = v.reshape(-1, heads, dh).transpose(0, 1)
        scale = 1 / math.sqrt(dh)
        scores = (qh @ kh.transpose(1, 2)) * scale  # [h, m, n]
        if self.null_k is not None:
            first = (qh @ self.null_k[:, :, None]) * scale  # [h, m, 1]
        else:
            first = qh[:, :, :1] * 0 + _NO_KEY  # [h, m, 1], also at n = 0
        weights = torch.softmax(torch.cat([first, scores], dim=-1), dim=-1)  # [h, m, n + 1]
        values = torch.cat([self.zero_value, vh], dim=1)  # [h, n + 1, dh]
        o = (weights @ values).transpose(0, 1).reshape(-1, self.d)  # [m, d]
        return o @ self.wo.T + self.bo

    def forward(self, x: torch.Tensor, h: torch.Tensor, level: int | None = None) -> torch.Tensor:
        k, v = self.keys(h)
        return self.attend(self.queries(x, level), k, v)


def _mlp(t: dict[str, torch.Tensor], prefix: str) -> nn.Sequential:
    w0, w2 = t[f"{prefix}.0.weight"].float(), t[f"{prefix}.2.weight"].float()
    mlp = nn.Sequential(nn.Linear(w0.shape[1], w0.shape[0]), nn.ReLU(), nn.Linear(w2.shape[1], w2.shape[0]))
    with torch.no_grad():
        mlp[0].weight.copy_(w0)
        mlp[0].bias.copy_(t[f"{prefix}.0.bias"])
        mlp[2].weight.copy_(w2)
        mlp[2].bias.copy_(t[f"{prefix}.2.bias"])
    return mlp.requires_grad_(False)


class RequestGraph(nn.Module):
    """One request's logits of one model (``tt``, ``ta``, ``tarq`` or ``tarq-candidate``), from a model file's tensors.

    ``forward(user [1], history [n], candidates [M]) -> logits [M]``, all in catalog rows.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], metadata: dict[str, str], model: str):
        super().__init__()
        if model not in GRAPH_FILES:
            raise ValueError(f"model {model!r} is none of {sorted(GRAPH_FILES)}")
        t = tensors
        heads = int(metadata["heads"])
        self.model = model
        self.register_buffer("item_emb", t["item.emb"].float())
        self.register_buffer("user_emb", t["user.emb"].float())
        self.register_buffer("pos", t["seq.pos"].float())
        self.seq_attn = _Attention(t, "seq.attn", heads)
        self.seq_ln = nn.LayerNorm(self.item_emb.shape[1], eps=1e-5)
        with torch.no_grad():
            self.seq_ln.weight.copy_(t["seq.ln.weight"])
            self.seq_ln.bias.copy_(t["seq.ln.bias"])
        self.seq_ln.requires_grad_(False)
        self.user_attn = _Attention(t, "user.attn", heads)
        self.user_mlp = _mlp(t, "user.mlp")
        self.register_buffer("tau", t["head.tau"].float().reshape(()))
        self.register_buffer("beta", t["head.beta"].float().reshape(()))
        self.register_buffer("item_vec", t["item.vec"].float())
        self.register_buffer("readout_w", t["ta.readout.weight"].float())
        self.register_buffer("readout_b", t["ta.readout.bias"].float())
        self.ta_attn = self.ta_mlp = self.rq_attn = None
        self.cross_head = "ta.cross.a" in t and model != "tt"
        if self.cross_head:
            self.register_buffer("cross_a", t["ta.cross.a"].float())  # A [dx, d]
            self.register_buffer("item_cross", t["item.cross"].float())  # q_i [N, dx]
        if model == "ta":
            self.ta_attn = _Attention(t, "ta.attn", heads)
            if "ta.mlp.0.weight" in t:
                self.ta_mlp = _mlp(t, "ta.mlp")
        elif model.startswith("tarq"):
            self.rq_attn = _Attention(t, "rq.attn", heads)
            self.register_buffer("codebooks", t["rq.codebooks"].float())  # [L, K, d]
            # Item-major [N, L]: a candidate's L codes are one gathered row (the engine keeps the same copy).
            self.register_buffer("codes", t["item.codes"].T.contiguous())

    def user_side(self, user: torch.Tensor, history: torch.Tensor):
        """(H [n, d], v_u [dv], r_u [d]) of the request."""
        # X_j = e_{b_j} + P[n - j]: recency n-1-j for 0-based j, from tensors alone (no Python int of n in the trace).
        ones = torch.ones_like(history)
        recency = ones.sum() - ones.cumsum(0)  # [n]: n-1, ..., 0
        x = self.item_emb[history] + self.pos[recency]
        h = self.seq_ln(x + self.seq_attn(x, x))
        x_u = self.user_emb[user]  # [1, d]
        h_u = self.user_attn(x_u, h)
        v_u = self.user_mlp(torch.cat([x_u, h_u], dim=-1))[0]  # [dv]
        r_u = self.readout_w @ v_u + self.readout_b
        return h, v_u, r_u

    def forward(self, user: torch.Tensor, history: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        h, v_u, r_u = self.user_side(user, history)
        u_hat = v_u / torch.sqrt((v_u * v_u).sum())
        tt = self.tau * (self.item_vec[candidates] @ u_hat) + self.beta  # [M]
        if self.model == "tt":
            return tt
        if self.model == "ta":
            e = self.item_emb[candidates]  # [M, d]
            t = self.ta_attn(e, h)
            if self.ta_mlp is not None:
                return tt + self.ta_mlp(torch.cat([t, e * t, e], dim=-1))[:, 0]
            if self.cross_head:
                return tt + t @ r_u + self._cross_term(t, candidates)
            return tt + t @ r_u
        codes = self.codes[candidates].long()  # [M, L]
        levels = self.codebooks.shape[0]
        if self.model == "tarq":
            k, v = self.rq_attn.keys(h)
            out = tt
            cross_sum = None  # Σ_l X[l, z_l(i)] [M, dx], with the cross head
            for level in range(levels):
                pz = self.rq_attn.attend(self.rq_attn.queries(self.codebooks[level], level), k, v)  # [K, d]
                out = out + (pz @ r_u)[codes[:, level]]
                if self.cross_head:
                    part = (pz @ self.cross_a.T)[codes[:, level]]  # X[l] = A·Pz[l] [K, dx], gathered
                    cross_sum = part if cross_sum is None else cross_sum + part
            if self.cross_head:
                return out + (cross_sum * self.item_cross[candidates]).sum(-1)
            return out
        # tarq-candidate: the student per candidate, ĥ = Σ_l MHA_rq(C_l[z_l(i)]; H).
        k, v = self.rq_attn.keys(h)
        h_hat = None
        for level in range(levels):
            q = self.rq_attn.queries(self.codebooks[level][codes[:, level]], level)  # [M, d]
            part = self.rq_attn.attend(q, k, v)
            h_hat = part if h_hat is None else h_hat + part
        if self.cross_head:
            return tt + h_hat @ r_u + self._cross_term(h_hat, candidates)
        return tt + h_hat @ r_u

    def _cross_term(self, x: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """⟨A·x, q_i⟩ [M] for attention outputs x [M, d], q_i gathered from ``item.cross``."""
        return ((x @ self.cross_a.T) * self.item_cross[candidates]).sum(-1)


def _example(tensors: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A trace request: sizes that coincide with no dimension, so no shape gets baked in by accident."""
    items = tensors["item.emb"].shape[0]
    history = torch.arange(3, dtype=torch.long) % items
    candidates = torch.arange(5, dtype=torch.long) % items
    return torch.zeros(1, dtype=torch.long), history, candidates


def export_graph(graph: RequestGraph, tensors: dict[str, torch.Tensor], path) -> None:
    graph.eval()
    with torch.no_grad():
        torch.onnx.export(
            graph, _example(tensors), os.fspath(path), opset_version=OPSET, do_constant_folding=True,
            input_names=list(INPUTS), output_names=[OUTPUT],
            dynamic_axes={"history": {0: "n"}, "candidates": {0: "M"}, OUTPUT: {0: "M"}})


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_model(model_path, out_dir, forms=("lut",)) -> dict:
    """Writes the graphs of ``model_path`` into ``out_dir`` and returns (and writes) ``export.json``."""
    size = os.path.getsize(model_path)
    if size > MAX_SOURCE_BYTES:
        raise ValueError(f"{os.fspath(model_path)}: {size:,} bytes: its graphs would pass protobuf's 2 GB limit, and "
                         f"the exporter does not write ONNX external data (at most {MAX_SOURCE_BYTES:,} bytes)")
    tensors, metadata = load_tensors(model_path)
    os.makedirs(out_dir, exist_ok=True)
    models = ["tt", "ta"] + [("tarq" if form == "lut" else "tarq-candidate") for form in forms]
    for model in models:
        export_graph(RequestGraph(tensors, metadata, model), tensors, os.path.join(out_dir, GRAPH_FILES[model]))
    info = {
        "source": os.path.basename(os.fspath(model_path)),
        "source_bytes": os.path.getsize(model_path),
        "source_sha256": _sha256(model_path),
        "opset": OPSET,
        "torch": torch.__version__,
        "graphs": {model: GRAPH_FILES[model] for model in models},
        "ta_head": "din" if "ta.mlp.0.weight" in tensors else "cross" if "ta.cross.a" in tensors else "readout",
        "null_keys": "rq.attn.null_k" in tensors,
        "inputs": {"user": "int64 [1]", "history": "int64 [n]", "candidates": "int64 [M]"},
        "output": {OUTPUT: "float32 [M]"},
        "n_max": int(metadata["n_max"]),
    }
    tmp = os.path.join(out_dir, "export.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(out_dir, "export.json"))  # written last: its presence means the graphs are complete
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m tarq.train.onnx_export", description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a model file (.safetensors)")
    p.add_argument("--out-dir", required=True, help="directory for tt.onnx, ta.onnx, tarq.onnx and export.json")
    p.add_argument("--tarq-form", choices=("lut", "candidate", "both"), default="lut",
                   help="TARQ graph: lut = personalized codebook and table (tarq.onnx), candidate = the student's "
                        "attention per candidate (tarq-candidate.onnx), both (default: %(default)s)")
    args = p.parse_args(argv)
    forms = FORMS if args.tarq_form == "both" else (args.tarq_form,)
    try:
        info = export_model(args.model, args.out_dir, forms)
    except (OSError, ValueError, KeyError) as e:  # a missing or unreadable file, a tensor the contract requires missing
        message = str(e) if args.model in str(e) else f"{args.model}: {e}"
        print(f"tarq.train.onnx_export: {message}", file=sys.stderr)
        return 1
    print(f"wrote {', '.join(info['graphs'].values())} and export.json to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
