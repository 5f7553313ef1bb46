"""Output head: the backbone's hidden states at the patch positions → flatten → linear → horizon."""

from __future__ import annotations

import torch
from torch import nn


class FlattenHead(nn.Module):
    def __init__(self, n_patches: int, width: int, horizon: int, head_dim: int | None = None,
                 dropout: float = 0.1, n_outputs: int = 1) -> None:
        super().__init__()
        self.reduce = nn.Linear(width, head_dim) if head_dim else nn.Identity()
        self.proj = nn.Linear(n_patches * (head_dim or width), horizon * n_outputs)
        self.dropout = nn.Dropout(dropout)
        self.horizon = horizon
        self.n_outputs = n_outputs

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden: (N, P, width) → (N, H) or (N, H, n_outputs)."""
        out = self.proj(self.dropout(self.reduce(hidden).flatten(1)))
        return out if self.n_outputs == 1 else out.view(-1, self.horizon, self.n_outputs)
