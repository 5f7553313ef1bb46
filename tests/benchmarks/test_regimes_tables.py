"""benchmarks/regimes.py: how the regime tables merge folders and judge a comparison."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import regimes  # noqa: E402  (a script beside its siblings, not a package module)


def cell(mse: float, device: str, transfer: dict | None = None, seed: int = 0) -> dict:
    return {"dataset": "ETTh1", "model": "no-backbone", "horizon": 96, "seed": seed, "mse": mse, "device": device,
            "precision": "32", **({"transfer": transfer} if transfer else {})}


def test_a_later_folder_lends_only_the_transfer_scores_the_first_lacks():
    table = [cell(0.378, "H100", {"ETTh2": {"mse": 0.30}})]
    retrained = [cell(0.390, "CPU", {"ETTh2": {"mse": 0.99}, "ETTm1": {"mse": 0.70}}), cell(0.381, "CPU", seed=1)]
    merged = regimes.merged_cells([table, retrained])
    first = next(c for c in merged if c["seed"] == 0)
    assert first["mse"] == 0.378  # the table's own score stays
    assert first["transfer"] == {"ETTh2": {"mse": 0.30}, "ETTm1": {"mse": 0.70}}
    assert first["transfer_machine"] == "CPU, fp32"
    assert [c["seed"] for c in merged] == [0, 1]  # a key only the later folder holds is kept whole


def test_verdict_needs_a_gap_beyond_twice_the_larger_sd():
    a, b = regimes.summary([0.39, 0.40, 0.41]), regimes.summary([0.375, 0.385, 0.395])
    assert regimes.verdict(a, b) == "tie"  # 0.015 apart, twice the sd 0.02
    assert regimes.verdict(regimes.summary([0.40, 0.41, 0.42]), b) == "loses"  # 0.025 apart
    c = regimes.summary([0.300, 0.301, 0.302])
    assert regimes.verdict(c, b) == "wins" and regimes.verdict(b, c) == "loses"
    assert regimes.verdict(regimes.summary([0.3]), b) == "not measured"
    # 2 seeds give no verdict, however far apart: the header promises 3
    assert regimes.verdict(regimes.summary([0.300, 0.301]), b) == "not measured"
