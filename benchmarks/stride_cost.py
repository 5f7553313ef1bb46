"""What the standard profile's training stride of 4 costs: DLinear on ETTh1 H=96 at stride 1 and 4, same budget
otherwise (10 epochs, patience 3, cosine, rate 3e-4, seed 0). Compare the gap with the seed spread of the same cell
in the standard table. Writes benchmarks/results/stride_cost.json."""

from __future__ import annotations

import json
from pathlib import Path

from tsreprog.bench.environment import environment
from tsreprog.data import prepare
from tsreprog.models import ModelConfig
from tsreprog.train import TrainConfig, fit


def main() -> None:
    data = prepare("ETTh1", 512, 96)
    runs = {}
    for stride in (1, 4):
        train = TrainConfig(learning_rate=3e-4, schedule="cosine", train_stride=stride, val_stride=4, epochs=10,
                            patience=3, progress=False)
        result = fit(ModelConfig(model="dlinear", lookback=512, horizon=96), train, data=data)
        runs[f"stride_{stride}"] = {"test_mse": result.metrics["test_mse"], "epochs_run": result.metrics["epochs_run"],
                                    "train_seconds": result.metrics["train_seconds"]}
        print(stride, runs[f"stride_{stride}"], flush=True)
    out = {"benchmark": "stride_cost", "dataset": "ETTh1", "model": "dlinear", "horizon": 96, "precision": "32",
           "runs": runs, "gap": runs["stride_4"]["test_mse"] - runs["stride_1"]["test_mse"], **environment("cpu")}
    path = Path(__file__).parent / "results" / "stride_cost.json"
    path.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
