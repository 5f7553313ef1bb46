"""Reprogramming: patch embeddings attend onto *text prototypes*, learned linear mixtures of the frozen word
embeddings, and come out in the backbone's embedding space.

The prototypes S = W·E (V' × d) are computed once per forward pass, never per sample. ``vocab_size`` lets the
mixture run over a seeded subset of the vocabulary: the full matrix costs V·V'·d FLOPs per step whatever the batch
size, and 94% of the trainable parameters (30,522 × 1,000 for MiniLM). The attention only ever needs the
prototypes' keys and values, so :meth:`TextPrototypes.project` multiplies in the cheaper order: E·Wᵀ first brings
the vocabulary from d columns down to the 2·heads·d_keys the keys and values have (64 instead of 384 on MiniLM).
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn


class TextPrototypes(nn.Module):
    def __init__(self, word_embeddings: torch.Tensor, n_prototypes: int = 1000, vocab_size: int | None = None,
                 seed: int = 0) -> None:
        super().__init__()
        total = word_embeddings.shape[0]
        if vocab_size is not None and vocab_size < total:
            generator = torch.Generator().manual_seed(seed)
            rows = torch.randperm(total, generator=generator)[:vocab_size].sort().values
        else:
            rows = torch.arange(total)
        self.register_buffer("rows", rows, persistent=False)
        self.mix = nn.Linear(len(rows), n_prototypes)
        self._embeddings = [word_embeddings]  # a list keeps the frozen matrix out of this module's parameters

    def forward(self) -> torch.Tensor:
        embeddings = self._embeddings[0]
        if len(self.rows) != embeddings.shape[0]:
            embeddings = embeddings.index_select(0, self.rows.to(embeddings.device))
        # (V' × V) · (V × d) as one matmul; the bias broadcasts over the width.
        mixed = self.mix.weight @ embeddings.to(self.mix.weight.dtype)
        return mixed + self.mix.bias[:, None]

    def project(self, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``linear(self(), weight, bias)`` (V' × k) computed as M·(E·Wᵀ) + b ⊗ (W·1) + bias when k < d: the same
        product, re-associated so the V × V' mixture runs over k columns instead of d (exact up to rounding)."""
        embeddings = self._embeddings[0]
        if weight.shape[0] >= embeddings.shape[1]:
            return nn.functional.linear(self(), weight, bias)
        if len(self.rows) != embeddings.shape[0]:
            embeddings = embeddings.index_select(0, self.rows.to(embeddings.device))
        projected = embeddings.to(weight.dtype) @ weight.T  # V × k
        return self.mix.weight.to(projected.dtype) @ projected + self.mix.bias[:, None] * weight.sum(1) + bias


class ReprogrammingAttention(nn.Module):
    """Multi-head cross-attention: queries from patches (N, P, d_model), keys/values from prototypes (V', d_llm).

    ``scoring="cosine"`` (the default) compares unit-length queries and keys under a learned temperature. Why:
    with plain scaled dot products the logits at initialisation are ~0.03 (prototypes are averages of thousands of
    word embeddings, and their keys come out of a 1/sqrt(fan-in) projection), so the softmax over 1,000 prototypes is
    uniform and every patch receives the same mixture: measured on MiniLM, the output varies across patches and
    series by 1e-4 against a norm of 2.1. The series then reaches the backbone only through the prompt, and a
    short training budget often never leaves that state (ETTh1 H=192, quick budget: 2 of 3 seeds stuck at validation
    MSE 1.471, the level of forecasting the window mean). Cosine logits start with a spread set by the temperature
    (init 10, as in cosine attention of Swin V2), so patches pick different prototypes from the first step.
    ``scoring="dot"`` is Time-LLM's original scoring (and what checkpoints written before this option hold).

    ``output_rms`` pins every output token to that root-mean-square (the backbone's word-embedding scale). Why: a
    backbone without an embedding norm (Llama/SmolLM2, GPT-2) feeds its input straight into the residual stream, and
    nothing stops training from inflating the reprogrammed tokens out of the range its blocks were trained on.
    Measured on SmolLM2 (ETTh2, H=336, quick budget, peak rate 1e-3): token RMS 0.11 at the start (words: 0.13), 2.0
    after 20 steps, 9.2 after 30, and the loss diverged (0.8 → 39); gradient clipping at norm 1 did not stop it.
    The pin alone does not make that rate safe (loss still reached 5.0): the benchmark trains SmolLM2 at 5e-4.
    BERT-type backbones layer-normalise their embeddings themselves, so None (free scale) suits them.
    """

    def __init__(self, d_model: int, d_llm: int, n_heads: int = 8, d_keys: int | None = None,
                 dropout: float = 0.1, scoring: str = "cosine", output_rms: float | None = None) -> None:
        super().__init__()
        if output_rms is not None and not output_rms > 0:
            raise ValueError(f"output_rms must be positive, got {output_rms}")
        self.output_rms = output_rms
        d_keys = d_keys or max(d_model // n_heads, 1)
        self.n_heads = n_heads
        self.scoring = scoring
        if scoring == "cosine":
            self.log_temperature = nn.Parameter(torch.full((n_heads, 1, 1), math.log(10.0)))
        elif scoring != "dot":
            raise ValueError(f"unknown attention scoring '{scoring}' (use cosine or dot)")
        self.query = nn.Linear(d_model, d_keys * n_heads)
        self.key = nn.Linear(d_llm, d_keys * n_heads)
        self.value = nn.Linear(d_llm, d_keys * n_heads)
        self.out = nn.Linear(d_keys * n_heads, d_llm)
        self.dropout = nn.Dropout(dropout)

    def project(self, prototypes: torch.Tensor) -> torch.Tensor:
        """Prototypes (V', d_llm) → their keys and values side by side, (V', 2·heads·d_keys)."""
        return torch.cat([self.key(prototypes), self.value(prototypes)], dim=-1)

    def project_prototypes(self, prototypes: TextPrototypes) -> torch.Tensor:
        """What ``project(prototypes())`` computes, in the cheaper order (see :meth:`TextPrototypes.project`)."""
        return prototypes.project(torch.cat([self.key.weight, self.value.weight]),
                                  torch.cat([self.key.bias, self.value.bias]))

    def forward(self, patches: torch.Tensor, prototypes: torch.Tensor | None = None,
                keys_values: torch.Tensor | None = None) -> torch.Tensor:
        """Attend from patches onto prototypes; ``keys_values`` (from :meth:`project`) skips the projection."""
        n = patches.shape[0]
        if keys_values is None:
            keys_values = self.project(prototypes)
        keys, values = keys_values.chunk(2, dim=-1)
        # Keys and values are the same for every sample: fold the batch into the query axis and attend once,
        # instead of expanding (V' × d) keys per sample. Dropout goes on the output, which keeps SDPA on its
        # fused kernels (attention-weight dropout forces the slow math path on CPU).
        q = rearrange(self.query(patches), "n p (h e) -> 1 h (n p) e", h=self.n_heads)
        k = rearrange(keys, "s (h e) -> 1 h s e", h=self.n_heads)
        v = rearrange(values, "s (h e) -> 1 h s e", h=self.n_heads)
        scale = q.shape[-1] ** -0.5
        if self.scoring == "cosine":
            # Temperature clamped so a runaway step cannot make the softmax one-hot (gradients would vanish).
            q = nn.functional.normalize(q, dim=-1) * self.log_temperature.clamp(max=math.log(100.0)).exp()
            k = nn.functional.normalize(k, dim=-1)
            scale = 1.0
        attended = nn.functional.scaled_dot_product_attention(q, k, v, scale=scale)
        out = self.out(rearrange(attended, "1 h (n p) e -> n p (h e)", n=n))
        if self.output_rms is not None:
            out = nn.functional.rms_norm(out, out.shape[-1:]) * self.output_rms
        return self.dropout(out)
