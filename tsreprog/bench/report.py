"""Tables (Markdown, CSV, JSON) and plots from the benchmark cells, plus our averages beside published ones."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tsreprog.bench.environment import environment, named_a_cpu
from tsreprog.bench.models import PROFILES
from tsreprog.bench.published import PUBLISHED
from tsreprog.io import atomic_write_bytes, save_figure, write_config_sections
from tsreprog.models.registry import settings_read_by
from tsreprog.seed_spread import within_seed_spread


PRECISION_NAMES = {"32": "fp32", "bf16-mixed": "bf16-mixed (bf16 autocast, fp32 weights)"}


def cell_precision(cell: dict) -> str:
    """The numeric precision a cell ran in. Cells written before it was recorded ran under the runner's default,
    which on a CPU was always fp32 ("32"); on any other device the runner's default is not known afterwards."""
    if cell.get("precision"):
        return str(cell["precision"])
    return "32" if named_a_cpu(str(cell.get("device", ""))) else "not recorded"


def tables(cells: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The main table (seed 0 of every cell) and its per-dataset averages; further seeds go to :func:`seed_table`."""
    done = pd.DataFrame([{**c, "precision": cell_precision(c)} for c in cells
                         if "mse" in c and c.get("seed", 0) == 0])
    if done.empty:
        return done, done
    if "lookback" not in done:
        done["lookback"] = None
    long = done[["dataset", "model", "horizon", "mse", "mae", "trainable_parameters", "seconds_per_epoch",
                 "peak_memory_mb", "device", "precision", "lookback"]]
    grouped = done.groupby(["dataset", "model"], sort=False)
    averages = grouped[["mse", "mae"]].mean().reset_index()
    # An average over fewer horizons than its dataset's others is not comparable: a partial table (a run still
    # going, or stopped) marks it instead of printing it.
    averages["horizons"] = grouped["horizon"].nunique().values
    averages["complete"] = averages["horizons"] == averages.groupby("dataset")["horizons"].transform("max")
    return long, averages


def markdown(long: pd.DataFrame, averages: pd.DataFrame, profile: str) -> str:
    lines = [f"Profile `{profile}`: {PROFILES[profile]['note']}. MSE/MAE on scaled data, every test window.", ""]
    for dataset, group in long.groupby("dataset", sort=False):
        pivot = group.pivot_table(index="model", columns="horizon", values=["mse", "mae"], sort=False)
        lines.append(f"### {dataset}")
        lines.append("")
        lines.append(" ".join(filter(None, [
            "Precision: " + ", ".join(PRECISION_NAMES.get(p, p) for p in sorted(group["precision"].unique())) + ".",
            lookback_line(group)])))
        lines.append("")
        horizons = sorted(group["horizon"].unique())
        # Parameters grow with the horizon (the head): state the shortest horizon's; seconds per epoch: the mean.
        lines.append("| model | " + " | ".join(f"H={h} MSE / MAE" for h in horizons) + f" | avg MSE | params "
                     f"(H={horizons[0]}) | s/epoch (mean) | device |")
        lines.append("|---" * (len(horizons) + 5) + "|")
        for model in group["model"].unique():
            rows = group[group["model"] == model].sort_values("horizon")
            row = rows.iloc[0]
            cells = [f"{pivot.loc[model, ('mse', h)]:.3f} / {pivot.loc[model, ('mae', h)]:.3f}"
                     if ("mse", h) in pivot.columns and pd.notna(pivot.loc[model, ("mse", h)]) else "–"
                     for h in horizons]
            mine = averages[(averages.dataset == dataset) & (averages.model == model)].iloc[0]
            avg = f"{mine.mse:.3f}" if mine.complete else f"({mine.horizons}/{len(horizons)} horizons)"
            lines.append(f"| {model} | " + " | ".join(cells) + f" | {avg} | {int(row.trainable_parameters):,} | "
                         f"{rows.seconds_per_epoch.mean():.0f} | {row.device} |")
        lines.append("")
    return "\n".join(lines)


def lookback_line(group: pd.DataFrame) -> str:
    """The table's look-back, and the rows that train with their own (a published recipe); "" if not recorded."""
    per_row = group.dropna(subset=["lookback"]).groupby("model", sort=False)["lookback"].first().astype(int)
    if per_row.empty:
        return ""
    shared = int(per_row.mode().iloc[0])
    own = [f"{model} {lookback}" for model, lookback in per_row.items() if lookback != shared]
    return f"Look-back: {shared}" + (f" (own look-back: {', '.join(own)})" if own else "") + "."


def seed_stats(cells: list[dict]) -> pd.DataFrame:
    """Every (dataset, horizon, model) over its seeds: mean and sample sd of test MSE, seeds, mean training seconds
    trainable parameters, and all parameters (frozen ones too; NaN for cells that predate recording them). The one
    grouping the tables, verdicts and report read."""
    done = pd.DataFrame([c for c in cells if "mse" in c])
    if done.empty:
        return pd.DataFrame(columns=["dataset", "horizon", "model", "mean", "std", "count", "seconds", "parameters",
                                     "all_parameters"])
    for column, default in (("seed", 0), ("seconds_total", 0.0), ("trainable_parameters", 0),
                            ("parameters", float("nan"))):
        done[column] = done[column].fillna(default) if column in done else default
    grouped = done.groupby(["dataset", "horizon", "model"], sort=False)
    stats = grouped["mse"].agg(["mean", "std", "count"])
    stats["seconds"] = grouped["seconds_total"].mean()
    stats["parameters"] = grouped["trainable_parameters"].first()
    stats["all_parameters"] = grouped["parameters"].first()
    return stats.reset_index()


def seed_table(cells: list[dict]) -> pd.DataFrame:
    """Mean and sample standard deviation of test MSE over seeds, for every (dataset, horizon, model) run under
    more than one seed."""
    stats = seed_stats(cells)
    return stats[stats["count"] > 1][["dataset", "horizon", "model", "mean", "std", "count"]].reset_index(drop=True)


def beats(stats: pd.DataFrame) -> list[str]:
    """Which rows beat which: a lower mean MSE by more than twice the larger of the two seed standard deviations.
    Anything closer is a tie within the seed spread, and the table says so rather than ranking it."""
    verdicts = []
    for (dataset, horizon), group in stats.groupby(["dataset", "horizon"], sort=False):
        rows = group.sort_values("mean").to_dict("records")
        for i, better in enumerate(rows):
            for worse in rows[i + 1:]:
                gap = worse["mean"] - better["mean"]
                bar = 2 * max(better["std"], worse["std"])
                if not within_seed_spread(better["mean"], better["std"], worse["mean"], worse["std"]):
                    verdicts.append(f"{dataset} H={horizon}: {better['model']} beats {worse['model']} "
                                    f"({better['mean']:.3f} vs {worse['mean']:.3f}, gap {gap:.3f} > 2 sd {bar:.3f})")
                else:
                    verdicts.append(f"{dataset} H={horizon}: {better['model']} and {worse['model']} tie within the "
                                    f"seed spread (gap {gap:.3f} <= 2 sd {bar:.3f})")
    return verdicts


def seed_markdown(stats: pd.DataFrame) -> str:
    lines = ["| dataset | H | model | seeds | test MSE mean | sd |", "|---|---|---|---|---|---|"]
    for row in stats.itertuples():
        lines.append(f"| {row.dataset} | {row.horizon} | {row.model} | {row.count} | {row.mean:.4f} | "
                     f"{row.std:.4f} |")
    return "\n".join(lines + [""] + [f"- {line}" for line in beats(stats)])


def wall_hours(cells: list[dict]) -> dict[str, float]:
    """Compute spent per dataset: the sum of its cells' wall times (cells run one after another)."""
    spent: dict[str, float] = {}
    for cell in cells:
        if "seconds_total" in cell:
            spent[cell["dataset"]] = spent.get(cell["dataset"], 0.0) + cell["seconds_total"] / 3600
    return spent


def published_markdown(averages: pd.DataFrame) -> str:
    datasets = list(averages["dataset"].unique()) if not averages.empty else []
    lines = ["| model | " + " | ".join(datasets) + " | source |", "|---" * (len(datasets) + 2) + "|"]
    for model in averages["model"].unique() if not averages.empty else []:
        values = [averages[(averages.dataset == d) & (averages.model == model) & averages.complete]["mse"]
                  for d in datasets]
        lines.append(f"| ours: {model} | " + " | ".join(f"{v.iloc[0]:.3f}" if len(v) else "–" for v in values)
                     + " | this run |")
    for model, (numbers, source) in PUBLISHED.items():
        lines.append(f"| {model} | " + " | ".join(f"{numbers[d]:.3f}" if d in numbers else "–" for d in datasets)
                     + f" | {source} |")
    return "\n".join(lines)


def plot_mse_by_horizon(long: pd.DataFrame, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for dataset, group in long.groupby("dataset", sort=False):
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for model, rows in group.groupby("model", sort=False):
            rows = rows.sort_values("horizon")
            ax.plot(rows["horizon"], rows["mse"], marker="o", label=model)
        ax.set_xlabel("horizon")
        ax.set_ylabel("test MSE (scaled)")
        ax.set_title(f"{dataset}: MSE by horizon")
        ax.legend(fontsize=7)
        save_figure(fig, folder / "plots" / f"mse_by_horizon_{dataset}.png")


REPORT_FILES = ("table.csv", "table.md", "results.json", "report.md")
# Rows that run a pretrained backbone, and the ablation the question "does it help?" sets them against.
PRETRAINED_ROWS = ("reprog-minilm", "reprog-minilm-compact", "reprog-minilm-ln", "reprog-minilm-lora",
                   "reprog-smollm2", "reprog-dinov2", "no-prompt")
ABLATION = "no-backbone"


def seed_summary(cells: list[dict], dataset: str) -> tuple[int | None, dict[str, dict]]:
    """The horizon with the most seeds, and each row's mean, sd, seeds, training seconds and parameters there."""
    stats = seed_stats([c for c in cells if c.get("dataset") == dataset])
    if stats.empty:
        return None, {}
    seeds = {}
    for c in cells:
        if c.get("dataset") == dataset and "mse" in c:
            seeds.setdefault(c["horizon"], set()).add(c.get("seed", 0))
    horizon = max(sorted(seeds), key=lambda h: len(seeds[h]))
    return horizon, {row["model"]: {"mean": row["mean"], "sd": None if pd.isna(row["std"]) else row["std"],
                                    "seeds": int(row["count"]), "seconds": row["seconds"],
                                    "parameters": row["parameters"],
                                    "all_parameters": None if pd.isna(row["all_parameters"]) else row["all_parameters"]}
                     for row in stats[stats["horizon"] == horizon].to_dict("records")}


def ties_with(a: dict, b: dict) -> bool | None:
    """Whether two rows tie by the 2-sd rule; None when either has a single seed (no spread to judge by)."""
    if a["sd"] is None or b["sd"] is None:
        return None
    return within_seed_spread(a["mean"], a["sd"], b["mean"], b["sd"])


def answer(summary: dict[str, dict]) -> str:
    """The one-line answer to "does the backbone help on this data, at this budget?"."""
    pretrained = {r: v for r, v in summary.items() if r in PRETRAINED_ROWS}
    if ABLATION not in summary or not pretrained:
        return (f"no answer: the table needs the {ABLATION} row and at least one pretrained backbone row "
                f"({', '.join(PRETRAINED_ROWS[:2])}, ...)")
    best = min(pretrained, key=lambda r: pretrained[r]["mean"])
    a, b = pretrained[best], summary[ABLATION]
    tie = ties_with(a, b)
    figures = f"{best} {a['mean']:.4f} against {ABLATION} {b['mean']:.4f}"
    if tie is None:
        return f"not yet: one seed cannot tell a difference from noise ({figures}); run with --seeds 0,1,2"
    if tie:
        return f"the backbone does not help on this data, at this budget: {figures}, a tie within twice the seed sd"
    if a["mean"] < b["mean"]:
        return f"the backbone helps on this data, at this budget: {figures}, beyond twice the seed sd"
    return (f"the backbone does not help on this data, at this budget: the ablation is better, {figures}, beyond "
            f"twice the seed sd")


def leading_rows(summary: dict[str, dict]) -> tuple[str, list[str], str]:
    """The winner, the rows that tie with it (winner first, then by mean) and the pick: the cheapest of them, since
    a costlier row that ties has not earned its cost. Cost is every parameter a forecast runs through, frozen ones
    too, as select counts it (a 6-block backbone trains as many weights as a 1-block one but costs 6 times the
    blocks); cells that predate recording it fall back to trainable parameters."""
    winner = min(summary, key=lambda r: summary[r]["mean"])
    group = sorted((r for r in summary if r == winner or ties_with(summary[r], summary[winner])),
                   key=lambda r: summary[r]["mean"])
    cost = "all_parameters" if all(summary[r].get("all_parameters") is not None for r in group) else "parameters"
    pick = min(group, key=lambda r: (summary[r][cost], summary[r]["mean"]))
    return winner, group, pick


def judge(cells: list[dict]) -> dict[str, tuple[int, dict[str, dict], tuple[str, list[str], str]]]:
    """Per dataset with finished cells, the one verdict that report.md and the pick files both read: the horizon
    judged, each row's summary there, and the winner, the rows that tie with it and the pick."""
    judged = {}
    for dataset in dict.fromkeys(c.get("dataset") for c in cells if "mse" in c):
        horizon, summary = seed_summary(cells, dataset)
        if summary:
            judged[dataset] = (horizon, summary, leading_rows(summary))
    return judged


def pick_configs(cells: list[dict], judged: dict | None = None) -> dict[str, tuple[str, int, dict]]:
    """Per dataset: the pick, the seed whose recorded config trains it (the lowest), and that config; datasets whose
    pick's cells predate recorded configs are left out. ``judged``: :func:`judge` of the same cells, if at hand."""
    picks = {}
    for dataset, (horizon, _, (_, _, pick)) in (judged or judge(cells)).items():
        mine = sorted((c for c in cells if c.get("dataset") == dataset and c.get("model") == pick
                       and c.get("horizon") == horizon and "mse" in c and "config" in c),
                      key=lambda c: c.get("seed", 0))
        if mine:
            picks[dataset] = (pick, mine[0].get("seed", 0), mine[0]["config"])
    return picks


def verdict_markdown(cells: list[dict], profile: str, pick_files: dict[str, Path] | None = None,
                     judged: dict | None = None) -> str:
    """report.md: for each dataset the winner, the rows that tie with it, each row's cost, the answer, and where
    ``pick_files`` has one, the command that trains the pick."""
    lines = ["# Does a backbone help on this data?", "",
             f"Profile `{profile}`: {PROFILES[profile]['note']}. Test MSE on scaled data, every test window; a "
             "difference counts only beyond twice the larger seed sd.", ""]
    if profile == "quick":  # bench's default budget is a smoke test; its answer is not the converged one
        lines += ["**Budget:** `quick` trains every row for minutes, not to convergence: rerun with `--profile "
                  "standard` (early stopping) before trusting the answer.", ""]
    for dataset, (horizon, summary, (winner, group, pick)) in (judged or judge(cells)).items():
        mine = [c for c in cells if c.get("dataset") == dataset and "mse" in c]
        machines = sorted({f"{c.get('device')}, {PRECISION_NAMES.get(cell_precision(c), cell_precision(c))}"
                           for c in mine})
        lines += [f"## {dataset}", "", f"**Answer:** {answer(summary)}.", "",
                  f"**Winner:** {winner}. **Tied with it:** {', '.join(r for r in group if r != winner) or 'none'}"
                  + (" (one seed: no tie test)" if summary[winner]["sd"] is None else "") + ".", "",
                  *([f"**Train the pick** ({pick}" + (", the cheapest row that ties with the winner" if pick != winner
                                                       else "") + f"): `tsreprog train --config "
                     f"{pick_files[dataset]} --output-dir runs/{dataset}`.", ""]
                    if pick_files and dataset in pick_files else []),
                  f"Horizon {horizon}, look-back {mine[0].get('table_lookback', mine[0].get('lookback'))}; "
                  f"{'; '.join(machines)}.", "",
                  "| row | test MSE (mean ± sd) | seeds | training + scoring s | trainable parameters "
                  "| all parameters |",
                  "|---|---|---|---|---|---|"]
        for row in sorted(summary, key=lambda r: summary[r]["mean"]):
            v = summary[row]
            spread = f" ± {v['sd']:.4f}" if v["sd"] is not None else ""
            every = f"{int(v['all_parameters']):,}" if v["all_parameters"] is not None else "–"
            lines.append(f"| {row}{' (winner)' if row == winner else ''} | {v['mean']:.4f}{spread} | {v['seeds']} | "
                         f"{v['seconds']:.0f} | {int(v['parameters']):,} | {every} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def check_report_files(out: Path, overwrite: bool = False) -> None:
    """The report files bench rewrites on every run: refuse to replace one it did not write (a user's own
    table.md in that folder) unless ``overwrite``; and the folder must be writable before any cell trains."""
    from tsreprog.io import check_writable

    def ours(path: Path) -> bool:
        text = path.read_text(errors="replace")
        if path.suffix == ".json":
            try:
                written = json.loads(text)
            except ValueError:
                return False
            return isinstance(written, dict) and {"cells", "profile"} <= set(written)
        if path.suffix == ".csv":
            return text.startswith("dataset,model,horizon") or text.strip() == ""
        return (text.startswith("Profile `") or text.startswith("no finished cells")
                or text.startswith("# Does a backbone help"))

    for name in REPORT_FILES:
        path = out / name
        check_writable(path, overwrite or not path.exists() or ours(path))
    for path in sorted((out / "picks").glob("*.yaml")):  # a pick file holds exactly the two sections train reads
        check_writable(path, overwrite or text_is_pick(path.read_text(errors="replace")))


def text_is_pick(text: str) -> bool:
    import yaml

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and set(loaded) == {"model", "train"}


def write_report(cells: list[dict], out: Path, profile: str) -> dict[str, Path]:
    long, averages = tables(cells)
    written = {"csv": out / "table.csv", "markdown": out / "table.md", "json": out / "results.json"}
    atomic_write_bytes(written["csv"], long.to_csv(index=False).encode())
    text = markdown(long, averages, profile) if not long.empty else "no finished cells\n"
    stats = seed_table(cells)
    if not stats.empty:
        text += "\n## Seed spread (test MSE over seeds)\n\n" + seed_markdown(stats) + "\n"
    spent = wall_hours(cells)
    if spent:
        text += "\nWall time (sum of cells, one after another): " + ", ".join(
            f"{d} {h:.2f} h" for d, h in spent.items()) + ".\n"
    if any(d in numbers for d in averages.get("dataset", []) for numbers, _ in PUBLISHED.values()):
        # a user's own data has no published figures: a table of dashes would only suggest it should
        text += ("\n\n## Beside published averages (MSE over the four horizons)\n\n" + published_markdown(averages)
                 + "\n")
    skipped = [c for c in cells if "skipped" in c]
    if skipped:
        text += "\nSkipped: " + "; ".join(f"{c['model']} ({c['skipped']})" for c in skipped) + "\n"
    atomic_write_bytes(written["markdown"], text.encode())
    judged, pick_files = judge(cells), {}
    for dataset, (_, _, config) in pick_configs(cells, judged).items():
        pick_files[dataset] = out / "picks" / f"{dataset}.yaml"
        pick_files[dataset].parent.mkdir(parents=True, exist_ok=True)
        write_config_sections(pick_files[dataset], model=settings_read_by(config["model"]["model"], config["model"]),
                              train=config["train"])
    written["report"] = out / "report.md"
    atomic_write_bytes(written["report"], verdict_markdown(cells, profile, pick_files, judged).encode())
    atomic_write_bytes(written["json"], json.dumps({"profile": profile, "note": PROFILES[profile]["note"],
                                                    "cells": cells, **environment()}, indent=2,
                                                   default=float).encode())
    if not long.empty:
        plot_mse_by_horizon(long, out)
    return written
