"""Training-step cost of backbone adaptation (adapt: layernorm / lora) against the frozen backbone, in one run.

The few-shot profiles' reprogrammed model (MiniLM x2, compact prompt, 1,000-word prototype vocabulary, 32-feature
head, look-back 512, horizon 96) takes full training steps (forward, backward, AdamW) on the same ETTh1 series; the
three settings alternate round by round so that drift in the machine's speed hits each alike. Target (issue 30): an
adapted row's step at most 1.3x the frozen row's. Writes benchmarks/results/adapt_step_cost.json with device,
precision and commit. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from tsreprog.bench.environment import environment
from tsreprog.data import prepare
from tsreprog.io import atomic_write_bytes
from tsreprog.models import ModelConfig, build_model
from tsreprog.train.precision import choose_precision

ADAPTATIONS = ("none", "layernorm", "lora")


def model_for(adapt: str, description: str):
    config = ModelConfig(backbone="minilm-l6", n_layers=2, prompt="compact", prototype_vocab=1000, head_dim=32,
                         lookback=512, horizon=96, description=description, adapt=adapt)
    return build_model(config).train()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="series per training step")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per setting and round")
    parser.add_argument("--precision", default="auto", help="auto (what train would pick here), 32 or bf16-mixed")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "adapt_step_cost.json")
    args = parser.parse_args()
    data = prepare("ETTh1", 512, 96)
    pairs = data.windows("train", 512, 96)
    x = torch.stack([pairs[i][0] for i in range(args.batch)])
    y = torch.stack([pairs[i][1] for i in range(args.batch)])
    models = {adapt: model_for(adapt, data.description) for adapt in ADAPTATIONS}
    precision = choose_precision(args.precision, "cpu", models["none"], (x, y))
    autocast = torch.bfloat16 if precision == "bf16-mixed" else None
    optimizers = {a: torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4)
                  for a, m in models.items()}

    def step(adapt: str) -> None:
        with torch.autocast("cpu", dtype=autocast, enabled=autocast is not None):
            loss = torch.nn.functional.mse_loss(models[adapt](x).float(), y)
        optimizers[adapt].zero_grad(set_to_none=True)
        loss.backward()
        optimizers[adapt].step()

    for adapt in ADAPTATIONS:  # warm-up
        step(adapt)
    times = {adapt: [] for adapt in ADAPTATIONS}
    for _ in range(args.rounds):
        for adapt in ADAPTATIONS:
            started = time.perf_counter()
            for _ in range(args.steps):
                step(adapt)
            times[adapt].append((time.perf_counter() - started) / args.steps)
    median = {a: statistics.median(t) for a, t in times.items()}
    result = {
        "what": "training step (forward, backward, AdamW) of the few-shot profiles' reprogrammed MiniLM x2",
        "batch_series": args.batch, "rounds": args.rounds, "steps_per_round": args.steps, "precision": precision,
        "threads": torch.get_num_threads(), "seconds_per_step": median, "per_round": times,
        "trainable_parameters": {a: sum(p.numel() for p in m.parameters() if p.requires_grad)
                                 for a, m in models.items()},
        "ratio_to_frozen": {a: median[a] / median["none"] for a in ADAPTATIONS},
        "target": "adapted step <= 1.3x frozen", **environment("cpu"),
    }
    result["met"] = all(result["ratio_to_frozen"][a] <= 1.3 for a in ("layernorm", "lora"))
    atomic_write_bytes(args.output, json.dumps(result, indent=2).encode())
    print(json.dumps({k: result[k] for k in ("seconds_per_step", "ratio_to_frozen", "met", "precision")}, indent=1))


if __name__ == "__main__":
    main()
