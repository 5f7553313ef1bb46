"""ETTh1 horizon 96, quick profile: DINOv2 image path and patch path beside the MiniLM path and DLinear.

Every model gets the same reduced budget (strided training windows, capped steps); every test window is scored.
Writes benchmarks/results/vision_quick.json. Honest: whichever wins is what the JSON says.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tsreprog.bench.environment import environment
from tsreprog.data import prepare
from tsreprog.models import ModelConfig
from tsreprog.train import TrainConfig, fit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lookback", type=int, default=512)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--output", default="benchmarks/results/vision_quick.json")
    args = parser.parse_args()
    budget = dict(dataset="ETTh1", epochs=2, patience=2, train_stride=16, val_stride=32, max_steps_per_epoch=60,
                  batch_size=32, progress=False)
    data = prepare("ETTh1", args.lookback, 96)
    common = dict(lookback=args.lookback, horizon=96)
    models = {
        f"dinov2-small image path ({args.layers} blocks, {args.image_size}px, visual prompt)":
            (ModelConfig(model="vision-image", backbone="dinov2-small", n_layers=args.layers,
                         image_size=args.image_size, **common), 1e-3),
        f"dinov2-small patch path ({args.layers} blocks)":
            (ModelConfig(backbone="dinov2-small", n_layers=args.layers, **common), 1e-3),
        f"minilm-l6 ({args.layers} blocks, prompt)": (ModelConfig(backbone="minilm-l6", n_layers=args.layers,
                                                                   **common), 1e-3),
        "dlinear": (ModelConfig(model="dlinear", **common), 5e-3),
    }
    results = {}
    for name, (config, lr) in models.items():
        started = time.perf_counter()
        result = fit(config, TrainConfig(learning_rate=lr, **budget), data=data)
        m = result.metrics
        results[name] = {"test_mse": m["test_mse"], "test_mae": m["test_mae"], "test_windows": m["test_n_windows"],
                         "trainable_parameters": sum(p.numel() for p in result.model.parameters() if p.requires_grad),
                         "seconds": time.perf_counter() - started}
        print(f"{name:<60} MSE {m['test_mse']:.4f} MAE {m['test_mae']:.4f} ({results[name]['seconds']:.0f} s)",
              flush=True)
    payload = {"benchmark": "vision_quick", "dataset": "ETTh1", "horizon": 96, "lookback": args.lookback,
               "budget": budget, "results": results, "best_by_test_mse": min(results, key=lambda k:
                                                                              results[k]["test_mse"]),
               **environment("cpu")}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
