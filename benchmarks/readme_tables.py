"""Render the benchmark tables (benchmarks/README.md) from benchmarks/results/*.json, so no figure is copied by hand.

Every row names the machine (device) and commit it came from. Missing result files are listed, not invented.
Usage: python benchmarks/readme_tables.py [--write benchmarks/README.md docs/history.md]
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from tsreprog.io import atomic_write_bytes
from tsreprog.models.config import SETTINGS_BEFORE_THEY_EXISTED
from tsreprog.ntk.agreement import pick_gaps

RESULTS = Path(__file__).parent / "results"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def machine(d: dict) -> str:
    return f"{d['device']}, commit `{d['commit']}`"


def etth1_quick(d: dict) -> list[str]:
    budget = d["budget"]
    lines = [f"**ETTh1, H=96, look-back {d['lookback']}, reduced CPU budget** ({budget['epochs']} epochs × ≤"
             f"{budget['max_steps_per_epoch']} steps, training stride {budget['train_stride']}; every test window "
             f"scored, scaled data) — {machine(d)}", "",
             "| model | test MSE | test MAE | trainable params | seconds |", "| --- | --- | --- | --- | --- |"]
    for name, r in d["results"].items():
        lines.append(f"| {name} | {r['test_mse']:.4f} | {r['test_mae']:.4f} | {r['trainable_parameters']:,} | "
                     f"{r['seconds']:.0f} |")
    return lines + ["", f"Best here: **{d['best_by_test_mse']}**."]


def train_throughput(d: dict) -> list[str]:
    return [f"**Training throughput** (ETTh1, L={d['lookback']}, H={d['horizon']}, MiniLM {d['layers']} layers, "
            f"prompt on, batch {d['batch_size']}, {d['tokens_per_sequence']} tokens) — {machine(d)}", "",
            "| full training step | frozen backbone fwd+bwd alone | ratio (target ≥ 0.8) | trainable params | "
            "peak memory |", "| --- | --- | --- | --- | --- |",
            f"| {d['full_step_windows_per_s']:.1f} windows/s | {d['backbone_alone_windows_per_s']:.1f} windows/s | "
            f"{d['ratio_full_to_backbone']:.2f} | {d['trainable_parameters']:,} | {d['peak_memory_mb']:.0f} MB |"]


def ntk_speed(d: dict) -> list[str]:
    c = d["comparison"]
    lines = [f"**NTK speed** (exact traced kernel, MiniLM 1 block, N={c['n']}, float64, "
             f"{c['trainable_parameters']:,} trainable params) — {machine(d)}", "",
             "| tsreprog | plain vmap(jacrev)+einsum | speed-up (target ≥ 10×) | peak RSS ours / plain | "
             "max rel. difference |", "| --- | --- | --- | --- | --- |",
             f"| {c['ours_seconds']:.2f} s | {c['plain_seconds']:.2f} s | {c['speedup']:.1f}× | "
             f"{c['ours_peak_rss_mb']:.0f} / {c['plain_peak_rss_mb']:.0f} MB | {c['max_relative_difference']:.1e} |",
             "", "Sketch-mode scaling (MiniLM 2 blocks, L=512, H=96, full vocabulary, "
             f"{d['scaling']['points'][0]['probes']} probes):", "",
             "| N | seconds | peak RSS |", "| --- | --- | --- |"]
    lines += [f"| {p['n']} | {p['seconds']:.1f} | {p.get('peak_memory_mb', p.get('peak_rss_mb')):.0f} MB |"
              for p in d["scaling"]["points"]]
    return lines


def ntk_validity(d: dict) -> list[str]:
    config = {**SETTINGS_BEFORE_THEY_EXISTED, **d["config"]}
    lines = [f"**Does the NTK pick predict trained accuracy?** (look-back {d['config']['lookback']}, "
             f"H={d['config']['horizon']}, {d['config']['n_train']}+{d['config']['n_val']} windows, training budget "
             f"{d['config']['epochs']} epochs × {d['config']['steps']} steps, "
             f"{config['attention_scoring']} attention scoring, {config['token_scale']} token scale) — {machine(d)}",
             ""]
    for s in d["studies"]:
        lines += [f"*{s['dataset']}*", "", "| candidate | score (KRR val MSE) | centred KRR | GD, budget steps | "
                  "Adam-like, budget steps | λ_max | eff. rank | centred eff. rank | KTA | trained val MSE | "
                  "trained test MSE | select s | train s |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in sorted(s["candidates"], key=lambda r: r["score"]):
            centred = f"{r['centred_krr_val_mse']:.4f}" if "centred_krr_val_mse" in r else "–"
            centred_rank = f"{r['centred_effective_rank']:.1f}" if "centred_effective_rank" in r else "–"
            descent = f"{r['gd_val_mse']:.4f}" if "gd_val_mse" in r else "–"
            adam = f"{r['adam_val_mse']:.4f}" if "adam_val_mse" in r else "–"
            lines.append(f"| {r['candidate']} | {r['score']:.4f} | {centred} | {descent} | {adam} | "
                         f"{r['lambda_max']:.3g} | "
                         f"{r['effective_rank']:.1f} | {centred_rank} | {r['kernel_target_alignment']:.3f} | "
                         f"{r['val_mse']:.4f} | {r['test_mse']:.4f} | {r['select_seconds']:.0f} | "
                         f"{r['train_seconds']:.0f} |")
        rho = ", ".join(f"{k} {v:+.2f}" for k, v in s["spearman_with_test_mse"].items())
        lines += ["", f"Picked {s['picked']}, best {s['best']}: gap {100 * s['pick_gap']:.1f}% (target ≤ 2%); "
                  f"selection cost {100 * s['selection_cost_fraction']:.1f}% of training all candidates "
                  f"(target ≤ 5%). Spearman ρ with trained test MSE (target ≥ 0.8; positive = figure and MSE rise "
                  f"together): {rho}.", ""]
        lines += figure_picks(s)
        if "seed_agreement" in s:
            lines += seed_agreement(s["seed_agreement"])
    if d.get("unfinished"):
        lines.append(f"Unfinished study: {d['unfinished']['dataset']} "
                     f"({len(d['unfinished']['candidates'])} candidates measured).")
    return lines


def figure_picks(study: dict) -> list[str]:
    """Which candidate each figure's lowest (and, where it picks within 2%, highest) value would pick. Computed from
    the candidate rows when a study predates the recorded ``pick_gap_by_figure``."""
    gaps = study.get("pick_gap_by_figure") or pick_gaps(study["candidates"], list(study["spearman_with_test_mse"]))
    lowest = ", ".join(f"{name} → {g['lowest']['candidate']} {100 * g['lowest']['gap']:.1f}%"
                       for name, g in gaps.items())
    highest = ", ".join(f"{name} → {g['highest']['candidate']} {100 * g['highest']['gap']:.1f}%"
                        for name, g in gaps.items() if g["highest"]["gap"] <= 0.02)
    return [f"Pick by each figure's lowest value (candidate, gap to the best): {lowest}."
            + (f" By the highest value, within 2%: {highest}." if highest else ""), ""]


def seed_agreement(a: dict) -> list[str]:
    """The seed-replicate summary of one ntk_validity study: the between-seed ceiling first, then the figures."""
    seeds = ", ".join(str(s) for s in a["seeds"])
    pairs = ", ".join(f"{k} {v:+.2f}" for k, v in a["between_seed_spearman"].items())
    spread = ", ".join(f"{n} {a['mean_test_mse'][n]:.4f} ± {a['std_test_mse'][n]:.4f}" for n in a["candidates"])
    rho = ", ".join(f"{k} {v:+.2f}" for k, v in a["spearman_with_mean_test_mse"].items())
    return [f"Seeds {seeds} (initialisation, probes and batch order; same windows): trained test MSE ranks the "
            f"candidates alike between seeds with ρ {pairs} (mean {a['between_seed_spearman_mean']:+.2f}), so a "
            f"score that knew each candidate's expected MSE exactly would reach ρ ≈ "
            f"{a['single_seed_ceiling']:.2f} with one seed's MSE (√ of the between-seed ρ). "
            f"Test MSE mean ± sd over seeds: {spread}. ρ of each figure (mean over seeds) with the seed-averaged "
            f"test MSE: {rho}. The lowest mean score picks {a['picked']}, best {a['best']}: gap "
            f"{100 * a['pick_gap']:.1f}%.", ""]


def tune_etth1(d: dict) -> list[str]:
    r = d["results"]
    return [f"**Tuning, ETTh1 H=96, real MiniLM** ({d['trials']} trials: {d['complete']} complete, {d['pruned']} "
            f"pruned, {d['failed']} failed; {d['tuning_wall_seconds'] / 60:.0f} min wall) — {machine(d)}", "",
            "| config | val MSE | test MSE | test MAE |", "| --- | --- | --- | --- |",
            *[f"| {name} | {v['val_mse']:.4f} | {v['test_mse']:.4f} | {v['test_mae']:.4f} |" for name, v in r.items()]]


def vision_quick(d: dict) -> list[str]:
    lines = [f"**Vision, ETTh1 H=96, look-back {d['lookback']}, quick budget** — {machine(d)}", "",
             "| model | test MSE | test MAE | trainable params | seconds |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {k} | {v['test_mse']:.4f} | {v['test_mae']:.4f} | {v['trainable_parameters']:,} | "
              f"{v['seconds']:.0f} |" for k, v in d["results"].items()]
    return lines


def vision_throughput(d: dict) -> list[str]:
    lines = [f"**Vision throughput** (batch {d['batch_size']}, L={d['lookback']}, H={d['horizon']}) — {machine(d)}",
             "", "| path | windows/s | step | trainable params |", "| --- | --- | --- | --- |"]
    lines += [f"| {k} | {v['windows_per_second']:.1f} | {v['step']} | {v['trainable_parameters']:,} |"
              for k, v in d["results"].items()]
    return lines


def cell_machines(meta: dict) -> str:
    """Devices and commits of the cells themselves: a table is often re-rendered at a later commit than its cells
    ran at (reruns of some rows), and the report's own stamp would hide that."""
    cells = [c for c in meta["cells"] if "mse" in c]
    devices = sorted({c["device"] for c in cells})
    commits = sorted({c["commit"] for c in cells})
    return f"{'; '.join(devices)}, cells from commit{'s' if len(commits) > 1 else ''} " + \
        ", ".join(f"`{c}`" for c in commits)


def bench_tables(profile: str = "quick") -> list[str]:
    """`tsreprog bench --profile <profile>` tables, one folder per dataset under results/bench_<profile>/."""
    lines = []
    for folder in sorted((RESULTS / f"bench_{profile}").glob("*/")):
        lines += folder_tables(folder, profile)
    return lines


def folder_tables(folder: Path, profile: str) -> list[str]:
    """The rendered table of one `tsreprog bench` output folder (nothing if it has no results yet)."""
    if not (folder / "results.json").is_file():
        return []
    meta = json.loads((folder / "results.json").read_text())
    table = (folder / "table.md").read_text().replace("\n## ", "\n##### ").replace("\n# ", "\n#### ")
    return [f"**`tsreprog bench --profile {profile}`, {folder.name}** ({meta['note']}) — "
            f"{cell_machines(meta)}", "", table.strip(), ""]


def bench_quick() -> list[str]:
    return bench_tables("quick")


def step_speed(d: dict) -> list[str]:
    rounds = d.get("rounds", 1)
    lines = [f"**Step and scoring speed** (ETTh1, L={d['lookback']}, H={d['horizon']}, MiniLM, precision "
             f"{d['precision']}" + (f"; baseline ref `{d['baseline_ref']}`" if d.get("baseline_ref") else "")
             + (f"; {rounds} rounds of every variant, median (min-max)" if rounds > 1 else "") + f") — {machine(d)}",
             "", "| code | prompt | patch stride | blocks | vocabulary | compiled | train series/s | score series/s | "
                 "ETTm1 test estimate (s) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    groups: dict[tuple, list[dict]] = {}
    for r in d["rows"]:
        key = (r["variant"], r["prompt"], r.get("patch_stride", 8), r["layers"], r.get("prototype_vocab"),
               r.get("compile", False))
        groups.setdefault(key, []).append(r)

    def shown(rows: list[dict], key: str, digits: int) -> str:
        values = [r[key] for r in rows if key in r]
        if not values:
            return "–"
        middle = f"{statistics.median(values):.{digits}f}"
        return middle if len(values) == 1 else f"{middle} ({min(values):.{digits}f}-{max(values):.{digits}f})"

    for (variant, prompt, stride, layers, vocab, compiled), rows in groups.items():
        lines.append(f"| {variant} | {prompt} | {stride} | {layers} | {vocab or 'full'} | {compiled} | "
                     f"{shown(rows, 'train_series_per_s', 1)} | {shown(rows, 'score_series_per_s', 1)} | "
                     f"{shown(rows, 'ettm1_test_seconds_estimate', 0)} |")
    lines += ["", "Ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in d["ratios"].items()) + "; targets: "
              + ", ".join(f"{k} {v:g}" for k, v in d["targets"].items()) + "."]
    if d.get("ratios_by_round"):
        lines += ["", "Per round (each pair timed minutes apart): " + "; ".join(
            f"{k} {', '.join(f'{v:.2f}' for v in values)}" for k, values in d["ratios_by_round"].items()) + "."]
    return lines


def default_job(d: dict) -> list[str]:
    q = d["quiet_machine"]
    return [f"**Default job** (`{d['command']}`, precision {d['precision']}) — {machine(d)}", "",
            f"Quiet machine: {q['total_seconds']} s in all (target {d['target']['total_seconds']} s), test MSE "
            f"{q['test_mse']:.4f} / MAE {q['test_mae']:.4f} (target MSE <= {d['target']['test_mse_at_most']}); "
            f"previous default {d['previous_default']['test_mse']}. Same 3-epoch budget, compact prompt: patch "
            f"stride 8 {d['candidates_same_budget_3_epochs']['compact_prompt_stride_8']['test_mse']:.4f}, stride 16 "
            f"{d['candidates_same_budget_3_epochs']['compact_prompt_stride_16']['test_mse']:.4f}."
            + (f" Head reduced to 32 features (as the standard profile's backbone rows), same default budget: "
               f"{d['head_dim_32_same_budget']['test_mse']:.4f} (commit `{d['head_dim_32_same_budget']['commit']}`): "
               f"{d['head_dim_32_same_budget']['verdict']}." if "head_dim_32_same_budget" in d else "")
            + vocab_sentence(d.get("prototype_vocab_1000_same_budget"))]


def vocab_sentence(vocab: dict | None) -> str:
    if vocab is None:
        return ""
    return (f" A 1,000-word prototype vocabulary, same budget: {vocab['test_mse']:.4f} in "
            f"{vocab['train_command_seconds']} s: {vocab['verdict']}.")


SECTIONS = {"step_speed": step_speed, "step_speed_vocab": step_speed, "step_speed_floor": step_speed,
            "default_job": default_job, "etth1_quick": etth1_quick, "train_throughput": train_throughput,
            "ntk_speed": ntk_speed,
            "ntk_validity": ntk_validity, "ntk_validity_dot": ntk_validity, "tune_etth1": tune_etth1,
            "vision_quick": vision_quick, "vision_throughput": vision_throughput}


BEGIN, END = "<!-- BENCH-TABLES -->", "<!-- /BENCH-TABLES -->"


def render_all() -> str:
    """Every table, the per-dataset `tsreprog bench` tables first (what users choose a method by)."""
    parts = []
    if (RESULTS / "bench_quick").is_dir():
        parts.append("\n".join(bench_quick()))
    missing = []
    for name, render in SECTIONS.items():
        d = load(name)
        if d is None:
            missing.append(name)
            continue
        parts.append("\n".join(render(d)) + "\n")
    if missing:
        parts.append("Not yet run here: " + ", ".join(f"`{m}`" for m in missing) + ".")
    return "\n".join(parts)


STANDARD_BEGIN, STANDARD_END = "<!-- STANDARD -->", "<!-- /STANDARD -->"
# the same profile's cells run on a lent GPU (benchmarks/cell_queue.py), one folder for every dataset
GPU_BEGIN, GPU_END = "<!-- STANDARD-GPU -->", "<!-- /STANDARD-GPU -->"


def between(text: str, begin: str, end: str, body: str, where: Path) -> str:
    """``text`` with what lies between the markers ``begin`` and ``end`` replaced by ``body``."""
    if begin not in text:
        raise SystemExit(f"{where}: no '{begin}' marker to write the tables under")
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1] if end in rest else "\n"
    return f"{head}{begin}\n\n{body.strip()}\n\n{end}{tail}"


def write_between(path: Path, begin: str, end: str, body: str) -> None:
    """Replace what lies between one pair of markers of ``path``, written whole (atomically)."""
    atomic_write_bytes(path, between(path.read_text(), begin, end, body, path).encode())


def write_into(files: list[Path]) -> None:
    """Replace what lies between the markers of each file that holds them (the rest is left alone): the H100 and
    CPU standard tables between STANDARD-GPU and STANDARD, everything else between BENCH-TABLES."""
    bodies = {(BEGIN, END): render_all,
              (STANDARD_BEGIN, STANDARD_END): lambda: "\n".join(bench_tables("standard"))
              or "No standard cell has finished yet.",
              (GPU_BEGIN, GPU_END): lambda: "\n".join(folder_tables(RESULTS / "bench_standard_gpu", "standard"))
              or "No GPU cell yet."}
    written = set()
    for path in files:
        text = path.read_text()
        for (begin, end), body in bodies.items():
            if begin in text:
                text = between(text, begin, end, body(), path)
                written.add(begin)
        atomic_write_bytes(path, text.encode())
    if BEGIN not in written:
        raise SystemExit(f"no '{BEGIN}' marker in {', '.join(map(str, files))}")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="FILE", nargs="+",
                        help="write the tables between the markers of these files (benchmarks/README.md "
                             "docs/history.md)")
    args = parser.parse_args()
    if args.write:
        write_into([Path(f) for f in args.write])
    else:
        print(render_all())


if __name__ == "__main__":
    main()
