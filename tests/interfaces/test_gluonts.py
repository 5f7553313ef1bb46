import numpy as np
import pandas as pd
import pytest

pytest.importorskip("gluonts")
from gluonts.dataset.common import ListDataset  # noqa: E402
from gluonts.evaluation import Evaluator, make_evaluation_predictions  # noqa: E402
from gluonts.model.forecast import QuantileForecast  # noqa: E402
from gluonts.model.predictor import Predictor  # noqa: E402

from tsreprog.data.collection import collection_from_long  # noqa: E402
from tsreprog.interfaces.gluonts_api import ReprogrammedEstimator, ReprogrammedPredictor  # noqa: E402
from tests.interfaces.conftest import small  # noqa: E402

H = 24


@pytest.fixture(scope="module")
def datasets(pedestrian):
    collection = collection_from_long(pedestrian.drop(columns="Date"))

    def make(cut: int) -> ListDataset:
        return ListDataset([{"start": pd.Period(s.start.tz_localize(None), freq="h"),
                             "target": s.values[: len(s.values) - cut], "item_id": s.item_id}
                            for s in collection.series], freq="h")

    return make(H), make(0)


@pytest.fixture(scope="module")
def predictor(datasets):
    train, _ = datasets
    options = small()
    options.pop("horizon")
    return ReprogrammedEstimator(prediction_length=H, quantiles=[0.1, 0.5, 0.9], **options).train(train)


def test_forecasts_and_gluonts_metrics(predictor, datasets):
    _, full = datasets
    forecasts, series = make_evaluation_predictions(full, predictor)
    forecasts, series = list(forecasts), list(series)
    assert len(forecasts) == 4 and all(isinstance(f, QuantileForecast) for f in forecasts)
    first = forecasts[0]
    assert first.prediction_length == H
    assert np.all(first.quantile(0.1) <= first.quantile(0.9))
    aggregate, per_item = Evaluator(quantiles=[0.1, 0.5, 0.9])(series, forecasts, num_series=4)
    for metric in ("MASE", "sMAPE", "mean_wQuantileLoss"):
        assert np.isfinite(aggregate[metric])
    assert len(per_item) == 4


def test_serialise_round_trip(predictor, datasets, tmp_path):
    predictor.serialize(tmp_path)
    loaded = Predictor.deserialize(tmp_path)
    assert isinstance(loaded, ReprogrammedPredictor) and loaded == predictor
    train, _ = datasets
    a = next(iter(predictor.predict(train)))
    b = next(iter(loaded.predict(train)))
    np.testing.assert_array_equal(a.forecast_array, b.forecast_array)


def test_a_dataset_of_another_frequency_or_with_inf_is_refused(predictor, datasets):
    from tsreprog.errors import DataError
    from tsreprog.interfaces.gluonts_api import collection_from_gluonts

    _, test = datasets
    entry = next(iter(test))
    daily = ListDataset([{"start": pd.Period("2020-01-01", freq="D"), "target": entry["target"][-400:]}], freq="D")
    with pytest.raises(DataError, match="has frequency D, the model was trained on h data"):
        list(predictor.predict(daily))
    bad = np.array(entry["target"][-400:], dtype=float)
    bad[5] = np.inf
    with pytest.raises(DataError, match="infinite value at position 5"):
        collection_from_gluonts(ListDataset([{"start": entry["start"], "target": bad}], freq="h"))
    words = [{"start": pd.Timestamp("2020-01-01"), "target": ["1.0", "n/a", "3.0"], "item_id": "x"}]
    with pytest.raises(DataError, match="entry 0 \\(item 'x'\\): non-numeric target"):
        collection_from_gluonts(words, freq="h")  # was numpy's conversion traceback
    with pytest.raises(DataError, match="a pandas DataFrame is not a GluonTS dataset"):
        collection_from_gluonts(pd.DataFrame({"target": [1.0, 2.0]}), freq="h")  # was "entry 0" for a column name
    with pytest.raises(DataError, match="entry 1: expected a dict with 'start' and 'target', got list"):
        collection_from_gluonts([{"start": pd.Timestamp("2020"), "target": [1.0]}, [1.0]], freq="h")


def test_pandas_and_gluonts_give_the_same_forecast():
    """One windowing, one scaling, one training loop under both interfaces: the same data, config and seed give the
    same forecast to 1e-6 (DLinear has no RevIN, so a scaling difference between the paths would show)."""
    from tests.conftest import synthetic_frame
    from tsreprog.interfaces.pandas_api import Forecaster

    frame = synthetic_frame(300, 2, seed=3).melt(id_vars="date", var_name="unique_id", value_name="y")
    frame = frame.rename(columns={"date": "ds"})
    # one precision for both: under auto a CPU with bf16 instructions times a probe at each fit, which may decide
    # either way (each run records its choice; two separate fits need not agree)
    options = dict(model="dlinear", lookback=48, epochs=2, batch_size=8, max_steps_per_epoch=5, seed=1,
                   precision="32")
    fc = Forecaster(horizon=6, val_size=6, **options).fit(frame)
    from_pandas = fc.predict()
    data = ListDataset([{"start": pd.Period(group["ds"].iloc[0], freq="h"), "target": group["y"].to_numpy(),
                         "item_id": uid} for uid, group in frame.groupby("unique_id")], freq="h")
    predictor = ReprogrammedEstimator(prediction_length=6, freq="h", **options).train(data)
    from_gluonts = {f.item_id: f.mean for f in predictor.predict(data)}
    for uid, group in from_pandas.groupby("unique_id"):
        np.testing.assert_allclose(group["tsreprog"].to_numpy(), from_gluonts[uid], rtol=1e-6, atol=1e-6)
