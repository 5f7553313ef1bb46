"""Several univariate series of different lengths (a long frame or a GluonTS dataset), on their own regular grids.

Gaps are kept as NaN rather than filled: a window is used only when its look-back and horizon are fully observed,
so no invented value is ever trained on or scored against. Each series has its own scaler, fitted on the rows that
are used for training.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from tsreprog.data.core import (check_increasing, infer_frequency, numeric_values, parse_timestamps,
                                scale_statistics, too_short)
from tsreprog.data.protocol import few_shot_end
from tsreprog.errors import DataError


@dataclass
class Series:
    item_id: str
    start: pd.Timestamp
    values: np.ndarray  # float64, NaN where missing, on a regular grid
    mean: float = 0.0
    std: float = 1.0

    def scaled(self) -> np.ndarray:
        return (self.values - self.mean) / self.std


@dataclass
class SeriesCollection:
    series: list[Series]
    freq: str
    filled: dict[str, int] = field(default_factory=dict)  # grid points missing per series

    def timestamps(self, s: Series) -> pd.DatetimeIndex:
        return pd.date_range(s.start, periods=len(s.values), freq=self.freq)

    def fit_scalers(self, end_offset: int = 0) -> None:
        """Per-series mean/std over observed values, leaving out the last ``end_offset`` rows (held out)."""
        for s in self.series:
            part = s.values[: len(s.values) - end_offset] if end_offset else s.values
            mean, std = scale_statistics(part[:, None], [f"series {s.item_id!r}"], "data")
            s.mean, s.std = float(mean[0]), float(std[0])


def collection_from_long(frame: pd.DataFrame, id_col: str = "unique_id", time_col: str = "ds",
                         target_col: str = "y", freq: str | None = None) -> SeriesCollection:
    """Validate a long frame and put every series on a regular grid (gaps as NaN)."""
    missing = [c for c in (id_col, time_col, target_col) if c not in frame.columns]
    if missing:
        raise DataError(f"frame has no column '{missing[0]}' (columns: {', '.join(map(str, frame.columns))}); "
                        "set id_col / time_col / target_col")
    if frame.empty:
        raise DataError(f"frame has no rows (columns {id_col}, {time_col}, {target_col} are there, but empty)")
    extra = [c for c in frame.columns if c not in (id_col, time_col, target_col)]
    if extra:
        warnings.warn(f"ignoring extra column(s) {', '.join(map(str, extra))}: covariates are not used", stacklevel=3)
    times = parse_timestamps(frame[time_col], "frame", time_col, frame_row)
    values = numeric_values(frame[target_col], "frame", target_col, frame_row, allow_missing=True)
    work = pd.DataFrame({"id": frame[id_col].astype(str).to_numpy(), "t": times, "y": values,
                         "row": np.arange(len(frame))})
    series, freqs, filled = [], set(), {}
    for item_id, group in work.sort_values(["id", "t"], kind="stable").groupby("id", sort=False):
        index = pd.DatetimeIndex(group["t"])
        rows = group["row"].to_numpy()
        check_increasing(index, f"frame, series {item_id!r}", time_col, lambda i: frame_row(rows[i]))
        step = freq or infer_frequency(index, f"series {item_id!r}")
        freqs.add(step)
        grid = pd.date_range(index[0], index[-1], freq=step)
        if not index.isin(grid).all():
            raise DataError(f"series {item_id!r}: timestamps do not lie on a regular {step} grid")
        regular = group.set_index("t")["y"].reindex(grid).to_numpy(dtype=np.float64)
        filled[item_id] = int(np.isnan(regular).sum())
        series.append(Series(item_id, grid[0], regular))
    if len(freqs) > 1:
        raise DataError(f"series have different frequencies ({', '.join(sorted(freqs))}); pass freq= explicitly")
    return SeriesCollection(series, freqs.pop(), filled)


def frame_row(row: int) -> str:
    """A row of the user's frame, by position."""
    return f"row {row}"


def valid_starts(values: np.ndarray, length: int, stop: int | None = None) -> np.ndarray:
    """Start indices of windows of ``length`` with no NaN that end at or before ``stop`` (vectorised)."""
    stop = len(values) if stop is None else stop
    if stop < length:
        return np.zeros(0, dtype=np.int64)
    missing = np.concatenate([[0], np.cumsum(np.isnan(values[:stop]))])
    counts = missing[length:] - missing[:-length]
    return np.flatnonzero(counts == 0)


class CollectionWindows(Dataset):
    """Univariate (look-back, horizon) windows over every series, only fully observed ones, scaled per series."""

    def __init__(self, collection: SeriesCollection, lookback: int, horizon: int, stride: int = 1,
                 region: str = "train", holdout: int = 0, fraction: float = 1.0) -> None:
        """``region``: "train" uses windows ending before the last ``holdout`` rows of each series, "holdout" the
        windows whose horizon lies in those rows (the look-back may reach back into the training part).
        ``fraction`` < 1 keeps each series' first share of training window starts (few-shot, as the CSV path)."""
        self.lookback, self.horizon = lookback, horizon
        self.data: list[torch.Tensor] = []
        index = []
        for k, s in enumerate(collection.series):
            scaled = s.scaled()
            n = len(scaled)
            if region == "train":
                stop = few_shot_end(0, n - holdout, lookback, fraction)
                starts = valid_starts(scaled, lookback + horizon, stop)[::stride]
            else:
                starts = valid_starts(scaled, lookback + horizon, n)
                starts = starts[starts + lookback + horizon > n - holdout][::stride]
            self.data.append(torch.as_tensor(scaled, dtype=torch.float32))
            index.append(np.stack([np.full(len(starts), k), starts], axis=1))
        self.index = np.concatenate(index) if index else np.zeros((0, 2), dtype=np.int64)
        if len(self.index) == 0:
            longest = max(collection.series, key=lambda s: len(s.values))
            raise too_short(f"series {longest.item_id!r} (the longest; {region} part)",
                            len(longest.values) - (holdout if region == "train" else 0), lookback + horizon,
                            "fully observed look-back + horizon")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        k, start = self.index[i]
        values = self.data[k]
        mid = start + self.lookback
        return values[start:mid, None], values[mid:mid + self.horizon, None]
