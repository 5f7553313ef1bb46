"""Which candidates a selection cannot tell apart: a paired bootstrap over the validation windows every candidate
was scored on, at the budget the selection used. It costs no training (two seeds of the leaders would double it)
and pairs the candidates window by window, so a hard window that hurts all of them does not widen the spread.

The leading group is the leader and every candidate that matches or beats it in more than ``1 - level`` of the
resamples; the pick is the cheapest of that group (fewest parameters, ``none`` first), since a more expensive
candidate that ties has not earned its cost.
"""

from __future__ import annotations

import numpy as np


def leading_group(errors: dict[str, np.ndarray], costs: dict[str, float], level: float = 0.95,
                  resamples: int = 2000, seed: int = 0) -> dict:
    """``errors``: each candidate's per-window validation errors (the same windows, in the same order); ``costs``:
    what a forecast costs with it. Returns the leader, the tie group (leader first), each candidate's share of
    resamples in which it was at least as good as the leader, and the pick."""
    names = list(errors)
    if len({len(errors[n]) for n in names}) != 1:
        raise ValueError("every candidate must be scored on the same validation windows")
    leader = min(names, key=lambda n: float(np.mean(errors[n])))
    n = len(errors[leader])
    draws = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    as_good = {}
    for name in names:
        if name == leader:
            continue
        gap = (np.asarray(errors[name]) - np.asarray(errors[leader]))[draws].mean(axis=1)
        as_good[name] = float(np.mean(gap <= 0))
    group = [leader] + sorted((m for m, share in as_good.items() if share > 1 - level),
                              key=lambda m: float(np.mean(errors[m])))
    pick = min(group, key=lambda m: (costs.get(m, float("inf")), float(np.mean(errors[m]))))
    return {"leader": leader, "group": group, "pick": pick, "as_good_as_leader": as_good, "level": level,
            "resamples": resamples, "windows": n,
            "method": "paired bootstrap over the validation windows (no extra training)"}
