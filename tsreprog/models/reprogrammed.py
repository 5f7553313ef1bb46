"""The reprogrammed forecaster: RevIN → patches → reprogramming onto text prototypes → [prompt; patches] →
frozen backbone → head → inverse RevIN. Channel-independent: (B, L, C) is folded to (B·C, L) and back."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from tsreprog.backbones import Backbone, load_backbone
from tsreprog.errors import ConfigError
from tsreprog.models.config import ModelConfig
from tsreprog.models.contract import Forecaster
from tsreprog.reprogram import (FlattenHead, PatchEmbedding, PromptPrefix, ReprogrammingAttention, RevIN,
                                TextPrototypes, num_patches)
from tsreprog.reprogram.head import monotone_quantiles


def token_rms(backbone: Backbone, token_scale: str) -> float | None:
    """The RMS the reprogrammed tokens are pinned to, or None for a free scale (see ``ReprogrammingAttention``)."""
    if backbone.kind != "language":
        if token_scale == "embedding":  # a vision model's stand-in vocabulary is its patch projection, not tokens
            raise ConfigError(f"token_scale='embedding' needs a language backbone; '{backbone.name}' is "
                             f"{backbone.kind} (use auto or free)")
        return None
    if token_scale == "embedding" or (token_scale == "auto" and not backbone.normalises_inputs):
        return backbone.embedding_rms
    return None


class ReprogrammedForecaster(Forecaster):
    supports_quantiles = True

    def __init__(self, config: ModelConfig, backbone: Backbone | None = None) -> None:
        super().__init__()
        self.config = config
        torch.manual_seed(config.seed)
        self.backbone = backbone or load_backbone(config.backbone, config.n_layers, config.backbone_dtype,
                                                  seed=config.seed)
        width = self.backbone.embed_dim
        self.n_patches = num_patches(config.lookback, config.patch_len, config.patch_stride)
        self.revin = RevIN()
        self._kv_cache: tuple | None = None  # see prototype_keys_values
        self._prefix_cache: tuple | None = None  # see prompt_prefix_states
        self.use_prefix_cache = True
        self.patch_embedding = PatchEmbedding(config.patch_len, config.patch_stride, config.d_model, config.dropout)
        self.prototypes = TextPrototypes(self.backbone.word_embeddings, config.n_prototypes, config.prototype_vocab,
                                         seed=config.seed)
        self.reprogramming = ReprogrammingAttention(config.d_model, width, config.n_heads, config.d_keys,
                                                    config.dropout, config.attention_scoring,
                                                    output_rms=token_rms(self.backbone, config.token_scale))
        # Vision backbones have no text vocabulary: the patch-reprogramming path runs without a prompt (the full
        # form is the default, so it is dropped quietly; a compact prompt was asked for, so it is refused).
        if config.prompt == "compact" and self.backbone.tokenizer is None:
            raise ConfigError(f"prompt 'compact' needs a language backbone; '{self.backbone.name}' is "
                              f"{self.backbone.kind} and has no vocabulary (use prompt: none)")
        use_prompt = config.prompt != "none" and self.backbone.tokenizer is not None
        self.prompt = PromptPrefix(self.backbone.tokenizer, config.description, config.lookback, config.horizon,
                                   tuple(config.statistics), config.n_lags, config.prompt) if use_prompt else None
        limit = self.backbone.max_positions
        if limit is not None and self.sequence_length() > limit:  # else an opaque tensor-size error mid-training
            raise ConfigError(
                f"lookback {config.lookback} makes {self.n_patches} patches (patch_len {config.patch_len}, stride "
                f"{config.patch_stride}) + {self.sequence_length() - self.n_patches} prompt tokens = "
                f"{self.sequence_length()} tokens; backbone '{self.backbone.name}' takes at most {limit} positions "
                f"(use a shorter lookback, a longer patch_stride, or prompt: compact or none)")
        self.quantiles = list(config.quantiles) if config.quantiles else None
        self.head = FlattenHead(self.n_patches, width, config.horizon, config.head_dim, config.dropout,
                                n_outputs=len(self.quantiles) if self.quantiles else None)
        if self.quantiles:
            self.register_buffer("quantile_levels", torch.tensor(self.quantiles), persistent=False)
            self.point_index = min(range(len(self.quantiles)), key=lambda i: abs(self.quantiles[i] - 0.5))

    def sequence_length(self) -> int:
        return self.n_patches + (self.prompt.length if self.prompt is not None else 0)

    def prototype_keys_values(self) -> torch.Tensor:
        """The prototypes' keys and values. They depend on weights only, not on the batch: when nothing is being
        differentiated (scoring, validation) they are computed once and reused until a weight changes (a tensor's
        version counter moves with every in-place update: optimizer steps, ``load_state_dict``)."""
        if torch.is_grad_enabled():
            self._kv_cache = None
            return self.reprogramming.project_prototypes(self.prototypes)
        device = self.reprogramming.key.weight.device
        key = (device, torch.is_autocast_enabled(device.type),
               tuple((p.data_ptr(), p._version) for p in self._prototype_parameters()))
        cached = getattr(self, "_kv_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, self.reprogramming.project_prototypes(self.prototypes))
            self._kv_cache = cached
        return cached[1]

    def _prototype_parameters(self) -> list[torch.Tensor]:
        return [*self.prototypes.parameters(), self.reprogramming.key.weight, self.reprogramming.key.bias,
                self.reprogramming.value.weight, self.reprogramming.value.bias]

    def embed_inputs(self, x: torch.Tensor, keys_values: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """(N, L) raw series → backbone inputs (N, T, width) and the RevIN statistics.

        ``keys_values`` replaces the projected prototypes (the NTK differentiates at that narrow point)."""
        normalised, stats = self.revin.normalize(x)
        if keys_values is None:
            keys_values = self.prototype_keys_values()
        patches = self.reprogramming(self.patch_embedding(normalised), keys_values=keys_values)
        if self.prompt is None:
            return patches, stats
        prompt = nn.functional.embedding(self.prompt(normalised), self.backbone.word_embeddings)
        return torch.cat([prompt.to(patches.dtype), patches], dim=1), stats

    def caches_prompt_prefix(self) -> bool:
        """Whether the prompt's constant lead runs once as cached backbone states: causal backbones only."""
        return (self.use_prefix_cache and self.backbone.causal and self.prompt is not None
                and self.prompt.constant_length > 0)

    def prompt_prefix_states(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The backbone's keys and values of the prompt's constant lead. Frozen weights and a fixed template make
        them constants: computed once per device, dtype and autocast state, then reused by every batch."""
        weights = self.backbone.word_embeddings
        key = (weights.device, weights.dtype, torch.is_autocast_enabled(weights.device.type))
        if self._prefix_cache is None or self._prefix_cache[0] != key:
            ids = self.prompt.template[: self.prompt.constant_length][None]
            states = self.backbone.prefix_states(nn.functional.embedding(ids, weights))
            self._prefix_cache = (key, states)
        return self._prefix_cache[1]

    def patch_hidden(self, series: torch.Tensor, keys_values: torch.Tensor | None = None,
                     prefix_cache: bool = True) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """(N, L) → the backbone's hidden states at the patch positions (N, P, width), and RevIN statistics.

        ``prefix_cache=False`` runs the whole sequence (the NTK's vmapped path; the result is the same)."""
        inputs, stats = self.embed_inputs(series, keys_values)
        prefix = None
        if prefix_cache and self.caches_prompt_prefix():
            prefix = self.prompt_prefix_states()
            inputs = inputs[:, self.prompt.constant_length:]
        hidden = self.backbone(inputs, prefix=prefix, keep_last=self.n_patches)
        return hidden.to(self.head.proj.weight.dtype), stats

    def _forecast(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, L, C) → (B, H, C) or, with a quantile head, (B, H, C, Q) — on the input scale."""
        channels = x.shape[-1]
        series = rearrange(x, "b l c -> (b c) l")
        hidden, (mean, std) = self.patch_hidden(series)
        out = self.head(hidden)
        if self.quantiles:
            out = monotone_quantiles(out) * std[:, :, None] + mean[:, :, None]  # std > 0 keeps the order
            return rearrange(out, "(b c) h q -> b h c q", c=channels)
        return rearrange(self.revin.denormalize(out, (mean, std)), "(b c) h -> b h c", c=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, L, C) → point forecast (B, H, C); with a quantile head, the quantile nearest the median."""
        out = self._forecast(x)
        return out[..., self.point_index] if self.quantiles else out

    def predict_quantiles(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, L, C) → (B, H, C, Q) non-decreasing along Q (levels in ``self.quantiles``)."""
        if not self.quantiles:
            raise ValueError("this model has no quantile head (set ModelConfig.quantiles)")
        return self._forecast(x)
