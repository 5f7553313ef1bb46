"""Two processes under Lightning's DDP (gloo on the CPU) train the model one process trains: the same steps at the
same global batch, so the same metrics up to the order of the samples. Only rank 0 writes outputs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.test_resume import train_args

ROOT = Path(__file__).resolve().parents[2]


def run_cli(args, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OMP_NUM_THREADS", None)
    done = subprocess.run([sys.executable, "-m", "tsreprog", *args], env=env, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_two_ddp_processes_reach_the_one_process_metrics(synthetic_csv, tmp_path):
    run_cli(train_args(synthetic_csv, tmp_path / "one", "--epochs", "3", "--patience", "3"), tmp_path)
    two = run_cli(train_args(synthetic_csv, tmp_path / "two", "--epochs", "3", "--patience", "3",
                             "--devices", "2", "--strategy", "ddp", "--accelerator", "cpu"), tmp_path)
    single = json.loads((tmp_path / "one" / "metrics.json").read_text())["metrics"]
    ddp = json.loads((tmp_path / "two" / "metrics.json").read_text())["metrics"]
    assert two.stdout.count('"test_mse"') == 1  # one rank printed, one rank wrote
    assert ddp["epochs_run"] == single["epochs_run"] == 3
    # same steps, same global batch, another sample order: the tolerance is the order's effect on a tiny model
    assert ddp["test_mse"] == pytest.approx(single["test_mse"], rel=0.15)
    assert ddp["best_val_mse"] == pytest.approx(single["best_val_mse"], rel=0.15)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["config.yaml", "metrics.json", "model"]
