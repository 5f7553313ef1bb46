"""Selection replayed from recorded learning curves: what ranking candidates by their validation after k epochs, or
successive halving over whole epochs, would have picked, read from per-epoch histories instead of retrained. It
prices the budget a validation ranking needs before it can be trusted (benchmarks/select_curves.py).
"""

from __future__ import annotations

import math

from tsreprog.seed_spread import mean_sd, within_seed_spread


def best_within(history: list[dict], epochs: int) -> float:
    """The best validation MSE of the first ``epochs`` epochs (of all of them where the run stopped sooner): what
    a run of the same schedule, stopped after ``epochs`` epochs, would keep."""
    scores = [row["val_mse"] for row in history if row["epoch"] < epochs]
    if not scores:
        raise ValueError(f"no epoch before {epochs} in the history")
    return min(scores)


def within_spread(pick: str, tests: dict[str, list[float]]) -> bool:
    """The project's 2-sd rule: the pick's mean test MSE lies within twice the larger seed sd of the best one's."""
    stats = {label: mean_sd(values) for label, values in tests.items()}
    best = min(stats, key=lambda label: stats[label][0])
    return within_seed_spread(*stats[pick], *stats[best])


def epoch_cost(epochs: dict[str, float], trained: dict[str, int], step_seconds: dict[str, float]) -> float:
    """Share of training every candidate as the table did (``trained`` epochs each) that ``epochs`` per candidate
    cost, each capped at what its run trained; every candidate has the same steps per epoch."""
    spent = sum(min(epochs[label], trained[label]) * step_seconds[label] for label in trained)
    return spent / sum(trained[label] * step_seconds[label] for label in trained)


def replay_halving(histories: dict[str, list[dict]], max_epochs: int, eta: int = 2) -> dict:
    """Successive halving over whole epochs: every survivor trains to the rung's epoch (1, eta, eta^2, ... up to
    ``max_epochs``) and the best 1/eta by validation so far go on. Returns the order (survivors by their last
    score, then each rung's losers, latest rung first), the pick, and the epochs each candidate trained. The last
    survivor trains to the end, so the cost includes training the pick, as halving's always does."""
    alive, rung_epochs, out = list(histories), 1, []
    spent = {label: 0 for label in histories}
    while True:
        score = {label: best_within(histories[label], rung_epochs) for label in alive}
        for label in alive:
            spent[label] = min(rung_epochs, len(histories[label]))
        alive.sort(key=score.__getitem__)
        if len(alive) == 1 or rung_epochs >= max_epochs:
            return {"order": alive + out, "pick": alive[0], "epochs_spent": spent}
        keep = max(1, math.ceil(len(alive) / eta))
        out = alive[keep:] + out
        alive = alive[:keep]
        rung_epochs = min(rung_epochs * eta, max_epochs)
