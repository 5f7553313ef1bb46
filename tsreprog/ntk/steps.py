"""A few steps of real training outside Lightning, for the selection methods that train candidates briefly (the
warm-started kernel, successive halving): AdamW at given per-step rates on batches drawn from a pool of windows."""

from __future__ import annotations

import torch


def new_optimizer(model: torch.nn.Module, learning_rate: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)


def train_steps(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                rates: list[float], batch_size: int, generator: torch.Generator) -> None:
    """One step per entry of ``rates`` (its learning rate), each on ``batch_size`` windows drawn from (x, y)."""
    model.train()
    for rate in rates:
        for group in optimizer.param_groups:
            group["lr"] = rate
        index = torch.randint(len(x), (batch_size,), generator=generator)
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x[index]), y[index]).backward()
        optimizer.step()
    model.eval()
