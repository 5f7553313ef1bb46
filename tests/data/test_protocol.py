import numpy as np
import pytest
import torch

from tsreprog.data import count_windows, prepare, split_borders
from tsreprog.data.registry import find_dataset_file
from tsreprog.data.windows import SeriesWindows
from tsreprog.errors import DataError


def test_etth1_protocol_numbers():
    # The embedded copy works without any data directory.
    data = prepare("ETTh1", lookback=512, horizon=96)
    assert len(data.table) == 17420
    assert data.borders.train == (0, 8640)
    assert data.borders.val == (8640 - 512, 8640 + 2880)
    assert data.borders.test == (11520 - 512, 14400)
    assert data.table.freq == "h"
    test = data.windows("test", 512, 96)
    assert test.n_windows == 2785 and len(test) == 2785 * 7
    assert data.windows("train", 512, 96).n_windows == 8033
    assert data.windows("val", 512, 96).n_windows == 2785


def test_scaler_fitted_on_training_rows_only():
    data = prepare("ETTh1", 512, 96)
    train = data.table.values[:8640]
    np.testing.assert_allclose(data.scaler.mean, train.mean(0))
    np.testing.assert_allclose(data.scaler.std, train.std(0))
    assert abs(data.scaled[:8640].mean()) < 1e-9
    assert abs(data.scaled[8640:].mean()) > 1e-3  # later rows are not re-centred


def test_every_test_target_is_scored():
    data = prepare("ETTh1", 512, 96)
    test = data.windows("test", 512, 96)
    assert len(test) == test.n_windows * 7 and set(test.series_index) == set(range(7))
    covered = np.zeros(14400 - 11008, dtype=bool)
    for start in test.starts[test.series_index == 0] - 11008:
        covered[start + 512:start + 512 + 96] = True
    assert covered[512:].all() and not covered[:512].any()
    x, y = test[len(test) - 1]  # the last window of the last column
    np.testing.assert_allclose(y[-1, 0].numpy(), data.scaled[14399, 6], rtol=1e-6)


def test_ettm1_and_ratio_protocols(shared_data):
    ettm1 = split_borders(69680, 512, "ett_minute")
    assert ettm1.train == (0, 34560) and ettm1.test == (46080 - 512, 57600)
    exchange = prepare("exchange_rate", 96, 96, data_dir=shared_data)
    n = 7588
    assert exchange.borders.train == (0, int(n * 0.7))
    assert exchange.borders.test == (n - int(n * 0.2) - 96, n)
    assert exchange.windows("test", 96, 96).n_windows == int(n * 0.2) - 96 + 1
    ili = prepare("national_illness", 104, 24, data_dir=shared_data)
    assert ili.windows("test", 104, 24).n_windows == int(966 * 0.2) - 24 + 1


def test_csv_gz_and_plain_csv_found(tmp_path, shared_data):
    import gzip
    import shutil

    with gzip.open(shared_data / "ETTh2.csv.gz") as src, open(tmp_path / "ETTh2.csv", "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert find_dataset_file("ETTh2", tmp_path).name == "ETTh2.csv"
    assert find_dataset_file("ETTh2", shared_data).name == "ETTh2.csv.gz"


@pytest.mark.parametrize("stride", [1, 5])
def test_windows_of_a_table_interleave_its_columns(stride):
    values = np.arange(60, dtype=float).reshape(20, 3)
    ds = SeriesWindows(list(values.T), lookback=6, horizon=2, stride=stride)
    assert ds.n_windows == count_windows(20, 6, 2, stride)
    x, y = ds[4]  # window 1, channel 1
    start = stride
    np.testing.assert_array_equal(x[:, 0].numpy(), values[start:start + 6, 1])
    np.testing.assert_array_equal(y[:, 0].numpy(), values[start + 6:start + 8, 1])


def test_windows_skip_gaps_and_honour_each_series_region():
    """Series of different lengths, a gap, a validation region whose look-back reaches back before it."""
    a = np.arange(30.0)
    a[10] = np.nan
    b = np.arange(20.0)
    train = SeriesWindows([a, b], 4, 2, stop=[24, 14])
    for i in range(len(train)):
        x, y = train[i]
        assert not torch.isnan(x).any() and not torch.isnan(y).any()
    assert sorted(train.starts[train.series_index == 0]) == list(range(0, 5)) + list(range(11, 19))  # row 10 is a gap
    assert sorted(train.starts[train.series_index == 1]) == list(range(0, 9))
    val = SeriesWindows([a, b], 4, 2, target_from=[24, 14], stop=[30, 20])
    assert sorted(val.starts[val.series_index == 0]) == [20, 21, 22, 23, 24]  # targets inside rows 24-29
    with pytest.raises(DataError, match="fully observed look-back \\+ horizon"):
        SeriesWindows([a], 12, 2, stop=20)
