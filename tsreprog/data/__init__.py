"""Loading, the standard split protocol and window datasets."""

from tsreprog.data.loading import SeriesTable, read_csv_table, table_from_wide_frame
from tsreprog.data.protocol import StandardScaler, count_windows, split_borders
from tsreprog.data.registry import DATASETS, find_dataset_file, get_spec
from tsreprog.data.splits import PreparedData, prepare
from tsreprog.data.windows import SeriesWindows

__all__ = [
    "DATASETS", "PreparedData", "SeriesTable", "SeriesWindows", "StandardScaler", "count_windows",
    "find_dataset_file", "get_spec", "prepare", "read_csv_table", "split_borders", "table_from_wide_frame",
]
