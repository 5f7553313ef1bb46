"""Several univariate series of different lengths (a long frame or a GluonTS dataset), on their own regular grids.

Gaps are kept as NaN rather than filled: a window is used only when its look-back and horizon are fully observed,
so no invented value is ever trained on or scored against (:mod:`tsreprog.data.windows`). Scaling and windowing are
the protocol's own (one scaler row per series, fitted on its training rows).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tsreprog.data.core import check_increasing, infer_frequency, numeric_values, parse_timestamps
from tsreprog.errors import DataError


@dataclass
class Series:
    item_id: str
    start: pd.Timestamp
    values: np.ndarray  # float64, NaN where missing, on a regular grid


@dataclass
class SeriesCollection:
    series: list[Series]
    freq: str
    filled: dict[str, int] = field(default_factory=dict)  # grid points missing per series

    def timestamps(self, s: Series) -> pd.DatetimeIndex:
        return pd.date_range(s.start, periods=len(s.values), freq=self.freq)

    @property
    def names(self) -> list[str]:
        return [s.item_id for s in self.series]

    @property
    def values(self) -> list[np.ndarray]:
        return [s.values for s in self.series]


def collection_from_long(frame: pd.DataFrame, id_col: str = "unique_id", time_col: str = "ds",
                         target_col: str = "y", freq: str | None = None) -> SeriesCollection:
    """Validate a long frame and put every series on a regular grid (gaps as NaN)."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame with columns {id_col}, {time_col}, {target_col}; got "
                        f"{type(frame).__name__}")
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
