"""Wide tables (CSV) and long frames (pandas, GluonTS) are judged by the same checks (tsreprog.data.core)."""

import numpy as np
import pandas as pd
import pytest

from tsreprog.data.collection import Series, SeriesCollection, collection_from_long
from tsreprog.data.loading import table_from_wide_frame
from tsreprog.data.protocol import StandardScaler
from tsreprog.errors import DataError
from tsreprog.models import ModelConfig


def wide_and_long(values: np.ndarray, times: pd.DatetimeIndex) -> tuple[pd.DataFrame, pd.DataFrame]:
    wide = pd.DataFrame({"date": times, "a": values})
    return wide, pd.DataFrame({"unique_id": "a", "ds": times, "y": values})


def test_a_gappy_hourly_series_is_hourly_both_ways():
    times = pd.date_range("2021-01-01", periods=300, freq="h").delete([10, 11, 50, 51, 52, 200])
    wide, long = wide_and_long(np.random.default_rng(0).standard_normal(len(times)), times)
    assert table_from_wide_frame(wide).freq == "h"  # pd.infer_freq alone gives None on gaps
    assert collection_from_long(long).freq == "h"


def test_text_and_bad_timestamps_are_named_both_ways():
    times = pd.date_range("2021-01-01", periods=20, freq="h")
    wide, long = wide_and_long(np.arange(20.0), times)
    wide["a"], long["y"] = wide["a"].astype(object), long["y"].astype(object)
    wide.loc[4, "a"] = long.loc[4, "y"] = "x"
    with pytest.raises(DataError, match=r"<frame>: column 'a' line 6: non-numeric value 'x'"):
        table_from_wide_frame(wide)
    with pytest.raises(DataError, match=r"frame: column 'y' row 4: non-numeric value 'x'"):
        collection_from_long(long)
    wide, long = wide_and_long(np.arange(20.0), times)
    wide["date"], long["ds"] = wide["date"].astype(object), long["ds"].astype(object)
    wide.loc[3, "date"] = long.loc[3, "ds"] = "soon"
    with pytest.raises(DataError, match=r"column 'date' line 5: not a timestamp: 'soon'"):
        table_from_wide_frame(wide)
    with pytest.raises(DataError, match=r"column 'ds' row 3: not a timestamp: 'soon'"):
        collection_from_long(long)


def test_a_duplicate_timestamp_names_the_users_row_even_after_sorting():
    times = pd.date_range("2021-01-01", periods=20, freq="h")
    long = pd.DataFrame({"unique_id": ["b"] * 20 + ["a"] * 20, "ds": list(times) * 2, "y": np.arange(40.0)})
    long.loc[37, "ds"] = long.loc[36, "ds"]
    with pytest.raises(DataError, match=r"series 'a'.*column 'ds' row 37: duplicate timestamp"):
        collection_from_long(long)


@pytest.mark.parametrize("scale, constant", [(1e-30, False), (1.0, True)])
def test_scaling_judges_a_column_and_a_series_alike(scale, constant):
    values = scale * (np.full(50, 3.0) if constant else np.random.default_rng(1).standard_normal(50))
    collection = SeriesCollection([Series("a", pd.Timestamp("2021-01-01"), values.copy())], "h")
    if constant:
        with pytest.raises(DataError, match="column 'a' is constant"):
            StandardScaler.fit(values[:, None], ["a"])
        with pytest.raises(DataError, match="series 'a' is constant"):
            StandardScaler.fit_each(collection.values, [50], collection.names)
    else:
        StandardScaler.fit(values[:, None], ["a"])
        scaler = StandardScaler.fit_each(collection.values, [50], collection.names)
        assert np.isclose(np.nanstd(scaler.transform(values[:, None])), 1.0)


def test_a_series_shorter_than_the_lookback_is_the_same_error_in_pandas_and_gluonts():
    """Before, the GluonTS predictor padded it on the left with a warning while pandas refused it."""
    short = np.arange(10.0)
    message = r"series 's': 10 rows, fewer than the 24 look-back before the forecast origin needs"
    with pytest.raises(DataError, match=message):
        unscaled_pipeline(24).forecast([short], ["s"])


def test_gaps_in_the_lookback_are_interpolated_with_a_warning_both_ways():
    values = np.arange(30.0)
    values[[20, 21]] = np.nan
    pipeline = unscaled_pipeline(24)
    seen = []
    pipeline.forecast_scaled = lambda windows, batch_size=256: seen.append(windows) or np.zeros((len(windows), 4))
    with pytest.warns(UserWarning, match="2 missing value"):
        pipeline.forecast([values], ["s"])
    assert np.allclose(seen[0][0, :, 0].numpy(), np.arange(6.0, 30.0))


def unscaled_pipeline(lookback: int):
    """A pipeline whose scaler leaves series 's' as it is (mean 0, std 1); the network is never called."""
    from tsreprog.train.pipeline import ForecastPipeline

    return ForecastPipeline(ModelConfig(lookback=lookback, horizon=4), None, None,
                            StandardScaler(np.zeros(1), np.ones(1), ["s"]), "h")
