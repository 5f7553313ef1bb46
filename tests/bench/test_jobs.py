"""The committed cell-queue job files name only profiles, rows and datasets that exist, so a lent GPU's few minutes
are not lost to a typo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsreprog.bench.models import MODELS, PROFILES
from tsreprog.data.registry import DATASETS

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
    keys = [(j.get("profile"), j["dataset"], j["model"], j["horizon"], j.get("seed", 0)) for j in jobs]
    assert len(keys) == len(set(keys)), "a cell listed twice"
