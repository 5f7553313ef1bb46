"""Read series from CSV files and pandas frames, and refuse bad input with a line naming file, column and row.

Row numbers in messages are CSV line numbers (the header is line 1), so that users can open the file at that line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsreprog.errors import DataError


@dataclass
class SeriesTable:
    """A multivariate series: values (T, C), column names and optional timestamps."""

    values: np.ndarray
    columns: list[str]
    timestamps: pd.DatetimeIndex | None
    source: str
    freq: str | None = None

    def __len__(self) -> int:
        return int(self.values.shape[0])


def read_csv_table(
    path: str | Path,
    date_column: str | None = "date",
    columns: list[str] | None = None,
) -> SeriesTable:
    """Load a wide CSV (one column per channel). ``date_column=None`` means there is no time column."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path)
    except Exception as exc:  # pandas raises many types for malformed files
        raise DataError(f"{path}: cannot be read as CSV ({exc.__class__.__name__}: {exc})") from None
    return table_from_wide_frame(frame, date_column=date_column, columns=columns, source=str(path))


def table_from_wide_frame(
    frame: pd.DataFrame,
    date_column: str | None = "date",
    columns: list[str] | None = None,
    source: str = "<frame>",
) -> SeriesTable:
    """Validate a wide frame and turn it into a :class:`SeriesTable`."""
    if frame.empty:
        raise DataError(f"{source}: no rows")
    timestamps = None
    if date_column is not None:
        if date_column not in frame.columns:
            raise DataError(f"{source}: no column '{date_column}' (columns: {', '.join(map(str, frame.columns))})")
        timestamps = _parse_timestamps(frame[date_column], source, date_column)
    value_columns = columns or [c for c in frame.columns if c != date_column]
    missing = [c for c in value_columns if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(map(str, missing))}")
    if not value_columns:
        raise DataError(f"{source}: no value columns")
    values = np.empty((len(frame), len(value_columns)), dtype=np.float64)
    for j, column in enumerate(value_columns):
        values[:, j] = _numeric_column(frame[column], source, column)
    freq = None
    if timestamps is not None and len(timestamps) >= 3:
        freq = pd.infer_freq(timestamps[: min(len(timestamps), 1000)])
    return SeriesTable(values, [str(c) for c in value_columns], timestamps, source, freq)


def _numeric_column(series: pd.Series, source: str, column: str) -> np.ndarray:
    numeric = pd.to_numeric(series, errors="coerce")
    bad = numeric.isna() & series.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{source}: column '{column}' line {row + 2}: non-numeric value {series.iloc[row]!r}")
    values = numeric.to_numpy(dtype=np.float64)
    not_finite = ~np.isfinite(values)
    if not_finite.any():
        row = int(np.flatnonzero(not_finite)[0])
        raise DataError(f"{source}: column '{column}' line {row + 2}: missing or infinite value ({values[row]})")
    return values


def _parse_timestamps(series: pd.Series, source: str, column: str) -> pd.DatetimeIndex:
    parsed = pd.to_datetime(series, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{source}: column '{column}' line {row + 2}: not a timestamp: {series.iloc[row]!r}")
    index = pd.DatetimeIndex(parsed)
    steps = np.diff(index.asi8)
    if (steps == 0).any():
        row = int(np.flatnonzero(steps == 0)[0]) + 1
        raise DataError(f"{source}: column '{column}' line {row + 2}: duplicate timestamp {index[row]}")
    if (steps < 0).any():
        row = int(np.flatnonzero(steps < 0)[0]) + 1
        raise DataError(f"{source}: column '{column}' line {row + 2}: timestamps not sorted ({index[row]} after "
                        f"{index[row - 1]})")
    return index


def table_from_long_frame(
    frame: pd.DataFrame,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    source: str = "<frame>",
) -> SeriesTable:
    """Pivot a long frame (``unique_id, ds, y``) to wide; all series must share the same timestamps."""
    for column in (id_col, time_col, target_col):
        if column not in frame.columns:
            raise DataError(f"{source}: no column '{column}' in long frame (columns: {', '.join(frame.columns)})")
    duplicated = frame.duplicated([id_col, time_col])
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise DataError(f"{source}: row {row}: duplicate timestamp {frame[time_col].iloc[row]} for series "
                        f"{frame[id_col].iloc[row]!r}")
    wide = frame.pivot(index=time_col, columns=id_col, values=target_col).sort_index()
    if wide.isna().any().any():
        column = wide.columns[wide.isna().any()][0]
        raise DataError(f"{source}: series {column!r} does not cover every timestamp of the others; "
                        "use the high-level interface for series of different lengths")
    wide = wide.reset_index()
    return table_from_wide_frame(wide, date_column=time_col, source=source)
