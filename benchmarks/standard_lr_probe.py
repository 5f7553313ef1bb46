"""Why does the reprogrammed MiniLM trail at the standard budget? One standard cell (ETTh1 H=96, compact prompt,
2 blocks, seed 0) trained at another rate, weight decay or model setting (``--set prototype_vocab=1000``) than the
table's; every other setting as `tsreprog bench --profile standard`. Appends to
benchmarks/results/standard_lr_probe.json (each run resumable per epoch)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tsreprog.bench.environment import environment
from tsreprog.bench.models import Variant, bench_model, train_config
from tsreprog.data import prepare
from tsreprog.train import fit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="reprog-minilm-compact")
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a model setting changed from the table's, e.g. prototype_vocab=1000")
    args = parser.parse_args()
    changes = dict(item.split("=", 1) for item in args.set)
    data = prepare("ETTh1", 512, args.horizon)
    variant = Variant(args.learning_rate, args.weight_decay, {**changes, "description": data.description})
    spec = variant.apply(bench_model(args.model, "standard", 512, args.horizon, "ETTh1", 0))
    train = variant.apply_to_training(train_config("standard", "ETTh1", None, spec.learning_rate))
    tag = "".join(f"_{key}{value}" for key, value in sorted(changes.items()))
    state = Path("runs/.probe") / f"{args.model}_H{args.horizon}_{args.learning_rate:g}_wd{args.weight_decay:g}{tag}"
    result = fit(spec.model, train, state / "checkpoint.pt", data=data, resume=True, log=print)
    out = Path(__file__).parent / "results" / "standard_lr_probe.json"
    runs = json.loads(out.read_text())["runs"] if out.is_file() else []
    for run in runs:
        run.setdefault("horizon", 96)  # runs written before the horizon was an option
    runs.append({"model": args.model, "horizon": args.horizon, "learning_rate": args.learning_rate, "weight_decay": args.weight_decay,
                 "model_changes": changes, "seconds": result.metrics.get("train_seconds"), "test_mse": result.metrics["test_mse"],
                 "test_mae": result.metrics["test_mae"], "best_val_mse": result.metrics["best_val_mse"],
                 "epochs_run": result.metrics["epochs_run"], "history": result.history,
                 "precision": result.metrics["precision"]})
    out.write_text(json.dumps({"benchmark": "standard_lr_probe", "dataset": "ETTh1", "runs": runs,
                               **environment("cpu")}, indent=2))


if __name__ == "__main__":
    main()
