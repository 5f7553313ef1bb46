"""Training throughput of the reprogrammed MiniLM against its frozen backbone alone (same tokens, same run).

ETTh1, look-back 512, horizon 96, MiniLM all 6 layers, prompt on, batch 32 channel-independent windows.
Writes benchmarks/results/train_throughput.json. Target: full step ≥ 0.8 × backbone-alone windows/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from tsreprog.bench.environment import environment, peak_rss_mb
from tsreprog.data import prepare
from tsreprog.models import ModelConfig, ReprogrammedForecaster


def timed(fn, repeats: int, device: str) -> list[float]:
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backbone", default="minilm-l6")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--prototype-vocab", type=int, default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--output", default="benchmarks/results/train_throughput.json")
    args = parser.parse_args()

    data = prepare("ETTh1", 512, 96)
    windows = data.windows("train", 512, 96, stride=1)
    x = torch.stack([windows[i][0] for i in range(args.batch_size)])
    y = torch.stack([windows[i][1] for i in range(args.batch_size)])
    config = ModelConfig(backbone=args.backbone, lookback=512, horizon=96, prompt=True,
                         description=data.description, prototype_vocab=args.prototype_vocab)
    model = ReprogrammedForecaster(config).to(args.device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-3, fused=True)
    x, y = x.to(args.device), y.to(args.device)
    autocast = dict(device_type=args.device, dtype=torch.bfloat16, enabled=args.device == "cuda")

    def full_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(**autocast):
            loss = torch.nn.functional.mse_loss(model(x).float(), y)
        loss.backward()
        optimizer.step()

    tokens = model.sequence_length()
    embeds = torch.randn(args.batch_size, tokens, model.backbone.embed_dim, device=args.device, requires_grad=True)

    def backbone_step() -> None:
        with torch.autocast(**autocast):
            out = model.backbone(embeds)
        out.float().square().mean().backward()
        embeds.grad = None

    full_step(), backbone_step()  # warm-up
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    full_times, backbone_times = [], []
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits both alike
        full_times += timed(full_step, 1, args.device)
        backbone_times += timed(backbone_step, 1, args.device)
    full = args.batch_size / statistics.median(full_times)
    alone = args.batch_size / statistics.median(backbone_times)
    result = {
        "benchmark": "train_throughput", "dataset": "ETTh1", "lookback": 512, "horizon": 96,
        "backbone": args.backbone, "layers": model.backbone.n_layers, "prompt": True, "batch_size": args.batch_size,
        "tokens_per_sequence": tokens, "prompt_tokens": model.prompt.length,
        "prototype_vocab": args.prototype_vocab, "full_step_windows_per_s": full,
        "backbone_alone_windows_per_s": alone, "ratio_full_to_backbone": full / alone, "target_ratio": 0.8,
        "full_step_seconds_median": statistics.median(full_times),
        "backbone_step_seconds_median": statistics.median(backbone_times),
        "trainable_parameters": sum(p.numel() for p in params),
        "peak_memory_mb": (torch.cuda.max_memory_allocated() / 2**20 if args.device == "cuda" else peak_rss_mb()),
        "peak_memory_kind": "cuda max allocated" if args.device == "cuda" else "process max RSS",
        **environment(args.device),
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
