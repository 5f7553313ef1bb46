import math

import pytest

from tsreprog.ntk.agreement import average_ranks, pick_gaps, seed_agreement, spearman


def test_spearman_perfect_reversed_and_constant():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_ties_share_their_mean_rank():
    assert average_ranks([3.0, 1.0, 3.0, 2.0]).tolist() == [2.5, 0.0, 2.5, 1.0]
    # a = [1, 2, 2, 3] ranks [0, 1.5, 1.5, 3]; by hand: 4.5 / sqrt(4.5 * 5)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(22.5))


def test_spearman_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="one length"):
        spearman([1, 2], [1, 2, 3])


def rows(mses, scores):
    return [{"candidate": f"c{i}", "test_mse": m, "score": s} for i, (m, s) in enumerate(zip(mses, scores))]


def test_seed_agreement_ceiling_mean_target_and_pick():
    by_seed = {0: rows([0.40, 0.50, 0.60, 0.70], [1.0, 2.0, 3.0, 4.0]),
               1: rows([0.42, 0.48, 0.66, 0.64], [1.1, 2.1, 2.9, 4.2])}
    summary = seed_agreement(by_seed, ["score"])
    assert summary["between_seed_spearman"] == {"0-1": pytest.approx(0.8)}
    assert summary["single_seed_ceiling"] == pytest.approx(math.sqrt(0.8))
    assert summary["mean_test_mse"]["c0"] == pytest.approx(0.41)
    assert summary["std_test_mse"]["c3"] == pytest.approx(math.sqrt(2) * 0.03)
    # mean MSE 0.41, 0.49, 0.63, 0.67 and mean score 1.05, 2.05, 2.95, 4.1 rank alike
    assert summary["spearman_with_mean_test_mse"]["score"] == pytest.approx(1.0)
    assert summary["picked"] == summary["best"] == "c0"
    assert summary["pick_gap"] == 0.0


def test_seed_agreement_keeps_only_candidates_every_seed_measured():
    by_seed = {0: rows([0.4, 0.5, 0.6, 0.7], [1, 2, 3, 4]), 2: rows([0.4, 0.5, 0.6], [1, 2, 3])}
    summary = seed_agreement(by_seed, ["score"])
    assert summary["candidates"] == ["c0", "c1", "c2"]
    assert summary["seeds"] == [0, 2]


def test_seed_agreement_needs_two_seeds_and_three_candidates():
    with pytest.raises(ValueError, match="two seeds"):
        seed_agreement({0: rows([0.4, 0.5, 0.6], [1, 2, 3])}, ["score"])
    with pytest.raises(ValueError, match="3 candidates"):
        seed_agreement({0: rows([0.4, 0.5], [1, 2]), 1: rows([0.4, 0.5], [1, 2])}, ["score"])


def test_pick_gaps_reads_each_figures_pick_at_both_ends():
    rows = [{"candidate": "a", "trace": 1.0, "score": 3.0, "test_mse": 0.40},
            {"candidate": "b", "trace": 5.0, "score": 1.0, "test_mse": 0.44},
            {"candidate": "c", "trace": 9.0, "score": 2.0, "test_mse": 0.50, "only_here": 1.0, "unset": None}]
    gaps = pick_gaps(rows, ["trace", "score", "only_here", "unset"])
    assert gaps["trace"]["lowest"] == {"candidate": "a", "gap": 0.0}
    assert gaps["trace"]["highest"]["candidate"] == "c"
    assert abs(gaps["trace"]["highest"]["gap"] - 0.25) < 1e-12
    assert gaps["score"]["lowest"]["candidate"] == "b" and abs(gaps["score"]["lowest"]["gap"] - 0.1) < 1e-12
    assert "only_here" not in gaps and "unset" not in gaps  # a figure some candidate lacks picks nothing
