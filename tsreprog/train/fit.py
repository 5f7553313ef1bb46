"""Train a forecaster under the protocol, keep the best validation checkpoint, reload it and score the test split."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from torch.utils.data import DataLoader

from tsreprog.data.splits import PreparedData, prepare
from tsreprog.evaluate.metrics import evaluate
from tsreprog.models import ModelConfig, build_model
from tsreprog.train.checkpoint import load_trainable, save_checkpoint
from tsreprog.train.config import TrainConfig
from tsreprog.train.module import ForecastModule


@dataclass
class FitResult:
    model: torch.nn.Module
    data: PreparedData
    metrics: dict = field(default_factory=dict)
    checkpoint: Path | None = None
    history: list[dict] = field(default_factory=list)


class BestTrainableCheckpoint(Callback):
    """Keeps the best trainable weights in memory and, when a path is given, on disk (atomically)."""

    def __init__(self, payload_base: dict, path: Path | None) -> None:
        self.payload_base = payload_base
        self.path = path
        self.best = float("inf")
        self.best_state: dict | None = None
        self.history: list[dict] = []

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        value = float(trainer.callback_metrics.get("val_mse", float("nan")))
        train_loss = trainer.callback_metrics.get("train_loss")
        self.history.append({"epoch": trainer.current_epoch, "val_mse": value,
                             "train_loss": float(train_loss) if train_loss is not None else None})
        if value < self.best:
            self.best = value
            self.best_state = pl_module.model.trainable_state_dict()
            if self.path is not None:
                save_checkpoint(self.path, {**self.payload_base, "trainable_state": self.best_state,
                                            "metrics": {"val_mse": value}, "epoch": trainer.current_epoch})


def resolve_devices(train: TrainConfig) -> tuple[str, str]:
    accelerator = train.accelerator
    if accelerator == "auto":
        accelerator = "gpu" if torch.cuda.is_available() else "cpu"
    precision = train.precision
    if precision == "auto":
        precision = "bf16-mixed" if accelerator == "gpu" else "32"
    return accelerator, precision


def checkpoint_payload(model_config: ModelConfig, train: TrainConfig, data: PreparedData) -> dict:
    return {
        "model_config": model_config.to_dict(),
        "train_config": train.to_dict(),
        "scaler": data.scaler.state_dict(),
        "dataset": {"name": data.name, "columns": data.table.columns, "freq": data.table.freq,
                    "source": data.table.source},
    }


def quiet_lightning() -> None:
    for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*module\\(s\\) in eval mode.*")


def train_on_windows(model: torch.nn.Module, train_set, val_set, train: TrainConfig,
                     keeper: BestTrainableCheckpoint, extra_callbacks: list | None = None) -> BestTrainableCheckpoint:
    """The training loop every interface shares: Lightning, early stopping on exact validation MSE, best weights
    kept by ``keeper`` and loaded back into ``model`` at the end."""
    quiet_lightning()
    accelerator, precision = resolve_devices(train)
    loaders = [
        DataLoader(train_set, batch_size=train.batch_size, shuffle=True, num_workers=train.num_workers,
                   generator=torch.Generator().manual_seed(train.seed)),
        DataLoader(val_set, batch_size=train.eval_batch_size, shuffle=False, num_workers=train.num_workers),
    ]
    trainer = L.Trainer(
        max_epochs=train.epochs, accelerator=accelerator, devices=1, precision=precision,
        limit_train_batches=train.max_steps_per_epoch or 1.0, gradient_clip_val=train.gradient_clip, logger=False, enable_checkpointing=False,
        enable_progress_bar=train.progress, enable_model_summary=False, num_sanity_val_steps=0,
        callbacks=[EarlyStopping("val_mse", patience=train.patience, mode="min"), keeper, *(extra_callbacks or [])],
    )
    module = ForecastModule(model, train.learning_rate, train.weight_decay, train.schedule)
    trainer.fit(module, *loaders)
    if keeper.best_state is not None:
        load_trainable(model, keeper.best_state, "best validation checkpoint")
    model.cpu().eval()
    return keeper


def fit(model_config: ModelConfig, train: TrainConfig, checkpoint_path: str | Path | None = None,
        data: PreparedData | None = None, test: bool = True) -> FitResult:
    """Train ``model_config`` on ``train.dataset`` and return the best model with its validation/test metrics."""
    L.seed_everything(train.seed, workers=True, verbose=False)
    data = data or prepare(train.dataset, model_config.lookback, model_config.horizon, train.data_dir,
                           train.date_column, train.columns)
    if not model_config.description and data.description:
        model_config.description = data.description
    if model_config.model.startswith("vision") and model_config.period is None:
        from tsreprog.models.vision import period_for

        model_config.period = period_for(data.table.freq)
    model = build_model(model_config)
    accelerator, precision = resolve_devices(train)
    payload = checkpoint_payload(model_config, train, data)
    path = Path(checkpoint_path) if checkpoint_path else None
    keeper = BestTrainableCheckpoint(payload, path)
    started = time.perf_counter()
    if any(p.requires_grad for p in model.parameters()):
        train_set = data.windows("train", model_config.lookback, model_config.horizon, train.train_stride)
        val_set = data.windows("val", model_config.lookback, model_config.horizon, train.val_stride)
        train_on_windows(model, train_set, val_set, train, keeper)
    elif path is not None:
        save_checkpoint(path, {**payload, "trainable_state": {}, "metrics": {}, "epoch": 0})
    train_seconds = time.perf_counter() - started
    metrics: dict = {"best_val_mse": keeper.best if keeper.best_state is not None else None,
                     "train_seconds": train_seconds, "epochs_run": len(keeper.history)}
    if test:
        device = "cuda" if accelerator == "gpu" else "cpu"
        model.to(device)
        autocast = torch.bfloat16 if precision == "bf16-mixed" else None
        test_set = data.windows("test", model_config.lookback, model_config.horizon, 1)
        metrics.update({f"test_{k}": v for k, v in evaluate(model, test_set, train.eval_batch_size, device,
                                                            data.scaler, autocast).items()})
        model.cpu()
    return FitResult(model, data, metrics, path, keeper.history)
