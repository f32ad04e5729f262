"""``python3 -m tarq.train`` (``./tarq train``): train the TT baseline and TARQ, export the model and its metrics.

    ./tarq train --format s3rec --sequences Beauty.txt --attributes Beauty_item2attributes.json --out m.safetensors
    ./tarq train --format movielens --dir ml-latest-small --out m.safetensors
    ./tarq train --format synthetic --out m.safetensors
    torchrun --nproc_per_node 2 -m tarq.train ...        (DDP, gloo on CPU)

Writes MODEL, MODEL.metrics.json, MODEL.train.json (per-epoch and per-step logs) and MODEL.loss.png /
MODEL.utilization.png (with matplotlib). Exit 0 on success, 1 on bad input (one line naming the file), 2 on bad
usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from ..data import DataError, leave_one_out, read_movielens, read_s3rec, synthetic_dataset
from ..safetensors_np import SafetensorsError
from . import plots
from .events import write_events
from .export import PRODUCER, export, write_metrics
from .losses import Weights
from .model import Config
from .trainer import TrainConfig, config_dict, evaluate, train, world_from_env

SYNTHETIC_DEFAULTS = dict(users=3000, items=2000, interests=24, attributes=96, mean_length=20.0)
# The cross head's recipe (docs/training.md, docs/results.md): dx = 16 keeps the per-request build of X within 2× of
# format 1's LUT build, at a validation AUC within one seed's noise of dx = 64.
DEFAULT_CROSS_DIM = 16
DEFAULT_CROSS_LD = 5.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tarq train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--format", required=True, choices=["s3rec", "movielens", "synthetic"])
    data.add_argument("--sequences", metavar="FILE", help="s3rec: the sequences file (user item item ...)")
    data.add_argument("--attributes", metavar="FILE", help="s3rec: the item -> attributes JSON (optional)")
    data.add_argument("--dir", metavar="DIR", help="movielens: the directory with ratings.csv and movies.csv")
    data.add_argument("--min-rating", type=float, metavar="R",
                      help="movielens: keep only ratings >= R as clicks (default: every rating; ./tarq eval takes the same)")
    data.add_argument("--synthetic-users", type=int, default=SYNTHETIC_DEFAULTS["users"])
    data.add_argument("--synthetic-items", type=int, default=SYNTHETIC_DEFAULTS["items"])
    data.add_argument("--synthetic-interests", type=int, default=SYNTHETIC_DEFAULTS["interests"])
    data.add_argument("--synthetic-seed", type=int, default=1, help="the synthetic data's seed")
    data.add_argument("--split-seed", type=int, default=0, help="seed of the evaluation negatives (keep it fixed)")
    data.add_argument("--n-max", type=int, default=50, help="longest history")
    data.add_argument("--negatives", type=int, default=4, help="sampled negatives per training positive")

    model = p.add_argument_group("model")
    model.add_argument("--dim", type=int, default=64, help="d")
    model.add_argument("--heads", type=int, default=4)
    model.add_argument("--dv", type=int, default=64)
    model.add_argument("--mlp-hidden", type=int, default=128, help="f (user MLP and item tower)")
    model.add_argument("--levels", type=int, default=3, help="L")
    model.add_argument("--codebook", type=int, default=256, help="K")
    model.add_argument("--no-null-keys", action="store_true", help="no null key in the target attentions")
    model.add_argument("--teacher-head", choices=["readout", "din", "cross"], default="cross",
                       help="the teacher's head: cross ⟨t, r_u⟩ + ⟨A·t, q_i⟩, which the student shares (a format_version "
                            "2 file; the default); readout ⟨t, r_u⟩ or din MLP([t; e⊙t; e]) (format_version 1 files)")
    model.add_argument("--cross-dim", type=int, default=None, metavar="DX",
                       help=f"with --teacher-head cross: dx, the width of q_i = W_x·e_i + b_x, 1..d "
                            f"(0: d; default {DEFAULT_CROSS_DIM}, or d if smaller)")
    model.add_argument("--cross-a", choices=["learned", "identity"], default="learned",
                       help="with --teacher-head cross: A learned, or fixed to the identity (needs dx = d)")

    run = p.add_argument_group("training")
    run.add_argument("--out", required=True, metavar="MODEL", help="the model file to write")
    run.add_argument("--epochs", type=int, default=8, help="at most; the best validation epoch is kept")
    run.add_argument("--patience", type=int, default=2)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--batch-size", type=int, default=256)
    run.add_argument("--lr", type=float, default=1e-3)
    run.add_argument("--no-align", action="store_true", help="ablation: no Codebook Alignment (λ_align = 0)")
    run.add_argument("--align-weight", type=float, default=Weights.align, help="λ_align")
    run.add_argument("--rec-weight", type=float, default=Weights.rec, help="λ_rec")
    run.add_argument("--ld-weight", type=float, default=None,
                     help=f"λ_ld (default {DEFAULT_CROSS_LD} with the cross head, {Weights.ld} with readout and din)")
    run.add_argument("--commit-weight", type=float, default=Weights.commit, help="RQ commitment into the items")
    run.add_argument("--tt-weight", type=float, default=Weights.tt, help="λ_tt: BCE(s_TT) in the joint model")
    run.add_argument("--similarity-init", type=float, default=2.0,
                     help="target attentions start with Wq = Wk = α·I (0: PyTorch's init)")
    run.add_argument("--aux-rows", type=int, default=Weights.aux_rows, help="rows per batch for auxiliary terms")
    run.add_argument("--ld-rows", type=int, default=Weights.ld_rows,
                     help="rows per batch for the distillation term (0: --aux-rows)")
    run.add_argument("--ld-readout", action="store_true",
                     help="with --teacher-head din, distillation also trains the student's readout W_r")
    run.add_argument("--no-baseline", action="store_true",
                     help="skip the separately trained TT baseline (metrics then report the joint model's TT)")
    run.add_argument("--events-out", metavar="FILE",
                     help="also write the test split's requests and labels (external ids) for the engine to evaluate")
    run.add_argument("--events-limit", type=int, default=0, help="at most this many test users in --events-out")
    run.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    run.add_argument("--max-steps", type=int, default=0, help="cap the steps of an epoch (smoke runs)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def load_dataset(args, error):
    if args.min_rating is not None and args.format != "movielens":
        error("--min-rating is for --format movielens")
    if args.format == "s3rec":
        if not args.sequences:
            error("--format s3rec needs --sequences FILE")
        return read_s3rec(args.sequences, args.attributes)
    if args.format == "movielens":
        if not args.dir:
            error("--format movielens needs --dir DIR")
        return read_movielens(args.dir, min_rating=args.min_rating)
    dataset, _ = synthetic_dataset(users=args.synthetic_users, items=args.synthetic_items,
                                   interests=args.synthetic_interests, attributes=SYNTHETIC_DEFAULTS["attributes"],
                                   mean_length=SYNTHETIC_DEFAULTS["mean_length"], seed=args.synthetic_seed)
    return dataset


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    cross = args.teacher_head == "cross"
    if not cross and (args.cross_dim is not None or args.cross_a != "learned"):
        p.error("--cross-dim and --cross-a are for --teacher-head cross")
    if args.ld_weight is None:
        args.ld_weight = DEFAULT_CROSS_LD if cross else Weights.ld
    if cross and args.cross_dim is None:
        args.cross_dim = min(DEFAULT_CROSS_DIM, args.dim)
    rank, world = world_from_env()
    say = (lambda *a: print(*a, flush=True)) if rank == 0 else (lambda *a: None)
    try:
        dataset = load_dataset(args, p.error)
        split = leave_one_out(dataset, n_max=args.n_max, seed=args.split_seed)
    except DataError as e:
        print(f"tarq train: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"tarq train: {e}", file=sys.stderr)
        return 1
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        print(f"tarq train: --out {args.out}: directory {out_dir} does not exist", file=sys.stderr)
        return 1
    say(f"dataset {dataset.name}: {json.dumps(dataset.stats())}")
    say(f"split: {json.dumps(split.stats())}" + (f"; DDP over {world} processes (gloo)" if world > 1 else ""))

    weights = Weights(rec=args.rec_weight, ld=args.ld_weight, align=0.0 if args.no_align else args.align_weight,
                      commit=args.commit_weight, aux_rows=args.aux_rows, tt=args.tt_weight,
                      ld_rows=args.ld_rows, ld_readout=args.ld_readout)
    tc = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, negatives=args.negatives,
                     seed=args.seed, patience=args.patience, weights=weights, threads=args.threads,
                     progress=not args.quiet, max_steps=args.max_steps)

    def config(tt_only: bool) -> Config:
        return Config(items=dataset.num_items, users=len(dataset.user_ids), attributes=dataset.num_attributes,
                      d=args.dim, heads=args.heads, dv=args.dv, mlp_hidden=args.mlp_hidden, n_max=args.n_max,
                      levels=args.levels, codebook_size=args.codebook, null_keys=not args.no_null_keys,
                      teacher_head=args.teacher_head, similarity_init=args.similarity_init, tt_only=tt_only,
                      cross_dim=(args.cross_dim or args.dim) if cross else 0, cross_a=args.cross_a)

    try:
        config(False).check()
    except ValueError as e:
        p.error(str(e))
    attrs = (dataset.attr_offsets, dataset.attr_values)
    started = time.monotonic()
    runs, baseline_test = {}, None
    if not args.no_baseline:
        say("== TT baseline (BCE on s_TT alone)")
        baseline = train(split, config(True), tc, log=say, item_attr=attrs)
        baseline_test = evaluate(baseline.net, split.test)
        runs["tt"] = baseline
    say("== TARQ: teacher (exact TA) + RQ student" + (" (no Codebook Alignment)" if args.no_align else ""))
    joint = train(split, config(False), tc, log=say, item_attr=attrs)
    runs["tarq"] = joint
    test = evaluate(joint.net, split.test)
    seconds = time.monotonic() - started
    if rank != 0:
        return 0

    tt_source = "joint" if baseline_test is None else "baseline"
    result = {
        "auc": {"tt": (baseline_test or test)["auc"]["tt"], "ta": test["auc"]["ta"], "tarq": test["auc"]["tarq"]},
        "gauc": {"tt": (baseline_test or test)["gauc"]["tt"], "ta": test["gauc"]["ta"],
                 "tarq": test["gauc"]["tarq"]},
        "logloss": {"tt": (baseline_test or test)["logloss"]["tt"], "ta": test["logloss"]["ta"],
                    "tarq": test["logloss"]["tarq"]},
        "utilization": test["utilization"],
        "fidelity": test["fidelity"],
        "tt_source": tt_source,
        "joint_tt": {"auc": test["auc"]["tt"], "gauc": test["gauc"]["tt"]},
        "entropy_bits": test["entropy_bits"],
        "best_epoch": {name: r.best_epoch for name, r in runs.items()},
        "train_seconds": {name: round(r.seconds, 1) for name, r in runs.items()},
        "dataset": dataset.name,
        "test_users": len(split.test),
        "config": config_dict(config(False), tc),
    }
    metadata = {
        "train_config": json.dumps(result["config"], sort_keys=True),
        "test_metrics": json.dumps({k: result[k] for k in ("auc", "gauc", "logloss", "utilization", "fidelity")},
                                   sort_keys=True),
        "dataset_stats": json.dumps(dataset.stats(), sort_keys=True),
    }
    try:
        export(joint.net, dataset, args.out, metadata)
    except (SafetensorsError, OSError) as e:
        print(f"tarq train: {e}", file=sys.stderr)
        return 1
    metrics_file = write_metrics(args.out, result)
    if args.events_out:
        write_events(args.events_out, dataset, split.test,
                     {"dataset": dataset.name, "split": "test", "split_seed": str(args.split_seed),
                      "model": os.path.basename(args.out), "producer": PRODUCER}, args.events_limit)
        say(f"wrote the test events to {args.events_out}")
    log_file = args.out + ".train.json"
    with open(log_file, "w", encoding="utf-8") as f:
        json.dump({name: {"history": r.history, "steps": r.steps} for name, r in runs.items()}, f)
    say(f"test AUC  tt {result['auc']['tt']:.4f} ta {result['auc']['ta']:.4f} tarq {result['auc']['tarq']:.4f}")
    say(f"test GAUC tt {result['gauc']['tt']:.4f} ta {result['gauc']['ta']:.4f} tarq {result['gauc']['tarq']:.4f}")
    say("utilization " + " ".join(f"{u:.3f}" for u in result["utilization"])
        + f"; fidelity spearman {result['fidelity']['spearman']:.3f} recall@10 {result['fidelity']['recall_at_10']:.3f}")
    if plots.have_matplotlib():
        written = plots.write_curves({name: r.steps for name, r in runs.items()}, args.out)
        say("curves: " + ", ".join(written))
    else:
        say("curves: matplotlib is not installed (apt-get install python3-matplotlib): the per-step log is in "
            + log_file)
    say(f"wrote {args.out} and {metrics_file} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
