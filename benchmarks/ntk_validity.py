"""Does the NTK ranking predict trained accuracy? Score candidates (backbone × layers) by their NTK, train each with
one fixed budget, and compare: Spearman ρ between each figure and trained test MSE, the gap between the picked and
the best candidate, and the cost of selection against the cost of training every candidate.

``--replicate-seeds 1,2`` scores and trains every candidate again under other seeds (initialisation, NTK probes,
batch order; the windows stay), so the study also reports how well trained MSE agrees with itself between seeds —
the ceiling for any score's ρ (:mod:`tsreprog.ntk.agreement`) — and each figure's ρ with the seed-averaged MSE.

Writes benchmarks/results/ntk_validity.json. The study config (look-back, vocabulary subset, budget) is recorded.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from tsreprog.bench.environment import environment
from tsreprog.backbones.registry import smollm2_dir
from tsreprog.data import prepare
from tsreprog.evaluate import evaluate
from tsreprog.models import ModelConfig
from tsreprog.models.config import SETTINGS_BEFORE_THEY_EXISTED, TOKEN_SCALES
from tsreprog.ntk.agreement import pick_gaps, seed_agreement, spearman
from tsreprog.ntk.select import Candidate, sample_windows, score_candidate
from tsreprog.train import TrainConfig, fit

FIGURES = ("score", "lambda_max", "lambda_min", "condition_number", "effective_rank", "trace", "decay",
           "kernel_target_alignment", "init_val_mse", "centred_krr_val_mse", "centred_lambda_max",
           "centred_effective_rank", "centred_decay", "centred_kernel_target_alignment", "gd_val_mse", "adam_val_mse")
LEARNING_RATE = 1e-3  # every candidate trains with it; adam_val_mse models the same schedule


def default_candidates() -> list[Candidate]:
    candidates = [Candidate("minilm-l6", n) for n in (1, 2, 4, 6)]
    candidates += [Candidate("random:minilm-l6", n) for n in (2, 6)]
    if (smollm2_dir() / "config.json").is_file():
        candidates += [Candidate("smollm2-135m", n) for n in (2, 4)]
    else:
        candidates += [Candidate("random:minilm-l6", n) for n in (1, 4)]
    return candidates


def write(args, studies: list[dict], partial: dict | None = None) -> None:
    """Rewrite the JSON after every candidate, so a stopped run still leaves every row it measured."""
    payload = {"benchmark": "ntk_validity", "config": vars(args),
               "score": "KRR validation MSE with the candidate's NTK (lower is better)",
               "studies": studies, "unfinished": partial, **environment("cpu")}
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=float))
    tmp.replace(path)


def previous_run(args) -> tuple[list[dict], dict | None]:
    """Rows an earlier, stopped run of the same study config measured: whole studies and the unfinished one's rows.

    A run takes hours on a CPU; resuming must never mix rows measured under a different budget, so the recorded
    config has to match this one (the output path and the resume flag aside)."""
    path = Path(args.output)
    if not args.resume or not path.is_file():
        return [], None
    earlier = json.loads(path.read_text())
    ignored = {"output", "resume", "rescore", "datasets", "replicate_seeds"}
    mine = {k: v for k, v in vars(args).items() if k not in ignored}
    theirs = {k: v for k, v in earlier["config"].items() if k not in ignored}
    theirs = {**SETTINGS_BEFORE_THEY_EXISTED, **theirs}  # studies measured before those options existed
    if mine != theirs:
        raise SystemExit(f"{path} was measured with a different config; rerun without --resume or use --output. "
                         f"Differences: { {k: (theirs.get(k), v) for k, v in mine.items() if theirs.get(k) != v} }")
    return earlier["studies"], earlier.get("unfinished")


def study_inputs(dataset: str, args, seed: int):
    """The prepared data, the base config under ``seed``, and the scoring windows (the same for every seed)."""
    data = prepare(dataset, args.lookback, args.horizon, args.data_dir)
    base = ModelConfig(lookback=args.lookback, horizon=args.horizon, prototype_vocab=args.prototype_vocab,
                       attention_scoring=args.attention_scoring, token_scale=args.token_scale,
                       description=data.description, seed=seed)
    x_train, y_train = sample_windows(data, "train", args.lookback, args.horizon, args.n_train, 0)
    x_val, y_val = sample_windows(data, "val", args.lookback, args.horizon, args.n_val, 1)
    return data, base, torch.cat([x_train, x_val]), torch.cat([y_train, y_val]), len(x_train)


def score(candidate: Candidate, base: ModelConfig, x, y, n_train: int, args):
    return score_candidate(candidate, base, x, y, n_train, "sketch", args.probes, seed=base.seed,
                           budget_steps=args.epochs * args.steps, learning_rate=LEARNING_RATE)


def train_and_test(candidate: Candidate, base: ModelConfig, dataset: str, data, args) -> dict:
    """Train one candidate with the study's fixed budget (seeded like ``base``) and score its test windows."""
    config = ModelConfig(**{**base.to_dict(), "backbone": candidate.backbone, "n_layers": candidate.n_layers})
    train = TrainConfig(dataset=dataset, data_dir=args.data_dir, epochs=args.epochs,
                        max_steps_per_epoch=args.steps, train_stride=args.train_stride, val_stride=args.val_stride,
                        batch_size=32, learning_rate=LEARNING_RATE, progress=False, patience=args.epochs,
                        seed=base.seed)
    started = time.perf_counter()
    result = fit(config, train, data=data, test=False)
    test_metrics = evaluate(result.model, data.windows("test", args.lookback, args.horizon, args.test_stride), 256)
    return {"train_seconds": time.perf_counter() - started, "val_mse": result.metrics["best_val_mse"],
            "test_mse": test_metrics["mse"], "test_mae": test_metrics["mae"]}


def study(dataset: str, args, candidates: list[Candidate], done: list[dict],
          measured: list[dict] | None = None) -> dict:
    data, base, x, y, n_train = study_inputs(dataset, args, seed=0)
    rows = []
    earlier = {row["candidate"]: row for row in measured or []}
    for candidate in candidates:
        kept = earlier.get(candidate.label)
        if kept is not None and not args.rescore:
            rows.append(kept)
            print(f"{dataset:<14} {candidate.label:<24} measured by the earlier run, kept", flush=True)
            continue
        scored = score(candidate, base, x, y, n_train, args)
        if kept is not None:
            # Same windows, seed and probes as the earlier run: the figures are recomputed (new ones added), the
            # trained MSEs are kept, so no candidate is retrained for a new figure.
            # The selection time stays the measuring run's: a rescore may share the CPU with other work.
            row = {**kept, "score": scored.score, **scored.figures}
            rows.append(row)
            write(args, done, {"dataset": dataset, "candidates": rows})
            print(f"{dataset:<14} {candidate.label:<24} rescored: score {scored.score:.4f} "
                  f"centred {scored.figures['centred_krr_val_mse']:.4f} adam {scored.figures['adam_val_mse']:.4f} "
                  f"(test {row['test_mse']:.4f})", flush=True)
            continue
        row = {"candidate": candidate.label, "score": scored.score, **scored.figures,
               "select_seconds": scored.seconds, **train_and_test(candidate, base, dataset, data, args)}
        rows.append(row)
        write(args, done, {"dataset": dataset, "candidates": rows})
        print(f"{dataset:<14} {candidate.label:<24} score {scored.score:.4f}  val {row['val_mse']:.4f}  "
              f"test {row['test_mse']:.4f}  select {scored.seconds:.0f}s  train {row['train_seconds']:.0f}s",
              flush=True)
    test_mse = [r["test_mse"] for r in rows]
    correlations = {}
    for name in FIGURES:
        values = [r[name] for r in rows]
        if all(np.isfinite(values)):
            correlations[name] = spearman(values, test_mse)
    picked = min(rows, key=lambda r: r["score"])
    best = min(rows, key=lambda r: r["test_mse"])
    select_cost = sum(r["select_seconds"] for r in rows)
    train_cost = sum(r["train_seconds"] for r in rows)
    return {"dataset": dataset, "candidates": rows,
            "spearman_with_test_mse": correlations,
            "picked": picked["candidate"], "best": best["candidate"],
            "pick_gap": picked["test_mse"] / best["test_mse"] - 1.0,
            "pick_gap_by_figure": pick_gaps(rows, FIGURES),
            "selection_seconds": select_cost, "training_seconds": train_cost,
            "selection_cost_fraction": select_cost / train_cost}


def replicate(dataset: str, args, candidates: list[Candidate], finished: dict, studies: list[dict],
              seed: int) -> None:
    """Score and train every candidate again under ``seed`` into ``finished["replicates"]``. Rows are written as
    they finish and kept by a resumed run."""
    rows = finished.setdefault("replicates", {}).setdefault(str(seed), [])
    measured = {row["candidate"] for row in rows}
    data, base, x, y, n_train = study_inputs(dataset, args, seed)
    for candidate in candidates:
        if candidate.label in measured:
            print(f"{dataset:<14} {candidate.label:<24} seed {seed} measured by the earlier run, kept", flush=True)
            continue
        scored = score(candidate, base, x, y, n_train, args)
        row = {"candidate": candidate.label, "seed": seed, "score": scored.score, **scored.figures,
               "select_seconds": scored.seconds, **train_and_test(candidate, base, dataset, data, args)}
        rows.append(row)
        write(args, studies)
        print(f"{dataset:<14} {candidate.label:<24} seed {seed} score {scored.score:.4f}  val {row['val_mse']:.4f}  "
              f"test {row['test_mse']:.4f}", flush=True)


def summarise_seeds(finished: dict) -> None:
    """(Re)compute a study's seed agreement from its seed-0 rows and its replicates (after a rescore too)."""
    replicates = {int(k): v for k, v in finished.get("replicates", {}).items()}
    if replicates:
        finished["seed_agreement"] = seed_agreement({0: finished["candidates"], **replicates}, FIGURES)


def replicate_seeds(text: str) -> list[int]:
    """``--replicate-seeds``: distinct non-zero integers (seed 0 is the study itself)."""
    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None
    if 0 in seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"seeds must be distinct and not 0 (seed 0 is the study itself), "
                                         f"got '{text}'")
    return seeds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="ETTh1,ETTm1")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--lookback", type=int, default=192)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--prototype-vocab", type=int, default=8192)
    parser.add_argument("--n-train", type=int, default=64)
    parser.add_argument("--n-val", type=int, default=32)
    parser.add_argument("--probes", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--train-stride", type=int, default=8)
    parser.add_argument("--val-stride", type=int, default=16)
    parser.add_argument("--test-stride", type=int, default=8)
    parser.add_argument("--attention-scoring", choices=["cosine", "dot"], default="cosine",
                        help="the reprogramming attention's scoring for every candidate (the library's default is "
                             "cosine; dot reproduces studies measured before it existed)")
    parser.add_argument("--token-scale", choices=TOKEN_SCALES, default="auto",
                        help="the reprogrammed tokens' scale for every candidate (the library's default is auto; free "
                             "reproduces studies measured before it existed)")
    parser.add_argument("--replicate-seeds", type=replicate_seeds, default=[],
                        help="comma-separated extra seeds: every candidate is scored and trained again under each, "
                             "to measure how far trained MSE agrees with itself between seeds (use with --resume to "
                             "add them to a finished study)")
    parser.add_argument("--output", default="benchmarks/results/ntk_validity.json")
    parser.add_argument("--resume", action="store_true",
                        help="keep the studies and candidate rows an earlier run with the same config wrote")
    parser.add_argument("--rescore", action="store_true",
                        help="with --resume: recompute every kept candidate's NTK figures, keep its trained MSEs")
    args = parser.parse_args()
    candidates = default_candidates()
    finished, unfinished = previous_run(args)
    names = args.datasets.split(",")
    # Every study the file holds stays in it, in its order, while another is measured or rescored: a killed run
    # loses none of them (a study being rescored stays whole until its rescored version replaces it).
    studies: list[dict] = list(finished)
    for name in names:
        index = next((i for i, s in enumerate(studies) if s["dataset"] == name), None)
        kept = studies[index] if index is not None else None
        if kept is not None and not args.rescore:
            print(f"{name}: measured by the earlier run, kept", flush=True)
            continue
        if kept is not None:
            measured = kept["candidates"]
        else:
            measured = unfinished["candidates"] if unfinished and unfinished["dataset"] == name else None
        new_study = study(name, args, candidates, studies, measured)
        if kept is not None:
            if "replicates" in kept:
                new_study["replicates"] = kept["replicates"]
            studies[index] = new_study
        else:
            studies.append(new_study)
        write(args, studies)
    for name in names:
        measured_study = next(s for s in studies if s["dataset"] == name)
        for seed in args.replicate_seeds:
            replicate(name, args, candidates, measured_study, studies, seed)
        summarise_seeds(measured_study)
        write(args, studies)
    for s in studies:
        print(f"{s['dataset']}: picked {s['picked']}, best {s['best']}, gap {100 * s['pick_gap']:.1f}%, "
              f"selection {100 * s['selection_cost_fraction']:.1f}% of training; "
              + ", ".join(f"ρ({k})={v:+.2f}" for k, v in s["spearman_with_test_mse"].items()))


if __name__ == "__main__":
    main()
