"""The CLI, pandas and GluonTS routes are one pipeline: the same data, configs and seed give the same forecast."""

import numpy as np
import pandas as pd
import pytest

from tests.conftest import synthetic_frame
from tsreprog.cli.main import main
from tsreprog.interfaces.gluonts_api import ReprogrammedEstimator
from tsreprog.interfaces.pandas_api import Forecaster

# Every setting the routes' defaults could disagree on is given (the interfaces default to FAST_SETTINGS).
SETTINGS = {"backbone": "random:gpt2", "lookback": 48, "horizon": 12, "patch_len": 8, "patch_stride": 4,
            "d_model": 16, "n_heads": 4, "n_prototypes": 20, "prompt": "compact", "epochs": 2, "train_stride": 4,
            "val_stride": 2, "batch_size": 16, "precision": "32", "seed": 3}
ROWS, TRAIN_END, VAL_END = 400, 280, 320  # the protocol's 70/10/20 borders of a 400-row file


def flags() -> list[str]:
    return [part for key, value in SETTINGS.items() for part in (f"--{key.replace('_', '-')}", str(value))]


def test_cli_pandas_and_gluonts_give_the_same_forecast(tmp_path):
    frame = synthetic_frame(ROWS, 3, seed=5)
    csv = tmp_path / "three.csv"
    frame.to_csv(csv, index=False)
    assert main(["train", "--dataset", str(csv), "--output-dir", str(tmp_path / "run"), "--quiet", *flags()]) == 0
    assert main(["forecast", "--checkpoint", str(tmp_path / "run" / "model"), "--origin", str(VAL_END),
                 "--output", str(tmp_path / "cli.csv")]) == 0
    cli = pd.read_csv(tmp_path / "cli.csv", index_col=0)[["c0", "c1", "c2"]].to_numpy().T  # (series, H)

    # pandas: the file's first VAL_END rows, the last VAL_END - TRAIN_END held out, as the protocol's validation split
    long = frame.iloc[:VAL_END].melt(id_vars="date", var_name="unique_id", value_name="y")
    long = long.rename(columns={"date": "ds"})
    options = {k: v for k, v in SETTINGS.items() if k not in ("lookback", "horizon", "backbone")}
    forecaster = Forecaster(backbone=SETTINGS["backbone"], lookback=48, horizon=12, val_size=VAL_END - TRAIN_END,
                            **options).fit(long)
    pandas = forecaster.predict().pivot(index="ds", columns="unique_id", values="tsreprog")[["c0", "c1", "c2"]]

    # GluonTS: training entries end at TRAIN_END, validation entries extend them to VAL_END
    def entries(end):
        return [{"start": pd.Period(frame["date"][0], freq="h"), "target": frame[c].to_numpy()[:end], "item_id": c}
                for c in ("c0", "c1", "c2")]

    predictor = ReprogrammedEstimator(prediction_length=12, freq="h", backbone=SETTINGS["backbone"], lookback=48,
                                      **options).train(entries(TRAIN_END), entries(VAL_END))
    gluonts = np.stack([f.mean for f in predictor.predict(entries(VAL_END))])

    assert forecaster.pipeline.metrics["epochs_run"] == 2
    np.testing.assert_allclose(pandas.to_numpy().T, cli, rtol=0, atol=1e-6)
    np.testing.assert_allclose(gluonts, cli, rtol=0, atol=1e-6)
    assert pandas.index[0] == frame["date"][VAL_END]


def test_a_held_out_tail_shorter_than_the_horizon_is_refused(tmp_path):
    long = synthetic_frame(200, 1).melt(id_vars="date", var_name="unique_id", value_name="y")
    long = long.rename(columns={"date": "ds"})
    with pytest.raises(Exception, match=r"held-out tail \(6 rows\) is shorter than the horizon \(12\)"):
        Forecaster(backbone="random:gpt2", lookback=48, horizon=12, val_size=6, epochs=1).fit(long)
