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
import math
import time
from pathlib import Path

from readme_tables import write_between
from tsreprog.bench.environment import environment
from tsreprog.bench.models import PATCHTST_DEFAULT_SHAPE, PATCHTST_SHAPES, bench_model, train_config
from tsreprog.data import prepare
from tsreprog.io import write_json
from tsreprog.models import ModelConfig
from tsreprog.ntk.agreement import spearman
from tsreprog.ntk.curves import within_spread
from tsreprog.seed_spread import mean_sd, spread_in_sd
from tsreprog.ntk.halving import successive_halving
from tsreprog.ntk.select import NO_BACKBONE, Candidate, sample_windows, score_candidate, selection_windows
from tsreprog.ntk.settings import SelectConfig

RESULTS = Path(__file__).parent / "results"
TARGET_RHO, TARGET_COST = 0.8, 0.05
# the committed studies the README's table shows, in its order
STUDIES = ("select_validity_standard.json", "select_validity_fewshot10.json",
           "select_validity_fewshot10_candidates.json")
METHODS = ("kernel", "warm", "warm-val", "halving")


def parse_label(label: str) -> Candidate:
    backbone, layers = label.rsplit("×", 1)
    return Candidate(backbone, None if layers == "all" else int(layers))


def judged(values: list[float], targets: list[float], cost: float) -> dict:
    """rho, pick and pick gap of a figure where lower means better."""
    pick = min(range(len(values)), key=values.__getitem__)
    best = min(targets)
    return {"rho": spearman(values, targets), "pick_index": pick, "pick_gap": (targets[pick] - best) / best,
            "cost_fraction": cost}


def ntk_study_targets(source: dict) -> tuple[list[Candidate], list[float], str]:
    """Candidates and targets of an ntk_validity study (seed-averaged where it ran three seeds)."""
    agreement = source.get("seed_agreement")
    if agreement:
        labels, targets = agreement["candidates"], [agreement["mean_test_mse"][c] for c in agreement["candidates"]]
    else:
        labels = [row["candidate"] for row in source["candidates"]]
        targets = [row["test_mse"] for row in source["candidates"]]
    return [parse_label(label) for label in labels], targets, \
        "seed-averaged test MSE (3 seeds)" if agreement else "test MSE (1 seed)"


# Table rows of a `tsreprog bench` folder that are candidates (row -> backbone, blocks, own settings); probe rows of
# these that change only n_layers are the other depths
BENCH_CANDIDATES = {"no-backbone": (NO_BACKBONE, None, ()), "reprog-minilm": ("minilm-l6", 2, ()),
                    "random-backbone": ("random:minilm-l6", 2, ()),
                    "reprog-minilm-compact": ("minilm-l6", 2, (("prompt", "compact"),)),
                    "no-prompt": ("minilm-l6", 2, (("prompt", "none"),)),
                    "reprog-minilm-ln": ("minilm-l6", 2, (("adapt", "layernorm"), ("prompt", "compact"))),
                    "reprog-minilm-lora": ("minilm-l6", 2, (("adapt", "lora"), ("prompt", "compact"))),
                    "random-backbone-ln": ("random:minilm-l6", 2, (("adapt", "layernorm"), ("prompt", "compact"))),
                    "reprog-dinov2": ("dinov2-small", 2, (("prompt", "none"),))}
# The few-shot profiles give every row with a prompt the compact one (tsreprog.bench.models.PROFILES)
COMPACT_IN_PROFILE = {"random-backbone": ("random:minilm-l6", 2, (("prompt", "compact"),))}


def bench_cells(folder: Path, dataset: str, horizon: int, profile: str = "standard"
                ) -> dict[str, tuple[Candidate, list[dict]]]:
    """Each candidate of a bench folder (table rows and their n_layers probes) with its cells, by label."""
    found: dict[str, tuple[Candidate, list[dict]]] = {}
    paths = [*folder.glob(f"cells/{dataset}/*/H{horizon}*.json"),
             *folder.glob(f"probes/cells/{dataset}/*/H{horizon}*.json")]
    for path in sorted(paths):
        cell = json.loads(path.read_text())
        variant = cell.get("variant", {})
        changes = variant.get("model_changes", {})
        table_row = cell["model"].split("@")[0]
        if table_row not in BENCH_CANDIDATES or set(changes) - {"n_layers"} or \
                any(variant.get(key) is not None for key in ("learning_rate", "weight_decay")):
            continue
        candidate = table_candidate(table_row, dataset, profile, changes.get("n_layers"))
        found.setdefault(candidate.label, (candidate, []))[1].append(cell)
    return found


def table_candidate(table_row: str, dataset: str, profile: str, n_layers: int | None = None) -> Candidate:
    """The selection candidate that stands for a bench table row (at another depth with ``n_layers``)."""
    backbone, layers, settings = BENCH_CANDIDATES[table_row]
    if profile.startswith("fewshot") and table_row in COMPACT_IN_PROFILE:
        backbone, layers, settings = COMPACT_IN_PROFILE[table_row]
    if backbone == NO_BACKBONE:
        settings = tuple(sorted(PATCHTST_SHAPES.get(dataset, PATCHTST_DEFAULT_SHAPE).items()))
    return Candidate(backbone, layers if n_layers is None else n_layers, settings)


def bench_targets(folder: Path, dataset: str, horizon: int, profile: str = "standard"
                  ) -> tuple[list[Candidate], list[float], dict]:
    """Candidates and seed-averaged test MSE from the cells of a bench folder (probe rows for the other depths),
    with each candidate's mean trained epochs: the targets at the table's budget."""
    by_label = bench_cells(folder, dataset, horizon, profile)
    found = {label: cells for label, (_, cells) in by_label.items()}
    built = {label: candidate for label, (candidate, _) in by_label.items()}
    labels = sorted(found)
    mean = {label: {key: sum(c[key] for c in found[label]) / len(found[label]) for key in ("mse", "val_mse",
                                                                                           "epochs_run")}
            for label in labels}
    meta = {"seeds": {label: sorted(c["seed"] for c in found[label]) for label in labels},
            "val_mse": {label: mean[label]["val_mse"] for label in labels},
            "epochs_run": {label: mean[label]["epochs_run"] for label in labels},
            "test_mse_per_seed": {label: {c["seed"]: c["mse"] for c in found[label]} for label in labels},
            "devices": sorted({c["device"] for cells in found.values() for c in cells})}
    return [built[label] for label in labels], [mean[label]["mse"] for label in labels], meta


def study(name: str, candidates: list[Candidate], targets: list[float], base: ModelConfig, data, config: dict,
          budget: int, args, described: dict) -> dict:
    labels = [c.label for c in candidates]
    lookback, horizon = base.lookback, base.horizon
    windows = selection_windows(data, lookback, horizon, config["n_train"], config["n_val"], args.n_pool,
                                train_fraction=config.get("train_fraction", 1.0))
    x, y, n_train, pool = windows.x, windows.y, windows.n_train, windows.pool
    halving_val = sample_windows(data, "val", lookback, horizon, args.n_halving_val, 3)

    started = time.perf_counter()
    halving = successive_halving(candidates, base, pool, halving_val, budget, args.first_rung_steps,
                                 args.learning_rate, args.schedule, batch_size=32, seed=0, log=print)
    halving_seconds = time.perf_counter() - started
    step_seconds = {row["candidate"]: row["seconds"] / max(row["steps"], 1) for row in halving.ranking}
    training_seconds = sum(step_seconds[c.label] * budget for c in candidates)

    rows = []
    for candidate, target in zip(candidates, targets):
        warm = score_candidate(candidate, base, x, y, n_train, "sketch", config["probes"], seed=0,
                               budget_steps=budget, learning_rate=args.learning_rate, schedule=args.schedule,
                               warmup_steps=args.warmup_steps, warmup_windows=pool)
        figures = warm.figures  # the initial figures too: one kernel at initialisation per candidate, not two
        rows.append({"candidate": candidate.label, "target_test_mse": target,
                     "kernel_seconds": figures["init_seconds"], "warm_seconds": warm.seconds,
                     **{k: v for k, v in figures.items() if isinstance(v, (int, float))}})
        print(f"{name} {candidate.label}: krr {figures['krr_val_mse']:.4f} warm krr {figures['warm_krr_val_mse']:.4f}"
              f" warm val {figures['warm_init_val_mse']:.4f} target {target:.4f}", flush=True)
    kernel_cost = sum(r["kernel_seconds"] for r in rows) / training_seconds
    warm_cost = sum(r["warm_seconds"] - r["kernel_seconds"] for r in rows) / training_seconds
    methods = judge_methods(rows, halving.ranking, {"kernel": kernel_cost, "warm": warm_cost, "warm-val": warm_cost,
                                                    "halving": halving_seconds / training_seconds})
    methods["halving"]["cost_fraction_steps"] = halving.cost_fraction_steps
    return {**described, "budget_steps": budget, "candidates": rows,
            "best": labels[min(range(len(targets)), key=targets.__getitem__)],
            "training_seconds_estimate": training_seconds, "halving": {"rungs": halving.rungs,
                                                                      "ranking": halving.ranking},
            "methods": methods}


def judge_methods(rows: list[dict], halving_ranking: list[dict], costs: dict[str, float]) -> dict:
    """Each method's rho, pick and pick gap against the rows' ``target_test_mse``, at the given costs."""
    targets = [r["target_test_mse"] for r in rows]
    order = {row["candidate"]: i for i, row in enumerate(halving_ranking)}
    methods = {
        "kernel": judged([r["krr_val_mse"] for r in rows], targets, costs["kernel"]),
        "warm": judged([r["warm_krr_val_mse"] for r in rows], targets, costs["warm"]),
        # the warmed model's own validation error, the kernel left out: what the warm-up alone says
        "warm-val": judged([r["warm_init_val_mse"] for r in rows], targets, costs["warm-val"]),
        "halving": judged([order[r["candidate"]] for r in rows], targets, costs["halving"]),
    }
    for method in methods.values():
        method["pick"] = rows[method.pop("pick_index")]["candidate"]
    return methods


def rejudge(study: dict, folder: Path, dataset: str, horizon: int, profile: str) -> dict:
    """A finished study judged again against the bench folder's targets as they stand now (more seeds of a
    candidate's cells): the scores and costs are the study's own; only the targets, rho and picks change."""
    candidates, targets, meta = bench_targets(folder, dataset, horizon, profile)
    by_label = {c.label: target for c, target in zip(candidates, targets)}
    missing = [r["candidate"] for r in study["candidates"] if r["candidate"] not in by_label]
    if missing:
        raise SystemExit(f"{folder}: no cells for {', '.join(missing)} ({dataset} H={horizon})")
    rows = [{**r, "target_test_mse": by_label[r["candidate"]]} for r in study["candidates"]]
    costs = {name: m["cost_fraction"] for name, m in study["methods"].items()}
    methods = judge_methods(rows, study["halving"]["ranking"], costs)
    methods["halving"]["cost_fraction_steps"] = study["methods"]["halving"].get("cost_fraction_steps")
    targets_now = [r["target_test_mse"] for r in rows]
    return {**study, "candidates": rows, "target_details": meta, "methods": methods,
            "best": rows[min(range(len(rows)), key=targets_now.__getitem__)]["candidate"]}


def seed_check(candidates: list[Candidate], base: ModelConfig, data, config: dict, budget: int, args) -> dict:
    """The warmed model's own validation MSE of ``args.seed_check`` candidates over ``args.seed_check_seeds`` model
    seeds, on the study's windows and warm-up: is a pick by one initialisation a pick by the candidate?"""
    windows = selection_windows(data, base.lookback, base.horizon, config["n_train"], config["n_val"], args.n_pool,
                                train_fraction=config.get("train_fraction", 1.0))
    by_label = {c.label: c for c in candidates}
    figures = {}
    for label in args.seed_check.split(","):
        if label not in by_label:
            raise SystemExit(f"--seed-check: no candidate '{label}' (candidates: {', '.join(by_label)})")
        figures[label] = {}
        for seed in range(args.seed_check_seeds):
            model = ModelConfig(**{**base.to_dict(), "seed": seed})
            score = score_candidate(by_label[label], model, windows.x, windows.y, windows.n_train, "sketch",
                                    config["probes"], seed=seed, budget_steps=budget,
                                    learning_rate=args.learning_rate, schedule=args.schedule,
                                    warmup_steps=args.warmup_steps, warmup_windows=windows.pool,
                                    warm_kernel=False)
            figures[label][seed] = score.figures["warm_init_val_mse"]
            print(f"{label} seed {seed}: warm val {figures[label][seed]:.4f}", flush=True)
    return {"figure": "warm_init_val_mse", "seeds": args.seed_check_seeds, "warm_val_by_seed": figures}


def noise_check(candidates: list[Candidate], base: ModelConfig, data, config: dict, budget: int, args,
                targets: list[float]) -> dict:
    """How `select` should estimate its own noise at its budget (issue 33): a paired bootstrap over the validation
    windows of one run (no extra warm-up) against a second seed of the leading candidates (``args.noise_leaders``
    more warm-ups). Every candidate is warmed up under ``args.noise_check`` seeds (windows and initialisation drawn
    per seed); the reference is the candidate with the best warm-val averaged over all of them, and each method,
    replicated once per seed (two seeds: that seed and the next), is judged by whether its tie group holds it.
    Beside it, warm-val itself against the converged ``targets``: one seed (what select runs) and the seed mean."""
    from tsreprog.ntk.ties import leading_group

    seeds = list(range(args.noise_check))
    labels = [c.label for c in candidates]
    scores: dict[str, dict[int, float]] = {label: {} for label in labels}
    errors: dict[int, dict] = {}
    seconds: dict[str, list[float]] = {label: [] for label in labels}
    costs = {}
    for seed in seeds:
        windows = selection_windows(data, base.lookback, base.horizon, config["n_train"], config["n_val"],
                                    args.n_pool, seed, config["train_fraction"])
        errors[seed] = {}
        for candidate in candidates:
            score = score_candidate(candidate, ModelConfig(**{**base.to_dict(), "seed": seed}), windows.x,
                                    windows.y, windows.n_train, seed=seed, budget_steps=budget,
                                    learning_rate=args.learning_rate, schedule=args.schedule,
                                    warmup_steps=args.warmup_steps, warmup_windows=windows.pool, warm_kernel=False,
                                    init_kernel=False)
            scores[candidate.label][seed] = score.figures["warm_init_val_mse"]
            errors[seed][candidate.label] = score.figures["warm_val_errors"]
            seconds[candidate.label].append(score.seconds)
            costs[candidate.label] = score.figures["parameters"]  # as select prices a forecast
            print(f"noise {candidate.label} seed {seed}: warm val {scores[candidate.label][seed]:.4f} "
                  f"({score.seconds:.0f} s)", flush=True)
    mean = {label: sum(scores[label].values()) / len(seeds) for label in labels}
    reference = min(labels, key=mean.__getitem__)
    bootstrap, two_seeds = [], []
    for k, seed in enumerate(seeds):
        ties = leading_group({label: errors[seed][label] for label in labels}, costs)
        bootstrap.append({"seed": seed, "group": ties["group"], "pick": ties["pick"],
                          "holds_reference": reference in ties["group"]})
        other = seeds[(k + 1) % len(seeds)]
        leaders = sorted(labels, key=lambda label: scores[label][seed])[:args.noise_leaders]
        pair = {label: (scores[label][seed], scores[label][other]) for label in leaders}
        sd = math.sqrt(sum((a - b) ** 2 / 2 for a, b in pair.values()) / len(pair))  # pooled over the leaders
        means = {label: (a + b) / 2 for label, (a, b) in pair.items()}
        best = min(means, key=means.__getitem__)
        group = sorted((label for label in leaders if means[label] - means[best] <= 2 * sd), key=means.__getitem__)
        pick = min(group, key=lambda label: (costs[label], means[label]))
        two_seeds.append({"seeds": [seed, other], "leaders": leaders, "pooled_sd": sd, "group": group, "pick": pick,
                          "holds_reference": reference in group})
    per_warmup = {label: sum(v) / len(v) for label, v in seconds.items()}
    one_run = sum(per_warmup.values())
    second = [sum(per_warmup[label] for label in row["leaders"]) for row in two_seeds]

    def summary(rows: list[dict], warmups: int, cost_seconds: float) -> dict:
        return {"holds_reference": sum(r["holds_reference"] for r in rows), "runs": len(rows),
                "picks_reference": sum(r["pick"] == reference for r in rows),
                "mean_group_size": sum(len(r["group"]) for r in rows) / len(rows), "warmups": warmups,
                "seconds": cost_seconds}

    one = args.warmup_steps / budget  # cost in training steps against training every candidate for the budget
    validity = {"warm-val, seed 0": judged([scores[label][0] for label in labels], targets, one),
                f"warm-val, mean of {len(seeds)} seeds": judged([mean[label] for label in labels], targets,
                                                              one * len(seeds))}
    for method in validity.values():
        method["pick"] = labels[method.pop("pick_index")]
    return {"figure": "warm_init_val_mse", "seeds": seeds, "warm_val_by_seed": scores, "seed_mean": mean,
            "targets": dict(zip(labels, targets)), "validity": validity,
            "reference_leader": reference, "seconds_per_warmup": per_warmup,
            "bootstrap": {"replications": bootstrap, **summary(bootstrap, len(labels), one_run)},
            "two_seeds": {"replications": two_seeds,
                          **summary(two_seeds, len(labels) + args.noise_leaders,
                                    one_run + sum(second) / len(second))}}


def ntk_source_study(name: str, source: dict, args) -> dict:
    """The 120-step study: candidates, targets and budget of ntk_validity.json."""
    config = source["config"]
    candidates, targets, described = ntk_study_targets(next(s for s in source["studies"] if s["dataset"] == name))
    data = prepare(name, config["lookback"], config["horizon"])
    base = ModelConfig(lookback=config["lookback"], horizon=config["horizon"],
                       prototype_vocab=config["prototype_vocab"],
                       attention_scoring=config.get("attention_scoring", "cosine"), description=data.description,
                       seed=0)
    return study(name, candidates, targets, base, data, config, config["epochs"] * config["steps"], args,
                 {"targets": described, "target_source": args.source})


def table_setup(name: str, profile: str, horizon: int, prototype_vocab: int):
    """The table's model, data, training settings and steps per epoch for a dataset and profile, as selection scores
    them: (spec, data, train, steps_per_epoch)."""
    spec = bench_model("reprog-minilm", profile, 512, horizon, name)
    data = prepare(name, 512, horizon)
    spec.model.description = data.description
    # The kernel over the full 30M-weight mixture (30,522 rows) ran out of 24 GB; the vocabulary subset ties the
    # full vocabulary once trained (ETTh1 H=96, 3 seeds: 0.4060 against 0.4080, benchmarks/README.md).
    spec.model.prototype_vocab = prototype_vocab
    train = train_config(profile, name, None, spec.learning_rate)
    steps_per_epoch = math.ceil(len(data.windows("train", 512, horizon, stride=train.train_stride,
                                                 fraction=train.train_fraction)) / train.batch_size)
    return spec, data, train, steps_per_epoch


def bench_source_study(name: str, args) -> dict:
    """The standard-budget study: targets from a bench folder's cells, candidates built as the table built them
    (head reduced to 32 features, the table's rate and cosine schedule), the budget the steps they trained."""
    candidates, targets, meta = bench_targets(Path(args.bench_targets), name, args.horizon, args.profile)
    if not candidates:
        raise SystemExit(f"{args.bench_targets}: no candidate cells for {name} H={args.horizon} "
                         f"(rows {', '.join(BENCH_CANDIDATES)} and their n_layers probes)")
    spec, data, train, steps_per_epoch = table_setup(name, args.profile, args.horizon, args.prototype_vocab)
    epochs = sum(meta["epochs_run"].values()) / len(meta["epochs_run"])
    # a few-shot profile's selection draws its training windows from the share its runs keep
    config = {"n_train": args.n_train, "n_val": args.n_val, "probes": args.probes,
              "train_fraction": train.train_fraction}
    # the candidates train (warm-up, halving) at the table's own rate and schedule, whatever --learning-rate says
    args = argparse.Namespace(**{**vars(args), "learning_rate": spec.learning_rate, "schedule": train.schedule})
    if args.seed_check:
        return seed_check(candidates, spec.model, data, config, round(epochs * steps_per_epoch), args)
    if args.noise_check:
        return noise_check(candidates, spec.model, data, config, round(epochs * steps_per_epoch), args, targets)
    return study(name, candidates, targets, spec.model, data, config, round(epochs * steps_per_epoch), args,
                 {"targets": f"seed-averaged test MSE at H={args.horizon}, {args.profile} profile",
                  "regime": args.profile,
                  "target_source": args.bench_targets, "target_details": meta,
                  "steps_per_epoch": steps_per_epoch, "mean_epochs_trained": epochs,
                  "scored_prototype_vocab": args.prototype_vocab})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default="benchmarks/results/ntk_validity.json")
    parser.add_argument("--bench-targets", default=None, metavar="DIR",
                        help="targets from a standard-profile bench folder instead of --source")
    parser.add_argument("--horizon", type=int, default=96, help="with --bench-targets")
    parser.add_argument("--profile", default="standard", help="with --bench-targets: the profile its cells ran "
                        "(standard, fewshot10, fewshot5)")
    parser.add_argument("--datasets", default="ETTh1,ETTm1")
    parser.add_argument("--warmup-steps", type=int, default=6)
    parser.add_argument("--first-rung-steps", type=int, default=4)
    parser.add_argument("--n-pool", type=int, default=512)
    parser.add_argument("--n-halving-val", type=int, default=256)
    parser.add_argument("--n-train", type=int, default=64, help="with --bench-targets (--source sets its own)")
    parser.add_argument("--n-val", type=int, default=32, help="with --bench-targets")
    parser.add_argument("--probes", type=int, default=4, help="with --bench-targets")
    parser.add_argument("--prototype-vocab", type=int, default=1000, help="with --bench-targets")
    parser.add_argument("--learning-rate", type=float, default=1e-3,
                        help="with --source (--bench-targets: the table's)")
    parser.add_argument("--schedule", default="onecycle", help="with --source (--bench-targets: the table's)")
    parser.add_argument("--output", default="benchmarks/results/select_validity.json")
    parser.add_argument("--seed-check", default="", metavar="LABELS",
                        help="with --bench-targets: only score these candidates over several model seeds, into "
                             "datasets.<name>.seed_check of --output")
    parser.add_argument("--seed-check-seeds", type=int, default=3)
    parser.add_argument("--noise-check", type=int, default=0, metavar="SEEDS",
                        help="with --bench-targets: compare select's two noise estimates (bootstrap, two seeds of the "
                             "leaders) over this many seeds of every candidate, into datasets.<name>.noise_check")
    parser.add_argument("--noise-leaders", type=int, default=3, help="with --noise-check: leaders given a second seed")
    parser.add_argument("--rejudge", action="store_true",
                        help="with --bench-targets: judge the finished study in --output again against the folder's "
                             "cells as they stand now (more seeds), without scoring anything")
    parser.add_argument("--write", type=Path, metavar="README",
                        help="only write the committed studies' table between this file's SELECT-VALIDITY markers")
    args = parser.parse_args()
    if args.write:
        studies = [json.loads((RESULTS / name).read_text()) for name in STUDIES]
        write_between(args.write, "<!-- SELECT-VALIDITY -->", "<!-- /SELECT-VALIDITY -->", markdown(studies))
        return
    source = None if args.bench_targets else json.loads(Path(args.source).read_text())
    out = Path(args.output)
    result = json.loads(out.read_text()) if out.is_file() else {"datasets": {}}
    if args.rejudge:
        if not args.bench_targets or not result["datasets"]:
            raise SystemExit("--rejudge needs --bench-targets and a finished study in --output")
        for name in result["datasets"]:
            result["datasets"][name] = rejudge(result["datasets"][name], Path(args.bench_targets), name,
                                               args.horizon, args.profile)
        result.update({**verdicts(result), "rejudged": {"commit": environment("cpu")["commit"],
                                                       "against": args.bench_targets}})
        write_json(out, result)
        return
    for name in args.datasets.split(","):
        if args.noise_check:
            result.setdefault("datasets", {}).setdefault(name, {})["noise_check"] = bench_source_study(name, args)
            result.update({"benchmark": "select_noise", "config": vars(args), **environment("cpu")})
            write_json(out, result)
            continue
        if args.seed_check:
            if name not in result["datasets"]:
                raise SystemExit(f"{out}: no study of {name} to add a seed check to (run the study first)")
            result["datasets"][name]["seed_check"] = bench_source_study(name, args)
            write_json(out, result)
            continue
        if name in result["datasets"]:
            continue  # finished datasets are kept (the study resumes)
        result["datasets"][name] = bench_source_study(name, args) if source is None else \
            ntk_source_study(name, source, args)
        result.update({"benchmark": "select_validity", "config": vars(args), **verdicts(result),
                       **environment("cpu")})
        write_json(out, result)


def markdown(studies: list[dict]) -> str:
    """One row per study set: the candidates' spread, and each method's rho and pick gap, marked where the pick lies
    within the seed spread of the best (the 2-sd rule), so the README copies no figure by hand."""
    lines = ["| set | candidates | spread | best (mean test MSE) | kernel at initialisation | warm kernel | "
             "warm-val (the default) | halving | cost: kernel / warm-up / halving |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for result in studies:
        for dataset, found in result["datasets"].items():
            tests = {label: list(seeds.values())
                     for label, seeds in found["target_details"]["test_mse_per_seed"].items()}
            means = {label: mean_sd(values) for label, values in tests.items()}
            best = min(means, key=lambda label: means[label][0])
            methods = found["methods"]
            cells = [f"{methods[m]['rho']:+.2f} / {methods[m]['pick_gap']:.0%}"
                     f"{' (within)' if within_spread(methods[m]['pick'], tests) else ''}" for m in METHODS]
            cost = " / ".join(f"{methods[m]['cost_fraction']:.1%}" for m in ("kernel", "warm", "halving"))
            lines.append(f"| {found.get('regime', 'standard')} {dataset} | {len(tests)} | "
                         f"{spread_in_sd(means):.1f} sd | {best} ({means[best][0]:.3f}) | {' | '.join(cells)} | "
                         f"{cost} |")
    return "\n".join(lines)


def verdicts(result: dict) -> dict:
    """Which methods meet the targets on every dataset of ``result``, and each method's worst rho."""
    datasets = list(result["datasets"].values())
    meets = {m: all(d["methods"][m]["rho"] >= TARGET_RHO and d["methods"][m]["cost_fraction"] <= TARGET_COST
                    for d in datasets) for m in datasets[0]["methods"]}
    return {"meets_targets": meets, "worst_rho": {m: min(d["methods"][m]["rho"] for d in datasets) for m in meets},
            "targets": {"rho": TARGET_RHO, "cost_fraction": TARGET_COST},
            "default_method": SelectConfig().method}  # what `tsreprog select` ranks by unless told


if __name__ == "__main__":
    main()
