"""One trial: sample a configuration, train it on a short budget, report validation MSE after every epoch so that
the pruner can stop it early, and return the best validation MSE."""

from __future__ import annotations

import os
import socket
from dataclasses import fields

import optuna
from lightning.pytorch.callbacks import Callback

from tsreprog.data.splits import PreparedData
from tsreprog.models import ModelConfig
from tsreprog.train import TrainConfig
from tsreprog.tune.space import suggest


class PruneOnValidation(Callback):
    """Reports ``val_mse`` to Optuna each epoch; raises ``TrialPruned`` when the pruner says so."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or "val_mse" not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics["val_mse"])
        self.trial.report(value, step=trainer.current_epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {trainer.current_epoch} with val_mse {value:.4f}")


def trial_configs(values: dict, base_model: ModelConfig, base_train: TrainConfig,
                  data_description: str) -> tuple[ModelConfig, TrainConfig]:
    """Apply sampled values to the base configs (model fields and training fields by name)."""
    model_fields = {f.name for f in fields(ModelConfig)}
    train_fields = {f.name for f in fields(TrainConfig)}
    model_values = {**base_model.to_dict(), **{k: v for k, v in values.items() if k in model_fields}}
    description = model_values.get("description")
    if description == "dataset":
        model_values["description"] = data_description
    elif description == "none":
        model_values["description"] = ""
    if model_values["patch_len"] < model_values["patch_stride"]:
        model_values["patch_stride"] = model_values["patch_len"]
    train_values = {**base_train.to_dict(), **{k: v for k, v in values.items() if k in train_fields}}
    return ModelConfig.from_dict(model_values), TrainConfig.from_dict(train_values)


class DuplicateConfiguration(RuntimeError):
    """A trial drew parameters that an earlier trial of the study already evaluated (or is evaluating)."""


def same_configuration(trial: optuna.Trial) -> int | None:
    """The number of an earlier complete, pruned or running trial with exactly these parameters, else None."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    for other in trial.study.get_trials(deepcopy=False, states=states):
        if other.number != trial.number and other.params == trial.params:
            return other.number
    return None


class BudgetMet(RuntimeError):
    """The study's trial budget is already taken by earlier trials (finished, or running in other workers)."""


def budget_taken(trial: optuna.Trial, n_trials: int) -> bool:
    """Whether the trials numbered before this one (finished or still running) already make up the budget. Counting
    only earlier numbers breaks the tie between workers that start trials at the same moment: the lower number
    runs, the higher one stands down, and the study ends with exactly ``n_trials`` (a dead worker's running trial is
    failed and retried when the study resumes)."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    earlier = [t for t in trial.study.get_trials(deepcopy=False, states=states) if t.number < trial.number]
    return len(earlier) >= n_trials


class Objective:
    def __init__(self, data: PreparedData, base_model: ModelConfig, base_train: TrainConfig, space: dict,
                 n_trials: int | None = None) -> None:
        self.data, self.base_model, self.base_train, self.space = data, base_model, base_train, space
        self.n_trials = n_trials

    def __call__(self, trial: optuna.Trial) -> float:
        from tsreprog.errors import BackboneError
        from tsreprog.train.pipeline import ForecastPipeline

        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")  # which process ran it
        if self.n_trials is not None and budget_taken(trial, self.n_trials):  # FAIL, not evaluated, not counted
            trial.set_user_attr("surplus", "the budget was met by earlier trials")
            trial.study.stop()
            raise BudgetMet(f"trial {trial.number} not run: {self.n_trials} trials are finished or running")
        params = suggest(trial, self.space)
        earlier = same_configuration(trial)
        if earlier is not None:  # FAIL: not evaluated, not counted; the next trial draws again
            trial.set_user_attr("duplicate_of", earlier)
            raise DuplicateConfiguration(f"trial {trial.number} drew the configuration of trial {earlier}")
        model_config, train_config = trial_configs(params, self.base_model, self.base_train, self.data.description)
        trial.set_user_attr("model_config", model_config.to_dict())
        trial.set_user_attr("train_config", train_config.to_dict())
        data = self.data
        try:  # the one training path, on the protocol's training and validation splits, as `tsreprog train`
            pipeline = ForecastPipeline.train(
                model_config, train_config, list(data.table.values.T), data.table.columns, data.borders.train[1],
                data.borders.val[1], scaler=data.scaler, freq=data.table.freq, source=data.table.source,
                extra_callbacks=[PruneOnValidation(trial)])
        except BackboneError as exc:  # e.g. more layers than this backbone has: an infeasible point
            raise optuna.TrialPruned(str(exc)) from None
        except KeyboardInterrupt:  # Ctrl-C: the trial fails uncounted; a resumed study runs it again (study.run)
            trial.set_user_attr("interrupted", True)
            raise
        best = pipeline.metrics["best_val_mse"]
        return float("inf") if best is None else best  # nothing trainable: nothing to tune
