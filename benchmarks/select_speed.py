"""Cost of one `tsreprog select` candidate under the default method (warm-val): with the warmed model's kernel, as
before, against without it (the warmed model's own validation MSE needs no kernel). Same candidates, windows and
seeds as `select`'s defaults on ETTh1; the two variants alternate per candidate over ``--rounds``. Writes
benchmarks/results/select_speed.json with device, precision (fp32) and commit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from tsreprog.bench.environment import environment
from tsreprog.data import prepare
from tsreprog.io import atomic_write_bytes
from tsreprog.models import ModelConfig
from tsreprog.ntk.select import Candidate, score_candidate, selection_windows
from tsreprog.ntk.settings import SelectConfig

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", default="none,minilm-l6:2,random:minilm-l6:2")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", default="benchmarks/results/select_speed.json")
    args = parser.parse_args()
    settings = SelectConfig()
    data = prepare("ETTh1", settings.lookback, settings.horizon)
    base = ModelConfig(lookback=settings.lookback, horizon=settings.horizon, prompt=settings.prompt,
                       description=data.description, n_prototypes=settings.n_prototypes, seed=settings.seed)
    windows = selection_windows(data, settings.lookback, settings.horizon, settings.n_train, settings.n_val,
                                settings.n_pool, settings.seed)
    rows = []
    for text in args.candidates.split(","):
        backbone, _, layers = text.partition(":") if text.count(":") < 2 else text.rpartition(":")
        candidate = Candidate(backbone, int(layers) if layers else None)
        for round_ in range(args.rounds):
            # alternate which variant goes first, so a drifting host does not favour one
            for warm_kernel in ((True, False) if round_ % 2 == 0 else (False, True)):
                started = time.perf_counter()
                score = score_candidate(candidate, base, windows.x, windows.y, windows.n_train, settings.mode,
                                        settings.probes, settings.ridge, settings.seed,
                                        budget_steps=settings.budget_steps, learning_rate=settings.learning_rate,
                                        warmup_steps=settings.warmup_steps, warmup_windows=windows.pool,
                                        batch_size=settings.batch_size,
                                        warm_kernel=warm_kernel)
                row = {"candidate": candidate.label, "round": round_, "warm_kernel": warm_kernel,
                       "seconds": time.perf_counter() - started,
                       "warm_init_val_mse": score.figures["warm_init_val_mse"]}
                print(json.dumps(row), flush=True)
                rows.append(row)
    summary = {}
    for label in dict.fromkeys(r["candidate"] for r in rows):
        before = statistics.median(r["seconds"] for r in rows if r["candidate"] == label and r["warm_kernel"])
        after = statistics.median(r["seconds"] for r in rows if r["candidate"] == label and not r["warm_kernel"])
        summary[label] = {"with_warm_kernel_s": before, "without_s": after, "speedup": before / after}
    total = (sum(s["with_warm_kernel_s"] for s in summary.values())
             / sum(s["without_s"] for s in summary.values()))
    result = {"benchmark": "select_speed", "dataset": "ETTh1", "method": settings.method,
              "settings": settings.to_dict(), "precision": "32", "rounds": args.rounds, "rows": rows,
              "summary": summary, "speedup_all_candidates": total, **environment("cpu")}
    atomic_write_bytes(ROOT / args.output, (json.dumps(result, indent=2) + "\n").encode())
    print(json.dumps(summary, indent=2), f"\nall candidates: {total:.2f}x")


if __name__ == "__main__":
    main()
