"""tsreprog.seed_spread: the one 2-sd rule every verdict, report and benchmark table uses."""

import pytest

from tsreprog.seed_spread import mean_sd, spread_in_sd, within_seed_spread


def test_a_gap_counts_only_beyond_twice_the_larger_sd():
    assert within_seed_spread(0.400, 0.005, 0.409, 0.001)  # 0.009 <= 2 x 0.005: a tie
    assert not within_seed_spread(0.400, 0.004, 0.409, 0.001)  # 0.009 > 2 x 0.004: real
    assert within_seed_spread(0.409, 0.001, 0.400, 0.005)  # symmetric


def test_mean_and_sample_sd_and_the_spread_in_sd():
    mean, sd = mean_sd([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0) and sd == pytest.approx(1.0)
    assert mean_sd([0.5]) == (0.5, 0.0)
    assert spread_in_sd({"a": (0.40, 0.01), "b": (0.46, 0.03)}) == pytest.approx(3.0)
    assert spread_in_sd({"a": (0.40, 0.0), "b": (0.41, 0.0)}) == float("inf")
