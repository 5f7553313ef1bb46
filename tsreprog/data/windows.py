"""The one windowing path: (look-back, horizon) pairs cut from scaled univariate series, for every input route.

A CSV's columns under the protocol and a pandas or GluonTS collection of series of different lengths are the same
thing here, a list of series: each column is a series, and a window is used only where its look-back and horizon
are fully observed (gaps are NaN and never filled), so nothing invented is trained on or scored against.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from tsreprog.data.core import too_short
from tsreprog.errors import DataError


def valid_starts(values: np.ndarray, length: int, stop: int | None = None) -> np.ndarray:
    """Start indices of windows of ``length`` with no NaN that end at or before ``stop`` (vectorised)."""
    stop = len(values) if stop is None else stop
    if stop < length:
        return np.zeros(0, dtype=np.int64)
    missing = np.concatenate([[0], np.cumsum(np.isnan(values[:stop]))])
    counts = missing[length:] - missing[:-length]
    return np.flatnonzero(counts == 0)


def _per_series(value: int | Sequence[int] | None, n: int, default: Sequence[int]) -> list[int]:
    if value is None:
        return list(default)
    if isinstance(value, (int, np.integer)):
        return [int(value)] * n
    return [int(v) for v in value]


class SeriesWindows(Dataset):
    """Univariate windows over several scaled series, sample ``i`` of shape (L, 1) and (H, 1).

    A window ``[s, s + L + H)`` of series ``k`` is used when it is fully observed, starts at or after ``first[k]``,
    ends at or before ``stop[k]`` and its target starts at or after ``target_from[k]`` (a validation or test region
    whose look-back may reach back into the rows before it). ``stride`` thins each series' windows from the first.
    Samples are ordered window position first, series second, so a batch mixes series (for the columns of one file,
    ``index = window * n_series + column``).
    """

    def __init__(self, series: Sequence[np.ndarray], lookback: int, horizon: int, stride: int = 1,
                 first: int | Sequence[int] | None = None, stop: int | Sequence[int] | None = None,
                 target_from: int | Sequence[int] | None = None, source: str = "data",
                 names: Sequence[str] | None = None) -> None:
        if stride < 1:
            raise DataError(f"window stride must be >= 1, got {stride}")
        n = len(series)
        first_rows = _per_series(first, n, [0] * n)
        stop_rows = _per_series(stop, n, [len(s) for s in series])
        target_rows = _per_series(target_from, n, [0] * n)
        self.lookback, self.horizon, self.stride = lookback, horizon, stride
        self.n_channels = n
        self.data = [torch.as_tensor(np.ascontiguousarray(s), dtype=torch.float32) for s in series]
        length = lookback + horizon
        ordinals, which, starts = [], [], []
        for k, values in enumerate(series):
            begin = max(first_rows[k], target_rows[k] - lookback)
            found = valid_starts(np.asarray(values[begin:stop_rows[k]], dtype=np.float64), length) + begin
            found = found[::stride]
            ordinals.append(np.arange(len(found)))
            which.append(np.full(len(found), k))
            starts.append(found)
        ordinal = np.concatenate(ordinals) if ordinals else np.zeros(0, dtype=np.int64)
        order = np.lexsort((np.concatenate(which), ordinal)) if len(ordinal) else ordinal
        self.series_index = np.concatenate(which)[order].astype(np.int64) if len(ordinal) else ordinal
        self.starts = np.concatenate(starts)[order].astype(np.int64) if len(ordinal) else ordinal
        self.n_windows = int(ordinal.max()) + 1 if len(ordinal) else 0  # window positions of the longest series
        if len(self.starts) == 0:
            spans = [stop_rows[j] - max(first_rows[j], target_rows[j] - lookback) for j in range(n)] or [0]
            k = int(np.argmax(spans))
            gaps = any(np.isnan(np.asarray(s, dtype=np.float64)).any() for s in series)
            name = f"{source}, series {names[k]!r} (the longest)" if names and n > 1 else source
            raise too_short(name, max(spans[k], 0), length,
                            "fully observed look-back + horizon" if gaps else "look-back + horizon")

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        values = self.data[self.series_index[i]]
        start = self.starts[i]
        mid = start + self.lookback
        return values[start:mid, None], values[mid:mid + self.horizon, None]
