"""NTK speed: tsreprog's exact traced kernel against the plain torch.func recipe, and a sketch-mode scaling curve.

Plain recipe (PyTorch's NTK tutorial): per-sample Jacobians vmap(jacrev(f)) over every trainable parameter, then an
einsum over parameters, traced over outputs. Ours: the structured path (prototype map through its Gram matrix, head in
closed form). Same reprogrammed model, same N, float64, one run. Writes benchmarks/results/ntk_speed.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.func import functional_call, jacrev, vmap

from tsreprog.bench.environment import current_peak_rss_mb, environment, peak_rss_mb, reset_peak_rss
from tsreprog.data import prepare
from tsreprog.models import ModelConfig, build_model
from tsreprog.ntk import empirical_ntk
from tsreprog.ntk.select import sample_windows


def plain_recipe(model, x: torch.Tensor) -> torch.Tensor:
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    rest = {k: v.detach() for k, v in model.state_dict(keep_vars=True).items() if k not in params}

    def f(p, sample):
        return functional_call(model, {**p, **rest}, (sample[None],)).reshape(-1)

    jac = vmap(jacrev(f), (None, 0))(params, x)
    return sum(torch.einsum("Naf,Maf->NM", j.flatten(2), j2.flatten(2))
               for j, j2 in zip(jac.values(), jac.values()))


def measure(fn):
    """Seconds and peak resident memory (MiB, process high-water mark reset before the call)."""
    reset_peak_rss()
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started, current_peak_rss_mb()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--scaling", default="64,256,1024,4096")
    parser.add_argument("--probes", type=int, default=2)
    parser.add_argument("--output", default="benchmarks/results/ntk_speed.json")
    args = parser.parse_args()

    # Comparison model: real MiniLM (1 block), a 4,096-row vocabulary subset so the plain recipe fits in memory.
    compare = ModelConfig(backbone="minilm-l6", n_layers=1, lookback=128, horizon=24, n_prototypes=1000,
                          prototype_vocab=4096, dropout=0.0)
    data = prepare("ETTh1", compare.lookback, compare.horizon)
    x, _ = sample_windows(data, "train", compare.lookback, compare.horizon, args.n, 0)
    model = build_model(compare).double().eval()
    xd = x.double()
    ours, ours_s, ours_mb = measure(lambda: empirical_ntk(model, xd, dtype=torch.float64).kernel)
    plain, plain_s, plain_mb = measure(lambda: plain_recipe(model, xd))
    difference = float((ours - plain).abs().max() / plain.abs().max())
    comparison = {"model": compare.to_dict(), "n": args.n,
                  "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
                  "ours_seconds": ours_s, "plain_seconds": plain_s, "speedup": plain_s / ours_s,
                  "ours_peak_rss_mb": ours_mb, "plain_peak_rss_mb": plain_mb,
                  "max_relative_difference": difference, "target_speedup": 10, "target_difference": 1e-4}
    print(json.dumps(comparison, indent=2), flush=True)

    # Scaling curve, sketch mode, the real default model shape (MiniLM 2 blocks, L=512, H=96, full vocabulary).
    scaling_config = ModelConfig(backbone="minilm-l6", n_layers=2, lookback=512, horizon=96, dropout=0.0)
    data = prepare("ETTh1", 512, 96)
    model = build_model(scaling_config).eval()
    curve = []
    for n in [int(v) for v in args.scaling.split(",")]:
        xs, _ = sample_windows(data, "train", 512, 96, n, 0)
        result, seconds, mb = measure(lambda: empirical_ntk(model, xs, mode="sketch", n_probes=args.probes,
                                                            chunk=32).kernel)
        curve.append({"n": n, "seconds": seconds, "peak_rss_mb": mb, "probes": args.probes,
                      "kernel_mb": result.numel() * 4 / 2**20})
        print(curve[-1], flush=True)
    payload = {"benchmark": "ntk_speed", "comparison": comparison,
               "scaling": {"model": scaling_config.to_dict(), "mode": "sketch", "points": curve},
               "peak_rss_mb": peak_rss_mb(),
               "memory_note": "peak_rss_mb per phase: the process high-water mark (VmHWM), reset before each phase",
               **environment("cpu")}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
