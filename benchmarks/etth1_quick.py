"""Reduced-budget ETTh1 (horizon 96) comparison on CPU: reprogrammed MiniLM vs DLinear vs naive last value.

Every model sees the same training windows (stride-subsampled) and the same budget cap, and every test window is
scored (stride 1). Writes benchmarks/results/etth1_quick.json. Honest: whichever wins is what the JSON says.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tsreprog.bench.environment import environment, peak_rss_mb
from tsreprog.data import prepare
from tsreprog.models import ModelConfig
from tsreprog.train import TrainConfig, fit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lookback", type=int, default=512)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-stride", type=int, default=8)
    parser.add_argument("--val-stride", type=int, default=8)
    parser.add_argument("--max-steps-per-epoch", type=int, default=200)
    parser.add_argument("--output", default="benchmarks/results/etth1_quick.json")
    args = parser.parse_args()

    data = prepare("ETTh1", args.lookback, args.horizon)
    budget = dict(dataset="ETTh1", epochs=args.epochs, train_stride=args.train_stride, val_stride=args.val_stride,
                  max_steps_per_epoch=args.max_steps_per_epoch, batch_size=32, progress=False, patience=2)
    models = {
        f"reprogrammed minilm-l6 ({args.layers} layers)": (
            ModelConfig(backbone="minilm-l6", n_layers=args.layers, lookback=args.lookback, horizon=args.horizon),
            TrainConfig(learning_rate=1e-3, **budget)),
        "dlinear": (ModelConfig(model="dlinear", lookback=args.lookback, horizon=args.horizon),
                    TrainConfig(learning_rate=5e-3, **budget)),
        "naive last value": (ModelConfig(model="naive", lookback=args.lookback, horizon=args.horizon),
                             TrainConfig(**budget)),
    }
    results = {}
    for name, (model_config, train_config) in models.items():
        started = time.perf_counter()
        result = fit(model_config, train_config, data=data)
        m = result.metrics
        results[name] = {"test_mse": m["test_mse"], "test_mae": m["test_mae"], "best_val_mse": m["best_val_mse"],
                         "test_windows": m["test_n_windows"], "epochs_run": m["epochs_run"],
                         "trainable_parameters": sum(p.numel() for p in result.model.parameters() if p.requires_grad),
                         "seconds": time.perf_counter() - started}
        print(f"{name:<40} test MSE {m['test_mse']:.4f}  MAE {m['test_mae']:.4f}  ({results[name]['seconds']:.0f} s)",
              flush=True)
    winner = min(results, key=lambda k: results[k]["test_mse"])
    payload = {"benchmark": "etth1_quick", "dataset": "ETTh1", "lookback": args.lookback, "horizon": args.horizon,
               "budget": {**budget, "note": "reduced budget: strided training windows, capped steps per epoch; "
                                            "test scored on every window (stride 1), scaled data"},
               "results": results, "best_by_test_mse": winner, "peak_rss_mb": peak_rss_mb(), **environment("cpu")}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(payload, indent=2))
    print(f"best: {winner}")


if __name__ == "__main__":
    main()
