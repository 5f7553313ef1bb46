"""Read series from CSV files and pandas frames, and refuse bad input with a line naming file, column and row.

Row numbers in messages are CSV line numbers (the header is line 1), so that users can open the file at that line.
"""

from __future__ import annotations

import warnings

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


DUPLICATE_ROWS = ("error", "keep", "drop")


def read_csv_table(
    path: str | Path,
    date_column: str | None = "date",
    columns: list[str] | None = None,
    duplicate_rows: str = "error",
) -> SeriesTable:
    """Load a wide CSV (one column per channel). ``date_column=None`` means there is no time column.

    ``duplicate_rows``: a timestamp that repeats with the same values is an error (``error``, user data), kept as
    published with a warning (``keep``: registered benchmark files, whose protocol counts rows by position), or
    dropped (``drop``, asked for explicitly). A repeated timestamp with other values is always an error."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path)
    except Exception as exc:  # pandas raises many types for malformed files
        raise DataError(f"{path}: cannot be read as CSV ({exc.__class__.__name__}: {exc})") from None
    if duplicate_rows not in DUPLICATE_ROWS:
        raise DataError(f"duplicate_rows must be one of {', '.join(DUPLICATE_ROWS)}, got '{duplicate_rows}'")
    if date_column is not None and date_column in frame.columns and duplicate_rows != "error":
        frame = _exact_duplicates(frame, date_column, str(path), duplicate_rows)
    return table_from_wide_frame(frame, date_column=date_column, columns=columns, source=str(path),
                                 allow_repeated_times=duplicate_rows == "keep")


def _exact_duplicates(frame: pd.DataFrame, date_column: str, source: str, policy: str) -> pd.DataFrame:
    """Rows that repeat the row before them exactly (timestamp and every value): kept with a warning or dropped."""
    exact = frame.duplicated(keep="first") & frame[date_column].duplicated(keep="first")
    if not exact.any():
        return frame
    lines = ", ".join(f"line {i + 2} ({frame[date_column].iloc[i]})" for i in np.flatnonzero(exact.to_numpy())[:5])
    if policy == "drop":
        warnings.warn(f"{source}: dropped {int(exact.sum())} exact duplicate row(s): {lines}", stacklevel=3)
        return frame[~exact].reset_index(drop=True)
    warnings.warn(f"{source}: {int(exact.sum())} exact duplicate row(s) kept as published (rows count by position): "
                  f"{lines}", stacklevel=3)
    return frame


def table_from_wide_frame(
    frame: pd.DataFrame,
    date_column: str | None = "date",
    columns: list[str] | None = None,
    source: str = "<frame>",
    allow_repeated_times: bool = False,
) -> SeriesTable:
    """Validate a wide frame and turn it into a :class:`SeriesTable` (``allow_repeated_times``: exact duplicate
    rows already reported by the reader stay, see :func:`read_csv_table`)."""
    if frame.empty:
        raise DataError(f"{source}: no rows")
    timestamps = None
    if date_column is not None:
        if date_column not in frame.columns:
            raise DataError(f"{source}: no column '{date_column}' (columns: {', '.join(map(str, frame.columns))})")
        repeated = frame.duplicated(keep="first") if allow_repeated_times else None
        timestamps = _parse_timestamps(frame[date_column], source, date_column, repeated)
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
        _check_one_frequency(timestamps, source, date_column)
        freq = pd.infer_freq(timestamps[: min(len(timestamps), 1000)])
    return SeriesTable(values, [str(c) for c in value_columns], timestamps, source, freq)


def _check_one_frequency(index: pd.DatetimeIndex, source: str, column: str) -> None:
    """Refuse a table whose rows follow two spacings (hourly rows, then 15-minute ones): windows would mix time
    scales without a word. Gaps (a longer step now and then) and the odd short step are allowed."""
    steps = np.diff(index.asi8)
    steps = steps[steps > 0]
    if steps.size < 2:
        return
    values, counts = np.unique(steps, return_counts=True)
    modal, smallest = values[np.argmax(counts)], values[0]
    if smallest != modal and counts[0] >= max(3, 0.01 * steps.size):
        row = int(np.flatnonzero(np.diff(index.asi8) == smallest)[0]) + 1
        raise DataError(f"{source}: column '{column}' line {row + 2}: rows are {pd.Timedelta(int(modal))} apart "
                        f"but {counts[0]} are {pd.Timedelta(int(smallest))} apart (mixed frequencies); resample "
                        f"to one frequency first")


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


def _parse_timestamps(series: pd.Series, source: str, column: str,
                      allowed_repeats: pd.Series | None = None) -> pd.DatetimeIndex:
    parsed = pd.to_datetime(series, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{source}: column '{column}' line {row + 2}: not a timestamp: {series.iloc[row]!r}")
    index = pd.DatetimeIndex(parsed)
    steps = np.diff(index.asi8)
    repeats = steps == 0
    if allowed_repeats is not None:  # exact duplicate rows the reader was told to keep
        repeats &= ~allowed_repeats.to_numpy()[1:]
    if repeats.any():
        row = int(np.flatnonzero(repeats)[0]) + 1
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
