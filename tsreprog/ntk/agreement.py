"""How far can any pre-training score agree with trained accuracy? Rank statistics over candidates and seeds.

A selection score is judged by the Spearman ρ between its values and the candidates' trained test MSE. But trained
MSE is itself a random variable: the initialisation and the order of the batches move it. When the candidates'
trained MSEs are close, two training seeds can rank them differently, and no score computed before training can
agree with one seed's ranking much better than the seeds agree with each other. The between-seed ρ of trained MSE is
the reliability of the measurement; a score that knew every candidate's expected MSE exactly would agree with one
seed's ranking by about its square root (classical test theory: a measurement correlates with its own expectation
by √reliability). That is the ceiling a target like "ρ ≥ 0.8" has to be read against. Averaging trained MSE over
seeds lowers the noise, so the figures are also compared with the seed-averaged MSE.
"""

from __future__ import annotations

from itertools import combinations
from typing import Mapping, Sequence

import numpy as np


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 0..n-1 with tied values sharing the mean of their ranks (the convention Spearman's ρ needs)."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values), dtype=float)
    for value in np.unique(values):
        tied = values == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation; NaN when either side is constant (no ranking to agree with)."""
    if len(a) != len(b):
        raise ValueError(f"spearman needs two sequences of one length, got {len(a)} and {len(b)}")
    ra, rb = average_ranks(a), average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denominator = np.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else float("nan")


def seed_agreement(rows_by_seed: Mapping[int, Sequence[Mapping]], figures: Sequence[str],
                   target: str = "test_mse", key: str = "candidate") -> dict:
    """Agreement between seeds, and between figures and the seed-averaged target.

    ``rows_by_seed``: for each seed, one row per candidate (``key`` names it) holding the figures and the trained
    ``target``. Only candidates measured under every seed count. Returns the between-seed ρ of the target for every
    pair of seeds, their mean and the one-seed ceiling √mean, each candidate's mean and standard deviation of the
    target, each figure's ρ (its mean over seeds) with the mean target, and the pick gap of the lowest mean score."""
    seeds = sorted(rows_by_seed)
    if len(seeds) < 2:
        raise ValueError("seed agreement needs rows from at least two seeds")
    indexed = {seed: {row[key]: row for row in rows} for seed, rows in rows_by_seed.items()}
    names = [name for name in indexed[seeds[0]] if all(name in indexed[s] for s in seeds)]
    if len(names) < 3:
        raise ValueError(f"seed agreement needs at least 3 candidates measured under every seed, got {len(names)}")
    table = {name: np.array([indexed[s][name][target] for s in seeds], dtype=float) for name in names}
    pairs = {f"{a}-{b}": spearman([table[n][seeds.index(a)] for n in names], [table[n][seeds.index(b)] for n in names])
             for a, b in combinations(seeds, 2)}
    mean_target = {n: float(table[n].mean()) for n in names}

    def seed_mean(figure: str) -> dict[str, float] | None:
        """A figure's mean over seeds per candidate; None when some row lacks it."""
        if not all(figure in indexed[s][n] for s in seeds for n in names):
            return None
        return {n: float(np.mean([indexed[s][n][figure] for s in seeds])) for n in names}

    correlations = {}
    for figure in figures:
        means = seed_mean(figure)
        if means is not None and np.all(np.isfinite(list(means.values()))):
            correlations[figure] = spearman([means[n] for n in names], [mean_target[n] for n in names])
    between = float(np.nanmean(list(pairs.values())))
    summary = {"seeds": seeds, "candidates": names,
               f"mean_{target}": mean_target,
               f"std_{target}": {n: float(table[n].std(ddof=1)) for n in names},
               "between_seed_spearman": pairs,
               "between_seed_spearman_mean": between,
               "single_seed_ceiling": float(np.sqrt(max(between, 0.0))),
               f"spearman_with_mean_{target}": correlations}
    mean_score = seed_mean("score")
    if mean_score is not None:
        picked = min(names, key=mean_score.get)
        best = min(names, key=mean_target.get)
        summary.update(picked=picked, best=best, pick_gap=mean_target[picked] / mean_target[best] - 1.0)
    return summary


def pick_gaps(rows: Sequence[Mapping], figures: Sequence[str], target: str = "test_mse",
              key: str = "candidate") -> dict[str, dict[str, dict]]:
    """For each figure, the candidate its lowest and its highest value would pick, and how far that candidate's
    ``target`` lies above the best one's (0.0 = the pick is the best).

    ρ judges a whole ranking; a user acts on one pick. A figure can rank poorly and still pick the best, which is
    why both are reported. Reading every figure's pick at both ends is a search over 2 × len(figures) rules, so a
    rule found here is a hypothesis for a dataset it was not found on, not a result."""
    if not rows:
        raise ValueError("pick_gaps needs at least one candidate row")
    best = min(float(row[target]) for row in rows)
    gaps: dict[str, dict[str, dict]] = {}
    for figure in figures:
        usable = [row for row in rows if isinstance(row.get(figure), (int, float)) and np.isfinite(row[figure])]
        if len(usable) != len(rows):
            continue
        ends = {"lowest": min(usable, key=lambda row: row[figure]), "highest": max(usable, key=lambda row: row[figure])}
        gaps[figure] = {end: {"candidate": row[key], "gap": float(row[target]) / best - 1.0}
                        for end, row in ends.items()}
    return gaps
