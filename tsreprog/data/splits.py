"""Turn a table (file, registered dataset or frame) into scaled train/val/test window datasets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsreprog.data.loading import SeriesTable, read_csv_table
from tsreprog.data.core import too_short
from tsreprog.data.protocol import SplitBorders, StandardScaler, few_shot_end, split_borders
from tsreprog.data.windows import SeriesWindows
from tsreprog.data.registry import DATASETS, find_dataset_file
from tsreprog.errors import DataError


@dataclass
class PreparedData:
    """A dataset under the protocol: the raw table, its borders, the train-only scaler and the scaled values."""

    table: SeriesTable
    borders: SplitBorders
    scaler: StandardScaler
    scaled: np.ndarray
    name: str
    description: str

    def windows(self, split: str, lookback: int, horizon: int, stride: int = 1,
                fraction: float = 1.0) -> SeriesWindows:
        """Windows of ``split``, one univariate sample per (window, column); ``fraction`` < 1 keeps the first share
        of the training windows (few-shot)."""
        start, end = self.borders[split]
        source = f"{self.table.source} ({split} split)"
        if fraction < 1.0:
            if split != "train":
                raise DataError(f"a few-shot fraction cuts the training split only, not '{split}'")
            end = few_shot_end(start, end, lookback, fraction)
            source = f"{self.table.source} (first {fraction:g} of the training split)"
        return SeriesWindows(list(self.scaled.T), lookback, horizon, stride, first=start, stop=end, source=source)


def load_table(dataset: str, data_dir: str | Path | None = None, date_column: str | None = "date",
               columns: list[str] | None = None, drop_duplicate_rows: bool = False
               ) -> tuple[SeriesTable, str, str, str]:
    """Resolve a registered name or a CSV path. Returns (table, name, split rule, description). Registered files
    are read as published (exact duplicate rows kept, with a warning); a user's CSV drops them only if asked."""
    spec = DATASETS.get(dataset.lower())
    if spec is not None and not Path(dataset).suffix:
        path = find_dataset_file(dataset, data_dir)
        table = read_csv_table(path, date_column="date", columns=columns, duplicate_rows="keep")
        return table, spec.name, spec.split, spec.description
    path = Path(dataset)
    if not path.suffix and not path.exists():
        known = ", ".join(s.name for s in DATASETS.values())
        raise DataError(f"unknown dataset '{dataset}': not a registered name ({known}) nor an existing file")
    table = read_csv_table(path, date_column=date_column, columns=columns,
                           duplicate_rows="drop" if drop_duplicate_rows else "error")
    return table, path.name.split(".")[0], "ratio", ""


def prepare(dataset: str, lookback: int, horizon: int, data_dir: str | Path | None = None,
            date_column: str | None = "date", columns: list[str] | None = None,
            split_rule: str | None = None, drop_duplicate_rows: bool = False) -> PreparedData:
    """Load, split by the protocol and scale with statistics of the training rows only."""
    table, name, rule, description = load_table(dataset, data_dir, date_column, columns, drop_duplicate_rows)
    return prepare_table(table, name, split_rule or rule, description, lookback, horizon)


def prepare_table(table: SeriesTable, name: str, rule: str, description: str, lookback: int, horizon: int,
                  scaler: StandardScaler | None = None) -> PreparedData:
    """Split a loaded table by the protocol; scale it with ``scaler`` (a saved model's), else with statistics of
    its own training rows. A saved model's scaler is never second-guessed by the file's: a column that is flat in
    the file's training rows must not stop a model that learnt its scale elsewhere."""
    borders = split_borders(len(table), lookback, rule)
    for split in ("train", "val", "test"):
        start, end = borders[split]
        if end - start < lookback + horizon:
            raise too_short(f"{table.source} ({split} split)", end - start, lookback + horizon, "look-back + horizon")
    if scaler is None:
        train_start, train_end = borders.train
        scaler = StandardScaler.fit(table.values[train_start:train_end], table.columns, table.source)
    return PreparedData(table, borders, scaler, scaler.transform(table.values), name, description)
