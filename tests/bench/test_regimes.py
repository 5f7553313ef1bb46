"""Bench regimes: the few-shot profiles and their rows, and zero-shot transfer scores kept in the cell."""

from __future__ import annotations

import json

import pytest

from tests.conftest import synthetic_frame
from tsreprog.bench.models import PROFILES, bench_model
from tsreprog.bench.runner import finished, run_cell
from tsreprog.data.splits import prepare
from tsreprog.errors import DataError


@pytest.mark.parametrize("profile, fraction", [("fewshot10", 0.1), ("fewshot5", 0.05)])
def test_few_shot_profiles_cut_the_windows_and_share_the_standard_budget(profile, fraction):
    train = PROFILES[profile]["train"]
    assert train["train_fraction"] == fraction and train["train_stride"] == 1
    assert {k: v for k, v in train.items() if k not in ("train_fraction", "train_stride")} == \
        {k: v for k, v in PROFILES["standard"]["train"].items() if k != "train_stride"}


def test_few_shot_rows_differ_from_the_reprogrammed_row_in_one_thing_each():
    base = bench_model("reprog-minilm-compact", "fewshot10", 512, 96, "ETTh1").model.to_dict()
    expect = {"reprog-minilm-ln": {"adapt": "layernorm"}, "reprog-minilm-lora": {"adapt": "lora"},
              "random-backbone": {"backbone": "random:minilm-l6"},
              "random-backbone-ln": {"backbone": "random:minilm-l6", "adapt": "layernorm"},
              "no-prompt": {"prompt": "none"}}
    assert base["prompt"] == "compact" and base["prototype_vocab"] == 1000 and base["n_layers"] == 2
    for row, changes in expect.items():
        config = bench_model(row, "fewshot10", 512, 96, "ETTh1").model.to_dict()
        assert {k: v for k, v in config.items() if base[k] != v} == changes, row


def test_transfer_scores_live_in_the_cell_and_equal_a_direct_evaluation(tmp_path):
    source, target = tmp_path / "source.csv", tmp_path / "target.csv"
    synthetic_frame(600, 3, seed=0).to_csv(source, index=False)
    synthetic_frame(500, 2, seed=5).to_csv(target, index=False)
    cell = run_cell(str(source), "dlinear", 8, "quick", 48, None, tmp_path / "out", "32", 0,
                    transfer_to=[str(target), str(source)])
    assert set(cell["transfer"]) == {"target"}  # the source itself is its own test score, not a transfer
    path = tmp_path / "cell.json"
    path.write_text(json.dumps(cell))
    assert finished(path, [str(target)], str(source)) and not finished(path, ["ETTh2"], str(source))
    data = prepare(str(target), 48, 8)
    assert cell["transfer"]["target"]["test_windows"] == data.windows("test", 48, 8).n_windows
    assert 0 < cell["transfer"]["target"]["mse"] < 2.0 and cell["transfer"]["target"]["seconds"] > 0


def test_a_cell_killed_while_scoring_transfer_resumes_at_the_scoring(tmp_path, monkeypatch):
    """Scoring every transfer window can take as long as training: a cell interrupted there keeps its trained model
    and scores it on resume, ending with the uninterrupted cell's figures."""
    import tsreprog.bench.runner as runner
    from tsreprog.train.pipeline import ForecastPipeline

    source, target = tmp_path / "source.csv", tmp_path / "target.csv"
    synthetic_frame(600, 3, seed=0).to_csv(source, index=False)
    synthetic_frame(500, 2, seed=5).to_csv(target, index=False)
    args = (str(source), "dlinear", 8, "quick", 48, None)
    whole = run_cell(*args, tmp_path / "whole", "32", 0, transfer_to=[str(target)])

    real_scores = runner.transfer_scores

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "transfer_scores", killed)
    with pytest.raises(KeyboardInterrupt):
        run_cell(*args, tmp_path / "killed", "32", 0, transfer_to=[str(target)])
    monkeypatch.setattr(runner, "transfer_scores", real_scores)

    def no_training(*a, **k):
        raise AssertionError("trained again")

    monkeypatch.setattr(ForecastPipeline, "train", no_training)
    lines = []
    cell = run_cell(*args, tmp_path / "killed", "32", 0, transfer_to=[str(target)], log=lines.append)
    assert cell["resumed"] and any("resuming at the scoring" in line for line in lines)
    assert cell["history"] == whole["history"] and cell["epochs_run"] == whole["epochs_run"]
    for key in ("mse", "mae", "val_mse"):
        assert cell[key] == pytest.approx(whole[key], rel=1e-6)
    assert cell["transfer"]["target"]["mse"] == pytest.approx(whole["transfer"]["target"]["mse"], rel=1e-6)
    assert not (tmp_path / "killed" / ".resume").exists() or not any((tmp_path / "killed" / ".resume").rglob("*.*"))


def test_transfer_target_too_short_is_named(tmp_path):
    source, short = tmp_path / "source.csv", tmp_path / "short.csv"
    synthetic_frame(600, 3).to_csv(source, index=False)
    synthetic_frame(70, 3).to_csv(short, index=False)
    with pytest.raises(DataError,
                       match=r"transfer target '.*short.csv' cannot be scored at look-back 48 and horizon 8"):
        run_cell(str(source), "dlinear", 8, "quick", 48, None, tmp_path / "out", "32", 0, transfer_to=[str(short)])
    # through the CLI: one line before any cell is claimed, and the new output folder is not left behind
    from tsreprog.cli.main import main

    assert main(["bench", "--datasets", str(source), "--models", "dlinear", "--lookback", "48", "--horizons", "8",
                 "--transfer-to", str(short), "--output-dir", str(tmp_path / "cli"), "--quiet"]) == 2
    assert not (tmp_path / "cli").exists()


def test_a_table_folder_refuses_another_profile_or_lookback(tmp_path, synthetic_csv):
    from tsreprog.bench.runner import run_bench
    from tsreprog.errors import ConfigError

    out = tmp_path / "bench"
    run_bench([str(synthetic_csv)], ["naive"], "quick", lookback=48, horizons=[12], out=out, log=lambda m: None)
    with pytest.raises(ConfigError, match="was run with profile quick, this run asks standard"):
        run_bench([str(synthetic_csv)], ["naive"], "standard", lookback=48, horizons=[12], out=out, log=lambda m: None)
    with pytest.raises(ConfigError, match="was run with look-back 48, this run asks 64"):
        run_bench([str(synthetic_csv)], ["naive"], "quick", lookback=64, horizons=[12], out=out, log=lambda m: None)


def test_bench_keeps_a_users_own_table_unless_told(tmp_path, synthetic_csv, capsys):
    from tsreprog.cli.main import main

    out = tmp_path / "bench"
    out.mkdir()
    (out / "table.md").write_text("my notes\n")
    argv = ["bench", "--datasets", str(synthetic_csv), "--models", "naive", "--horizons", "12", "--lookback", "48",
            "--output-dir", str(out), "--quiet"]
    assert main(argv) == 2
    assert (out / "table.md").read_text() == "my notes\n"
    assert "table.md: already exists" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert main(argv) == 0  # its own table is rewritten as the run goes on
