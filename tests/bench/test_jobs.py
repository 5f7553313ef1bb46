"""The committed cell-queue job files name only profiles, rows and datasets that exist, so a lent GPU's few minutes
are not lost to a typo."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from tsreprog.bench.models import MODELS, PROFILES
from tsreprog.data.registry import DATASETS
from tsreprog.models.config import ModelConfig
from tsreprog.train.config import TrainConfig

MODEL_FIELDS, TRAIN_FIELDS = ({f.name for f in fields(cls)} for cls in (ModelConfig, TrainConfig))
JOBS = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "jobs").glob("*.json"))


@pytest.mark.parametrize("path", JOBS, ids=[p.name for p in JOBS])
def test_job_files_name_what_exists(path):
    jobs = json.loads(path.read_text())
    assert jobs
    for job in jobs:
        assert job["model"] in MODELS and job.get("profile", "standard") in PROFILES
        assert job["dataset"].lower() in DATASETS
        assert all(t.lower() in DATASETS for t in job.get("transfer_to", []))
        assert job["horizon"] >= 1 and job.get("seed", 0) >= 0
        assert set(job.get("model_changes", {})) <= MODEL_FIELDS and set(job.get("train_changes", {})) <= TRAIN_FIELDS
    # a probe (model_changes and the like) is a row of its own, not the same cell again
    variant = ("learning_rate", "weight_decay", "model_changes", "train_changes")
    keys = [(j.get("profile"), j["dataset"], j["model"], j["horizon"], j.get("seed", 0),
             json.dumps({k: j.get(k) for k in variant}, sort_keys=True)) for j in jobs]
    assert len(keys) == len(set(keys)), "a cell listed twice"


@pytest.mark.parametrize("path", JOBS, ids=[p.name for p in JOBS])
def test_every_job_has_training_windows_under_its_profile(path):
    """A cell whose cut training split holds no window (5% of ETTh1 at H=720) would only fail on the lent machine."""
    from tsreprog.bench.runner import table_window
    from tsreprog.data.protocol import few_shot_end, split_borders

    for job in json.loads(path.read_text()):
        spec = DATASETS[job["dataset"].lower()]
        if spec.split == "ratio":
            continue  # its borders depend on the file's length
        lookback = table_window(job["dataset"])[0]
        start, end = split_borders(10 ** 9, lookback, spec.split).train  # ETT: fixed month counts
        fraction = PROFILES[job.get("profile", "standard")]["train"].get("train_fraction", 1.0)
        starts = few_shot_end(start, end, lookback, fraction) - start - lookback - job["horizon"] + 1
        assert starts > 0, f"{job}: no training window"
