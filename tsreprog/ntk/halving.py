"""A rival to the kernel figures that uses no kernel: successive halving over the candidates.

Every candidate trains briefly; the better half by validation MSE continues for twice as many steps; and so on
until one is left or the survivors reach the full budget. Survivors keep their weights and optimizer state
between rungs, so no step is trained twice. The cost is reported as a fraction of training every candidate for
the full budget, in steps and in measured seconds (candidates differ in cost per step).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from tsreprog.errors import BackboneError
from tsreprog.models import ModelConfig, build_model
from tsreprog.ntk.select import candidate_config
from tsreprog.ntk.steps import new_optimizer, train_steps
from tsreprog.train.module import learning_rates


@dataclass
class Contender:
    label: str
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    steps: int = 0
    seconds: float = 0.0
    val_mse: float = float("inf")
    eliminated_at: int | None = None  # the rung it was dropped after (None: survived)
    history: list[dict] = field(default_factory=list)


@dataclass
class HalvingResult:
    ranking: list[dict]  # best first: survivors by their last validation MSE, then by the rung they fell at
    rungs: list[dict]
    steps_trained: int
    cost_fraction_steps: float
    cost_fraction_seconds: float
    skipped: list[dict] = field(default_factory=list)  # candidates that could not be built (e.g. too many layers)


def _train(contender: Contender, x: torch.Tensor, y: torch.Tensor, rates: list[float], batch_size: int,
           generator: torch.Generator) -> None:
    started = time.perf_counter()
    train_steps(contender.model, contender.optimizer, x, y, rates, batch_size, generator)
    contender.steps += len(rates)
    contender.seconds += time.perf_counter() - started


@torch.no_grad()
def _validate(contender: Contender, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    contender.model.eval()
    errors = [((contender.model(x[i:i + batch_size]) - y[i:i + batch_size]) ** 2).sum() for i in
              range(0, len(x), batch_size)]
    return float(sum(errors) / y.numel())


def successive_halving(candidates: list, base: ModelConfig, train_windows: tuple[torch.Tensor, torch.Tensor],
                       val_windows: tuple[torch.Tensor, torch.Tensor], budget_steps: int, first_rung_steps: int,
                       learning_rate: float = 1e-3, schedule: str = "onecycle", batch_size: int = 32,
                       seed: int = 0, log=None, device: torch.device | str = "cpu") -> HalvingResult:
    """Halve ``candidates`` (objects with ``backbone``, ``n_layers`` and ``label``) rung by rung: rung k trains every
    survivor up to ``first_rung_steps * 2**k`` steps (at most ``budget_steps``) of the budget's own schedule, each
    model and the windows on ``device``."""
    if first_rung_steps < 1 or budget_steps < first_rung_steps:
        raise ValueError(f"need 1 <= first_rung_steps ({first_rung_steps}) <= budget_steps ({budget_steps})")
    rates = learning_rates(schedule, learning_rate, budget_steps)
    contenders, skipped = [], []
    for candidate in candidates:
        torch.manual_seed(seed)
        try:
            model = build_model(candidate_config(candidate, base)).to(device)
        except BackboneError as exc:
            if "cannot keep" not in str(exc):
                raise
            skipped.append({"candidate": candidate.label, "reason": str(exc)})
            continue
        contenders.append(Contender(candidate.label, model, new_optimizer(model, learning_rate)))
    if not contenders:
        raise BackboneError("no candidate could be built: " + "; ".join(s["reason"] for s in skipped))
    train_windows = tuple(w.to(device) for w in train_windows)
    val_windows = tuple(w.to(device) for w in val_windows)
    generator = torch.Generator().manual_seed(seed)  # batches drawn on the CPU: the same on every device
    alive, rungs, rung = list(contenders), [], 0
    while True:
        target = min(budget_steps, first_rung_steps * 2 ** rung)
        for contender in alive:
            _train(contender, *train_windows, rates[contender.steps:target], batch_size, generator)
            contender.val_mse = _validate(contender, *val_windows)
            contender.history.append({"rung": rung, "steps": contender.steps, "val_mse": contender.val_mse})
        alive.sort(key=lambda c: c.val_mse)
        keep = max(1, math.ceil(len(alive) / 2))
        rungs.append({"rung": rung, "steps": target, "survivors": [c.label for c in alive[:keep]],
                      "val_mse": {c.label: c.val_mse for c in alive}})
        if log is not None:
            log(f"rung {rung} ({target} steps): " + ", ".join(f"{c.label} {c.val_mse:.4f}" for c in alive))
        for contender in alive[keep:]:
            contender.eliminated_at = rung
        alive = alive[:keep]
        if len(alive) == 1 or target >= budget_steps:  # a single survivor is the pick: training it on buys nothing
            break
        rung += 1
    ranked = sorted(contenders, key=lambda c: (-(c.eliminated_at if c.eliminated_at is not None else 10**6),
                                               c.val_mse))
    steps = sum(c.steps for c in contenders)
    full_seconds = sum(c.seconds / max(c.steps, 1) * budget_steps for c in contenders)
    return HalvingResult(
        ranking=[{"candidate": c.label, "val_mse": c.val_mse, "steps": c.steps, "seconds": c.seconds,
                  "eliminated_at_rung": c.eliminated_at, "history": c.history} for c in ranked],
        rungs=rungs, steps_trained=steps, cost_fraction_steps=steps / (len(contenders) * budget_steps),
        cost_fraction_seconds=sum(c.seconds for c in contenders) / full_seconds if full_seconds else 0.0,
        skipped=skipped)
