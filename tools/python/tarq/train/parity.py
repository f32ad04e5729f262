"""Parity fixtures: a tiny trained model, requests, and the live PyTorch model's logits for them.

    python3 -m tarq.train.parity --out engine/src/test/resources/parity     (./tarq parity-fixtures)

writes, per teacher head (``readout``, ``din``, and ``cross``: the cross head with dx = 8 and A learned, a format
version 2 file): ``NAME.safetensors`` (the exported model) and
``onnx/NAME/`` (the model's ONNX graphs, :mod:`.onnx_export`, run by ONNX Runtime in the jmh module's
``OrtParityTest``) and ``NAME.expected.safetensors``, whose tensors are the requests and PyTorch's logits:

    request.user            [R]        int64  external user id (some unknown: row 0)
    request.history_offsets [R + 1]    int64  CSR over request.history
    request.history         [nnz]      int64  behaviour ids, oldest first (some unknown: dropped; some > n_max long)
    request.candidates      [R, C]     int64
    logits.tt, logits.ta, logits.tarq  [R, C] float32, from the live torch modules (TARQ with the file's codes)

The Java ``TrainedModelParityTest`` scores the same requests with the engine. Everything is seeded: the command
regenerates the same files on the same torch build.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

from .. import safetensors_np
from ..data import Dataset, leave_one_out, synthetic_dataset
from .events import request_tensors
from .export import export
from .model import Config, TarqNet
from .onnx_export import FORMS, export_model
from .trainer import TrainConfig, train

__all__ = ["Request", "make_requests", "live_logits", "write_fixture", "main"]

CANDIDATES = 48


class Request:
    def __init__(self, user: int, history: list[int], candidates: list[int]):
        self.user, self.history, self.candidates = user, history, candidates


def make_requests(dataset: Dataset, count: int, n_max: int, seed: int) -> list[Request]:
    """Requests in external ids over the request semantics' cases: known users with their real histories, the
    unknown user, unknown behaviour ids mixed in, empty histories, histories longer than n_max."""
    rng = np.random.default_rng(seed)
    items = dataset.item_ids
    unknown_item = int(items.max()) + 1
    unknown_user = int(dataset.user_ids.max()) + 1
    out = []
    for r in range(count):
        row = int(rng.integers(1, len(dataset.user_ids)))
        user = int(dataset.user_ids[row])
        history = [int(items[i]) for i in dataset.sequences[row]]
        case = r % 6
        if case == 1:
            user = unknown_user
        elif case == 2:
            history = [h if k % 3 else unknown_item + k for k, h in enumerate(history)]
        elif case == 3:
            history = []
        elif case == 4:
            extra = rng.choice(items, size=n_max + 7, replace=True)
            history = [int(i) for i in extra] + history
        candidates = [int(i) for i in rng.choice(items, size=CANDIDATES, replace=False)]
        out.append(Request(user, history, candidates))
    return out


@torch.no_grad()
def live_logits(net: TarqNet, dataset: Dataset, requests: list[Request], codes: np.ndarray) -> dict[str, np.ndarray]:
    """The torch model's logits [R, C] for ``requests`` under the contract's request semantics, the student using
    ``codes`` [L, N] (an export's ``item.codes``)."""
    n_max = net.cfg.n_max
    item_row = {int(i): r for r, i in enumerate(dataset.item_ids.tolist())}
    user_row = {int(u): r for r, u in enumerate(dataset.user_ids.tolist())}
    parts: dict[str, list[np.ndarray]] = {"tt": [], "ta": [], "tarq": []}
    net.eval()
    for q in requests:
        rows = [item_row[b] for b in q.history if b in item_row][-n_max:]
        histories = torch.full((1, n_max), 0, dtype=torch.long)
        mask = torch.zeros((1, n_max), dtype=torch.bool)
        if rows:
            histories[0, n_max - len(rows):] = torch.tensor(rows)
            mask[0, n_max - len(rows):] = True
        cand = torch.tensor([[item_row[c] for c in q.candidates]])
        user = torch.tensor([user_row.get(q.user, 0)])
        z = torch.from_numpy(codes[:, cand[0].numpy()].astype(np.int64))[:, None, :]
        out = net(user, histories, mask, cand, codes=z)
        for name in parts:
            parts[name].append(getattr(out, name)[0].numpy())
    return {name: np.stack(p).astype(np.float32) for name, p in parts.items()}


CROSS_DIM = 8  # dx of the cross fixture: less than d = 16, so that a reader confusing dx with d fails


def write_fixture(directory: str, name: str, teacher_head: str, seed: int = 7) -> str:
    dataset, _ = synthetic_dataset(users=240, items=160, interests=6, attributes=24, mean_length=14, seed=seed)
    split = leave_one_out(dataset, n_max=16, seed=0)
    cfg = Config(items=dataset.num_items, users=len(dataset.user_ids), attributes=dataset.num_attributes, d=16,
                 heads=2, dv=16, mlp_hidden=32, n_max=16, levels=2, codebook_size=16, null_keys=True,
                 teacher_head=teacher_head, ta_mlp_hidden=24, cross_dim=CROSS_DIM if teacher_head == "cross" else 0)
    tc = TrainConfig(epochs=2, batch_size=64, seed=seed, progress=False)
    net = train(split, cfg, tc, log=lambda *a: None, item_attr=(dataset.attr_offsets, dataset.attr_values)).net
    model_path = os.path.join(directory, f"{name}.safetensors")
    tensors = export(net, dataset, model_path, {"parity_fixture": f"python3 -m tarq.train.parity (seed {seed})"})
    requests = make_requests(dataset, 36, cfg.n_max, seed)
    logits = live_logits(net, dataset, requests, tensors["item.codes"])
    expected = request_tensors([q.user for q in requests], [q.history for q in requests],
                               [q.candidates for q in requests])
    expected.update({"logits.tt": logits["tt"], "logits.ta": logits["ta"], "logits.tarq": logits["tarq"]})
    safetensors_np.write(os.path.join(directory, f"{name}.expected.safetensors"), expected,
                         {"model": f"{name}.safetensors", "producer": f"tarq.train.parity, torch {torch.__version__}"})
    return model_path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m tarq.train.parity", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="directory (e.g. engine/src/test/resources/parity)")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)  # one thread: the same reduction order on every run
    for name, head in (("readout", "readout"), ("din", "din"), ("cross", "cross")):
        path = write_fixture(args.out, name, head)
        export_model(path, os.path.join(args.out, "onnx", name), FORMS)  # ORT runs these (jmh OrtParityTest)
        print(f"wrote {path}, its expected logits and its ONNX graphs (onnx/{name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
