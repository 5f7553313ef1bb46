"""Cut a series into overlapping patches and embed each patch as one token."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def num_patches(lookback: int, patch_len: int, stride: int) -> int:
    """Patches after padding the end by ``stride`` (replicating the last value), as in PatchTST/Time-LLM."""
    return (lookback + stride - patch_len) // stride + 1


class PatchEmbedding(nn.Module):
    def __init__(self, patch_len: int, stride: int, d_model: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.patch_len = patch_len
        self.stride = stride
        self.proj = nn.Linear(patch_len, d_model)
        self.dropout = nn.Dropout(dropout)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, L) → (N, P, patch_len)."""
        padded = F.pad(x.unsqueeze(1), (0, self.stride), mode="replicate").squeeze(1)
        return padded.unfold(dimension=-1, size=self.patch_len, step=self.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(self.patches(x)))
