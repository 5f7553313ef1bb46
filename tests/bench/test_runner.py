import json
from pathlib import Path

import pytest

from tsreprog.bench import models as bench_models
from tsreprog.bench.report import write_report
from tsreprog.bench.runner import cell_path, collect, run_bench
from tsreprog.cli.main import main
from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig


@pytest.fixture
def tiny_models(monkeypatch):
    """Shrink every benchmark model so the protocol runs end to end in seconds (tiny random backbones)."""
    original = bench_models.bench_model

    def tiny(name, profile, lookback, horizon, dataset="", seed=0):
        spec = original(name, profile, lookback, horizon, dataset, seed)
        values = spec.model.to_dict()
        if values["model"] in ("reprogrammed", "patchtst"):
            values.update(patch_len=8, patch_stride=4, d_model=16, n_heads=4)
        if values["model"] == "reprogrammed":
            values["n_prototypes"] = 20
            values["backbone"] = "random:gpt2" if name != "random-backbone" else "random:llama"
            values["n_layers"] = 1
        spec.model = ModelConfig.from_dict(values)
        return spec

    monkeypatch.setattr(bench_models, "bench_model", tiny)
    monkeypatch.setattr("tsreprog.bench.runner.bench_model", tiny)
    monkeypatch.setitem(bench_models.PROFILES, "quick", {**bench_models.PROFILES["quick"],
                                                        "train": dict(epochs=1, patience=1, train_stride=8,
                                                                      val_stride=8, max_steps_per_epoch=3,
                                                                      batch_size=16)})


MODELS = ["reprog-minilm", "no-backbone", "random-backbone", "no-prompt", "dlinear", "patchtst", "naive"]


def test_protocol_runner_end_to_end(tiny_models, synthetic_csv, tmp_path):
    cells = run_bench([str(synthetic_csv)], MODELS, "quick", lookback=48, horizons=[12, 24], out=tmp_path,
                      log=lambda m: None)
    assert len(cells) == len(MODELS) * 2
    naive = {c["horizon"]: c["mse"] for c in cells if c["model"] == "naive"}
    for cell in cells:  # every trained model within a band around repeating the last value
        assert 0 < cell["mse"] < 3 * naive[cell["horizon"]] and cell["mae"] > 0 and cell["test_windows"] > 0
        assert {"trainable_parameters", "seconds_per_epoch", "peak_memory_mb", "device", "commit"} <= set(cell)
    assert all(c["resumed"] is False for c in cells)
    assert not any((tmp_path / ".resume").rglob("*.ckpt"))  # training states go once their cell is written
    naive = [c for c in cells if c["model"] == "naive"]
    assert all(c["trainable_parameters"] == 0 for c in naive)
    written = write_report(cells, tmp_path, "quick")
    table = written["markdown"].read_text()
    assert "| naive |" in table and "H=12 MSE / MAE" in table
    assert "Time-LLM" not in table  # no published figures exist for this data: no table of dashes
    (tmp_path / "etth1").mkdir()  # the same cells as a registered dataset sit beside its published averages
    registered = write_report([{**c, "dataset": "ETTh1"} for c in cells], tmp_path / "etth1", "quick")
    assert "| Time-LLM (Llama-7B) | 0.408 |" in registered["markdown"].read_text()
    assert "params (H=12)" in table  # the head grows with the horizon: the table says whose count it shows
    dlinear_12 = next(c for c in cells if c["model"] == "dlinear" and c["horizon"] == 12)
    dlinear_row = next(line for line in table.splitlines() if line.startswith("| dlinear |"))
    assert f"| {dlinear_12['trainable_parameters']:,} |" in dlinear_row
    assert (tmp_path / "plots" / "mse_by_horizon_synthetic.png").is_file()
    assert list((tmp_path / "plots").glob("forecast_*.png"))
    assert json.loads(written["json"].read_text())["profile"] == "quick"


def test_interrupted_run_resumes_missing_cells_only(tiny_models, synthetic_csv, tmp_path):
    partial = run_bench([str(synthetic_csv)], ["dlinear", "naive"], "quick", lookback=48, horizons=[12, 24],
                        out=tmp_path, log=lambda m: None, stop_after=3)
    assert len(partial) == 3
    first = cell_path(tmp_path, str(synthetic_csv), "dlinear", 12)
    stamp = first.stat().st_mtime_ns
    seen = []
    full = run_bench([str(synthetic_csv)], ["dlinear", "naive"], "quick", lookback=48, horizons=[12, 24],
                     out=tmp_path, log=seen.append)
    assert len(full) == 4 and len(collect(tmp_path)) == 4
    assert first.stat().st_mtime_ns == stamp  # finished cells are not recomputed
    assert sum(line.endswith("...") for line in seen) == 1


def test_bench_cli_rejects_unknown_model(capsys):
    assert main(["bench", "--models", "gpt-9"]) == 2
    assert "unknown benchmark model 'gpt-9'" in capsys.readouterr().err


def test_a_repeated_name_or_a_seed_horizon_off_the_table_is_refused_before_any_cell(synthetic_csv, tmp_path,
                                                                                     capsys):
    """ETTh1,ETTh1 ran the table twice; extra seeds at a horizon seed 0 never runs had no spread to join. Every
    dataset is checked before the first cell trains, so a bad second one costs no hours."""
    assert main(["bench", "--datasets", "ETTh1,ETTh1", "--output-dir", str(tmp_path / "a")]) == 2
    assert "datasets names ETTh1 more than once" in capsys.readouterr().err
    assert main(["bench", "--models", "dlinear,naive,dlinear", "--output-dir", str(tmp_path / "b")]) == 2
    assert "models names dlinear more than once" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"seed_horizons 5: not among .*'s horizons \(12, 24\)"):
        run_bench([str(synthetic_csv)], ["naive"], "quick", lookback=48, horizons=[12, 24], out=tmp_path / "c",
                  seeds=[0, 1], seed_horizons=[12, 5])
    assert not (tmp_path / "c" / "cells").exists()


def test_quick_profile_stride_fills_the_step_budget_on_small_datasets():
    """ILI-sized data must get a denser stride (else 9 steps an epoch); ETTh1-sized data keeps the profile's 16."""
    from tsreprog.bench.models import train_config

    ili_like = train_config("quick", "x", None, 1e-3, train_series_windows=3843)
    assert ili_like.train_stride == 2
    assert len(range(0, 3843, ili_like.train_stride)) >= 60 * 32
    assert train_config("quick", "x", None, 1e-3, train_series_windows=50_000).train_stride == 16
    assert train_config("quick", "x", None, 1e-3, train_series_windows=100).train_stride == 1
    assert train_config("full", "x", None, 1e-3, train_series_windows=100).train_stride == 1


def test_report_only_renders_a_partial_run_without_misleading_averages(tiny_models, synthetic_csv, tmp_path, capsys):
    run_bench([str(synthetic_csv)], ["dlinear", "naive"], "quick", lookback=48, horizons=[12, 24], out=tmp_path,
              log=lambda m: None, stop_after=3)
    assert main(["bench", "--report-only", "--output-dir", str(tmp_path), "--quiet"]) == 0
    table = (tmp_path / "table.md").read_text()
    naive_row = next(line for line in table.splitlines() if line.startswith("| naive |"))
    assert "(1/2 horizons)" in naive_row
    cells = json.loads((tmp_path / "results.json").read_text())["cells"]  # beside published averages too
    (tmp_path / "etth1").mkdir()
    registered = write_report([{**c, "dataset": "ETTh1"} for c in cells], tmp_path / "etth1", "quick")
    ours = next(line for line in registered["markdown"].read_text().splitlines() if line.startswith("| ours: naive |"))
    assert "–" in ours
    assert main(["bench", "--report-only", "--output-dir", str(tmp_path / "empty"), "--quiet"]) == 2


def test_report_only_states_the_profile_its_cells_ran_under(tiny_models, synthetic_csv, tmp_path, capsys):
    """--report-only takes the profile from the cells, not from the flag's default: a standard table re-rendered
    without --profile must not be labelled quick; mixed or contradicting profiles are one line."""
    run_bench([str(synthetic_csv)], ["dlinear", "naive"], "quick", lookback=48, horizons=[12], out=tmp_path,
              log=lambda m: None)
    files = sorted((tmp_path / "cells").rglob("*.json"))

    def relabel(path: Path) -> None:
        path.write_text(json.dumps({**json.loads(path.read_text()), "profile": "standard"}))

    relabel(files[0])
    assert main(["bench", "--report-only", "--output-dir", str(tmp_path), "--quiet"]) == 2
    assert "several profiles (quick, standard)" in capsys.readouterr().err
    for path in files[1:]:
        relabel(path)
    assert main(["bench", "--report-only", "--output-dir", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "report.md").read_text().count("Profile `standard`") == 1
    assert json.loads((tmp_path / "results.json").read_text())["profile"] == "standard"
    assert main(["bench", "--report-only", "--profile", "quick", "--output-dir", str(tmp_path), "--quiet"]) == 2
    assert "ran under profile 'standard'" in capsys.readouterr().err


def test_a_table_keeps_one_precision(tiny_models, synthetic_csv, tmp_path, capsys):
    """Cells record their precision; resuming a bf16 table in fp32 (or the reverse) is refused with the file named,
    so no table silently mixes numeric settings."""
    cells = run_bench([str(synthetic_csv)], ["dlinear"], "quick", lookback=48, horizons=[12], out=tmp_path,
                      log=lambda m: None, precision="bf16-mixed")
    assert cells[0]["precision"] == "bf16-mixed" and cells[0]["mse"] > 0
    code = main(["bench", "--datasets", str(synthetic_csv), "--models", "dlinear", "--horizons", "12,24",
                 "--lookback", "48", "--output-dir", str(tmp_path), "--precision", "32", "--quiet"])
    error = capsys.readouterr().err
    assert code == 2 and "bf16-mixed" in error and "H12.json" in error
    more = run_bench([str(synthetic_csv)], ["dlinear"], "quick", lookback=48, horizons=[12, 24], out=tmp_path,
                     log=lambda m: None, precision="bf16-mixed")
    assert [c["precision"] for c in more] == ["bf16-mixed", "bf16-mixed"]
    table = write_report(more, tmp_path, "quick")["markdown"].read_text()
    assert "Precision: bf16-mixed (bf16 autocast, fp32 weights)." in table


def test_table_states_the_precision_of_cells_from_before_it_was_recorded():
    """Old CPU cells ran under the runner's CPU default (fp32); an old cell from another device is not guessed."""
    from tsreprog.bench.report import cell_precision

    cpu = "Intel(R) Xeon(R) Processor (2 cores, torch threads 2)"
    assert cell_precision({"device": cpu}) == "32"
    assert cell_precision({"device": cpu, "precision": "bf16-mixed"}) == "bf16-mixed"
    assert cell_precision({"device": "NVIDIA H100 80GB HBM3"}) == "not recorded"


def test_a_probe_cell_is_a_row_of_its_own(tiny_models, synthetic_csv, tmp_path):
    from tsreprog.bench.models import Variant
    from tsreprog.bench.runner import run_cell

    variant = Variant(learning_rate=0.02, weight_decay=0.1)
    cell = run_cell(str(synthetic_csv), "dlinear", 12, "quick", 48, None, tmp_path, seed=0, variant=variant)
    assert cell["model"] == "dlinear@lr0.02@wd0.1" and cell["learning_rate"] == 0.02
    assert cell["variant"] == {"learning_rate": 0.02, "weight_decay": 0.1, "model_changes": {}}
    assert (tmp_path / "plots" / "forecast_synthetic_H12_dlinear@lr0.02@wd0.1.png").is_file()
    table = run_cell(str(synthetic_csv), "dlinear", 12, "quick", 48, None, tmp_path, seed=0)
    assert table["model"] == "dlinear" and "variant" not in table and table["learning_rate"] != 0.02


def test_a_skipped_cell_is_tried_again_once_it_can_run(tiny_models, synthetic_csv, tmp_path, monkeypatch):
    """SmolLM2 not installed yet: its cells say why; once installed, the next run computes them."""
    ready = {"smollm2": False}
    tiny = bench_models.bench_model

    def maybe_installed(name, *args, **kwargs):
        spec = tiny(name, *args, **kwargs)  # a tiny random backbone stands in for SmolLM2
        spec.available, spec.why_not = ready["smollm2"], "" if ready["smollm2"] else "not installed"
        return spec

    monkeypatch.setattr("tsreprog.bench.runner.bench_model", maybe_installed)
    run = lambda: run_bench([str(synthetic_csv)], ["reprog-smollm2"], "quick", lookback=48, horizons=[12],  # noqa: E731
                            out=tmp_path, log=lambda m: None)
    assert run()[0]["skipped"] == "not installed"
    ready["smollm2"] = True
    assert run()[0]["mse"] > 0


def test_a_cell_another_run_computes_is_left_to_it_and_computed_once_that_run_is_gone(tiny_models, synthetic_csv,
                                                                                       tmp_path):
    from tests.bench.test_claim import hold_in_another_process
    from tsreprog.bench.claim import fcntl
    from tsreprog.bench.runner import resume_folder

    if fcntl is None:
        pytest.skip("no advisory file locks on this platform")
    lock = resume_folder(tmp_path, str(synthetic_csv), "dlinear", 12, 0).with_suffix(".lock")
    holder = hold_in_another_process(lock)
    lines = []
    try:
        run = lambda: run_bench([str(synthetic_csv)], ["dlinear", "naive"], "quick", lookback=48,  # noqa: E731
                                horizons=[12], out=tmp_path, log=lines.append)
        cells = run()
        assert [c["model"] for c in cells] == ["naive"]
        assert any(f"dlinear seed 0: left to the other run: pid {holder.pid}" in line for line in lines)
    finally:
        holder.kill()
        holder.wait()
    assert sorted(c["model"] for c in run()) == ["dlinear", "naive"]
    assert not lock.exists()  # a finished cell's lock is removed


def test_a_cell_is_written_before_its_resume_state_is_removed(tiny_models, synthetic_csv, tmp_path, monkeypatch):
    """Killed at the moment its resume state goes, the cell is already on disk: no instant of a run loses a trained
    cell."""
    import tsreprog.bench.runner as runner

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "discard_resume_state", killed)
    with pytest.raises(KeyboardInterrupt):
        runner.run_cell(str(synthetic_csv), "dlinear", 12, "quick", 48, None, tmp_path, "32", 0)
    cell = json.loads(cell_path(tmp_path, str(synthetic_csv), "dlinear", 12).read_text())
    assert cell["mse"] > 0 and runner.finished(cell_path(tmp_path, str(synthetic_csv), "dlinear", 12))
