"""Selection replayed from recorded learning curves: the figures benchmarks/select_curves.py reports."""

from __future__ import annotations

import pytest

from tsreprog.ntk.curves import best_within, epoch_cost, replay_halving, within_spread


def history(*scores: float) -> list[dict]:
    return [{"epoch": i, "val_mse": s} for i, s in enumerate(scores)]


def test_best_within_keeps_the_best_epoch_so_far_and_the_end_of_a_run_that_stopped():
    h = history(0.9, 0.8, 0.85)
    assert [best_within(h, k) for k in (1, 2, 3, 10)] == [0.9, 0.8, 0.8, 0.8]
    with pytest.raises(ValueError, match="no epoch before 0"):
        best_within(h, 0)


def test_within_spread_is_the_two_sd_rule_against_the_best_candidate():
    tests = {"best": [0.99, 1.0, 1.01], "near": [1.01, 1.015, 1.02], "far": [1.03, 1.035, 1.04]}
    assert within_spread("best", tests) and within_spread("near", tests)  # 0.015 <= 2 x 0.01
    assert not within_spread("far", tests)  # 0.035 > 2 x 0.01


def test_epoch_cost_caps_each_candidate_at_what_its_run_trained():
    trained, seconds = {"slow": 4, "cheap": 10}, {"slow": 1.0, "cheap": 0.1}
    assert epoch_cost({"slow": 2, "cheap": 2}, trained, seconds) == pytest.approx((2 + 0.2) / 5)
    assert epoch_cost({"slow": 5, "cheap": 5}, trained, seconds) == pytest.approx((4 + 0.5) / 5)
    assert epoch_cost({"slow": 10, "cheap": 10}, trained, seconds) == pytest.approx(1.0)


def test_halving_drops_a_slow_starter_at_the_first_rung_and_counts_the_epochs_spent():
    curves = {"fast": history(0.8, 0.79, 0.78, 0.78), "steady": history(0.85, 0.8, 0.79, 0.79),
              "slow": history(1.0, 0.6, 0.5, 0.4)}
    replay = replay_halving(curves, max_epochs=4)
    # rung 1 keeps 2 of 3: the slow starter, best at the end, is out after one epoch
    assert replay["order"] == ["fast", "steady", "slow"] and replay["pick"] == "fast"
    assert replay["epochs_spent"] == {"fast": 4, "steady": 2, "slow": 1}
    # given the epochs, it would have won: the replay is what the budget decides
    assert min(curves, key=lambda label: best_within(curves[label], 4)) == "slow"
