"""Baselines that share the forecaster protocol: DLinear (trend/remainder linear maps) and the naive last value."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tsreprog.models.config import ModelConfig


class DLinear(nn.Module):
    """Zeng et al. 2023: moving-average decomposition, one linear map per component, shared across channels."""

    def __init__(self, config: ModelConfig, kernel: int = 25) -> None:
        super().__init__()
        self.config = config
        self.kernel = kernel
        self.trend = nn.Linear(config.lookback, config.horizon)
        self.seasonal = nn.Linear(config.lookback, config.horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        series = x.transpose(1, 2)  # (B, C, L)
        half = (self.kernel - 1) // 2
        padded = F.pad(series, (half, self.kernel - 1 - half), mode="replicate")
        trend = F.avg_pool1d(padded, self.kernel, stride=1)
        out = self.trend(trend) + self.seasonal(series - trend)
        return out.transpose(1, 2)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu() for k, v in self.state_dict().items()}


class NaiveLastValue(nn.Module):
    """Repeats the last observed value over the horizon; nothing to train."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1:, :].expand(-1, self.config.horizon, -1)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        return {}


def build_model(config: ModelConfig) -> nn.Module:
    """Construct the forecaster named by ``config.model``."""
    if config.model == "dlinear":
        return DLinear(config)
    if config.model == "naive":
        return NaiveLastValue(config)
    from tsreprog.models.reprogrammed import ReprogrammedForecaster

    return ReprogrammedForecaster(config)
