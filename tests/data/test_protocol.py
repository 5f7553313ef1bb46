import numpy as np
import pytest

from tsreprog.data import count_windows, prepare, split_borders
from tsreprog.data.protocol import WindowDataset
from tsreprog.data.registry import find_dataset_file


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
    test = data.windows("test", 512, 96, channel_independent=False)
    covered = np.zeros(14400 - 11008, dtype=bool)
    for i in range(test.n_windows):
        covered[512 + i:512 + i + 96] = True
    assert covered[512:].all() and not covered[:512].any()
    x, y = test[test.n_windows - 1]
    np.testing.assert_allclose(y[-1].numpy(), data.scaled[14399], rtol=1e-6)


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
def test_window_dataset_channel_independent(stride):
    values = np.arange(60, dtype=float).reshape(20, 3)
    ds = WindowDataset(values, lookback=6, horizon=2, stride=stride)
    assert ds.n_windows == count_windows(20, 6, 2, stride)
    x, y = ds[4]  # window 1, channel 1
    start = stride
    np.testing.assert_array_equal(x[:, 0].numpy(), values[start:start + 6, 1])
    np.testing.assert_array_equal(y[:, 0].numpy(), values[start + 6:start + 8, 1])
