"""Rebuild a trained forecaster from a checkpoint: the config rebuilds the model, the file supplies the weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from tsreprog.data.protocol import StandardScaler
from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig, build_model
from tsreprog.train.checkpoint import load_checkpoint, load_trainable
from tsreprog.train.config import TrainConfig


@dataclass
class Restored:
    model: torch.nn.Module
    model_config: ModelConfig
    train_config: TrainConfig
    scaler: StandardScaler
    dataset: dict
    metrics: dict
    # The precision the run trained and scored its test split in; files written before it was recorded were scored
    # in fp32. evaluate and forecast use it, so they reproduce train's figures on any machine.
    precision: str = "32"

    @property
    def dataset_path(self) -> str:
        """Where the training data is: a registered name as trained, a CSV by the absolute path the checkpoint
        recorded (the relative one in the training config only holds from the folder training ran in)."""
        from tsreprog.data.registry import DATASETS

        name = self.train_config.dataset
        if name.lower() in DATASETS and not Path(name).suffix:  # a registered name keeps its own split rule
            return name
        source = self.dataset.get("source", "")
        if not Path(name).exists() and source and Path(source).is_absolute() and Path(source).is_file():
            return source
        return name

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return torch.bfloat16 if self.precision == "bf16-mixed" else None


def restore(path: str | Path, expect_backbone: str | None = None) -> Restored:
    payload = load_checkpoint(path)
    model_config = ModelConfig.from_saved(payload["model_config"])
    if expect_backbone and model_config.model == "reprogrammed" and expect_backbone != model_config.backbone:
        raise ConfigError(f"{path}: checkpoint was trained with backbone '{model_config.backbone}', "
                          f"not '{expect_backbone}'")
    model = build_model(model_config)
    load_trainable(model, payload["trainable_state"], str(path))
    model.eval()
    return Restored(model, model_config, TrainConfig.from_dict(payload["train_config"]),
                    StandardScaler.from_state_dict(payload["scaler"]), payload["dataset"], payload.get("metrics", {}),
                    payload.get("precision", "32"))
