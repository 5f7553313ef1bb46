"""The last backbone block computed only at the patch positions, against the whole block: one process, the two
settings alternating step by step, so a VM whose speed drifts over minutes biases neither.

MiniLM x2 and x6 (the standard profile's depth and Time-LLM's), full and compact prompt, ETTh1 windows (look-back
512, horizon 96): a training step of 8 windows x 7 channels, and scoring 64 windows x 7 channels. Writes
benchmarks/results/last_block_speed.json with device, precision (fp32: the CPU decides) and commit."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch


def seconds(step) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def main() -> None:
    from benchmarks.step_speed import tsreprog_model, windows  # noqa: E402  (run from the repository root)
    from tsreprog.bench.environment import environment
    from tsreprog.io import atomic_write_bytes

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=4, help="alternations per setting")
    parser.add_argument("--output", default="benchmarks/results/last_block_speed.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    x, y, description = windows(8)
    scored, _, _ = windows(64)
    rows = []
    for layers, prompt in ((2, True), (2, "compact"), (6, True)):
        model = tsreprog_model(prompt, layers, description)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

        def train_step() -> None:
            model.train()
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

        def score() -> None:
            model.eval()
            with torch.inference_mode():
                model(scored)

        for mode, step, series in (("train", train_step, x.shape[0] * 7), ("score", score, scored.shape[0] * 7)):
            times = {True: [], False: []}
            for prune in (True, False):  # warm-up
                model.backbone.prune_last_block = prune
                step()
            for _ in range(args.repeats):
                for prune in (True, False):
                    model.backbone.prune_last_block = prune
                    times[prune].append(seconds(step))
            row = {"layers": layers, "prompt": "full" if prompt is True else prompt, "mode": mode,
                   "series_per_call": series, "pruned_seconds": times[True], "whole_seconds": times[False],
                   "speedup_median": statistics.median(times[False]) / statistics.median(times[True]),
                   "speedup_by_pair": [w / p for w, p in zip(times[False], times[True])]}
            print(json.dumps(row), flush=True)
            rows.append(row)
    out = {"benchmark": "last_block_speed", "dataset": "ETTh1", "lookback": 512, "horizon": 96,
           "backbone": "minilm-l6", "precision": "32", "repeats": args.repeats, "rows": rows, **environment("cpu")}
    atomic_write_bytes(Path(args.output), (json.dumps(out, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
