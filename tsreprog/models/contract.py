"""The contract every forecaster keeps, written once (checked for each model by tests/models/conformance.py).

- ``forward(x)``: ``(batch, lookback, channels)`` on the input scale → point forecast ``(batch, horizon,
  channels)`` on the same scale; channels are independent series, and batch rows never see each other.
- ``trainable_state_dict()``: exactly the parameters training changes (``requires_grad``), as detached copies on
  the CPU: a snapshot that later training does not change.
  Everything else (a frozen backbone, buffers derived from the configuration) is rebuilt from the configuration,
  so a checkpoint holds this and the configuration, nothing more.
- ``supports_quantiles``: whether ``predict_quantiles(x)`` → ``(batch, horizon, channels, levels)`` exists; a
  configuration asking quantiles of a model without it is refused before training (``ModelConfig``).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn


class Forecaster(nn.Module):
    supports_quantiles: ClassVar[bool] = False

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        # a copy, also on the CPU, where .cpu() would return the live tensor: the caller keeps this as a snapshot
        # (the best epoch's weights) while the optimizer goes on updating the parameters in place
        return {name: p.detach().to("cpu", copy=True) for name, p in self.named_parameters() if p.requires_grad}

    def predict_quantiles(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError(f"{type(self).__name__} has no quantile head")


def has_quantile_head(model: nn.Module) -> bool:
    """Whether ``model`` forecasts quantiles as configured (a quantile-capable model built without levels has not)."""
    return bool(getattr(type(model), "supports_quantiles", False) and getattr(model, "quantiles", None))
