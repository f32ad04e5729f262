"""Export a trained TARQ network to the engine's model file, and its metrics file beside it.

The tensors are the contract's (``docs/model.md``, "Tensor names"), plus the optional item tower
(``item.mlp.*``) and attributes (``item.attr.*``) that let the engine embed and code new items
(docs/model-format.md). ``item.emb``, ``item.vec`` and ``item.codes`` are computed here for the whole catalog from
the final weights; the codes by :func:`tarq.model_file.greedy_rq`, the same greedy RQ the engine runs. With the cross
teacher head the file is format version 2: ``ta.cross.*``, metadata ``cross_dim``, and ``item.cross`` computed from
the exported float32 ``item.emb`` and W_x, b_x by :func:`tarq.model_file.cross_rows` (not by the torch module), so
that encoding items later (``tarq.encode``, Java ``encode-items``) reproduces an exported row bit for bit.
"""

from __future__ import annotations

import json
import os

import numpy as np
import torch
from torch.nn import functional as F

from .. import __version__, model_file, safetensors_np
from ..data import Dataset
from .model import Attention, TarqNet

__all__ = ["model_tensors", "export", "metrics_path", "write_metrics"]

PRODUCER = f"tarq-python {__version__} trainer (torch {torch.__version__})"


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))


def _attention(prefix: str, a: Attention, out: dict) -> None:
    for name in ("wq", "wk", "wv", "wo", "bq", "bk", "bv", "bo"):
        out[f"{prefix}.{name}"] = _np(getattr(a, name))
    if a.null_k is not None:
        out[f"{prefix}.null_k"] = _np(a.null_k)


def _mlp(prefix: str, mlp: torch.nn.Sequential, out: dict) -> None:
    for index in (0, 2):
        out[f"{prefix}.{index}.weight"] = _np(mlp[index].weight)
        out[f"{prefix}.{index}.bias"] = _np(mlp[index].bias)


@torch.no_grad()
def model_tensors(net: TarqNet, dataset: Dataset) -> dict[str, np.ndarray]:
    """Every tensor of the model file, named as the contract names them."""
    if net.cfg.tt_only:
        raise ValueError("a TT-only network has no teacher or student to export")
    enc = net.encoder
    e = enc.item_embeddings()
    t: dict[str, np.ndarray] = {}
    t["item.ids"] = dataset.item_ids.astype(np.int64)
    t["item.emb"] = _np(e)
    t["item.vec"] = _np(F.normalize(enc.item_mlp(e), dim=-1, eps=1e-12))
    t["user.ids"] = dataset.user_ids.astype(np.int64)  # row 0: the unknown user, id -1 (tarq.data.dataset)
    t["user.emb"] = _np(enc.user_emb.weight)
    t["seq.pos"] = _np(enc.pos)
    _attention("seq.attn", enc.seq_attn, t)
    t["seq.ln.weight"], t["seq.ln.bias"] = _np(enc.seq_ln.weight), _np(enc.seq_ln.bias)
    _attention("user.attn", enc.user_attn, t)
    _mlp("user.mlp", enc.user_mlp, t)
    _attention("ta.attn", net.ta_attn, t)
    t["ta.readout.weight"], t["ta.readout.bias"] = _np(net.readout.weight), _np(net.readout.bias)
    if net.ta_mlp is not None:
        _mlp("ta.mlp", net.ta_mlp, t)
    if net.cross_item is not None:
        t["ta.cross.a"] = _np(net.cross_a)
        t["ta.cross.item.weight"], t["ta.cross.item.bias"] = _np(net.cross_item.weight), _np(net.cross_item.bias)
        t["item.cross"] = model_file.cross_rows(t["item.emb"], t["ta.cross.item.weight"], t["ta.cross.item.bias"])
    t["head.tau"], t["head.beta"] = _np(enc.tau), _np(enc.beta)
    t["rq.codebooks"] = _np(net.codebooks)
    _attention("rq.attn", net.rq_attn, t)
    t["item.codes"] = model_file.greedy_rq(t["item.emb"], t["rq.codebooks"])
    _mlp("item.mlp", enc.item_mlp, t)
    if enc.attr_emb is not None:
        t["item.attr.ids"] = dataset.attr_ids.astype(np.int64)
        t["item.attr.emb"] = _np(enc.attr_emb.weight)
        t["item.attr.offsets"] = dataset.attr_offsets.astype(np.int64)
        t["item.attr.values"] = dataset.attr_values.astype(np.int64)
    return t


def export(net: TarqNet, dataset: Dataset, path, extra_metadata: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """Write the model file (checked with the reader's own checks before it is written); returns the tensors."""
    cfg = net.cfg
    tensors = model_tensors(net, dataset)
    cross_head = net.cross_item is not None
    metadata = {
        "format": model_file.FORMAT,
        "format_version": str(model_file.format_version(cross_head)),
        "d": str(cfg.d),
        "heads": str(cfg.heads),
        "dv": str(cfg.dv),
        "mlp_hidden": str(cfg.mlp_hidden),
        "n_max": str(cfg.n_max),
        "levels": str(cfg.levels),
        "codebook_size": str(cfg.codebook_size),
        "items": str(dataset.num_items),
        "users": str(len(dataset.user_ids)),
        **({"cross_dim": str(cfg.cross_dim)} if cross_head else {}),
        "producer": PRODUCER,
        "dataset": dataset.name,
    }
    metadata.update(extra_metadata or {})
    dims = model_file.check(tensors, metadata, path)
    model_file.check_ids(tensors, path)
    model_file.check_contents(tensors, dims, path)
    safetensors_np.write(path, tensors, metadata)
    return tensors


def metrics_path(model_path) -> str:
    """``m.safetensors`` -> ``m.safetensors.metrics.json``."""
    return os.fspath(model_path) + ".metrics.json"


def write_metrics(model_path, payload: dict) -> str:
    path = metrics_path(model_path)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)
    return path
