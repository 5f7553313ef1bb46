"""Forecasting through images: fold the series by its period into a 2-D grid and let a frozen vision model see it.

- :class:`VisualPromptForecaster` (the seed paper's setting): normalise → fold → resize to the model's input →
  3 channels → + a trainable *visual prompt* (additive pattern over the whole image or only its border) → frozen
  encoder → trainable head on the patch tokens → horizon.
- :class:`MAEForecaster` (VisionTS, zero-shot): the look-back fills the left part of the image, the horizon's part
  is masked, a ViT-MAE reconstructs it, and the reconstruction is read back as the forecast. No parameter trains.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from tsreprog.backbones import load_backbone
from tsreprog.errors import ConfigError
from tsreprog.models.config import ModelConfig
from tsreprog.models.contract import Forecaster
from tsreprog.reprogram import FlattenHead, RevIN

FREQUENCY_PERIODS = {"h": 24, "H": 24, "15min": 96, "15T": 96, "10min": 144, "10T": 144, "30min": 48, "D": 7,
                     "B": 5, "W": 52, "W-SUN": 52, "M": 12, "MS": 12}


def period_for(freq: str | None, default: int = 24) -> int:
    return FREQUENCY_PERIODS.get(freq or "", default)


def fold(x: torch.Tensor, period: int) -> torch.Tensor:
    """(N, L) → (N, period, ceil(L / period)): one column per period, phase down the rows; the front is padded
    with the first value so the last column ends at the last observation."""
    pad = (-x.shape[-1]) % period
    if pad:
        x = torch.cat([x[:, :1].expand(-1, pad), x], dim=1)
    return rearrange(x, "n (c p) -> n p c", p=period)


def unfold(grid: torch.Tensor, length: int) -> torch.Tensor:
    """Inverse of :func:`fold`: (N, period, columns) → the last ``length`` values in time order."""
    return rearrange(grid, "n p c -> n (c p)")[:, -length:]


class VisualPromptForecaster(Forecaster):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        torch.manual_seed(config.seed)
        self.backbone = load_backbone(config.backbone, config.n_layers, config.backbone_dtype, seed=config.seed)
        if self.backbone.kind != "vision":
            raise ConfigError(f"model 'vision-image' needs a vision backbone, not '{config.backbone}'")
        if self.backbone.base.config.model_type == "vit_mae":
            raise ConfigError("a ViT-MAE backbone masks its input; use model 'vision-mae' (zero-shot) instead")
        self.period = config.period or 24
        patch = self.backbone.patch_size
        self.size = (config.image_size or min(self.backbone.image_size, 224)) // patch * patch
        self.revin = RevIN()
        self.prompt = nn.Parameter(torch.zeros(3, self.size, self.size))
        mask = torch.ones(1, self.size, self.size)
        if config.visual_prompt == "border":
            width = max(self.size // 16, 1)
            mask[:, width:-width, width:-width] = 0
        elif config.visual_prompt == "none":
            mask.zero_()
        self.register_buffer("prompt_mask", mask, persistent=False)
        self.n_tokens = (self.size // patch) ** 2  # patch tokens; a CLS token in front is dropped
        self.head = FlattenHead(self.n_tokens, self.backbone.embed_dim, config.horizon, config.head_dim or 8,
                                config.dropout)

    def images(self, normalised: torch.Tensor) -> torch.Tensor:
        grid = fold(normalised, self.period)[:, None]
        image = F.interpolate(grid, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return image.expand(-1, 3, -1, -1) + self.prompt * self.prompt_mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[-1]
        series = rearrange(x, "b l c -> (b c) l")
        normalised, stats = self.revin.normalize(series)
        tokens = self.backbone.encode_images(self.images(normalised))[:, -self.n_tokens:]
        out = self.revin.denormalize(self.head(tokens.to(self.head.proj.weight.dtype)), stats)
        return rearrange(out, "(b c) h -> b h c", c=channels)


class MAEForecaster(Forecaster):
    """VisionTS-style zero-shot forecasting with a masked autoencoder (``ViTMAEForPreTraining``-compatible)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = load_backbone(config.backbone, None, config.backbone_dtype, seed=config.seed)
        model = self.backbone.model
        if not hasattr(model, "unpatchify") or not hasattr(model, "decoder"):
            raise ConfigError(f"model 'vision-mae' needs a ViT-MAE with its decoder (e.g. facebook/vit-mae-base or "
                              f"random:vit-mae), not '{config.backbone}'")
        self.period = config.period or 24
        self.patch = self.backbone.patch_size
        self.grid = self.backbone.image_size // self.patch
        self.size = self.grid * self.patch
        context_cols = math.ceil(config.lookback / self.period)
        horizon_cols = math.ceil(config.horizon / self.period)
        self.context_patches = min(max(round(self.grid * context_cols / (context_cols + horizon_cols)), 1),
                                   self.grid - 1)
        self.horizon_cols = horizon_cols
        self.revin = RevIN()
        column = torch.arange(self.grid * self.grid) % self.grid
        masked = (column >= self.context_patches).float()
        self.register_buffer("noise", masked + torch.arange(len(masked)) * 1e-6, persistent=False)
        keep = int((1 - masked).sum())
        self.mask_ratio = 1.0 - (keep + 0.5) / len(masked)  # int(total · (1 − ratio)) == keep exactly

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[-1]
        series = rearrange(x, "b l c -> (b c) l")
        normalised, stats = self.revin.normalize(series)
        grid = fold(normalised, self.period)[:, None]
        width = self.context_patches * self.patch
        left = F.interpolate(grid, size=(self.size, width), mode="bilinear", align_corners=False)
        image = torch.cat([left, left.new_zeros(len(left), 1, self.size, self.size - width)], dim=-1)
        image = image.expand(-1, 3, -1, -1)
        model = self.backbone.model
        model.config.mask_ratio = self.mask_ratio
        model.vit.embeddings.config.mask_ratio = self.mask_ratio
        out = model(pixel_values=image.to(self.backbone.dtype), noise=self.noise.expand(len(image), -1))
        reconstruction = model.unpatchify(out.logits, (self.size, self.size)).float().mean(1, keepdim=True)
        right = F.interpolate(reconstruction[..., width:], size=(self.period, self.horizon_cols), mode="bilinear",
                              align_corners=False)[:, 0]
        forecast = rearrange(right, "n p c -> n (c p)")[:, : self.config.horizon]
        return rearrange(self.revin.denormalize(forecast, stats), "(b c) h -> b h c", c=channels)

