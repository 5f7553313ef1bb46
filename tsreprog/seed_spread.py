"""The project's rule for calling a difference between two models real: the gap must exceed twice the larger of
their seed standard deviations. One place, so bench's verdicts and reports, select's studies and the benchmark
tables judge alike."""

from __future__ import annotations

import math


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample sd (0 for one value)."""
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, sd


def within_seed_spread(mean_a: float, sd_a: float, mean_b: float, sd_b: float) -> bool:
    """True when the two means lie within twice the larger seed sd of each other: a tie, not a difference."""
    return abs(mean_a - mean_b) <= 2 * max(sd_a, sd_b)


def spread_in_sd(means: dict[str, tuple[float, float]]) -> float:
    """How far apart candidates converge: the best-to-worst gap in units of their mean seed sd."""
    values = [m for m, _ in means.values()]
    sd = sum(s for _, s in means.values()) / len(means)
    return (max(values) - min(values)) / sd if sd else float("inf")
