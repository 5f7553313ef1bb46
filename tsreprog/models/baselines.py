"""Baselines that share the forecaster protocol: DLinear (trend/remainder linear maps), PatchTST (its own module)
and the naive last value."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tsreprog.models.config import ModelConfig
from tsreprog.models.contract import Forecaster
from tsreprog.models.patchtst import PatchTST


class DLinear(Forecaster):
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


class NaiveLastValue(Forecaster):
    """Repeats the last observed value over the horizon; nothing to train."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1:, :].expand(-1, self.config.horizon, -1)


def build_model(config: ModelConfig) -> nn.Module:
    """Construct the forecaster named by ``config.model``. Its initial weights follow ``config.seed`` alone, so a
    caller that builds several models (``select``'s candidates) gets the same one whatever ran before."""
    torch.manual_seed(config.seed)
    if config.model == "dlinear":
        return DLinear(config)
    if config.model == "naive":
        return NaiveLastValue(config)
    if config.model == "patchtst":
        return PatchTST(config)
    if config.model in ("vision-image", "vision-mae"):
        from tsreprog.models.vision import MAEForecaster, VisualPromptForecaster

        model = VisualPromptForecaster(config) if config.model == "vision-image" else MAEForecaster(config)
    else:
        from tsreprog.models.reprogrammed import ReprogrammedForecaster

        model = ReprogrammedForecaster(config)
    if config.adapt != "none":
        from tsreprog.backbones.adapt import adapt_backbone

        adapt_backbone(model.backbone, config.adapt, config.lora_rank, config.lora_alpha, config.seed)
        # cached backbone states (a causal prompt's constant lead) assume weights that never change
        model.use_prefix_cache = False
    return model
