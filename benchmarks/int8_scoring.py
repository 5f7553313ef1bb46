"""Scoring with the frozen backbone's linear layers in int8 against fp32: speed and accuracy, one process.

int8 here is PyTorch's dynamic quantization (``torch.ao.quantization.quantize_dynamic``, deprecated in torch 2.13):
weights per output channel, activations per batch, the feed-forward down-projections (wider input than output) left
in fp32 because their post-activation inputs have outliers that one scale per batch clips. It lives in this script
only: the library does not offer it (benchmarks/README.md says why).

Speed: MiniLM x2 as the standard profile builds it (full and compact prompt) and as the default job does (compact
prompt, patch stride 16), scoring 256 windows x 7 channels a call (the evaluation batch), fp32 and int8 calls
alternating so a VM whose speed drifts biases neither. From the medians: the time to score every ETTm1 test window
at H=96 (11,425 x 7 series; issue 17's target is 3 minutes on 2 cores).

Accuracy: every ``--checkpoint`` scored on its own test split both ways (test MSE, relative change).

Writes benchmarks/results/int8_scoring.json with device, precision and commit."""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

ETTM1_TEST_SERIES = 11_425 * 7  # every H=96 test window of ETTm1 at look-back 512, channel by channel


def int8_copy(model: nn.Module) -> nn.Module:
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    chosen = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
              if isinstance(module, nn.Linear) and module.in_features <= module.out_features}
    with warnings.catch_warnings():  # deprecation warnings on every call
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, chosen, dtype=torch.qint8, inplace=False)


@contextmanager
def int8_backbone(forecaster: nn.Module):
    """Inside the block the forecaster's frozen backbone runs its int8 copy; afterwards the original is back."""
    original = forecaster.backbone.model
    forecaster.backbone.model = int8_copy(original)
    try:
        yield
    finally:
        forecaster.backbone.model = original


def seconds(step) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def speed_models() -> dict:
    from tsreprog.bench.models import bench_model
    from tsreprog.models import ModelConfig

    standard = {name: bench_model(name, "standard", 512, 96, "ETTm1").model
                for name in ("reprog-minilm", "reprog-minilm-compact")}
    default_job = ModelConfig(backbone="minilm-l6", n_layers=2, lookback=512, horizon=96, prompt="compact",
                              patch_stride=16)
    return {"standard full prompt": standard["reprog-minilm"],
            "standard compact prompt": standard["reprog-minilm-compact"], "default job": default_job}


def speed_rows(repeats: int) -> list[dict]:
    from benchmarks.step_speed import windows  # noqa: E402  (run from the repository root)
    from tsreprog.models import build_model

    x, _, description = windows(256)
    rows = []
    for name, config in speed_models().items():
        config.description = description
        model = build_model(config).eval()

        def score() -> None:
            with torch.inference_mode():
                model(x)

        times = {"32": [], "int8": []}
        for round_ in range(repeats + 1):  # the first round warms both up and is not kept
            for precision in ("32", "int8"):
                if precision == "int8":
                    with int8_backbone(model):
                        took = seconds(score)
                else:
                    took = seconds(score)
                if round_:
                    times[precision].append(took)
        series = x.shape[0] * 7
        row = {"model": name, "prompt": config.prompt, "patch_stride": config.patch_stride,
               "series_per_call": series, "fp32_seconds": times["32"], "int8_seconds": times["int8"],
               "speedup_median": statistics.median(times["32"]) / statistics.median(times["int8"]),
               "speedup_by_pair": [a / b for a, b in zip(times["32"], times["int8"])],
               "ettm1_test_seconds_fp32": statistics.median(times["32"]) * ETTM1_TEST_SERIES / series,
               "ettm1_test_seconds_int8": statistics.median(times["int8"]) * ETTM1_TEST_SERIES / series}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def accuracy_row(checkpoint: str, data_dir: str | None) -> dict:
    from tsreprog.data.splits import prepare
    from tsreprog.train.metrics import evaluate
    from tsreprog.train.restore import restore

    restored = restore(checkpoint)
    config, train = restored.model_config, restored.train_config
    data = prepare(train.dataset, config.lookback, config.horizon, data_dir or train.data_dir, train.date_column,
                   train.columns)
    test = data.windows("test", config.lookback, config.horizon, 1)
    mse = {"32": evaluate(restored.model, test, 256, "cpu")["mse"]}
    with int8_backbone(restored.model):
        mse["int8"] = evaluate(restored.model, test, 256, "cpu")["mse"]
    row = {"checkpoint": checkpoint, "dataset": data.name, "horizon": config.horizon, "prompt": config.prompt,
           "patch_stride": config.patch_stride, "test_mse_fp32": mse["32"], "test_mse_int8": mse["int8"],
           "relative_change": mse["int8"] / mse["32"] - 1}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    from tsreprog.bench.environment import environment
    from tsreprog.io import atomic_write_bytes

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3, help="alternations per setting")
    parser.add_argument("--checkpoint", action="append", default=[], help="a trained checkpoint to score both ways")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", default="benchmarks/results/int8_scoring.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    out = {"benchmark": "int8_scoring", "backbone": "minilm-l6", "layers": 2, "lookback": 512, "horizon": 96,
           "precision": "fp32 against int8 backbone linear layers (dynamic, per-channel weights)",
           "speed": speed_rows(args.repeats),
           "accuracy": [accuracy_row(path, args.data_dir) for path in args.checkpoint], **environment("cpu")}
    atomic_write_bytes(Path(args.output), (json.dumps(out, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
