"""At what budget does validation start to select? Each candidate's best validation MSE within its first k epochs,
read from the per-epoch history its bench cells recorded (nothing trains here), judged against the seed-averaged
test MSE of the same runs; and successive halving over whole epochs, replayed from the same histories.

select_validity.py measures what a few warm-up steps say (a fraction of a percent of the training); this measures
the rest of the curve, so the cost at which a validation ranking becomes trustworthy is a figure, not a guess. A
replayed run sees what a run stopped after k epochs of the table's own schedule would have seen.

Cost of k epochs (tsreprog.ntk.curves.epoch_cost): sum over candidates of min(k, epochs the run trained) x its
seconds per step, against the same sum over every epoch the table trained. Seconds per step come from the halving run
of a select_validity study (timed in one run on one machine, so their ratios hold); the step count per epoch is the
same for every candidate of a set.
Writes benchmarks/results/select_curves.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from readme_tables import write_between
from select_validity import bench_cells
from tsreprog.bench.environment import environment
from tsreprog.io import write_json
from tsreprog.ntk.agreement import spearman
from tsreprog.ntk.curves import best_within, epoch_cost, replay_halving, within_spread
from tsreprog.seed_spread import mean_sd, spread_in_sd

RESULTS = Path(__file__).parent / "results"
# (regime, bench folder, datasets) and the select_validity studies whose halving runs timed the candidates' steps
SETS = (("fewshot10", "bench_fewshot10", ("ETTh1", "ETTh2", "ETTm1")),
        ("fewshot5", "bench_fewshot5", ("ETTh1", "ETTh2")),
        ("standard", "bench_standard_gpu", ("ETTh1", "ETTh2")))
MIN_CANDIDATES = 5
# Candidates whose converged scores lie closer than this (in seed sd) tie: any pick is within the spread, so such a
# set says nothing of a method's reliability (issue 33 judges rho only where the spread exceeds 4 sd too).
DIFFER_SD = 4.0
TIMED = ("select_validity_fewshot10_candidates.json", "select_validity_fewshot10.json",
         "select_validity_standard.json")


def judge(figures: dict[str, float], tests: dict[str, list[float]]) -> dict:
    labels = list(figures)
    targets = [mean_sd(tests[label])[0] for label in labels]
    pick = min(labels, key=figures.__getitem__)
    best = min(targets)
    return {"rho": spearman([figures[label] for label in labels], targets), "pick": pick,
            "pick_gap": (mean_sd(tests[pick])[0] - best) / best, "within_spread": within_spread(pick, tests)}


def step_seconds_by_label(dataset: str) -> tuple[dict[str, float], dict[str, str]]:
    """Seconds per training step of each candidate from the halving runs of the committed studies: the same
    dataset's study first (PatchTST's shape differs per dataset), then any other."""
    found: dict[str, float] = {}
    source: dict[str, str] = {}
    for same_dataset in (True, False):
        for name in TIMED:
            path = RESULTS / name
            if not path.is_file():
                continue
            for study_dataset, study in json.loads(path.read_text())["datasets"].items():
                if (study_dataset == dataset) != same_dataset or "halving" not in study:
                    continue
                for row in study["halving"]["ranking"]:
                    if row["candidate"] not in found:
                        found[row["candidate"]] = row["seconds"] / max(row["steps"], 1)
                        source[row["candidate"]] = f"{name} {study_dataset}"
    return found, source


def curves(folder: Path, dataset: str, profile: str, horizon: int = 96) -> dict | None:
    """Every k-epoch ranking and the epoch halving of one set, each replicated once per seed all candidates ran."""
    cells = {label: {cell["seed"]: cell for cell in found} for label, (_, found) in
             bench_cells(folder, dataset, horizon, profile).items()}
    # the seeds of the most-seeded candidate; a candidate short of any of them is left out, and said so
    seeds = sorted(max((set(by_seed) for by_seed in cells.values()), key=len, default=set()))
    seconds, timed_by = step_seconds_by_label(dataset)
    untimed = sorted(label for label in cells if label not in seconds)
    short = sorted(label for label in cells if not set(seeds) <= set(cells[label]))
    labels = sorted(label for label in cells if label in seconds and label not in short)
    if len(labels) < MIN_CANDIDATES or len(seeds) < 2:
        return None  # too few to rank, or no seed spread to judge a pick by
    tests = {label: [cells[label][seed]["mse"] for seed in seeds] for label in labels}
    max_epochs = max(len(cells[label][seed]["history"]) for label in labels for seed in seeds)
    by_k = []
    for k in range(1, max_epochs + 1):
        runs = []
        for seed in seeds:
            histories = {label: cells[label][seed]["history"] for label in labels}
            runs.append({"seed": seed, **judge({label: best_within(h, k) for label, h in histories.items()}, tests),
                         "cost_fraction": epoch_cost({label: k for label in labels},
                                                     {label: len(h) for label, h in histories.items()}, seconds)})
        by_k.append({"epochs": k, "runs": runs, **summarise(runs)})
    halving = []
    for seed in seeds:
        histories = {label: cells[label][seed]["history"] for label in labels}
        replay = replay_halving(histories, max_epochs)
        rank = {label: i for i, label in enumerate(replay["order"])}
        judged = judge({label: rank[label] for label in labels}, tests)
        halving.append({"seed": seed, **judged, "epochs_spent": replay["epochs_spent"],
                        "cost_fraction": epoch_cost(replay["epochs_spent"],
                                                    {label: len(h) for label, h in histories.items()}, seconds)})
    reliable = next((row for row in by_k if row["picks_within_spread"] == len(seeds)), None)
    means = {label: mean_sd(values) for label, values in tests.items()}
    spread = spread_in_sd(means)
    return {"regime": profile, "horizon": horizon, "seeds": seeds, "candidates": labels, "untimed_left_out": untimed,
            "short_of_seeds_left_out": short,
            "test_mse": {label: {"mean": m, "sd": s} for label, (m, s) in means.items()},
            "best": min(labels, key=lambda label: means[label][0]),
            "spread_in_sd": spread, "candidates_differ": spread >= DIFFER_SD,
            "step_seconds": {label: seconds[label] for label in labels},
            "step_seconds_from": {label: timed_by[label] for label in labels},
            "by_epochs": by_k, "halving": {"runs": halving, **summarise(halving)},
            "first_epochs_within_spread_every_seed": reliable and {"epochs": reliable["epochs"],
                                                                   "cost_fraction": reliable["cost_fraction"],
                                                                   "rho": reliable["rho"]}}


def summarise(runs: list[dict]) -> dict:
    return {"rho": sum(r["rho"] for r in runs) / len(runs),
            "picks_within_spread": sum(r["within_spread"] for r in runs),
            "pick_gap": sum(r["pick_gap"] for r in runs) / len(runs),
            "cost_fraction": sum(r["cost_fraction"] for r in runs) / len(runs)}


def first_text(first: dict | None) -> str:
    if first is None:
        return "never"
    return f"{first['epochs']} epoch{'s' * (first['epochs'] > 1)} ({first['cost_fraction']:.0%} of the cost)"


def markdown(sets: dict) -> str:
    """The table benchmarks/README.md shows: per set, what validation after 1 and 2 epochs and epoch halving picked."""
    lines = ["| set | candidates | spread | after 1 epoch: within the spread / rho / cost | after 2 epochs | "
             "every seed within the spread from | epoch halving |", "| --- | --- | --- | --- | --- | --- | --- |"]

    def cell(row: dict) -> str:
        return f"{row['picks_within_spread']}/{len(row['runs'])} / {row['rho']:+.2f} / {row['cost_fraction']:.0%}"

    for name, found in sets.items():
        first = found["first_epochs_within_spread_every_seed"]
        by_k = {row["epochs"]: row for row in found["by_epochs"]}
        lines.append(f"| {name} | {len(found['candidates'])} | {found['spread_in_sd']:.1f} sd | {cell(by_k[1])} | "
                     f"{cell(by_k[2]) if 2 in by_k else '-'} | "
                     f"{first_text(first)}{'' if found['candidates_differ'] else ' (the candidates tie)'} | "
                     f"{cell(found['halving'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=RESULTS / "select_curves.json")
    parser.add_argument("--write", type=Path, metavar="README",
                        help="also put the table between the file's SELECT-CURVES markers (benchmarks/README.md)")
    args = parser.parse_args()
    result: dict = {"benchmark": "select_curves", "sets": {}}
    for profile, folder, datasets in SETS:
        for dataset in datasets:
            found = curves(RESULTS / folder, dataset, profile)
            if found is None:
                continue
            result["sets"][f"{profile} {dataset}"] = found
            row = found["first_epochs_within_spread_every_seed"]
            halving = found["halving"]
            first = first_text(row)
            print(f"{profile} {dataset}: {len(found['candidates'])} candidates, spread {found['spread_in_sd']:.1f} sd;"
                  f" within the spread on every seed from {first};"
                  f" epoch halving {halving['picks_within_spread']}/{len(halving['runs'])} seeds at "
                  f"{halving['cost_fraction']:.0%}, rho {halving['rho']:+.2f}", flush=True)
    result.update(environment("cpu"))
    write_json(args.output, result)
    text = markdown(result["sets"])
    if args.write:
        write_between(args.write, "<!-- SELECT-CURVES -->", "<!-- /SELECT-CURVES -->", text)
    print(text)


if __name__ == "__main__":
    main()
