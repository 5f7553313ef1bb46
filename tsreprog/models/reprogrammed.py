"""The reprogrammed forecaster: RevIN → patches → reprogramming onto text prototypes → [prompt; patches] →
frozen backbone → head → inverse RevIN. Channel-independent: (B, L, C) is folded to (B·C, L) and back."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from tsreprog.backbones import Backbone, load_backbone
from tsreprog.models.config import ModelConfig
from tsreprog.reprogram import (FlattenHead, PatchEmbedding, PromptPrefix, ReprogrammingAttention, RevIN,
                                TextPrototypes, num_patches)


class ReprogrammedForecaster(nn.Module):
    def __init__(self, config: ModelConfig, backbone: Backbone | None = None) -> None:
        super().__init__()
        self.config = config
        torch.manual_seed(config.seed)
        self.backbone = backbone or load_backbone(config.backbone, config.n_layers, config.backbone_dtype,
                                                  seed=config.seed)
        width = self.backbone.embed_dim
        self.n_patches = num_patches(config.lookback, config.patch_len, config.patch_stride)
        self.revin = RevIN()
        self.patch_embedding = PatchEmbedding(config.patch_len, config.patch_stride, config.d_model, config.dropout)
        self.prototypes = TextPrototypes(self.backbone.word_embeddings, config.n_prototypes, config.prototype_vocab,
                                         seed=config.seed)
        self.reprogramming = ReprogrammingAttention(config.d_model, width, config.n_heads, config.d_keys,
                                                    config.dropout)
        self.prompt = PromptPrefix(self.backbone.tokenizer, config.description, config.lookback, config.horizon,
                                   tuple(config.statistics), config.n_lags) if config.prompt else None
        self.head = FlattenHead(self.n_patches, width, config.horizon, config.head_dim, config.dropout)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """Only what training changes: the backbone is rebuilt from its name, so checkpoints stay small."""
        return {name: p.detach().cpu() for name, p in self.named_parameters() if p.requires_grad}

    def sequence_length(self) -> int:
        return self.n_patches + (self.prompt.length if self.prompt is not None else 0)

    def embed_inputs(self, x: torch.Tensor, keys_values: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """(N, L) raw series → backbone inputs (N, T, width) and the RevIN statistics.

        ``keys_values`` replaces the projected prototypes (the NTK differentiates at that narrow point)."""
        normalised, stats = self.revin.normalize(x)
        if keys_values is None:
            keys_values = self.reprogramming.project(self.prototypes())
        patches = self.reprogramming(self.patch_embedding(normalised), keys_values=keys_values)
        if self.prompt is None:
            return patches, stats
        prompt = nn.functional.embedding(self.prompt(normalised), self.backbone.word_embeddings)
        return torch.cat([prompt.to(patches.dtype), patches], dim=1), stats

    def patch_hidden(self, series: torch.Tensor, keys_values: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """(N, L) → the backbone's hidden states at the patch positions (N, P, width), and RevIN statistics."""
        inputs, stats = self.embed_inputs(series, keys_values)
        return self.backbone(inputs)[:, -self.n_patches:, :].to(self.head.proj.weight.dtype), stats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, L, C) → forecast (B, H, C)."""
        channels = x.shape[-1]
        series = rearrange(x, "b l c -> (b c) l")
        hidden, stats = self.patch_hidden(series)
        forecast = self.revin.denormalize(self.head(hidden), stats)
        return rearrange(forecast, "(b c) h -> b h c", c=channels)
