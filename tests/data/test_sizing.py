"""The look-back and horizon bench and select use when none is given (tsreprog.data.sizing)."""

import pytest

from tests.conftest import synthetic_frame
from tsreprog.data.sizing import csv_defaults, sized_window
from tsreprog.errors import DataError


@pytest.mark.parametrize("rows, expect", [(17420, (512, 96)), (1095, (168, 48)), (400, (96, 14)), (200, (48, 7))])
def test_defaults_fit_a_short_series(rows, expect):
    lookback, horizon = csv_defaults(rows)
    assert (lookback, horizon) == expect
    assert lookback + horizon <= 0.35 * rows and horizon <= 0.05 * rows


def test_registered_datasets_keep_their_standard_window_and_a_csv_is_sized(tmp_path):
    assert sized_window("ETTh1") == (512, 96) and sized_window("national_illness") == (104, 24)
    assert sized_window("ETTh1", lookback=96) == (96, 96)
    path = tmp_path / "short.csv"
    synthetic_frame(400, 2).rename(columns={"date": "when"}).to_csv(path, index=False)
    assert sized_window(str(path), date_column="when") == (96, 14)
    assert sized_window(str(path), horizon=7, date_column="when") == (96, 7)  # the given one is kept
    synthetic_frame(50, 2).to_csv(path, index=False)
    with pytest.raises(DataError, match="50 rows; at least 120 are needed"):
        sized_window(str(path))
