"""``Forecaster``: fit on a pandas long frame, predict future rows, cross-validate, save and load.

Conventions follow neuralforecast: columns ``unique_id``, ``ds``, ``y`` (configurable), forecasts in a column named
by the model alias, quantiles as ``<alias>-q-<level>`` columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tsreprog.data.collection import SeriesCollection, collection_from_long
from tsreprog.errors import ConfigError, DataError
from tsreprog.interfaces.core import split_options, train_collection
from tsreprog.io import check_writable
from tsreprog.models import ModelConfig
from tsreprog.train.checkpoint import CHECKPOINT_NAME
from tsreprog.train.config import TrainConfig
from tsreprog.train.pipeline import ForecastPipeline


class Forecaster:
    """A reprogrammed forecaster for many series at once.

    >>> fc = Forecaster(backbone="minilm-l6", lookback=168, horizon=24, quantiles=[0.1, 0.5, 0.9], epochs=3)
    >>> fc.fit(df).predict()   # unique_id, ds, tsreprog, tsreprog-q-0.1, tsreprog-q-0.5, tsreprog-q-0.9
    """

    def __init__(self, backbone: str = "minilm-l6", lookback: int = 96, horizon: int = 24,
                 quantiles: list[float] | None = None, freq: str | None = None, id_col: str = "unique_id",
                 time_col: str = "ds", target_col: str = "y", alias: str = "tsreprog", val_size: int | None = None,
                 **options) -> None:
        model_options, train_options = split_options(options, backbone)
        # from_dict: every value converted to its setting's type, or one line naming it (lookback="32" is 32)
        self.model_config = ModelConfig.from_dict(dict(backbone=backbone, lookback=lookback, horizon=horizon,
                                                       quantiles=quantiles, **model_options))
        self.train_config = TrainConfig.from_dict({"progress": False, **train_options})
        self.freq, self.id_col, self.time_col, self.target_col = freq, id_col, time_col, target_col
        self.alias = alias
        self.history = "all"  # what save() keeps of the series is chosen there
        self.val_size = val_size or horizon
        self.pipeline: ForecastPipeline | None = None
        self.collection: SeriesCollection | None = None

    @property
    def model(self):
        """The trained network (``None`` before ``fit``)."""
        return self.pipeline.model if self.pipeline is not None else None

    @property
    def precision(self) -> str:
        return self.pipeline.precision if self.pipeline is not None else self.train_config.precision

    # -- fitting -------------------------------------------------------------------------------------------------
    def _collect(self, df: pd.DataFrame) -> SeriesCollection:
        return collection_from_long(df, self.id_col, self.time_col, self.target_col, self.freq)

    def _collect_like_fitted(self, df: pd.DataFrame) -> SeriesCollection:
        """A frame given to predict or cross_validation, read at its own frequency first: read at the fitted one,
        daily data given to an hourly model would be interpolated into a wrong forecast with only a warning."""
        try:
            own = collection_from_long(df, self.id_col, self.time_col, self.target_col, None)
        except DataError:  # too irregular to infer on its own: read it at the fitted frequency
            return self._collect(df)
        if self.freq is None:  # a model trained on a file without timestamps: any spacing is the one it knows
            return own
        if pd.tseries.frequencies.to_offset(own.freq) != pd.tseries.frequencies.to_offset(self.freq):
            raise DataError(f"the frame's frequency is {own.freq}, the model was fitted on {self.freq} data")
        return self._collect(df)

    def fit(self, df: pd.DataFrame) -> "Forecaster":
        """Train on every series of ``df``; the last ``val_size`` rows of each series are held out to steer early
        stopping (validation windows forecast them), the rows before them fit the scaler and train."""
        self.collection = self._collect(df)
        self.freq = self.collection.freq
        self.history = "all"  # in memory, every value fitted on
        self.pipeline = train_collection(self.model_config, self.train_config, self.collection, self.val_size,
                                         "frame")
        return self

    def _require_fitted(self) -> None:
        if self.pipeline is None or self.collection is None:
            raise ConfigError("call fit(df) (or Forecaster.load(path)) before predicting")

    # -- forecasting ---------------------------------------------------------------------------------------------
    def _columns(self) -> list[str]:
        columns = [self.alias]
        if self.model_config.quantiles:
            columns += [f"{self.alias}-q-{q:g}" for q in self.model_config.quantiles]
        return columns

    def _forecast(self, collection: SeriesCollection, ends: list[int], h: int, cutoffs: bool = False
                  ) -> pd.DataFrame:
        """The pipeline's forecast from each series' rows before ``ends[k]``, as a frame of ``h`` rows per series."""
        points, quantiles = self.pipeline.forecast([s.values[:end] for s, end in zip(collection.series, ends)],
                                                   collection.names)
        parts = []
        for k, s in enumerate(collection.series):
            stamps = collection.timestamps(s)
            start = stamps[0] + ends[k] * pd.tseries.frequencies.to_offset(collection.freq)
            frame = {self.id_col: s.item_id, self.time_col: pd.date_range(start, periods=h, freq=collection.freq),
                     self.alias: points[k, :h]}
            if quantiles is not None:
                for j, column in enumerate(self._columns()[1:]):
                    frame[column] = quantiles[k, :h, j]
            if cutoffs:
                frame["cutoff"] = stamps[ends[k] - 1]
                truth = s.values[ends[k]:ends[k] + h]
                frame[self.target_col] = np.concatenate([truth, np.full(h - len(truth), np.nan)])
            parts.append(pd.DataFrame(frame))
        return pd.concat(parts, ignore_index=True)

    def predict(self, h: int | None = None, df: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast ``h`` (≤ horizon) steps past the end of each series (of ``df`` if given: series seen at fit
        time are scaled as then, unseen ones by their own history)."""
        self._require_fitted()
        h = self._check_h(h)
        if df is None and self.history == "none":
            raise ConfigError("this Forecaster keeps no history (saved with history='none', or loaded from a model "
                              "trained on a file): pass df=")
        collection = self._collect_like_fitted(df) if df is not None else self.collection
        return self._forecast(collection, [len(s.values) for s in collection.series], h)

    def cross_validation(self, n_windows: int = 1, step: int | None = None, h: int | None = None,
                         df: pd.DataFrame | None = None) -> pd.DataFrame:
        """Rolling-origin evaluation without refitting: ``n_windows`` cutoffs ``step`` rows apart, the last one
        ``h`` rows before each series' end; returns forecasts beside the truth (``cutoff`` and ``y`` columns)."""
        self._require_fitted()
        h = self._check_h(h)
        step = step or h
        if n_windows < 1 or step < 1:
            raise ConfigError("n_windows and step must be >= 1")
        if df is None and self.history != "all":
            raise ConfigError(f"this Forecaster was saved with history='{self.history}', not every value: pass df=")
        collection = self._collect_like_fitted(df) if df is not None else self.collection
        reach = self.model_config.lookback + h + (n_windows - 1) * step
        short = min(collection.series, key=lambda s: len(s.values))
        if len(short.values) < reach:
            raise DataError(f"series '{short.item_id}': {len(short.values)} rows, fewer than the {reach} that "
                            f"{n_windows} windows {step} apart need (look-back {self.model_config.lookback} before "
                            f"the first cutoff, h={h} after the last); use fewer windows or a smaller step")
        frames = []
        for w in range(n_windows):
            back = h + (n_windows - 1 - w) * step
            frames.append(self._forecast(collection, [len(s.values) - back for s in collection.series], h, True))
        result = pd.concat(frames, ignore_index=True)
        return result[[self.id_col, self.time_col, "cutoff", self.target_col, *self._columns()]]

    def _check_h(self, h: int | None) -> int:
        if h is not None and (isinstance(h, bool) or not isinstance(h, (int, np.integer))):
            raise ConfigError(f"h must be a number of steps, got {type(h).__name__}"
                              + (": pass the frame as df=" if isinstance(h, pd.DataFrame) else ""))
        h = self.model_config.horizon if h is None else h
        if not 1 <= h <= self.model_config.horizon:
            raise ConfigError(f"h={h}: the model was trained for a horizon of {self.model_config.horizon}")
        return h

    # -- persistence ---------------------------------------------------------------------------------------------
    def save(self, path: str | Path, history: str = "none", overwrite: bool = False) -> Path:
        """Write a folder holding the saved model (``model/``: weights.safetensors + model.json with the configs,
        per-series scalers and precision). No training data is kept unless asked: with ``history="none"`` (the
        default) a loaded forecaster forecasts from the frame given to ``predict(df)``; ``"lookback"`` keeps each
        series' last look-back, what ``predict()`` without a frame forecasts from; ``"all"`` keeps every value
        (``cross_validation()`` without ``df`` needs it). A model already saved there is replaced only with
        ``overwrite=True``, as `tsreprog train` asks for ``--overwrite``: a second save must not lose the first."""
        self._require_fitted()
        if history not in ("lookback", "all", "none"):
            raise ConfigError(f"history must be one of lookback, all, none, got {history!r}")
        folder = Path(path)
        check_writable(folder / CHECKPOINT_NAME, overwrite, folder=True, how_to_replace="overwrite=True")
        series = []
        for s in self.collection.series:
            keep = {"lookback": min(len(s.values), self.model_config.lookback), "all": len(s.values),
                    "none": 0}[history]
            start = self.collection.timestamps(s)[len(s.values) - keep] if keep else s.start
            series.append({"item_id": s.item_id, "start": str(start),
                           "values": s.values[len(s.values) - keep:].tolist()})
        self.pipeline.extra = {"kind": "pandas", "freq": self.freq, "id_col": self.id_col, "time_col": self.time_col,
                               "target_col": self.target_col, "alias": self.alias, "val_size": self.val_size,
                               "series": series, "history": history}
        self.pipeline.save(folder / CHECKPOINT_NAME)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> "Forecaster":
        """A Forecaster's folder (from :meth:`save`), or any saved model of the one format: the ``model/`` folder
        itself, or what `tsreprog train` wrote (its run folder). A model trained on a file keeps no history here:
        ``predict(df=...)`` forecasts each series of ``df``, scaled as its column was in training if the ids are the
        column names (OT, ...), by its own history otherwise."""
        pipeline = ForecastPipeline.load(path)  # the folder's model/ (or its earlier tsreprog.pt), or the model itself
        extra = pipeline.extra
        if extra.get("kind") not in (None, "pandas"):
            raise ConfigError(f"{path}: saved by the {extra['kind']} interface: load it there")
        from tsreprog.data.collection import Series

        self = cls.__new__(cls)
        self.model_config, self.train_config, self.pipeline = pipeline.model_config, pipeline.train_config, pipeline
        if extra.get("kind") is None:  # trained by `tsreprog train` or fit(): the frame's defaults, no history
            self.freq, self.id_col, self.time_col, self.target_col = pipeline.freq, "unique_id", "ds", "y"
            self.alias, self.val_size, self.history = "tsreprog", self.model_config.horizon, "none"
            self.collection = SeriesCollection([], pipeline.freq)
            return self
        for key in ("freq", "id_col", "time_col", "target_col", "alias", "val_size"):
            setattr(self, key, extra[key])
        self.history = extra.get("history", "all")
        self.collection = SeriesCollection(
            [Series(s["item_id"], pd.Timestamp(s["start"]), np.asarray(s["values"], dtype=np.float64))
             for s in extra["series"]], extra["freq"])
        return self
