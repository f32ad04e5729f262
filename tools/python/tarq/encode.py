"""Encode catalog items from their raw features: the Python twin of ``./tarq encode-items`` (numpy only).

For each item ``(id, [external attribute ids])`` (docs/model-format.md, "Encoding items")::

    E_item = item.emb[i] - mean(E_attr[old attrs of i])    an id in the catalog ("replace"; an empty mean is 0)
    E_item = 0                                              a new id ("add", cold start)
    e      = E_item + mean(E_attr[attrs])                   -> item.emb
    vec    = normalize(W2 . relu(W0 . e + b0) + b2)         -> item.vec   (item.mlp.{0,2})
    codes  = greedy_rq(e, rq.codebooks)                      -> item.codes
    q      = W_x . e + b_x                                   -> item.cross (format version 2: the cross head)

Replaced items keep their row; new items are appended in input order; the attribute CSR is rebuilt; every other
tensor is kept. The means and E_item are computed in float64, the attribute rows summed in list order then divided
by their count, and e is rounded to float32 once: the Java engine (``io.tarq.engine.catalog.ItemEncoder``) does the
same operations in the same order, so both produce the same e bit for bit. The tower runs in float64 and rounds
the unit vector to float32 once. ``item.cross`` is :func:`tarq.model_file.cross_rows` of the float32 e (float64
products and sums, bias first then the d columns in order, rounded to float32 once): bit for bit the trainer's
export and the Java encoder.

Command line (the same input and output as the Java command)::

    python3 -m tarq.encode MODEL --items ITEMS.jsonl --out NEW_MODEL
"""

from __future__ import annotations

import json
import sys
from typing import Iterable, Mapping

import numpy as np

from . import __version__, model_file, safetensors_np
from .safetensors_np import SafetensorsError

__all__ = ["EncodeError", "encode_items", "read_items", "producer", "main"]


class EncodeError(ValueError):
    """An item the model cannot encode, or a model without the item tower or attributes."""


def producer(base: str) -> str:
    """The producer of an encoded model: this tool and the model's first producer (no growing chain)."""
    marker = " (base: "
    at = base.find(marker)
    original = base[at + len(marker) : -1] if at >= 0 and base.endswith(")") else base
    return f"tarq-python {__version__} encode-items (base: {original})"


def _items(items) -> list[tuple[int, list[int]]]:
    out = []
    for item in items:
        if isinstance(item, Mapping):
            out.append((int(item["id"]), [int(a) for a in item["attributes"]]))
        else:
            item_id, attributes = item
            out.append((int(item_id), [int(a) for a in attributes]))
    return out


def _mean(attr_emb: np.ndarray, rows) -> np.ndarray:
    """(sum of the rows in list order, in float64) / count; the Java encoder's exact operations."""
    acc = np.zeros(attr_emb.shape[1], np.float64)
    for r in rows:
        acc += attr_emb[int(r)].astype(np.float64)
    return acc / len(rows)


def encode_items(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str], items: Iterable,
                 path="<model>") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The model with ``items`` added or replaced: new (tensors, metadata); the inputs are not modified.

    ``items``: ``(id, [external attribute ids])`` pairs or ``{"id": ..., "attributes": [...]}`` dicts. Raises
    :class:`EncodeError` for a model without ``item.mlp.*`` or ``item.attr.*``, an id given twice, an unknown
    attribute id, or an item whose tower output has no direction.
    """
    dims = model_file.check(tensors, metadata, path)
    for group, what in (("item.mlp", "the item tower"), ("item.attr", "the item attributes")):
        if group not in dims.optional:
            raise EncodeError(f"{path}: tensors {group}.*: missing: encoding items needs {what} "
                              "(a model trained by ./tarq train has it)")
    items = _items(items)
    ids = np.asarray(tensors["item.ids"])
    row_of = {int(i): r for r, i in enumerate(ids.tolist())}
    attr_row = {int(a): r for r, a in enumerate(np.asarray(tensors["item.attr.ids"]).tolist())}
    attr_emb = np.asarray(tensors["item.attr.emb"])
    offsets = np.asarray(tensors["item.attr.offsets"])
    values = np.asarray(tensors["item.attr.values"])
    n = ids.shape[0]

    seen: dict[int, int] = {}
    targets, new_rows = [], []
    added = 0
    for index, (item_id, attributes) in enumerate(items):
        if item_id in seen:
            raise EncodeError(f"items {seen[item_id]} and {index} both give item id {item_id}")
        seen[item_id] = index
        rows = []
        for position, a in enumerate(attributes):
            if a not in attr_row:
                raise EncodeError(f"item id {item_id}: attribute id {a} at attributes[{position}] is not in the model's "
                                  "item.attr.ids")
            rows.append(attr_row[a])
        new_rows.append(rows)
        if item_id in row_of:
            targets.append(row_of[item_id])
        else:
            targets.append(n + added)
            added += 1
    total = n + added

    d = dims.d
    emb = np.empty((len(items), d), np.float32)
    for k, ((item_id, _), rows, target) in enumerate(zip(items, new_rows, targets)):
        if target < n:
            base = tensors["item.emb"][target].astype(np.float64)
            old = values[offsets[target] : offsets[target + 1]]
            if len(old):
                base = base - _mean(attr_emb, old)
        else:
            base = np.zeros(d, np.float64)
        if rows:
            base = base + _mean(attr_emb, rows)
        emb[k] = base.astype(np.float32)

    w0 = tensors["item.mlp.0.weight"].astype(np.float64)
    b0 = tensors["item.mlp.0.bias"].astype(np.float64)
    w2 = tensors["item.mlp.2.weight"].astype(np.float64)
    b2 = tensors["item.mlp.2.bias"].astype(np.float64)
    out = np.maximum(emb.astype(np.float64) @ w0.T + b0, 0.0) @ w2.T + b2
    norms = np.sqrt(np.einsum("ij,ij->i", out, out))
    bad = np.flatnonzero(~(np.isfinite(norms) & (norms > 0)))
    if bad.size:
        raise EncodeError(f"item id {items[bad[0]][0]}: the item tower's output is zero or not finite, so it has no "
                          "unit vector")
    vec = (out / norms[:, None]).astype(np.float32)
    codes = model_file.greedy_rq(emb, tensors["rq.codebooks"]) if len(items) else np.zeros((dims.levels, 0), np.uint8)

    result = dict(tensors)
    targets_arr = np.asarray(targets, np.int64)

    def grown(name, fill_shape, dtype):
        array = np.empty((total,) + fill_shape, dtype)
        array[:n] = tensors[name]
        return array

    result["item.ids"] = grown("item.ids", (), np.int64)
    result["item.ids"][targets_arr] = [i for i, _ in items]
    result["item.emb"] = grown("item.emb", (d,), np.float32)
    result["item.emb"][targets_arr] = emb
    result["item.vec"] = grown("item.vec", (dims.dv,), np.float32)
    result["item.vec"][targets_arr] = vec
    new_codes = np.empty((dims.levels, total), np.uint8)
    new_codes[:, :n] = tensors["item.codes"]
    new_codes[:, targets_arr] = codes
    result["item.codes"] = new_codes
    if dims.cross_dim is not None:
        result["item.cross"] = grown("item.cross", (dims.cross_dim,), np.float32)
        result["item.cross"][targets_arr] = model_file.cross_rows(emb, tensors["ta.cross.item.weight"],
                                                                  tensors["ta.cross.item.bias"])

    lists = [values[offsets[r] : offsets[r + 1]] for r in range(n)] + [None] * added
    for target, rows in zip(targets, new_rows):
        lists[target] = np.asarray(rows, np.int64)
    counts = np.array([len(x) for x in lists], np.int64)
    result["item.attr.offsets"] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    result["item.attr.values"] = (np.concatenate(lists) if lists else np.zeros(0)).astype(np.int64)

    new_metadata = dict(metadata)
    new_metadata["items"] = str(total)
    new_metadata["producer"] = producer(metadata.get("producer", ""))
    return result, new_metadata


def read_items(path) -> list[tuple[int, list[int]]]:
    """The items of a JSONL file ``{"id": id, "attributes": [ids]}`` a line (blank lines skipped); a ValueError
    naming the file and line for anything else, or for an id given twice."""
    items, lines = [], {}
    with open(path, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
                if not isinstance(obj, dict) or set(obj) != {"id", "attributes"}:
                    raise ValueError('an item is {"id": id, "attributes": [ids]}')
                item_id, attributes = obj["id"], obj["attributes"]
                if not _is_int(item_id) or not isinstance(attributes, list) or not all(map(_is_int, attributes)):
                    raise ValueError("ids must be 64-bit integers")
            except ValueError as e:
                raise ValueError(f"{path}: line {number}: {e}") from None
            if item_id in lines:
                raise ValueError(f"{path}: lines {lines[item_id]} and {number} both give item id {item_id}")
            lines[item_id] = number
            items.append((item_id, attributes))
    return items


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python3 -m tarq.encode", description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--items", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        tensors, metadata = safetensors_np.read(args.model)
        items = read_items(args.items)
        tensors, metadata = encode_items(tensors, metadata, items, args.model)
        safetensors_np.write(args.out, tensors, metadata)
    except (SafetensorsError, ValueError, OSError) as e:
        print(str(e).replace("\n", " "), file=sys.stderr)
        return 1
    print(f"{args.out}: {len(items)} items encoded, N = {metadata['items']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
