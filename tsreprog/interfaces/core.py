"""What the pandas and GluonTS interfaces share: configs from keyword arguments, training on a series collection,
batched forecasting of the last look-back of many series, and small atomic save files."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import lightning as L
import numpy as np
import torch

from tsreprog.backbones import is_language_backbone
from tsreprog.data.core import complete_lookback
from tsreprog.data.collection import CollectionWindows, SeriesCollection
from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig, build_model
from tsreprog.models.config import FAST_SETTINGS
from tsreprog.train.checkpoint import load_checkpoint, load_trainable, save_checkpoint
from tsreprog.train.config import TrainConfig, check_enough_windows
from tsreprog.train.fit import BestTrainableCheckpoint, train_on_windows
from tsreprog.models.contract import has_quantile_head


# The interfaces differ from ModelConfig's defaults in one way: they take FAST_SETTINGS (tsreprog.models.config), as
# the default job does. Only for language backbones known by name: a vision backbone has no vocabulary for a compact
# prompt.
INTERFACE_MODEL_DEFAULTS = FAST_SETTINGS


def split_options(options: dict, backbone: str = "minilm-l6") -> tuple[dict, dict]:
    """Route keyword arguments to ModelConfig or TrainConfig by field name; unknown names are an error. Model
    settings not given take ``INTERFACE_MODEL_DEFAULTS`` for the reprogrammed model on a language backbone."""
    model_keys = {f.name for f in fields(ModelConfig)}
    train_keys = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(options) - model_keys - train_keys)
    if unknown:
        raise ConfigError(f"unknown option(s): {', '.join(unknown)}")
    model = {k: v for k, v in options.items() if k in model_keys}
    if model.get("model", "reprogrammed") == "reprogrammed" and is_language_backbone(backbone):
        model = {**INTERFACE_MODEL_DEFAULTS, **model}
    train = {k: v for k, v in options.items() if k in train_keys}
    if "seed" in options:
        model["seed"] = train["seed"] = options["seed"]
    return model, train


def train_collection(model_config: ModelConfig, train_config: TrainConfig, collection: SeriesCollection,
                     holdout: int) -> tuple[torch.nn.Module, str]:
    """Scale each series on its training rows, train on fully observed windows, early-stop on the held-out tail.
    Returns the model and the precision it trained in, which its forecasts then use."""
    L.seed_everything(train_config.seed, verbose=False)
    collection.fit_scalers(end_offset=holdout)
    train_set = CollectionWindows(collection, model_config.lookback, model_config.horizon,
                                  train_config.train_stride, "train", holdout, train_config.train_fraction)
    check_enough_windows(train_set, train_config, "the training series")
    val_set = CollectionWindows(collection, model_config.lookback, model_config.horizon, 1, "holdout", holdout)
    model = build_model(model_config)
    precision = "32"
    if any(p.requires_grad for p in model.parameters()):
        keeper = train_on_windows(model, train_set, val_set, train_config, BestTrainableCheckpoint({}, None))
        precision = keeper.precision
    return model.eval(), precision


def last_windows(collection: SeriesCollection, lookback: int, ends: list[int] | None = None) -> torch.Tensor:
    """(n_series, L, 1) scaled look-back windows ending at ``ends`` (default: each series' end), completed as
    every interface completes them (:func:`tsreprog.data.core.complete_lookback`)."""
    rows = []
    for k, s in enumerate(collection.series):
        end = len(s.values) if ends is None else ends[k]
        rows.append(complete_lookback(s.scaled()[:end], lookback, f"series {s.item_id!r}"))
    return torch.as_tensor(np.stack(rows), dtype=torch.float32)[:, :, None]


@torch.no_grad()
def forecast_windows(model: torch.nn.Module, windows: torch.Tensor, batch_size: int = 256,
                     precision: str = "32") -> np.ndarray:
    """(N, L, 1) scaled windows → (N, H) point forecasts or (N, H, Q) quantiles, scaled; in the ``precision``
    the model trained in (bf16 autocast for a bf16-mixed run), as the CLI's evaluate and forecast do."""
    model.eval()
    quantiles = has_quantile_head(model)
    outputs = []
    autocast = precision == "bf16-mixed"
    for start in range(0, len(windows), batch_size):
        batch = windows[start:start + batch_size]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = model.predict_quantiles(batch)[:, :, 0, :] if quantiles else model(batch)[:, :, 0]
        outputs.append(out.float().numpy())
    return np.concatenate(outputs)


def save_state(path: str | Path, model: torch.nn.Module, model_config: ModelConfig, train_config: TrainConfig,
               extra: dict) -> None:
    save_checkpoint(path, {"model_config": model_config.to_dict(), "train_config": train_config.to_dict(),
                           "trainable_state": model.trainable_state_dict(), "scaler": {}, "dataset": {},
                           "interface": extra})


def load_state(path: str | Path) -> tuple[torch.nn.Module, ModelConfig, TrainConfig, dict]:
    path = Path(path)
    earlier = path.with_name("tsreprog.pt")  # what savers before the folder format wrote beside it
    payload = load_checkpoint(earlier if not path.exists() and earlier.is_file() else path)
    model_config = ModelConfig.from_saved(payload["model_config"])
    model = build_model(model_config)
    load_trainable(model, payload["trainable_state"], str(path))
    return model.eval(), model_config, TrainConfig.from_dict(payload["train_config"]), payload.get("interface", {})
