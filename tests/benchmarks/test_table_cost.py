"""benchmarks/table_cost.py: how a regime table is priced from a sample of its cells, and when a target is met."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import table_cost  # noqa: E402  (a script beside its siblings, not a package module)


def cell(model: str, horizon: int = 96, seed: int = 0, epochs: int = 4, windows: int = 1000,
         seconds: float = 400.0) -> dict:
    return {"model": model, "horizon": horizon, "seed": seed, "epochs_run": epochs,
            "train_series_windows": windows, "seconds_total": seconds}


def test_price_scales_by_epochs_and_bounds_by_windows():
    sampled = cell("r", epochs=4, windows=1000, seconds=400.0)  # 100 s an epoch
    low, high = table_cost.price(cell("r", horizon=720, epochs=2, windows=250), sampled)
    assert high == pytest.approx(200.0) and low == pytest.approx(50.0)
    # a cell that ran zero epochs (restored from its best) still costs one
    assert table_cost.price(cell("r", epochs=0), sampled) == (pytest.approx(100.0), pytest.approx(100.0))


def test_the_sample_prefers_each_rows_h96_cell_of_the_lowest_seed():
    cells = [cell("a", horizon=192, seed=0), cell("a", seed=2), cell("a", seed=1), cell("b", horizon=336)]
    chosen = table_cost.sampled_cells(cells)
    assert (chosen["a"]["horizon"], chosen["a"]["seed"]) == (96, 1)
    assert chosen["b"]["horizon"] == 336  # the only one it has


def test_estimate_names_what_it_could_not_price_and_sums_over_the_workers():
    sample = {"a": cell("a", seconds=3600.0, epochs=1)}
    table = {("a", 96, 0): cell("a", epochs=1), ("a", 96, 1): None, ("b", 96, 0): cell("b")}
    result = table_cost.estimate(table, sample, workers=2)
    assert result["priced"] == 1 and result["cells"] == 3
    assert result["missing"] == ["a/96/1", "b/96/0"]
    assert result["wall_hours"] == [pytest.approx(0.5), pytest.approx(0.5)]


@pytest.mark.parametrize("hours, missing, expected", [
    ([3.3, 4.3], [], "no"), ([3.3, 4.3], ["a/96/1"], "no"),  # unpriced cells only add time
    ([1.0, 2.0], [], "yes"), ([1.0, 2.0], ["a/96/1"], "undecided"), ([2.0, 3.5], [], "undecided")])
def test_met_only_when_every_cell_is_priced_within_the_target(hours, missing, expected):
    assert table_cost.verdict(hours, missing, 3.0) == expected
