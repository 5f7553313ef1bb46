"""The contract every forecaster keeps, written once (checked for each model by tests/models/conformance.py).

- ``forward(x)``: ``(batch, lookback, channels)`` on the input scale → point forecast ``(batch, horizon,
  channels)`` on the same scale; channels are independent series, and batch rows never see each other.
- ``trainable_state_dict()``: exactly the state training changes (:func:`trained_state`: the parameters that require
  grad and the running statistics of their norm layers), as detached copies on the CPU: a snapshot that later
  training does not change.
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
        return {name: p.detach().to("cpu", copy=True) for name, p in trained_state(self).items()}

    def predict_quantiles(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError(f"{type(self).__name__} has no quantile head")


def has_quantile_head(model: nn.Module) -> bool:
    """Whether ``model`` forecasts quantiles as configured (a quantile-capable model built without levels has not)."""
    return bool(getattr(type(model), "supports_quantiles", False) and getattr(model, "quantiles", None))


def trained_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """What training changes, by state-dict name (live tensors): every parameter that requires grad, and the running
    statistics of the norm layers it trains (BatchNorm's mean, variance and step count). Training moves those too;
    a snapshot without them pairs one epoch's weights with another epoch's statistics. A frozen backbone's norm
    layers are left out: their weights do not train and the backbone stays in eval mode."""
    state = {name: p for name, p in model.named_parameters() if p.requires_grad}
    saved = model.state_dict(keep_vars=True)  # persistent buffers only
    for prefix, module in model.named_modules():
        if (isinstance(module, nn.modules.batchnorm._NormBase) and module.track_running_stats
                and any(p.requires_grad for p in module.parameters(recurse=False))):
            for name, _ in module.named_buffers(recurse=False):
                key = f"{prefix}.{name}" if prefix else name
                if key in saved:
                    state[key] = saved[key]
    return state
