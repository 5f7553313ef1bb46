"""Where does a pretrained backbone pay? The regime tables (full data, 10%, 5%, zero-shot transfer) and their verdicts
by the 2-sd rule, from the bench cells of each regime's folder.

Each comparison pits a row against the ablation that differs from it in one thing; a difference is real only when it
exceeds twice the larger seed sd of the two (3 seeds at H=96). Writes benchmarks/results/regimes.json and prints the
Markdown that benchmarks/README.md carries (``--write benchmarks/README.md`` puts it there).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

from tsreprog.seed_spread import within_seed_spread
from tsreprog.data.protocol import few_shot_end, split_borders
from tsreprog.data.registry import DATASETS as REGISTERED
from readme_tables import write_between
from tsreprog.io import write_json

RESULTS = Path(__file__).parent / "results"
# Each regime's folders, first wins for a cell both hold: the full-data transfer cells (and the adapted rows at full
# data) fill in beside the H100 standard table.
REGIMES = {"full data": ("bench_standard_gpu", "bench_standard_transfer"), "10%": ("bench_fewshot10",),
           "5%": ("bench_fewshot5",)}
ROWS = ("reprog-minilm-compact", "reprog-minilm-ln", "reprog-minilm-lora", "random-backbone", "random-backbone-ln",
        "no-prompt", "no-backbone", "patchtst", "dlinear")
# (row, against, what the comparison asks)
COMPARISONS = (
    ("reprog-minilm-compact", "no-backbone", "pretrained backbone vs none"),
    ("reprog-minilm-compact", "random-backbone", "pretrained vs random-init weights"),
    ("reprog-minilm-ln", "reprog-minilm-compact", "LayerNorm tuning vs frozen"),
    ("reprog-minilm-lora", "reprog-minilm-compact", "LoRA vs frozen"),
    ("reprog-minilm-ln", "random-backbone-ln", "pretrained vs random-init, both LayerNorm-tuned"),
    ("reprog-minilm-ln", "no-backbone", "LayerNorm-tuned backbone vs none"),
    ("reprog-minilm-lora", "no-backbone", "LoRA-tuned backbone vs none"),
)
# Time-LLM (Jin et al., ICLR 2024) Tables 3-5: MSE averaged over the four horizons.
PUBLISHED = {
    "10%": {"ETTh1": {"Time-LLM": 0.556, "GPT4TS": 0.590, "PatchTST": 0.633, "DLinear": 0.691},
            "ETTh2": {"Time-LLM": 0.370, "GPT4TS": 0.397, "PatchTST": 0.415, "DLinear": 0.605},
            "ETTm1": {"Time-LLM": 0.404, "GPT4TS": 0.464, "PatchTST": 0.501, "DLinear": 0.411}},
    "5%": {"ETTh1": {"Time-LLM": 0.627, "GPT4TS": 0.681, "PatchTST": 0.694, "DLinear": 0.750}},
    "transfer": {"ETTh1->ETTh2": {"Time-LLM": 0.353, "GPT4TS": 0.406, "PatchTST": 0.380, "DLinear": 0.493},
                 "ETTh2->ETTh1": {"Time-LLM": 0.479, "GPT4TS": 0.757, "PatchTST": 0.565, "DLinear": 0.703},
                 "ETTm1->ETTh2": {"Time-LLM": 0.381, "GPT4TS": 0.433, "PatchTST": 0.439, "DLinear": 0.464}},
}
# The per-horizon 10% figures behind those averages (GPT4TS, Zhou et al., NeurIPS 2023, few-shot appendix table;
# Time-LLM's Table 3 repeats their averages), H = 96, 192, 336, 720. Their runs: look-back 336, 10 epochs.
PUBLISHED_HORIZONS = {
    "10%": {"ETTh1": {"patchtst": (0.516, 0.598, 0.657, 0.762), "dlinear": (0.492, 0.565, 0.721, 0.986)},
            "ETTh2": {"patchtst": (0.353, 0.403, 0.426, 0.477), "dlinear": (0.357, 0.569, 0.671, 0.824)},
            "ETTm1": {"patchtst": (0.410, 0.437, 0.476, 0.681), "dlinear": (0.352, 0.382, 0.419, 0.490)}},
}
HORIZONS = (96, 192, 336, 720)
# What might explain a gap, per regime: (column, folder, row renames). Our recipe at the published look-back, and
# DLinear's own recipe (its authors' rate, batch, halving schedule, look-back 336), in the regime's cut of the data.
GAP_PROBES = {"10%": (("ours at L=336", "bench_fewshot10_l336", {}),
                      ("DLinear's recipe, L=336", "bench_fewshot10", {"dlinear-published": "dlinear"}))}
GAP = 0.10  # a baseline further than this from its published figure is explained cell by cell
TRANSFER_PAIRS = (("ETTh1", "ETTh2"), ("ETTh2", "ETTh1"), ("ETTm1", "ETTh2"), ("ETTh1", "ETTm1"))


def load(folder: Path) -> list[dict]:
    return [{"seed": 0, **json.loads(p.read_text())} for p in sorted(folder.glob("cells/*/*/H*.json"))
            if "skipped" not in p.read_text()]


def merged_cells(folders: list[list[dict]]) -> list[dict]:
    """One cell per (dataset, row, horizon, seed), the first folder's; a later folder's cell of the same key still
    lends its transfer scores where the first has none for that target. The full-data transfer cells are retrained
    on other machines than the H100 table, so the source score stays the table's and only the transfer is taken."""
    cells, by_key = [], {}
    for folder in folders:
        for cell in folder:
            key = (cell["dataset"], cell["model"], cell["horizon"], cell["seed"])
            if key not in by_key:
                by_key[key] = cell
                cells.append(cell)
            elif set(cell.get("transfer", {})) - set(by_key[key].get("transfer", {})):
                first = by_key[key]
                first["transfer"] = {**cell["transfer"], **first.get("transfer", {})}
                first["transfer_machine"] = machine(cell)
    return cells


def machine(cell: dict) -> str:
    return f"{cell.get('device')}, " + ("fp32" if cell.get("precision") == "32" else str(cell.get("precision")))


VERDICT_SEEDS = 3  # the seeds the 2-sd rule and the tables' headers name at H=96


def summary(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
            "n": len(values)}


def verdict(a: dict | None, b: dict | None) -> str:
    """``a`` against ``b`` by the project's 2-sd rule (tsreprog.seed_spread.within_seed_spread), once both have the
    3 seeds the rule and the table's header name: the sd of 2 seeds is too loose to call a gap real."""
    if not a or not b or a["n"] < VERDICT_SEEDS or b["n"] < VERDICT_SEEDS:
        return "not measured"
    if within_seed_spread(a["mean"], a["sd"], b["mean"], b["sd"]):
        return "tie"
    return "wins" if a["mean"] < b["mean"] else "loses"


def regime_tables(cells: list[dict]) -> dict:
    """{dataset: {row: {"H96": summary, "horizons": {H: mse of seed 0}, "transfer": {target: summary}}}}"""
    grouped = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    transfer = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    seed0_transfer = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))  # dataset, row, target: {H: mse}
    for c in cells:
        if c["model"] not in ROWS:
            continue
        grouped[c["dataset"]][c["model"]][c["horizon"]].append((c["seed"], c["mse"]))
        for target, score in c.get("transfer", {}).items():
            if c["horizon"] == 96:
                transfer[c["dataset"]][c["model"]][target].append(score["mse"])
            if c["seed"] == 0:
                seed0_transfer[c["dataset"]][c["model"]][target][c["horizon"]] = score["mse"]
    out = {}
    for dataset, rows in grouped.items():
        out[dataset] = {}
        for row, horizons in rows.items():
            entry = {"horizons": {h: next(m for s, m in v if s == 0) for h, v in sorted(horizons.items())
                                  if any(s == 0 for s, _ in v)}}
            if 96 in horizons:
                entry["H96"] = summary([m for _, m in horizons[96]])
            entry["transfer"] = {t: summary(v) for t, v in transfer[dataset][row].items()}
            # the published transfer figures average four horizons: the same of seed 0, where all four ran
            entry["transfer_average"] = {t: statistics.mean(by_h.values())
                                         for t, by_h in seed0_transfer[dataset][row].items()
                                         if set(by_h) >= set(HORIZONS)}
            out[dataset][row] = entry
    return out


def fmt(s: dict | None) -> str:
    """A cell's mean ± sd, naming its seeds where fewer than the 3 the tables' headers promise."""
    if not s:
        return "–"
    if s["sd"] is None:
        return f"{s['mean']:.3f} (1 seed)"
    return f"{s['mean']:.3f} ± {s['sd']:.3f}" + (f" ({s['n']} seeds)" if s["n"] < VERDICT_SEEDS else "")


DATASETS = ("ETTh1", "ETTh2", "ETTm1")


FRACTIONS = {"full data": 1.0, "10%": 0.1, "5%": 0.05}
LOOKBACK = 512


def trainable_horizons(regime: str, dataset: str) -> tuple[int, ...]:
    """The horizons whose training split, cut to the regime's share, still holds a window at look-back 512: at 5%,
    ETTh1 and ETTh2 hold none at H=720 (the published 5% tables leave that cell out too)."""
    # the ETT borders are fixed month counts: the row count only has to be large enough
    start, end = split_borders(10 ** 9, LOOKBACK, REGISTERED[dataset.lower()].split).train
    cut = few_shot_end(start, end, LOOKBACK, FRACTIONS[regime])
    return tuple(h for h in HORIZONS if cut - start - LOOKBACK - h + 1 > 0)


def average(row: dict | None, regime: str, dataset: str) -> str:
    """The average over the trainable horizons of seed 0, or how many of them exist."""
    if not row:
        return "–"
    expected = trainable_horizons(regime, dataset)
    done = {h: m for h, m in row["horizons"].items() if h in expected}
    return f"{statistics.mean(done.values()):.3f}" if len(done) == len(expected) else \
        f"({len(done)}/{len(expected)})"


def baseline_gaps(regimes: dict, probes: dict) -> list[dict]:
    """Each baseline cell (seed 0) against its published per-horizon figure: the relative gap, and the same cell
    under each of :data:`GAP_PROBES` where it ran."""
    rows = []
    for regime, datasets in PUBLISHED_HORIZONS.items():
        for dataset, baselines in datasets.items():
            for row, published in baselines.items():
                ours = regimes.get(regime, {}).get(dataset, {}).get(row, {}).get("horizons", {})
                for horizon, figure in zip(HORIZONS, published):
                    if horizon not in ours:
                        continue
                    probed = {column: probe[(dataset, row, horizon)]
                              for column, probe in probes.get(regime, {}).items() if (dataset, row, horizon) in probe}
                    rows.append({"regime": regime, "dataset": dataset, "row": row, "horizon": horizon,
                                 "ours": ours[horizon], "published": figure,
                                 "gap": ours[horizon] / figure - 1, "probes": probed})
    return rows


def probe_cells(folder: str, renames: dict) -> dict:
    """{(dataset, row, horizon): seed-0 MSE} of a probe folder; with ``renames``, only the renamed rows."""
    if not (RESULTS / folder).is_dir():
        return {}
    return {(c["dataset"], renames.get(c["model"], c["model"]), c["horizon"]): c["mse"]
            for c in load(RESULTS / folder) if c["seed"] == 0 and (not renames or c["model"] in renames)}


def gap_table(gaps: list[dict]) -> list[str]:
    if not gaps:
        return []
    columns = list(dict.fromkeys(c for g in gaps for c in g["probes"]))
    lines = ["**Baselines against their published figures** (10%, seed 0, look-back 512; published: GPT4TS's "
             "per-horizon 10% table, look-back 336; gap = ours / published - 1; beyond "
             f"{GAP:.0%} in bold)", "",
             "| dataset | row | H | ours | " + "".join(f"{c} | " for c in columns) + "published | gap |",
             "|---" * (6 + len(columns)) + "|"]
    for g in gaps:
        gap = f"{g['gap']:+.0%}"
        lines.append(f"| {g['dataset']} | {g['row']} | {g['horizon']} | {g['ours']:.3f} | "
                     + "".join(f"{g['probes'][c]:.3f} | " if c in g["probes"] else "– | " for c in columns)
                     + f"{g['published']:.3f} | " + (f"**{gap}**" if abs(g["gap"]) > GAP else gap) + " |")
    return lines + [""]


def short_horizons(regime: str, datasets: list[str]) -> str:
    """Where the cut training split holds no window at some horizon, which horizons its average covers."""
    short = {d: trainable_horizons(regime, d) for d in datasets if len(trainable_horizons(regime, d)) < len(HORIZONS)}
    if not short:
        return ""
    return " (" + "; ".join(f"{d}: H={'/'.join(map(str, hs))} only, no training window at the others"
                            for d, hs in short.items()) + ")"


def transfer_cell(report: dict, regime: str, row: str, pair: str) -> str:
    """H=96 over 3 seeds, and the four-horizon average of seed 0 where it exists."""
    source, target = pair.split("->")
    shown = fmt(report["transfer_pairs"][pair].get(regime, {}).get(row))
    average = report["regimes"][regime].get(source, {}).get(row, {}).get("transfer_average", {}).get(target)
    return shown if average is None else f"{shown}; avg {average:.3f}"


def markdown(report: dict) -> str:
    lines = []
    for regime, tables in report["regimes"].items():
        present = [d for d in DATASETS if d in tables]
        lines += [f"**{regime}** (`{report['folders'][regime]}`; {', '.join(report['machines'][regime])}): test MSE, "
                  "H=96 mean ± sd over 3 seeds, and the four-horizon average of seed 0"
                  + short_horizons(regime, present), "",
                  "| row | " + " | ".join(f"{d} H=96" for d in present) + " | "
                  + " | ".join(f"{d} avg" for d in present) + " |",
                  "|---" * (2 * len(present) + 1) + "|"]
        for row in ROWS:
            if any(row in tables[d] for d in present):
                lines.append(f"| {row} | " + " | ".join(fmt(tables[d].get(row, {}).get("H96")) for d in present)
                             + " | " + " | ".join(average(tables[d].get(row), regime, d) for d in present) + " |")
        published = PUBLISHED.get(regime, {})
        if published:
            table = "3" if regime == "10%" else "4"
            lines.append("| published avg (Time-LLM Table " + table + ") | " + " | ".join("" for _ in present)
                         + " | " + " | ".join(", ".join(f"{k} {v:.3f}" for k, v in published.get(d, {}).items())
                                              or "–" for d in present) + " |")
        lines.append("")
    pairs = list(report["transfer_pairs"])
    for regime in [r for r in report["transfer"] if report["transfer"][r]]:
        lines += [f"**Zero-shot transfer after {regime}** ({', '.join(report['transfer_machines'][regime])}): test MSE "
                  "on the target (its own scaler, every test window), H=96, 3 seeds; where all four horizons ran, "
                  "their average for seed 0 (what the published figures average)", "",
                  "| row | " + " | ".join(pairs) + " |", "|---" * (len(pairs) + 1) + "|"]
        for row in ROWS:
            values = [transfer_cell(report, regime, row, p) for p in pairs]
            if any(v != "–" for v in values):
                lines.append(f"| {row} | " + " | ".join(values) + " |")
        lines.append("| published avg (Time-LLM Table 5; trained on full data) | " + " | ".join(
            ", ".join(f"{k} {v:.3f}" for k, v in PUBLISHED["transfer"].get(p, {}).items()) or "–" for p in pairs)
            + " |")
        lines.append("")
    lines += gap_table(report.get("baseline_gaps", []))
    columns = sorted({(v["regime"], v["dataset"]) for v in report["verdicts"]},
                     key=lambda c: (list(REGIMES).index(c[0].split(",")[0]), "transfer" in c[0], c[1]))
    columns = [c for c in columns if any(v["verdict"] != "not measured" for v in report["verdicts"]
                                         if (v["regime"], v["dataset"]) == c)]
    verdicts = {(v["question"], v["regime"], v["dataset"]): v["verdict"] for v in report["verdicts"]}
    lines += ["**Verdicts** (H=96, 3 seeds; the row named first against the second: wins / loses beyond twice the "
              "larger seed sd, else tie)", "",
              "| question | " + " | ".join(f"{r.replace(', transfer', '')} {d}" for r, d in columns) + " |",
              "|---" * (len(columns) + 1) + "|"]
    for _, _, question in COMPARISONS:
        lines.append(f"| {question} | " + " | ".join(verdicts.get((question, r, d), "–").replace("not measured", "–")
                                                     for r, d in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=RESULTS / "regimes.json")
    parser.add_argument("--write", type=Path, metavar="README",
                        help="also put the tables between the file's REGIMES markers (benchmarks/README.md)")
    args = parser.parse_args()
    regimes, folders, machines, transfer_machines = {}, {}, {}, {}
    for regime, names in REGIMES.items():
        cells = merged_cells([load(RESULTS / folder) for folder in names])
        if cells:
            regimes[regime] = regime_tables(cells)
            folders[regime] = ", ".join(f"results/{f}" for f in names if (RESULTS / f).is_dir())
            machines[regime] = sorted({machine(c) for c in cells})
            transfer_machines[regime] = sorted({c.get("transfer_machine") or machine(c) for c in cells
                                                if c.get("transfer")})
    verdicts = []
    for regime, tables in regimes.items():
        for dataset, rows in tables.items():
            for row, against, question in COMPARISONS:
                a, b = rows.get(row, {}).get("H96"), rows.get(against, {}).get("H96")
                if a or b:
                    verdicts.append({"regime": regime, "dataset": dataset, "question": question, "row": row,
                                     "against": against, "row_score": a, "against_score": b,
                                     "verdict": verdict(a, b)})
            for source, target in TRANSFER_PAIRS:
                if source != dataset:
                    continue
                for row, against, question in COMPARISONS:
                    a = rows.get(row, {}).get("transfer", {}).get(target)
                    b = rows.get(against, {}).get("transfer", {}).get(target)
                    if a or b:
                        verdicts.append({"regime": f"{regime}, transfer", "dataset": f"{source}->{target}",
                                         "question": question, "row": row, "against": against, "row_score": a,
                                         "against_score": b, "verdict": verdict(a, b)})
    transfer_pairs = {f"{s}->{t}": {regime: {row: r["transfer"][t] for row, r in regimes[regime].get(s, {}).items()
                                             if t in r.get("transfer", {})} for regime in regimes}
                      for s, t in TRANSFER_PAIRS}
    probes = {regime: {column: probe_cells(folder, renames) for column, folder, renames in columns}
              for regime, columns in GAP_PROBES.items()}
    report = {"regimes": regimes, "baseline_gaps": baseline_gaps(regimes, probes), "folders": folders,
              "machines": machines, "transfer_machines": transfer_machines, "verdicts": verdicts,
              "transfer": {regime: any(p.get(regime) for p in transfer_pairs.values()) for regime in regimes},
              "transfer_pairs": transfer_pairs, "published": PUBLISHED,
              "rule": "a difference is real when it exceeds twice the larger seed sd (3 seeds at H=96)"}
    write_json(args.output, report)
    text = markdown(report)
    if args.write:
        write_between(args.write, "<!-- REGIMES -->", "<!-- /REGIMES -->", text)
    print(text)


if __name__ == "__main__":
    main()
