"""Which selection method predicts trained accuracy? The kernel at initialisation, the kernel after a warm-up of
real training, and successive halving (no kernel), each scored against the trained test MSE of the candidates of
an earlier study (``--source``, ntk_validity.json: same candidates, look-back, vocabulary subset and 120-step
budget; seed-averaged where that study ran three seeds).

Per dataset and method: Spearman rho against the target, the pick's gap to the best candidate (a fraction), and
the cost as a fraction of training every candidate for the budget (seconds measured here, for the training side
from the per-step time of the same candidates in the halving run). Writes benchmarks/results/select_validity.json
(``default_method`` and ``datasets.<name>.methods.<method>.{rho, pick_gap, cost_fraction}``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from tsreprog.bench.environment import environment
from tsreprog.data import prepare
from tsreprog.models import ModelConfig
from tsreprog.ntk.agreement import spearman
from tsreprog.ntk.halving import successive_halving
from tsreprog.ntk.select import Candidate, sample_windows, score_candidate

TARGET_RHO, TARGET_COST = 0.8, 0.05


def parse_label(label: str) -> Candidate:
    backbone, layers = label.rsplit("×", 1)
    return Candidate(backbone, None if layers == "all" else int(layers))


def judged(values: list[float], targets: list[float], cost: float) -> dict:
    """rho, pick and pick gap of a figure where lower means better."""
    pick = min(range(len(values)), key=values.__getitem__)
    best = min(targets)
    return {"rho": spearman(values, targets), "pick_index": pick, "pick_gap": (targets[pick] - best) / best,
            "cost_fraction": cost}


def study(name: str, source: dict, config: dict, args) -> dict:
    agreement = source.get("seed_agreement")
    if agreement:
        labels, targets = agreement["candidates"], [agreement["mean_test_mse"][c] for c in agreement["candidates"]]
    else:
        labels = [row["candidate"] for row in source["candidates"]]
        targets = [row["test_mse"] for row in source["candidates"]]
    candidates = [parse_label(label) for label in labels]
    lookback, horizon = config["lookback"], config["horizon"]
    budget = config["epochs"] * config["steps"]
    data = prepare(name, lookback, horizon)
    base = ModelConfig(lookback=lookback, horizon=horizon, prototype_vocab=config["prototype_vocab"],
                       attention_scoring=config.get("attention_scoring", "cosine"), description=data.description,
                       seed=0)
    x_train, y_train = sample_windows(data, "train", lookback, horizon, config["n_train"], 0)
    x_val, y_val = sample_windows(data, "val", lookback, horizon, config["n_val"], 1)
    x, y = torch.cat([x_train, x_val]), torch.cat([y_train, y_val])
    pool = sample_windows(data, "train", lookback, horizon, args.n_pool, 2)
    halving_val = sample_windows(data, "val", lookback, horizon, args.n_halving_val, 3)

    started = time.perf_counter()
    halving = successive_halving(candidates, base, pool, halving_val, budget, args.first_rung_steps,
                                 args.learning_rate, batch_size=32, seed=0, log=print)
    halving_seconds = time.perf_counter() - started
    step_seconds = {row["candidate"]: row["seconds"] / max(row["steps"], 1) for row in halving.ranking}
    training_seconds = sum(step_seconds[c.label] * budget for c in candidates)

    rows = []
    for candidate, target in zip(candidates, targets):
        warm = score_candidate(candidate, base, x, y, len(x_train), "sketch", config["probes"], seed=0,
                               budget_steps=budget, learning_rate=args.learning_rate,
                               warmup_steps=args.warmup_steps, warmup_windows=pool)
        figures = warm.figures  # the initial figures too: one kernel at initialisation per candidate, not two
        rows.append({"candidate": candidate.label, "target_test_mse": target,
                     "kernel_seconds": figures["init_seconds"], "warm_seconds": warm.seconds,
                     **{k: v for k, v in figures.items() if isinstance(v, (int, float))}})
        print(f"{name} {candidate.label}: krr {figures['krr_val_mse']:.4f} warm krr {figures['warm_krr_val_mse']:.4f}"
              f" warm val {figures['warm_init_val_mse']:.4f} target {target:.4f}", flush=True)
    order = {row["candidate"]: i for i, row in enumerate(halving.ranking)}
    kernel_cost = sum(r["kernel_seconds"] for r in rows) / training_seconds
    warm_cost = sum(r["warm_seconds"] - r["kernel_seconds"] for r in rows) / training_seconds
    methods = {
        "kernel": judged([r["krr_val_mse"] for r in rows], targets, kernel_cost),
        "warm": judged([r["warm_krr_val_mse"] for r in rows], targets, warm_cost),
        # the warmed model's own validation error, the kernel left out: what the warm-up alone says
        "warm_val_mse": judged([r["warm_init_val_mse"] for r in rows], targets, warm_cost),
        "halving": judged([order[c.label] for c in candidates], targets, halving_seconds / training_seconds),
    }
    for method in methods.values():
        method["pick"] = candidates[method.pop("pick_index")].label
    methods["halving"]["cost_fraction_steps"] = halving.cost_fraction_steps
    return {"targets": "seed-averaged test MSE (3 seeds)" if agreement else "test MSE (1 seed)",
            "target_source": args.source, "budget_steps": budget, "candidates": rows,
            "best": labels[min(range(len(targets)), key=targets.__getitem__)],
            "training_seconds_estimate": training_seconds, "halving": {"rungs": halving.rungs,
                                                                      "ranking": halving.ranking},
            "methods": methods}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default="benchmarks/results/ntk_validity.json")
    parser.add_argument("--datasets", default="ETTh1,ETTm1")
    parser.add_argument("--warmup-steps", type=int, default=6)
    parser.add_argument("--first-rung-steps", type=int, default=4)
    parser.add_argument("--n-pool", type=int, default=512)
    parser.add_argument("--n-halving-val", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--output", default="benchmarks/results/select_validity.json")
    args = parser.parse_args()
    source = json.loads(Path(args.source).read_text())
    studies = {s["dataset"]: s for s in source["studies"]}
    out = Path(args.output)
    result = json.loads(out.read_text()) if out.is_file() else {"datasets": {}}
    for name in args.datasets.split(","):
        if name in result["datasets"]:
            continue  # finished datasets are kept (the study resumes)
        result["datasets"][name] = study(name, studies[name], source["config"], args)
        meets = {m: all(d["methods"][m]["rho"] >= TARGET_RHO and d["methods"][m]["cost_fraction"] <= TARGET_COST
                        for d in result["datasets"].values()) for m in result["datasets"][name]["methods"]}
        worst = {m: min(d["methods"][m]["rho"] for d in result["datasets"].values()) for m in meets}
        result.update({"benchmark": "select_validity", "config": vars(args), "meets_targets": meets,
                       "worst_rho": worst, "targets": {"rho": TARGET_RHO, "cost_fraction": TARGET_COST},
                       "default_method": next((m for m in ("kernel", "warm", "halving") if meets[m]), "kernel"),
                       **environment("cpu")})
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=2, default=float) + "\n")
        tmp.replace(out)


if __name__ == "__main__":
    main()
