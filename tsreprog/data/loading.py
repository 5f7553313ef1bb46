"""Read series from CSV files and pandas frames, and refuse bad input with a line naming file, column and row.

Row numbers in messages are CSV line numbers (the header is line 1), so that users can open the file at that line.
"""

from __future__ import annotations

import warnings

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsreprog.data.core import (check_increasing, check_one_spacing, infer_frequency, numeric_values,
                                parse_timestamps)
from tsreprog.config_base import setting
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
    header = [str(name) for name in pd.read_csv(path, header=None, nrows=1).iloc[0]]  # as written, not renamed
    repeated = next((name for i, name in enumerate(header) if name in header[:i]), None)
    if repeated is not None:  # pandas would rename the second to 'name.1' and both would be read as data
        first, second = [i + 1 for i, name in enumerate(header) if name == repeated][:2]
        raise DataError(f"{path}: column '{repeated}' appears twice in the header (columns {first} and {second}); "
                        f"rename one")
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
            raise DataError(f"{source}: no column '{date_column}' (columns: {', '.join(map(str, frame.columns))}); "
                            "name the time column with date_column (--date-column), or none if the file has none")
        timestamps = parse_timestamps(frame[date_column], source, date_column, csv_line)
        repeated = frame.duplicated(keep="first").to_numpy() if allow_repeated_times else None
        check_increasing(timestamps, source, date_column, csv_line, repeated)
    value_columns = columns or [c for c in frame.columns if c != date_column]
    missing = [c for c in value_columns if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(map(str, missing))}")
    if not value_columns:
        raise DataError(f"{source}: no value columns")
    values = np.empty((len(frame), len(value_columns)), dtype=np.float64)
    for j, column in enumerate(value_columns):
        values[:, j] = numeric_values(frame[column], source, column, csv_line)
    freq = None
    if timestamps is not None and len(timestamps) >= 3:
        check_one_spacing(timestamps, source, date_column, csv_line)
        freq = infer_frequency(timestamps, source)
    return SeriesTable(values, [str(c) for c in value_columns], timestamps, source, freq)


def csv_line(row: int) -> str:
    """A data row's line in its CSV file (the header is line 1)."""
    return f"line {row + 2}"


@dataclass
class CsvReading:
    """How a user's CSV is read, one definition for every command that reads one (train, tune, bench, select);
    registered benchmark files ignore these settings."""

    date_column: str | None = setting("date", "time column of a user CSV (none: no time column)")
    columns: list[str] | None = setting(None, "comma-separated value columns of a user CSV (default: all but the time "
                                              "column)")
    drop_duplicate_rows: bool = setting(False, "drop exact duplicate rows of a user CSV with a warning (default: an "
                                               "error naming the line; registered benchmark files keep them as "
                                               "published)")

    def csv_options(self) -> dict:
        return {"date_column": self.date_column, "columns": self.columns,
                "drop_duplicate_rows": self.drop_duplicate_rows}
