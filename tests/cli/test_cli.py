import json

import pandas as pd
import pytest

from tsreprog.cli.main import main
from tsreprog.errors import ConfigError

TINY = ["--backbone", "random:gpt2", "--lookback", "48", "--horizon", "12", "--patch-len", "8", "--patch-stride", "4",
        "--d-model", "16", "--n-heads", "4", "--n-prototypes", "20", "--epochs", "1", "--train-stride", "8",
        "--val-stride", "8", "--batch-size", "16"]


@pytest.fixture
def trained(tmp_path, synthetic_csv):
    out = tmp_path / "run"
    assert main(["train", "--dataset", str(synthetic_csv), "--output-dir", str(out), "--quiet", *TINY]) == 0
    return out


def test_train_evaluate_forecast(trained, synthetic_csv, tmp_path, capsys):
    assert (trained / "model" / "weights.safetensors").is_file() and (trained / "config.yaml").is_file()
    metrics = json.loads((trained / "metrics.json").read_text())["metrics"]
    assert 0.01 < metrics["test_mse"] < 2.0  # scaled data: a working model lands well inside this band
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(trained / "model"), "--original-scale"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["mse"] == pytest.approx(metrics["test_mse"], rel=1e-5)
    assert "original_mse" in shown
    forecast, plot = tmp_path / "f.csv", tmp_path / "f.png"
    assert main(["forecast", "--checkpoint", str(trained / "model"), "--origin", "-12",
                 "--output", str(forecast), "--plot", str(plot)]) == 0
    frame = pd.read_csv(forecast)
    assert list(frame.columns) == ["date", "c0", "c1", "c2"] and len(frame) == 12
    assert plot.read_bytes()[:4] == b"\x89PNG"
    # Beyond the end of the data: dates continue at the inferred hourly step.
    beyond = tmp_path / "beyond.csv"
    assert main(["forecast", "--checkpoint", str(trained / "model"), "--output", str(beyond)]) == 0
    dates = pd.to_datetime(pd.read_csv(beyond)["date"])
    assert (dates.diff().dropna() == pd.Timedelta("1h")).all()
    # An origin without the look-back behind it: one line naming the origin as given and the ones that work.
    rows = len(pd.read_csv(synthetic_csv))
    capsys.readouterr()
    assert main(["forecast", "--checkpoint", str(trained / "model"), "--origin", str(-rows),
                 "--output", str(tmp_path / "early.csv")]) == 2
    error = capsys.readouterr().err
    assert f"forecast origin {-rows} (row 0) needs 48 rows of history" in error
    assert f"(origins {48 - rows} to -1, or 48 to {rows})" in error and error.count("\n") == 1
    assert not (tmp_path / "early.csv").exists()
    # A file shorter than the look-back: no origin works, so none is offered. The run folder names its model.
    short = tmp_path / "short.csv"
    pd.read_csv(synthetic_csv).iloc[:30].to_csv(short, index=False)
    assert main(["forecast", "--checkpoint", str(trained), "--dataset", str(short), "--output",
                 str(tmp_path / "short_forecast.csv")]) == 2
    error = capsys.readouterr().err
    assert "short.csv: 30 rows, fewer than the 48 rows of history" in error and "origins" not in error
    assert error.count("\n") == 1 and not (tmp_path / "short_forecast.csv").exists()


def test_evaluate_uses_the_saved_scaler_even_where_the_file_could_not_be_scaled(trained, synthetic_csv, tmp_path,
                                                                                 capsys):
    """A column the model never saw, flat in the file's training rows, must not stop the score: the file's own
    statistics are not used, so they are not computed either."""
    metrics = json.loads((trained / "metrics.json").read_text())["metrics"]
    frame = pd.read_csv(synthetic_csv)
    frame["flag"] = 1.0  # constant: the file's own scaler would refuse it
    extra = tmp_path / "with_flag.csv"
    frame.to_csv(extra, index=False)
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(trained / "model"), "--dataset", str(extra)]) == 0
    assert json.loads(capsys.readouterr().out)["mse"] == pytest.approx(metrics["test_mse"], rel=1e-5)


def test_config_file_and_train_from_written_config(trained, tmp_path):
    again = tmp_path / "again"
    assert main(["train", "--config", str(trained / "config.yaml"), "--output-dir", str(again), "--quiet"]) == 0
    assert (again / "model" / "model.json").is_file()


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tsreprog: error:"), err
    assert "Traceback" not in err[0]
    return err[0]


def test_existing_outputs_are_not_overwritten(trained, capsys, synthetic_csv):
    before = (trained / "model" / "weights.safetensors").read_bytes()
    code = main(["train", "--dataset", str(synthetic_csv), "--output-dir", str(trained), "--quiet", *TINY])
    assert code == 2 and "already exists" in one_error_line(capsys)
    assert (trained / "model" / "weights.safetensors").read_bytes() == before


@pytest.mark.parametrize("args,needle", [
    (["train", "--dataset", "missing.csv"], "missing.csv: file not found"),
    (["train", "--dataset", "ETTh9"], "unknown dataset 'ETTh9'"),
    (["train", "--backbone", "no-such-model", "--lookback", "48", "--horizon", "12"], "cannot load backbone"),
    (["evaluate", "--checkpoint", "nope.pt"], "saved model not found"),
    (["train", "--config", "nope.yaml"], "config file not found"),
])
def test_bad_input_one_line(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args + ["--quiet"] if args[0] == "train" else args) == 2
    assert needle in one_error_line(capsys)


def test_bad_csv_through_cli(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,a\n2020-01-01 00:00,1\n2020-01-01 01:00,x\n")
    assert main(["train", "--dataset", str(bad), "--quiet", "--output-dir", str(tmp_path / "o")]) == 2
    assert "column 'a' line 3: non-numeric value 'x'" in one_error_line(capsys)


def test_checkpoint_of_other_backbone_refused(trained, capsys, tmp_path):
    code = main(["forecast", "--checkpoint", str(trained / "model"), "--backbone", "minilm-l6",
                 "--output", str(tmp_path / "x.csv")])
    assert code == 2 and "not 'minilm-l6'" in one_error_line(capsys)


def test_help_for_every_subcommand(capsys):
    for command in ("train", "evaluate", "forecast", "select", "tune", "bench", "backbones"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: tsreprog " + command in capsys.readouterr().out


def test_forecast_writes_the_quantiles_a_model_was_trained_with(synthetic_csv, tmp_path):
    """Before: --quantiles failed to parse on the command line, and forecast never wrote quantile columns."""
    out = tmp_path / "q"
    assert main(["train", "--dataset", str(synthetic_csv), "--output-dir", str(out), "--quiet", *TINY,
                 "--quantiles", "0.1,0.5,0.9"]) == 0
    csv = tmp_path / "q.csv"
    assert main(["forecast", "--checkpoint", str(out / "model"), "--origin", "-12", "--output", str(csv)]) == 0
    frame = pd.read_csv(csv)
    assert list(frame.columns[:4]) == ["date", "c0", "c1", "c2"]
    assert {"c0-q-0.1", "c0-q-0.5", "c2-q-0.9"} <= set(frame.columns)
    assert (frame["c1-q-0.1"] <= frame["c1-q-0.5"]).all() and (frame["c1-q-0.5"] <= frame["c1-q-0.9"]).all()


def test_forecast_from_another_folder_finds_a_csv_trained_by_a_relative_path(tmp_path, synthetic_csv, monkeypatch):
    import shutil

    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(synthetic_csv, work / "data.csv")
    monkeypatch.chdir(work)
    assert main(["train", "--dataset", "data.csv", "--output-dir", "run", "--quiet", *TINY]) == 0
    monkeypatch.chdir(tmp_path)  # elsewhere: "data.csv" no longer resolves, the recorded absolute path does
    assert main(["forecast", "--checkpoint", "work/run/model", "--output", "f.csv"]) == 0
    assert main(["evaluate", "--checkpoint", "work/run/model"]) == 0


def test_evaluate_a_registered_dataset_keeps_its_split_and_reproduces_train(tmp_path, shared_data):
    out = tmp_path / "ett"
    assert main(["train", "--dataset", "ETTh2", "--model", "dlinear", "--lookback", "96", "--horizon", "24",
                 "--epochs", "1", "--max-steps-per-epoch", "5", "--output-dir", str(out), "--quiet"]) == 0
    trained = json.loads((out / "metrics.json").read_text())["metrics"]
    assert main(["evaluate", "--checkpoint", str(out / "model"), "--output", str(tmp_path / "e.json")]) == 0
    scored = json.loads((tmp_path / "e.json").read_text())
    assert scored["n_windows"] == trained["test_n_windows"]  # ETT's 12/4/4 months, not a CSV's 70/10/20
    assert scored["mse"] == pytest.approx(trained["test_mse"], rel=1e-6)


def test_one_saved_model_serves_the_command_line_and_pandas(trained, synthetic_csv, tmp_path, capsys):
    """One file format: a model `tsreprog train` saved forecasts in pandas (its columns as series ids) exactly as
    `tsreprog forecast` does; a model the pandas Forecaster saved forecasts from a CSV given with --dataset, and
    without one says that it was trained on a frame (it used to fall back to ETTh1)."""
    from tsreprog.interfaces.pandas_api import Forecaster

    assert main(["forecast", "--checkpoint", str(trained), "--output", str(tmp_path / "cli.csv")]) == 0
    cli = pd.read_csv(tmp_path / "cli.csv")
    frame = pd.read_csv(synthetic_csv).melt(id_vars="date", var_name="unique_id", value_name="y")
    frame = frame.rename(columns={"date": "ds"}).assign(ds=lambda f: pd.to_datetime(f["ds"]))
    for path in (trained, trained / "model"):
        pandas = Forecaster.load(path).predict(df=frame)
        for column in ("c0", "c1", "c2"):
            assert pandas[pandas.unique_id == column]["tsreprog"].to_numpy() == pytest.approx(
                cli[column].to_numpy(), rel=1e-6)
    from tsreprog.interfaces.gluonts_api import ReprogrammedPredictor

    entries = [{"start": pd.Period(frame["ds"].iloc[0], "h"), "target": frame[frame.unique_id == c]["y"].to_numpy(),
                "item_id": c} for c in ("c0", "c1", "c2")]
    forecasts = list(ReprogrammedPredictor.deserialize(trained).predict(entries))
    for forecast, column in zip(forecasts, ("c0", "c1", "c2")):
        assert forecast.mean == pytest.approx(cli[column].to_numpy(), rel=1e-6)

    saved = tmp_path / "pandas_saved"
    Forecaster(model="dlinear", lookback=48, horizon=12, epochs=1, max_steps_per_epoch=2).fit(frame).save(saved)
    capsys.readouterr()
    assert main(["forecast", "--checkpoint", str(saved / "model"), "--output", str(tmp_path / "p.csv")]) == 2
    assert "trained on a pandas frame, not a file: give the data (--dataset, a CSV with its series as columns: c0, " \
           "c1, c2)" in capsys.readouterr().err
    assert main(["forecast", "--checkpoint", str(saved / "model"), "--dataset", str(synthetic_csv), "--output",
                 str(tmp_path / "p.csv")]) == 0
    assert list(pd.read_csv(tmp_path / "p.csv").columns) == ["date", "c0", "c1", "c2"]
    with pytest.raises(ConfigError, match="saved by the pandas interface: load it there"):
        ReprogrammedPredictor.deserialize(saved)
