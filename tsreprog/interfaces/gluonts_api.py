"""GluonTS Estimator and Predictor: train on any GluonTS ``Dataset``, predict ``QuantileForecast`` objects that
``gluonts.evaluation`` scores (MASE, sMAPE, weighted quantile loss), serialise and deserialise.

Training, scaling and forecasting are the one pipeline's (:class:`tsreprog.train.pipeline.ForecastPipeline`), as
on the CLI and pandas routes; this module only translates GluonTS entries and forecasts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch
from gluonts.dataset import Dataset
from gluonts.model.estimator import Estimator
from gluonts.model.forecast import QuantileForecast
from gluonts.model.predictor import Predictor

from tsreprog.data.collection import Series, SeriesCollection
from tsreprog.errors import ConfigError, DataError
from tsreprog.interfaces.core import split_options, train_collection
from tsreprog.models import ModelConfig
from tsreprog.train.checkpoint import CHECKPOINT_NAME
from tsreprog.train.config import TrainConfig
from tsreprog.train.pipeline import ForecastPipeline


def collection_from_gluonts(dataset: Dataset, freq: str | None = None) -> SeriesCollection:
    series, freqs = [], set()
    if isinstance(dataset, pd.DataFrame):  # iterating it would yield column names, each a puzzling "entry"
        raise DataError("a pandas DataFrame is not a GluonTS dataset: wrap it (gluonts.dataset.pandas.PandasDataset) "
                        "or use tsreprog.interfaces.pandas_api.Forecaster")
    for k, entry in enumerate(dataset):
        if not isinstance(entry, Mapping):
            raise DataError(f"GluonTS entry {k}: expected a dict with 'start' and 'target', got {type(entry).__name__}")
        if "target" not in entry or "start" not in entry:
            raise DataError(f"GluonTS entry {k}: needs 'start' and 'target'")
        try:
            target = np.asarray(entry["target"], dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise DataError(f"GluonTS entry {k} (item {entry.get('item_id', k)!r}): non-numeric target ({error})"
                            ) from None
        if target.ndim != 1:
            raise DataError(f"GluonTS entry {k}: multivariate targets are not supported; one entry per series")
        start = entry["start"]
        if isinstance(start, pd.Period):
            freqs.add(start.freqstr)
            start = start.to_timestamp()
        if np.isinf(target).any():  # a gap is NaN; an infinite value is an error, never a gap
            raise DataError(f"GluonTS entry {k} (item {entry.get('item_id', k)!r}): infinite value at position "
                            f"{int(np.flatnonzero(np.isinf(target))[0])}")
        series.append(Series(str(entry.get("item_id", k)), pd.Timestamp(start), target))
    if not series:
        raise DataError("the GluonTS dataset is empty")
    if freq is None:
        if len(freqs) != 1:
            raise DataError("cannot tell the dataset's frequency; pass freq=")
        freq = freqs.pop()
    return SeriesCollection(series, freq)


class ReprogrammedPredictor(Predictor):
    """Forecasts the ``prediction_length`` steps after each entry's target, through the one pipeline (series seen
    in training are scaled as then, unseen ones by their own history)."""

    def __init__(self, pipeline: ForecastPipeline, prediction_length: int) -> None:
        super().__init__(prediction_length=prediction_length)
        self.pipeline = pipeline

    @property
    def model(self) -> torch.nn.Module:
        return self.pipeline.model

    @property
    def model_config(self) -> ModelConfig:
        return self.pipeline.model_config

    @property
    def freq(self) -> str:
        return self.pipeline.freq

    @property
    def precision(self) -> str:
        return self.pipeline.precision

    def predict(self, dataset: Dataset, num_samples: int | None = None, **kwargs) -> Iterator[QuantileForecast]:
        entries = list(dataset)
        for k, entry in enumerate(entries):  # a daily dataset forecast by an hourly model is refused, as in pandas
            start = entry.get("start")
            if isinstance(start, pd.Period) and pd.tseries.frequencies.to_offset(start.freqstr) != \
                    pd.tseries.frequencies.to_offset(self.freq):
                raise DataError(f"GluonTS entry {k} (item {entry.get('item_id', k)!r}) has frequency "
                                f"{start.freqstr}, the model was trained on {self.freq} data")
        points, bands = self.pipeline.forecast([np.asarray(e["target"], dtype=np.float64) for e in entries],
                                               [str(e.get("item_id", i)) for i, e in enumerate(entries)])
        quantiles = self.model_config.quantiles
        for k, entry in enumerate(entries):
            start = entry["start"]
            start = start if isinstance(start, pd.Period) else pd.Period(start, freq=self.freq)
            first = start + len(entry["target"])
            values = points[k, : self.prediction_length]
            if quantiles:
                arrays = bands[k, : self.prediction_length].T  # (Q, H)
                keys = [str(q) for q in quantiles]
                if "0.5" not in keys:
                    arrays, keys = np.concatenate([arrays, values[None]]), keys + ["0.5"]
                arrays, keys = np.concatenate([arrays, values[None]]), keys + ["mean"]
            else:
                arrays, keys = np.stack([values, values]), ["mean", "0.5"]
            yield QuantileForecast(arrays, first, keys, item_id=entry.get("item_id"))

    def serialize(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        super().serialize(path)
        self.pipeline.extra = {"kind": "gluonts", "freq": self.freq, "prediction_length": self.prediction_length}
        self.pipeline.save(path / CHECKPOINT_NAME)

    @classmethod
    def deserialize(cls, path: Path, **kwargs) -> "ReprogrammedPredictor":
        """A serialised predictor, or any saved model of the one format (what `tsreprog train` wrote: its run or
        model folder), which then forecasts its whole horizon at the frequency it trained at."""
        pipeline = ForecastPipeline.load(path)  # the folder's model/ (or its earlier tsreprog.pt), or the model itself
        kind = pipeline.extra.get("kind")
        if kind not in (None, "gluonts"):
            raise ConfigError(f"{path}: saved by the {kind} interface: load it there")
        pipeline.freq = pipeline.freq or pipeline.extra.get("freq")
        if pipeline.freq is None:
            raise ConfigError(f"{path}: trained on data without timestamps: GluonTS needs a frequency")
        return cls(pipeline, pipeline.extra.get("prediction_length", pipeline.model_config.horizon))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReprogrammedPredictor):
            return NotImplemented
        mine, theirs = self.model.trainable_state_dict(), other.model.trainable_state_dict()
        return (self.model_config == other.model_config and self.freq == other.freq
                and self.prediction_length == other.prediction_length and mine.keys() == theirs.keys()
                and all(torch.equal(mine[k], theirs[k]) for k in mine))


class ReprogrammedEstimator(Estimator):
    """``ReprogrammedEstimator(prediction_length=24, freq="h", backbone="minilm-l6", lookback=168,
    quantiles=[0.1, 0.5, 0.9], epochs=5).train(dataset)`` → :class:`ReprogrammedPredictor`."""

    def __init__(self, prediction_length: int, freq: str | None = None, backbone: str = "minilm-l6",
                 lookback: int = 96, quantiles: list[float] | None = None, **options) -> None:
        super().__init__()
        model_options, train_options = split_options(options, backbone)
        self.prediction_length, self.freq = prediction_length, freq
        self.model_config = ModelConfig.from_dict(dict(backbone=backbone, lookback=lookback,
                                                       horizon=prediction_length, quantiles=quantiles,
                                                       **model_options))
        self.train_config = TrainConfig.from_dict({"progress": False, **train_options})

    def train(self, training_data: Dataset, validation_data: Dataset | None = None,
              **kwargs) -> ReprogrammedPredictor:
        """Train on ``training_data``; early stopping uses the last ``prediction_length`` steps of each series
        (``validation_data``, when given, must hold the same series extended further; its tail is used)."""
        data = validation_data if validation_data is not None else training_data
        collection = collection_from_gluonts(data, self.freq)
        holdout = self.prediction_length
        if validation_data is not None:
            train_lengths = [len(np.asarray(e["target"])) for e in training_data]
            holdout = max(len(s.values) - n for s, n in zip(collection.series, train_lengths)) or holdout
        pipeline = train_collection(self.model_config, self.train_config, collection, holdout, "the GluonTS dataset")
        return ReprogrammedPredictor(pipeline, self.prediction_length)
