"""Training throughput of each vision path (windows per second of a full training step; forward-only for the
zero-shot MAE path), batch 32, ETTh1 look-back 512, horizon 96. Writes benchmarks/results/vision_throughput.json."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from tsreprog.bench.environment import current_peak_rss_mb, environment, reset_peak_rss
from tsreprog.data import prepare
from tsreprog.models import ModelConfig, build_model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--output", default="benchmarks/results/vision_throughput.json")
    args = parser.parse_args()
    windows = prepare("ETTh1", 512, 96).windows("train", 512, 96)
    x = torch.stack([windows[i][0] for i in range(args.batch_size)]).to(args.device)
    y = torch.stack([windows[i][1] for i in range(args.batch_size)]).to(args.device)
    paths = {
        "image path, dinov2-small 12 blocks, 224px": ModelConfig(model="vision-image", backbone="dinov2-small",
                                                                 image_size=224, period=24),
        "image path, dinov2-small 4 blocks, 112px": ModelConfig(model="vision-image", backbone="dinov2-small",
                                                                n_layers=4, image_size=112, period=24),
        "patch path, dinov2-small 12 blocks": ModelConfig(backbone="dinov2-small"),
        "MAE path (zero-shot), random:vit-mae tiny": ModelConfig(model="vision-mae", backbone="random:vit-mae",
                                                                 period=24),
    }
    rows = {}
    for name, config in paths.items():
        model = build_model(ModelConfig.from_dict({**config.to_dict(), "lookback": 512, "horizon": 96}))
        model = model.to(args.device).train()
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=1e-3) if params else None

        def step() -> None:
            with torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.device == "cuda"):
                loss = torch.nn.functional.mse_loss(model(x).float(), y)
            if optimizer:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

        step()
        reset_peak_rss()
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            step()
            if args.device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - started)
        rows[name] = {"windows_per_second": args.batch_size / statistics.median(times),
                      "step": "train" if optimizer else "forward only (zero-shot)",
                      "trainable_parameters": sum(p.numel() for p in params),
                      "peak_rss_mb": current_peak_rss_mb()}
        print(name, rows[name], flush=True)
    payload = {"benchmark": "vision_throughput", "batch_size": args.batch_size, "lookback": 512, "horizon": 96,
               "results": rows, **environment(args.device)}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
