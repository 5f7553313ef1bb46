"""precision: auto is decided once per run and recorded; a resumed run, evaluate and forecast reuse it, whatever
the timed probe would say on the next start. Both CPU kinds are faked: the CPU flags and the probe's outcome."""

from __future__ import annotations

import json

import pytest

import tsreprog.train.precision as precision_module
from tsreprog.cli.main import main
from tsreprog.models import ModelConfig
from tsreprog.train import TrainConfig, fit
from tsreprog.train.resume import LastState

TINY = dict(backbone="random:bert", lookback=48, horizon=12, patch_len=8, patch_stride=4, d_model=16, n_heads=4,
            n_prototypes=20)


def fake_cpu(monkeypatch, picks: str) -> None:
    """A CPU with bf16 instructions whose timed probe finds ``picks`` faster (or, for "amd", no bf16 at all)."""
    if picks == "amd":
        monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda flags=None: False)
        return
    monkeypatch.setattr(precision_module, "cpu_has_bf16", lambda flags=None: True)
    seconds = {"32": 1.0, "bf16-mixed": 0.5 if picks == "bf16-mixed" else 2.0}
    monkeypatch.setattr(precision_module, "timed_training_step", lambda model, x, y, device, p: seconds[p])


def training(csv) -> TrainConfig:
    return TrainConfig(dataset=str(csv), epochs=3, patience=3, batch_size=8, val_stride=4, max_steps_per_epoch=6,
                       state_every_steps=None, progress=False)


@pytest.mark.parametrize("first, later", [("bf16-mixed", "32"), ("32", "bf16-mixed")])
def test_a_resumed_run_keeps_the_precision_its_run_chose(monkeypatch, synthetic_csv, tmp_path, first, later):
    fake_cpu(monkeypatch, first)
    whole = fit(ModelConfig(**TINY), training(synthetic_csv), tmp_path / "whole" / "model")
    assert whole.metrics["precision"] == first

    original = LastState.on_train_epoch_end

    def stop_after_first_epoch(self, trainer, pl_module):
        original(self, trainer, pl_module)
        if trainer.current_epoch == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(LastState, "on_train_epoch_end", stop_after_first_epoch)
    killed = tmp_path / "killed" / "model"
    with pytest.raises(KeyboardInterrupt):
        fit(ModelConfig(**TINY), training(synthetic_csv), killed)
    monkeypatch.setattr(LastState, "on_train_epoch_end", original)
    fake_cpu(monkeypatch, later)  # the next start's probe decides the other way
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1 if threads > 1 else 2)  # and the next start has another thread count
    try:
        resumed = fit(ModelConfig(**TINY), training(synthetic_csv), killed, resume=True)
        assert torch.get_num_threads() == threads  # the run's own, from its resume state
    finally:
        torch.set_num_threads(threads)
    assert resumed.metrics["precision"] == first
    for key in ("best_val_mse", "test_mse", "test_mae"):
        assert resumed.metrics[key] == pytest.approx(whole.metrics[key], rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("cpu", ["bf16-mixed", "32", "amd"])
def test_evaluate_reproduces_trains_test_score_in_the_recorded_precision(monkeypatch, synthetic_csv, tmp_path, cpu):
    fake_cpu(monkeypatch, cpu)
    out = tmp_path / "run"
    args = ["train", "--dataset", str(synthetic_csv), "--backbone", "random:bert", "--lookback", "48", "--horizon",
            "12", "--patch-len", "8", "--patch-stride", "4", "--d-model", "16", "--n-heads", "4", "--n-prototypes",
            "20", "--epochs", "1", "--batch-size", "8", "--max-steps-per-epoch", "4", "--output-dir", str(out),
            "--quiet"]
    assert main(args) == 0
    trained = json.loads((out / "metrics.json").read_text())["metrics"]
    assert trained["precision"] == ("32" if cpu == "amd" else cpu)
    fake_cpu(monkeypatch, "32" if cpu == "bf16-mixed" else "bf16-mixed")  # another machine, another probe
    assert main(["evaluate", "--checkpoint", str(out / "model"), "--output", str(tmp_path / "e.json")]) == 0
    scored = json.loads((tmp_path / "e.json").read_text())
    assert scored["precision"] == trained["precision"]
    assert scored["mse"] == pytest.approx(trained["test_mse"], rel=1e-6, abs=1e-9)


def test_pandas_forecaster_forecasts_and_saves_in_its_training_precision(monkeypatch, tmp_path):
    import numpy as np

    from tests.conftest import synthetic_frame
    from tsreprog.interfaces.pandas_api import Forecaster

    frame = synthetic_frame(300, 1).rename(columns={"date": "ds", "c0": "y"})
    frame["unique_id"] = "a"
    fake_cpu(monkeypatch, "bf16-mixed")
    fc = Forecaster(backbone="random:bert", lookback=48, horizon=6, patch_len=8, patch_stride=4, d_model=16,
                    n_heads=4, n_prototypes=20, epochs=1, batch_size=8, max_steps_per_epoch=3).fit(frame)
    assert fc.precision == "bf16-mixed"
    before = fc.predict()
    fc.save(tmp_path / "fc", history="lookback")
    fake_cpu(monkeypatch, "32")  # another machine
    again = Forecaster.load(tmp_path / "fc")
    assert again.precision == "bf16-mixed"
    np.testing.assert_allclose(again.predict()["tsreprog"].to_numpy(), before["tsreprog"].to_numpy(), rtol=0, atol=0)
