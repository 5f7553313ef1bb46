import pytest

from tsreprog.bench.models import PROFILES
from tsreprog.bench.report import beats, markdown, seed_table, tables, wall_hours


def cell(model, seed, mse, horizon=96, seconds=600.0):
    return {"dataset": "ETTh1", "model": model, "horizon": horizon, "seed": seed, "mse": mse, "mae": mse,
            "trainable_parameters": 1, "seconds_per_epoch": 1.0, "peak_memory_mb": 1.0, "device": "cpu",
            "precision": "32", "seconds_total": seconds}


def test_main_table_holds_seed_zero_and_seed_table_the_spread():
    cells = [cell("a", s, 0.40 + 0.001 * s) for s in range(3)] + [cell("b", s, 0.45 + 0.001 * s) for s in range(3)]
    cells += [cell("c", s, 0.402 + 0.01 * s) for s in range(3)]
    long, _ = tables(cells)
    assert len(long) == 3 and set(long["mse"].round(3)) == {0.40, 0.45, 0.402}
    stats = seed_table(cells)
    assert list(stats["count"]) == [3, 3, 3]
    verdicts = beats(stats)
    assert "ETTh1 H=96: a beats b" in " ".join(verdicts)
    # c's spread (sd 0.01) swallows its gap to a: a tie, never a win
    assert any(v.startswith("ETTh1 H=96: a and c tie") for v in verdicts)
    assert wall_hours(cells) == {"ETTh1": 9 * 600 / 3600}


def test_bench_settings_accept_every_profile_and_no_other():
    from tsreprog.bench.settings import BenchConfig
    from tsreprog.errors import ConfigError

    for profile in PROFILES:
        assert BenchConfig(profile=profile).profile == profile
    with pytest.raises(ConfigError, match="profile must be one of"):
        BenchConfig(profile="huge")


def test_a_row_with_its_own_look_back_is_named_under_its_table():
    cells = [{**cell("patchtst", 0, 0.40), "lookback": 512}, {**cell("naive", 0, 1.3), "lookback": 512},
             {**cell("dlinear-published", 0, 0.38), "lookback": 336}]
    text = markdown(*tables(cells), "standard")
    assert "Look-back: 512 (own look-back: dlinear-published 336)." in text
    assert "Look-back: 512." in markdown(*tables(cells[:2]), "standard")
    assert "Look-back" not in markdown(*tables([cell("naive", 0, 1.3)]), "standard")  # not recorded: not claimed
