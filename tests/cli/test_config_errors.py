"""Bad configuration gets one line naming the key and value (issue 20, item 8), checked before anything trains."""

from pathlib import Path

import pytest

from tsreprog.cli.main import main
from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig
from tsreprog.train import TrainConfig


@pytest.mark.parametrize("text,message", [
    ("model:\n  lookback: 32.5\n", "model.lookback must be an integer, got 32.5"),
    ("model:\n  lookback: thirty\n", "model.lookback must be an integer, got 'thirty'"),
    ("train:\n  learning_rate: fast\n", "train.learning_rate must be float, got 'fast'"),
    ("model: 5\n", "section 'model' must be a mapping of settings, got 5"),
    ("", "the config file is empty"),
    ("train:\n  progress: maybe\n", "train.progress must be bool, got 'maybe'"),
    ("model:\n  lookback: 48\n   horizon: 3\n", "invalid YAML (line 3, column 11: mapping values are not allowed"),
    ("model:\n  lookback: 48\n  lookback: 96\n", "key 'lookback' appears twice (lines 2 and 3)"),
])
def test_bad_yaml_values_are_named_in_one_line(tmp_path, capsys, text, message):
    config = tmp_path / "config.yaml"
    config.write_text(text)
    assert main(["train", "--config", str(config), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err and str(config) in err
    assert not (tmp_path / "out" / "model").exists()


def test_values_are_converted_to_their_field_types():
    model = ModelConfig.from_dict({"lookback": 96.0, "horizon": "24", "quantiles": "0.1,0.5,0.9", "prompt": True})
    assert (model.lookback, model.horizon, model.quantiles, model.prompt) == (96, 24, [0.1, 0.5, 0.9], "full")
    assert TrainConfig.from_dict({"learning_rate": "1e-3", "max_steps_per_epoch": "none"}).learning_rate == 1e-3


def test_python_constructors_convert_and_name_values_as_files_do():
    """``ModelConfig(lookback="a")`` was a TypeError from the first comparison; in Python a value gets what the same
    value in a YAML file gets."""
    assert ModelConfig(lookback="96", quantiles=(0.1, 0.9)).lookback == 96
    assert TrainConfig(learning_rate="1e-3", progress="no").learning_rate == 1e-3
    with pytest.raises(ConfigError, match="^lookback must be an integer, got 'a'$"):
        ModelConfig(lookback="a")
    with pytest.raises(ConfigError, match="^epochs must be an integer, got 2.5$"):
        TrainConfig(epochs=2.5)


def test_quantiles_from_the_command_line_parse_as_numbers(tmp_path, capsys):
    # dlinear has no quantile head: refused before training, naming the model (and proving the list parsed)
    assert main(["train", "--model", "dlinear", "--quantiles", "0.1,0.5,0.9", "--output-dir", str(tmp_path)]) == 2
    assert "quantiles need a quantile head, which model 'dlinear' has not" in capsys.readouterr().err


def test_quantiles_of_a_model_without_a_quantile_head_are_refused():
    with pytest.raises(ConfigError, match="model 'naive' has not"):
        ModelConfig(model="naive", quantiles=[0.1, 0.9])
    assert ModelConfig(quantiles=[0.1, 0.9]).quantiles == [0.1, 0.9]


def test_train_never_replaces_a_users_config_or_metrics(tmp_path, capsys):
    out = tmp_path / "myexp"
    out.mkdir()
    config = out / "config.yaml"
    config.write_text("# my notes\nmodel:\n  model: naive\n  lookback: 48\n  horizon: 12\n")
    assert main(["train", "--config", str(config), "--output-dir", str(out)]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert config.read_text().startswith("# my notes")


@pytest.mark.parametrize("argv,message", [
    (["select", "--layers", "1,x"], "layers takes block counts >= 1 or 'all', got 'x'"),
    (["select", "--n-train", "0"], "n_train must be at least 1, got 0"),
    (["select", "--train-fraction", "0"], "train_fraction must lie in (0, 1], got 0.0"),
    (["bench", "--seeds", "0,0"], "seeds takes distinct integers >= 0, got [0, 0]"),
    (["bench", "--profile", "huge"], "profile must be one of quick, standard, full, fewshot10, fewshot5, got 'huge'"),
])
def test_select_flags_are_checked_in_one_line(tmp_path, capsys, argv, message):
    assert main([*argv, "--output-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_output_paths_that_cannot_be_written_are_named(tmp_path, capsys):
    import os

    folder = tmp_path / "plots"
    folder.mkdir()
    from tsreprog.io import check_writable
    from tsreprog.errors import TsreprogError

    with pytest.raises(TsreprogError, match="is a folder"):
        check_writable(folder)
    if Path("/proc/self").is_dir():  # a folder no file can be made in, even by root (forecast --plot there was a
        from tsreprog.io import atomic_write_bytes  # traceback after the CSV had been written)

        with pytest.raises(TsreprogError, match="^/proc: the output folder is not writable"):
            check_writable("/proc/forecast.png")
        with pytest.raises(TsreprogError, match="^/proc/forecast.png: cannot write"):
            atomic_write_bytes("/proc/forecast.png", b"x")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: nothing to check
            pytest.skip("running as root: every folder is writable")
        with pytest.raises(TsreprogError, match="not writable"):
            check_writable(locked / "checkpoint.pt")
    finally:
        locked.chmod(0o700)


def test_tune_keeps_another_studys_reports(tmp_path, capsys, synthetic_csv):
    out = tmp_path / "tune"
    out.mkdir()
    (out / "best.yaml").write_text("# another study's best\n")
    argv = ["tune", "--dataset", str(synthetic_csv), "--storage", f"sqlite:///{tmp_path / 's.db'}",
            "--output-dir", str(out), "--n-trials", "1", "--quiet"]
    assert main(argv) == 2
    assert "best.yaml: already exists" in capsys.readouterr().err
    assert (out / "best.yaml").read_text() == "# another study's best\n"


def test_a_run_that_fails_on_its_data_leaves_no_folder(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,v\n2020-01-01 00:00:00,1\n2020-01-01 01:00:00,x\n")
    out = tmp_path / "never"
    assert main(["train", "--dataset", str(bad), "--output-dir", str(out)]) == 2
    assert "non-numeric value 'x'" in capsys.readouterr().err
    assert not out.exists()
