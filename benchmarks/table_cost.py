"""What one regime table costs to compute on this machine, so that a budget target ("the 10% ETTh1 table in at most
3 hours of 2-core compute") is a measured figure and not a guess.

The table is every row of regimes.ROWS at every horizon (seed 0) and seeds 1-2 at H=96, as the regime tables need;
transfer scoring is its own table and is not counted. Running all of it here is the direct measurement; a sample of
it (one cell per row, re-run here by cell_queue.py with the table's workers and threads) is the cheaper one. Every
cell of the table then costs its row's measured seconds per epoch and training window times its own epochs and
windows, read from the table's committed cells (the same protocol, seed and early stopping; the cells may have run
on another machine, but the epochs they ran do not depend on it). That price is a lower bound: validation and test
scoring do not shrink with the training windows, which fall from H=96 to H=720 (ETTh1 at 10%: 5,019 to 651). Pricing
every cell at its row's sampled seconds per epoch, whatever its windows, is an upper bound. A cell's seconds are its
own (training, validation, test scoring), measured while the other workers ran beside it, so the wall time of W
workers is their sum over W (the sample's own wall time shows how well that holds).
Writes benchmarks/results/table_cost_<profile>_<dataset>.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from regimes import FRACTIONS, ROWS, load, trainable_horizons
from tsreprog.bench.environment import environment
from tsreprog.bench.models import PROFILES
from tsreprog.io import write_json

RESULTS = Path(__file__).parent / "results"


def regime_of(profile: str) -> str:
    """The regime table a bench profile fills, by the share of the training windows it keeps."""
    fraction = PROFILES[profile]["train"].get("train_fraction") or 1.0
    return next(regime for regime, share in FRACTIONS.items() if share == fraction)


def table_cells(profile: str, dataset: str) -> list[tuple[str, int, int]]:
    """(row, horizon, seed) of every cell one regime table needs on one dataset."""
    horizons = trainable_horizons(regime_of(profile), dataset)
    return [(row, horizon, 0) for row in ROWS for horizon in horizons] + \
        [(row, 96, seed) for row in ROWS for seed in (1, 2)]


def epochs(cell: dict) -> int:
    return max(cell["epochs_run"], 1)


def price(cell: dict, sampled: dict) -> tuple[float, float]:
    """(lower, upper) seconds of one table cell from its row's sampled cell."""
    per_epoch = sampled["seconds_total"] / epochs(sampled)
    return per_epoch * epochs(cell) * cell["train_series_windows"] / sampled["train_series_windows"], \
        per_epoch * epochs(cell)


def sampled_cells(cells: list[dict]) -> dict[str, dict]:
    """Each row's sampled cell: its H=96 one of the lowest seed where it has one."""
    chosen: dict[str, dict] = {}
    for cell in sorted(cells, key=lambda c: (c["horizon"] != 96, c["seed"]), reverse=True):
        chosen[cell["model"]] = cell  # the last written, the preferred, wins
    return chosen


def estimate(table: dict[tuple, dict], sample: dict[str, dict], workers: int) -> dict:
    """Each table cell priced from its row's sampled cell, (lower, upper); cells the table lacks, or rows the sample
    lacks, are named."""
    priced, missing = {}, []
    for key, cell in table.items():
        if cell is None or key[0] not in sample:
            missing.append("/".join(map(str, key)))
            continue
        priced[key] = price(cell, sample[key[0]])
    low, high = (sum(bounds[i] for bounds in priced.values()) for i in (0, 1))
    by_row: dict[str, list[float]] = {}
    for (row, *_), bounds in priced.items():
        by_row[row] = [a + b for a, b in zip(by_row.get(row, [0.0, 0.0]), bounds)]
    return {"cells": len(table), "priced": len(priced), "missing": missing, "workers": workers,
            "core_seconds": [low, high], "wall_hours": [low / workers / 3600, high / workers / 3600],
            "seconds_by_row": {row: [round(a), round(b)] for row, (a, b) in sorted(by_row.items(),
                                                                                 key=lambda x: -x[1][1])}}


def verdict(wall_hours: list[float], missing: list[str], target_hours: float) -> str:
    """'no' once the lower bound passes the target; 'yes' only when every cell is priced and the upper bound is
    within it (an unpriced cell can only add time, so 'no' still holds without it and 'yes' does not)."""
    low, high = wall_hours
    if low > target_hours:
        return "no"
    return "yes" if high <= target_hours and not missing else "undecided"


def sample_row(cell: dict, same_cell_committed: dict) -> dict:
    """A re-run cell beside the committed one of the same row, horizon and seed (which machine, which MSE)."""
    kept = ("model", "horizon", "seed", "epochs_run", "train_series_windows", "seconds_total", "mse", "precision",
            "device", "commit")
    return {key: cell[key] for key in kept} | {"committed_mse": same_cell_committed.get("mse"),
                                               "committed_device": same_cell_committed.get("device")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="fewshot10", choices=sorted(PROFILES))
    parser.add_argument("--dataset", default="ETTh1")
    parser.add_argument("--table", type=Path, default=RESULTS / "bench_fewshot10", help="the table's committed cells")
    parser.add_argument("--sample", type=Path, default=RESULTS / "bench_fewshot10_cpu",
                        help="the cells re-run on this machine (one per row at least)")
    parser.add_argument("--workers", type=int, default=2, help="cells at once, as the sample ran")
    parser.add_argument("--sample-wall", type=float, default=None, help="the sample queue's measured wall seconds")
    parser.add_argument("--target-hours", type=float, default=3.0)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()

    committed = {(c["model"], c["horizon"], c["seed"]): c for c in load(args.table) if c["dataset"] == args.dataset}
    table = {key: committed.get(key) for key in table_cells(args.profile, args.dataset)}
    ran_here = [c for c in load(args.sample) if c["dataset"] == args.dataset and c.get("profile") == args.profile]
    if not ran_here:
        raise SystemExit(f"{args.sample}: no {args.profile} {args.dataset} cell to price the table from")
    result = estimate(table, sampled_cells(ran_here), args.workers)
    sample_core = sum(c["seconds_total"] for c in ran_here)
    report = {
        "profile": args.profile, "dataset": args.dataset, "table": args.table.name, "target_hours": args.target_hours,
        **result, "met": verdict(result["wall_hours"], result["missing"], args.target_hours),
        "sample": {
            "cells": [sample_row(c, committed.get((c["model"], c["horizon"], c["seed"])) or {}) for c in ran_here],
            "core_seconds": sample_core, "wall_seconds": args.sample_wall,
            "packing": sample_core / (args.workers * args.sample_wall) if args.sample_wall else None,
        },
        **environment(),
        # the machine as the sample's cells recorded it (this process's own thread count says nothing)
        "device": ", ".join(sorted({c["device"] for c in ran_here})),
        "precision": ", ".join(sorted({str(c["precision"]) for c in ran_here})),
    }
    output = args.output or RESULTS / f"table_cost_{args.profile}_{args.dataset}.json"
    write_json(output, report)
    low, high = result["wall_hours"]
    print(f"{args.profile} {args.dataset}: {result['priced']}/{result['cells']} cells priced, {low:.2f}-{high:.2f} h "
          f"on {args.workers} workers (target {args.target_hours} h met: {report['met']})")
    if result["missing"]:
        print("not priced:", ", ".join(result["missing"]))


if __name__ == "__main__":
    main()
