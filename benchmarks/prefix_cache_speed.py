"""What the causal prompt-prefix cache buys on the real SmolLM2-135M: training and scoring speed of the reprogrammed
model with the cache on and off, in one process, alternating, on the same ETTh1 windows (look-back 512, horizon 96,
7 channels). The cached and uncached outputs are also compared. Needs ``tsreprog backbones install smollm2-135m``.
Writes benchmarks/results/prefix_cache.json with device, precision (fp32: the CPU decides) and commit."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from step_speed import median_seconds as timed, windows  # noqa: E402  (the step benchmark's windows and timer)


def main() -> None:
    import torch

    from tsreprog.bench.environment import environment
    from tsreprog.models import ModelConfig, ReprogrammedForecaster

    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--train-windows", type=int, default=4)
    parser.add_argument("--score-windows", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default="benchmarks/results/prefix_cache.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    x, y, description = windows(args.train_windows)
    xs, _, _ = windows(args.score_windows, offset=7 * args.train_windows)
    rows = []
    for prompt in ("full", "compact"):
        model = ReprogrammedForecaster(ModelConfig(backbone="smollm2-135m", lookback=512, horizon=96,
                                                   n_layers=args.layers, prompt=prompt, description=description,
                                                   dropout=0.0))
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)

        def train_step() -> None:
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

        def score() -> None:
            with torch.inference_mode():
                model(xs)

        row = {"prompt": prompt, "prompt_tokens": model.prompt.length, "constant_lead": model.prompt.constant_length,
               "patches": model.n_patches}
        model.eval()
        with torch.inference_mode():
            model.use_prefix_cache = True
            cached = model(xs[:2])
            model.use_prefix_cache = False
            plain = model(xs[:2])
        row["max_abs_difference"] = float((cached - plain).abs().max())
        for cache in (False, True):  # alternating, each timed after a warm-up call
            model.use_prefix_cache = cache
            model.train()
            train = timed(train_step, args.repeats)
            model.eval()
            scoring = timed(score, args.repeats)
            key = "cached" if cache else "uncached"
            row[f"{key}_train_series_per_s"] = x.shape[0] * x.shape[2] / train
            row[f"{key}_score_series_per_s"] = xs.shape[0] * xs.shape[2] / scoring
        row["train_speedup"] = row["cached_train_series_per_s"] / row["uncached_train_series_per_s"]
        row["score_speedup"] = row["cached_score_series_per_s"] / row["uncached_score_series_per_s"]
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = {"benchmark": "prefix_cache", "backbone": "smollm2-135m", "layers": args.layers,
           "train_series_per_step": x.shape[0] * x.shape[2], "score_series": xs.shape[0] * xs.shape[2],
           "repeats": args.repeats, "precision": "32", "rows": rows, **environment("cpu")}
    Path(args.output).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
