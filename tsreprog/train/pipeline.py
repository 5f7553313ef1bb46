"""``ForecastPipeline``: the one trained forecaster under every route (`tsreprog train/evaluate/forecast`, the pandas
``Forecaster``, the GluonTS estimator and predictor).

It owns the model and training configs, the trained weights, the scaler (a row per series), the frequency, the
data description and the precision training chose, and it fits, forecasts, saves and loads. The routes differ only
in how they name series and rows: a file's columns under the protocol's borders, or a collection's series with a
held-out tail. Training, windowing (:class:`tsreprog.data.windows.SeriesWindows`), scaling
(:class:`tsreprog.data.protocol.StandardScaler`) and the saved folder (:mod:`tsreprog.train.checkpoint`) are the
same for all of them, so the same data, configs and seed give the same forecast on every route.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import lightning as L
import numpy as np
import torch

from tsreprog.data.core import complete_lookback
from tsreprog.data.protocol import StandardScaler, few_shot_end
from tsreprog.data.windows import SeriesWindows
from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig, build_model
from tsreprog.models.contract import has_quantile_head
from tsreprog.train.checkpoint import load_checkpoint, load_trainable, save_checkpoint
from tsreprog.train.config import TrainConfig, check_enough_windows
from tsreprog.train.loop import BestTrainableCheckpoint, resolve_accelerator, train_on_windows
from tsreprog.train.precision import autocast_dtype, choose_precision


def _per_series(value: int | Sequence[int], n: int) -> list[int]:
    return [int(value)] * n if isinstance(value, (int, np.integer)) else [int(v) for v in value]


@dataclass
class ForecastPipeline:
    model_config: ModelConfig
    train_config: TrainConfig
    model: torch.nn.Module
    scaler: StandardScaler
    freq: str | None = None
    dataset: dict = field(default_factory=dict)  # name, source, columns or series, description
    precision: str = "32"  # what training ran in; every forecast and score uses it
    metrics: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)  # one entry per epoch
    extra: dict = field(default_factory=dict)  # what a route keeps beside it (pandas column names, history, ...)

    # -- training ------------------------------------------------------------------------------------------------
    @classmethod
    def train(cls, model_config: ModelConfig, train_config: TrainConfig, series: Sequence[np.ndarray],
              names: Sequence[str], train_end: int | Sequence[int], val_end: int | Sequence[int], *,
              scaler: StandardScaler | None = None, freq: str | None = None, dataset: dict | None = None,
              source: str = "data", log: Callable[[str], None] | None = None, checkpoint: str | Path | None = None,
              last_state: Path | None = None, resume: bool = False,
              extra_callbacks: list | None = None) -> "ForecastPipeline":
        """Scale each series on its rows before ``train_end``, train on windows that end there (the first
        ``train_fraction`` of them), early-stop on windows whose targets lie in ``[train_end, val_end)``.

        ``scaler``: statistics already fitted the same way (the protocol's); ``checkpoint``: the folder the best
        weights are saved to as they improve; ``last_state``, ``resume``, ``extra_callbacks`` (a tuning trial's
        pruning): see :func:`tsreprog.train.loop.train_on_windows`.
        """
        n = len(series)
        train_ends, val_ends = _per_series(train_end, n), _per_series(val_end, n)
        scaler = scaler or StandardScaler.fit_each(series, train_ends, names, source)
        dataset = dict(dataset or {})
        if model_config.model == "reprogrammed" and not model_config.description and dataset.get("description"):
            model_config.description = dataset["description"]
        if model_config.model.startswith("vision") and model_config.period is None and freq:
            from tsreprog.models.vision import period_for

            model_config.period = period_for(freq)
        L.seed_everything(train_config.seed, workers=True, verbose=False)
        model = build_model(model_config)
        self = cls(model_config, train_config, model, scaler, freq, dataset)
        keeper = BestTrainableCheckpoint(self.payload(), Path(checkpoint) if checkpoint else None)
        lookback, horizon = model_config.lookback, model_config.horizon
        if any(p.requires_grad for p in model.parameters()):
            scaled = [self.scale(values, k) for k, values in enumerate(series)]
            stops = [few_shot_end(0, end, lookback, train_config.train_fraction) for end in train_ends]
            cut = f" (first {train_config.train_fraction:g} of the training rows)" \
                if train_config.train_fraction < 1 else " (training rows)"
            train_set = SeriesWindows(scaled, lookback, horizon, train_config.train_stride, stop=stops,
                                      source=source + cut, names=list(names))
            check_enough_windows(train_set, train_config, source)
            val_set = SeriesWindows(scaled, lookback, horizon, train_config.val_stride, target_from=train_ends,
                                    stop=val_ends, source=source + " (validation rows)", names=list(names))
            train_on_windows(model, train_set, val_set, train_config, keeper, extra_callbacks, log=log,
                             last_state=last_state, resume=resume)
            self.precision = keeper.precision
            self.metrics = {"best_val_mse": keeper.best if keeper.best_state is not None else None,
                            "epochs_run": len(keeper.history), "train_series_windows": len(train_set)}
            self.history = keeper.history
        else:  # nothing to train (a zero-shot model): it forecasts as built
            self.precision = choose_precision(train_config.precision, resolve_accelerator(train_config.accelerator))
            self.metrics = {"best_val_mse": None, "epochs_run": 0, "train_series_windows": None}
            if checkpoint:
                self.save(checkpoint)
        self.metrics["precision"] = self.precision
        model.eval()
        return self

    # -- scaling and forecasting ---------------------------------------------------------------------------------
    def scale(self, values: np.ndarray, k: int) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) - self.scaler.mean[k]) / self.scaler.std[k]

    def statistics(self, histories: Sequence[np.ndarray], names: Sequence[str] | None) -> tuple[np.ndarray, ...]:
        """Mean and std for each history: the fitted ones for a series seen in training, the history's own for an
        unseen one (every model here is channel independent; the RevIN-normalised ones see only a balanced scale,
        and for DLinear and naive, which have no RevIN, this puts the series on the scale they trained on)."""
        known = {name: k for k, name in enumerate(self.scaler.names)}
        means, stds = [], []
        for j, values in enumerate(histories):
            name = str(names[j]) if names is not None else None
            if name is not None and name in known:
                means.append(self.scaler.mean[known[name]])
                stds.append(self.scaler.std[known[name]])
            else:
                observed = np.asarray(values, dtype=np.float64)
                observed = observed[np.isfinite(observed)]
                spread = float(observed.std()) if observed.size else 0.0
                means.append(float(observed.mean()) if observed.size else 0.0)
                stds.append(spread if spread > 0 else 1.0)
        return np.asarray(means), np.asarray(stds)

    def forecast(self, histories: Sequence[np.ndarray], names: Sequence[str] | None = None,
                 batch_size: int = 256) -> tuple[np.ndarray, np.ndarray | None]:
        """Forecast the ``horizon`` steps after each history (original scale; gaps inside the last look-back are
        interpolated with a warning, a history shorter than the look-back is an error). Returns the points
        (N, H) and, for a quantile model, the quantiles (N, H, Q) at ``model.quantiles``, both on the original
        scale."""
        mean, std = self.statistics(histories, names)
        lookback = self.model_config.lookback
        windows = np.stack([complete_lookback((np.asarray(h, dtype=np.float64) - m) / s, lookback,
                                              f"series {names[j]!r}" if names is not None else f"series #{j}")
                            for j, (h, m, s) in enumerate(zip(histories, mean, std))])
        out = self.forecast_scaled(torch.as_tensor(windows, dtype=torch.float32)[:, :, None], batch_size)
        out = out * std.reshape((-1,) + (1,) * (out.ndim - 1)) + mean.reshape((-1,) + (1,) * (out.ndim - 1))
        if out.ndim == 3:
            return out[:, :, self.model.point_index], out
        return out, None

    @torch.no_grad()
    def forecast_scaled(self, windows: torch.Tensor, batch_size: int = 256) -> np.ndarray:
        """(N, L, 1) scaled windows → (N, H) points or (N, H, Q) quantiles, scaled, in the precision the model
        trained in (bf16 autocast after a bf16-mixed run)."""
        self.model.eval()
        quantiles = has_quantile_head(self.model)
        outputs = []
        for start in range(0, len(windows), batch_size):
            batch = windows[start:start + batch_size]
            with torch.autocast("cpu", dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None):
                out = self.model.predict_quantiles(batch)[:, :, 0, :] if quantiles else self.model(batch)[:, :, 0]
            outputs.append(out.float().numpy())
        return np.concatenate(outputs)

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return autocast_dtype(self.precision)

    # -- the saved folder ----------------------------------------------------------------------------------------
    def payload(self) -> dict:
        """What the saved folder holds beside the weights."""
        return {"model_config": self.model_config.to_dict(), "train_config": self.train_config.to_dict(),
                "scaler": self.scaler.state_dict(), "freq": self.freq, "dataset": self.dataset,
                "precision": self.precision, "interface": self.extra}

    def save(self, path: str | Path) -> Path:
        save_checkpoint(path, {**self.payload(), "trainable_state": self.model.trainable_state_dict(),
                               "metrics": self.metrics})
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, expect_backbone: str | None = None) -> "ForecastPipeline":
        payload = load_checkpoint(path)
        model_config = ModelConfig.from_saved(payload["model_config"])
        if expect_backbone and model_config.model == "reprogrammed" and expect_backbone != model_config.backbone:
            raise ConfigError(f"{path}: checkpoint was trained with backbone '{model_config.backbone}', "
                              f"not '{expect_backbone}'")
        model = build_model(model_config)
        load_trainable(model, payload["trainable_state"], str(path))
        extra = dict(payload.get("interface") or {})
        dataset = dict(payload.get("dataset") or {})
        return cls(model_config, TrainConfig.from_dict(payload["train_config"]), model.eval(),
                   _saved_scaler(payload, extra, dataset, path), payload.get("freq") or dataset.get("freq") or
                   extra.get("freq"), dataset,
                   # files written before the precision was recorded were scored in fp32
                   payload.get("precision") or extra.get("precision") or "32", payload.get("metrics") or {},
                   [], extra)

    @property
    def dataset_path(self) -> str:
        """Where the training data is: a registered name as trained, a CSV by the absolute path the checkpoint
        recorded (the relative one in the training config only holds from the folder training ran in)."""
        from tsreprog.data.registry import DATASETS

        kind = self.extra.get("kind")
        if kind in ("pandas", "gluonts"):  # its training config still holds the default dataset, never trained on
            names = list(self.scaler.names or [])
            raise ConfigError(f"this model was trained on a {'pandas frame' if kind == 'pandas' else 'GluonTS dataset'}"
                              f", not a file: give the data (--dataset, a CSV with its series as columns: "
                              f"{', '.join(map(str, names[:5]))}{', ...' if len(names) > 5 else ''})")
        name = self.train_config.dataset
        if name.lower() in DATASETS and not Path(name).suffix:  # a registered name keeps its own split rule
            return name
        source = self.dataset.get("source", "")
        if not Path(name).exists() and source and Path(source).is_absolute() and Path(source).is_file():
            return source
        return name


def _saved_scaler(payload: dict, extra: dict, dataset: dict, path) -> StandardScaler:
    """The scaler of a saved folder. Folders written before the scaler was one per route kept the pandas route's
    statistics with its series, the GluonTS route's by item id, and the CLI's without names (its columns)."""
    state = payload.get("scaler") or {}
    if state.get("mean") is not None:
        if not state.get("names"):
            state = {**state, "names": list(dataset.get("columns") or [])}
        return StandardScaler.from_state_dict(state)
    if extra.get("series"):
        series = extra["series"]
        return StandardScaler(np.asarray([s["mean"] for s in series], dtype=np.float64),
                              np.asarray([s["std"] for s in series], dtype=np.float64),
                              [str(s["item_id"]) for s in series])
    if extra.get("scalers"):
        names = list(extra["scalers"])
        return StandardScaler(np.asarray([extra["scalers"][n][0] for n in names], dtype=np.float64),
                              np.asarray([extra["scalers"][n][1] for n in names], dtype=np.float64), names)
    if extra.get("kind"):  # a route that scales every series by its own statistics
        return StandardScaler(np.zeros(0), np.zeros(0), [])
    warnings.warn(f"{path}: holds no scaler; forecasts scale each series by its own history", stacklevel=3)
    return StandardScaler(np.zeros(0), np.zeros(0), [])
