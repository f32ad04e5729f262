"""The training loop: epochs over a :class:`~tarq.data.Split`, validation after each, the best epoch kept.

One call of :func:`train` trains one model: the TT baseline (``Config.tt_only``) or TARQ (teacher + student).
Under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in DistributedDataParallel (gloo on CPU): every rank
takes its share of each epoch's shuffled rows, the gradients are averaged, and everything else (validation,
codebook restarts, the kept best state) is computed identically on every rank from the same synchronized weights,
so no other communication is needed. Only rank 0 prints and writes.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import distributed as dist

from ..data import Examples, Split
from . import metrics
from .allocator import keep_freed_memory
from .losses import Objective, Weights
from .model import Config, TarqNet, greedy_codes
from .progress import Progress

__all__ = ["TrainConfig", "Result", "train", "evaluate", "predict"]


@dataclass
class TrainConfig:
    epochs: int = 8
    batch_size: int = 256  # rows (each row: one history and 1 + negatives candidates)
    lr: float = 1e-3
    weight_decay: float = 0.0
    negatives: int = 4  # per training positive (docs/results.md)
    seed: int = 0
    patience: int = 2  # epochs without a better validation AUC before stopping
    restart_every: int = 100  # steps between dead-code checks over the catalog
    straight_through: bool = True
    weights: Weights = field(default_factory=Weights)
    threads: int = 0  # torch threads; 0 = leave torch's default
    progress: bool = True
    max_steps: int = 0  # > 0 caps the steps of an epoch (tests, smoke runs)


@dataclass
class Result:
    net: TarqNet
    best_epoch: int
    validation: dict  # metrics of the best epoch
    history: list = field(default_factory=list)  # per epoch: losses, validation metrics, utilization
    steps: list = field(default_factory=list)  # per logged step: loss terms, utilization (for the curves)
    seconds: float = 0.0


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _batch(ex: Examples, rows: np.ndarray):
    histories = torch.from_numpy(ex.histories[rows].astype(np.int64))
    mask = torch.from_numpy(np.arange(ex.n_max)[None, :] >= (ex.n_max - ex.lengths[rows])[:, None])
    return (torch.from_numpy(ex.users[rows].astype(np.int64)), histories, mask,
            torch.from_numpy(ex.candidates[rows].astype(np.int64)), torch.from_numpy(ex.labels[rows]))


@torch.no_grad()
def predict(net: TarqNet, ex: Examples, batch_size: int = 512) -> dict[str, np.ndarray]:
    """Logits {tt, ta, tarq} [E, C] (tt only for the baseline) of every row of ``ex``."""
    was_training = net.training
    net.eval()
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(ex), batch_size):
        users, histories, mask, candidates, _ = _batch(ex, np.arange(start, min(start + batch_size, len(ex))))
        out = net(users, histories, mask, candidates)
        for name in ("tt", "ta", "tarq"):
            value = getattr(out, name)
            if value is not None:
                parts.setdefault(name, []).append(value.numpy())
    net.train(was_training)
    return {name: np.concatenate(p) for name, p in parts.items()}


@torch.no_grad()
def catalog_codes(net: TarqNet) -> np.ndarray:
    """Codes [L, N] of every catalog item under the current weights (torch's greedy RQ)."""
    codes, _ = greedy_codes(net.encoder.item_embeddings(), net.codebooks)
    return codes.numpy()


def evaluate(net: TarqNet, ex: Examples) -> dict:
    """Ranking metrics of every logit the model has; fidelity and utilization for TARQ."""
    logits = predict(net, ex)
    out = metrics.ranking_metrics(logits, ex.labels)
    if "tarq" in logits:
        out["fidelity"] = metrics.fidelity(logits["tarq"], logits["ta"])
        codes = catalog_codes(net)
        out["utilization"] = metrics.utilization(codes, net.cfg.codebook_size)
        out["entropy_bits"] = metrics.code_entropy(codes, net.cfg.codebook_size)
    return out


@torch.no_grad()
def init_codebooks(net: TarqNet, seed: int, iterations: int = 8) -> None:
    """Residual k-means over the catalog's current item embeddings: level by level, K centers from random items'
    residuals, a few Lloyd steps. A deterministic function of the weights and the seed, so every DDP rank agrees."""
    g = torch.Generator().manual_seed(seed)
    rho = net.encoder.item_embeddings().detach()
    size = net.cfg.codebook_size
    for level in range(net.cfg.levels):
        centers = rho[torch.randint(rho.shape[0], (size,), generator=g)].clone()
        for _ in range(iterations):
            z = ((rho * rho).sum(-1, keepdim=True) - 2 * rho @ centers.T + (centers * centers).sum(-1)).argmin(-1)
            sums = torch.zeros_like(centers).index_add_(0, z, rho)
            counts = torch.bincount(z, minlength=size)
            used = counts > 0
            centers[used] = sums[used] / counts[used, None]
        net.codebooks[level] = centers
        z = ((rho * rho).sum(-1, keepdim=True) - 2 * rho @ centers.T + (centers * centers).sum(-1)).argmin(-1)
        rho = rho - centers[z]


@torch.no_grad()
def restart_dead_codes(net: TarqNet, seed: int) -> int:
    """Codewords no catalog item uses get the residual of a random item (plus a little noise) at their level.
    Returns how many were restarted. Deterministic in (weights, seed): identical on every DDP rank."""
    g = torch.Generator().manual_seed(seed)
    codes, residuals = greedy_codes(net.encoder.item_embeddings(), net.codebooks)
    restarted = 0
    for level in range(net.cfg.levels):
        counts = torch.bincount(codes[level], minlength=net.cfg.codebook_size)
        dead = torch.nonzero(counts == 0).reshape(-1)
        if dead.numel() == 0:
            continue
        picks = torch.randint(residuals.shape[1], (dead.numel(),), generator=g)
        noise = torch.randn(dead.numel(), net.cfg.d, generator=g) * 1e-3
        net.codebooks[level, dead] = residuals[level, picks] + noise
        restarted += int(dead.numel())
    return restarted


def _main_logit(net: TarqNet) -> str:
    return "tt" if net.cfg.tt_only else "tarq"


def train(split: Split, cfg: Config, tc: TrainConfig, log=print, item_attr=None) -> Result:
    """Train one model on ``split`` (see the module doc). ``item_attr`` = (offsets, values) of the catalog's
    attributes when ``cfg.attributes`` > 0."""
    rank, world = _rank_world()
    keep_freed_memory()
    if tc.threads:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    offsets, values = item_attr if item_attr is not None else (None, None)
    net = TarqNet(cfg, offsets, values)
    if world > 1:
        for p in net.parameters():  # one starting point for every rank
            dist.broadcast(p.data, 0)
    model = Objective(net, tc.weights, tc.straight_through)
    if world > 1:
        # Unused parameters: with a term's weight at 0 (e.g. --no-align) some rq.* parameters get no gradient.
        model = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    optimizer = torch.optim.Adam(net.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    tarq = not cfg.tt_only
    if tarq:
        init_codebooks(net, tc.seed)
    speak = log if rank == 0 else (lambda *a, **k: None)
    main = _main_logit(net)

    best, best_epoch, best_state, stale = -math.inf, 0, None, 0
    history, steps_log = [], []
    if tarq:  # the curves start from the initial codebooks
        steps_log.append({"step": 0, "epoch": 0, "utilization": metrics.utilization(catalog_codes(net), cfg.codebook_size)})
    step = 0
    started = time.monotonic()
    for epoch in range(1, tc.epochs + 1):
        ex = split.training(tc.negatives, seed=tc.seed * 1000 + epoch)
        order = np.random.default_rng([tc.seed, epoch]).permutation(len(ex))
        per_rank = len(order) // world  # equal shares: DDP needs every rank to take the same number of steps
        order = order[rank * per_rank:(rank + 1) * per_rank]
        batches = math.ceil(len(order) / tc.batch_size)
        if tc.max_steps:
            batches = min(batches, tc.max_steps)
        bar = Progress(batches, f"{'tt' if cfg.tt_only else 'tarq'} epoch {epoch}/{tc.epochs}",
                       enabled=tc.progress and rank == 0)
        sums: dict[str, float] = {}
        net.train()
        for b in range(batches):
            users, histories, mask, candidates, labels = _batch(ex, order[b * tc.batch_size:(b + 1) * tc.batch_size])
            loss, terms = model(users, histories, mask, candidates, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            values_now = {k: float(v) for k, v in terms.items()}
            for k, v in values_now.items():
                sums[k] = sums.get(k, 0.0) + v
            if tarq and tc.restart_every and step % tc.restart_every == 0:
                values_now["restarted"] = restart_dead_codes(net, tc.seed * 1_000_003 + step)
                values_now["utilization"] = metrics.utilization(catalog_codes(net), cfg.codebook_size)
            if step % 10 == 0 or "utilization" in values_now:
                steps_log.append({"step": step, "epoch": epoch, **values_now})
            bar.update(1, f"loss {float(loss):.4f}")
        bar.close()
        validation = evaluate(net, split.validation)
        score = validation["auc"][main]
        record = {"epoch": epoch, "train": {k: v / max(batches, 1) for k, v in sums.items()},
                  "validation": validation, "seconds": time.monotonic() - started}
        history.append(record)
        if tarq:
            steps_log.append({"step": step, "epoch": epoch, "utilization": validation["utilization"]})
        speak(_epoch_line(epoch, record, main))
        if score > best:
            best, best_epoch, best_state, stale = score, epoch, copy.deepcopy(net.state_dict()), 0
        else:
            stale += 1
            if stale >= tc.patience:
                speak(f"  no better validation AUC for {stale} epochs: stopping; best epoch {best_epoch}")
                break
    net.load_state_dict(best_state)
    net.eval()
    return Result(net=net, best_epoch=best_epoch, validation=history[best_epoch - 1]["validation"],
                  history=history, steps=steps_log, seconds=time.monotonic() - started)


def _epoch_line(epoch: int, record: dict, main: str) -> str:
    v = record["validation"]
    models = " ".join(f"{m} {v['auc'][m]:.4f}/{v['gauc'][m]:.4f}" for m in v["auc"])
    line = f"  epoch {epoch}: validation AUC/GAUC {models}"
    if "utilization" in v:
        line += " util " + "/".join(f"{u:.2f}" for u in v["utilization"])
        line += f" recall@10 {v['fidelity']['recall_at_10']:.3f}"
    return line + f" ({record['seconds']:.0f} s)"


def config_dict(cfg: Config, tc: TrainConfig) -> dict:
    out = {"model": {k: v for k, v in asdict(cfg).items() if k != "extra"}, "train": asdict(tc)}
    out["train"].pop("progress", None)
    return out


def world_from_env() -> tuple[int, int]:
    """(rank, world) from torchrun's environment, initializing the gloo process group when world > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    return _rank_world()
