"""A real Optuna study on ETTh1 (horizon 96) with the real MiniLM under a stated CPU budget, then the default config
and the tuned one trained with the same budget and scored on every test window.

Writes benchmarks/results/tune_etth1.json: validation and test MSE of default vs tuned, trials, pruned, wall time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from optuna.trial import TrialState

from tsreprog.bench.environment import environment
from tsreprog.models import ModelConfig
from tsreprog.train import TrainConfig, fit
from tsreprog.tune import StudySettings, load_space, run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--output", default="benchmarks/results/tune_etth1.json")
    args = parser.parse_args()

    budget = dict(dataset="ETTh1", epochs=args.epochs, max_steps_per_epoch=args.steps, train_stride=16,
                  val_stride=16, batch_size=32, progress=False, patience=args.epochs)
    base_model = ModelConfig(backbone="minilm-l6", n_layers=2, lookback=512, horizon=96)
    base_train = TrainConfig(**budget)
    space = load_space(None)
    with tempfile.TemporaryDirectory() as folder:
        settings = StudySettings(storage=f"sqlite:///{folder}/study.db", n_trials=args.n_trials, seed=0)
        started = time.perf_counter()
        study = run(settings, base_model, base_train, space)
        tuning_seconds = time.perf_counter() - started
        trials = study.get_trials(deepcopy=False)
        best = study.best_trial
        tuned_model = ModelConfig.from_dict(best.user_attrs["model_config"])
        tuned_train = TrainConfig.from_dict(best.user_attrs["train_config"])
    results = {}
    for name, (model_config, train_config) in {"default": (base_model, base_train),
                                               "tuned": (tuned_model, tuned_train)}.items():
        result = fit(model_config, train_config)
        results[name] = {"val_mse": result.metrics["best_val_mse"], "test_mse": result.metrics["test_mse"],
                         "test_mae": result.metrics["test_mae"], "test_windows": result.metrics["test_n_windows"]}
        print(name, results[name], flush=True)
    payload = {"benchmark": "tune_etth1", "dataset": "ETTh1", "lookback": 512, "horizon": 96,
               "budget_per_trial": budget, "base_model": base_model.to_dict(), "best_params": best.params,
               "trials": len(trials), "complete": sum(t.state == TrialState.COMPLETE for t in trials),
               "pruned": sum(t.state == TrialState.PRUNED for t in trials),
               "failed": sum(t.state == TrialState.FAIL for t in trials),
               "tuning_wall_seconds": tuning_seconds, "results": results,
               "note": "default and tuned configs retrained with the same per-trial budget; test on every window",
               **environment("cpu")}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(payload, indent=2, default=float))
    print(json.dumps({k: payload[k] for k in ("trials", "complete", "pruned", "tuning_wall_seconds")}))


if __name__ == "__main__":
    main()
