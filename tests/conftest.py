"""Shared fixtures. Tests never touch the network: backbones are tiny random configs or the pip-shipped MiniLM."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
# The data directory the user (or .ci/run) set wins; else the checkout's sibling ../shared/data/ltsf.
SHARED_DATA = Path(os.environ.get("TSREPROG_DATA_DIR") or ROOT.parent / "shared" / "data" / "ltsf")
if SHARED_DATA.is_dir():
    os.environ.setdefault("TSREPROG_DATA_DIR", str(SHARED_DATA))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("shared LTSF data folder not present")
    return SHARED_DATA


def synthetic_frame(n_rows: int = 400, n_cols: int = 3, seed: int = 0, freq: str = "h") -> pd.DataFrame:
    """Noisy sines with a trend: enough structure for a model to learn something in a few steps."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)
    data = {"date": pd.date_range("2020-01-01", periods=n_rows, freq=freq)}
    for j in range(n_cols):
        data[f"c{j}"] = np.sin(2 * np.pi * t / 24 + j) + 0.01 * t + 0.1 * rng.standard_normal(n_rows)
    return pd.DataFrame(data)


@pytest.fixture
def synthetic_csv(tmp_path: Path) -> Path:
    path = tmp_path / "synthetic.csv"
    synthetic_frame().to_csv(path, index=False)
    return path
