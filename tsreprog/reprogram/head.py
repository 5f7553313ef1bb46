"""Output head: the backbone's hidden states at the patch positions → flatten → linear → horizon."""

from __future__ import annotations

import torch
from torch import nn


class FlattenHead(nn.Module):
    def __init__(self, n_patches: int, width: int, horizon: int, head_dim: int | None = None,
                 dropout: float = 0.1, n_outputs: int | None = None) -> None:
        """``n_outputs``: None for a point head (N, H); a count for one output per quantile level (N, H, n), one
        level included."""
        super().__init__()
        self.reduce = nn.Linear(width, head_dim) if head_dim else nn.Identity()
        self.proj = nn.Linear(n_patches * (head_dim or width), horizon * (n_outputs or 1))
        self.dropout = nn.Dropout(dropout)
        self.horizon = horizon
        self.n_outputs = n_outputs

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden: (N, P, width) → (N, H) or (N, H, n_outputs)."""
        out = self.proj(self.dropout(self.reduce(hidden).flatten(1)))
        return out if self.n_outputs is None else out.view(-1, self.horizon, self.n_outputs)


def monotone_quantiles(raw: torch.Tensor) -> torch.Tensor:
    """(..., Q) unconstrained outputs → non-decreasing quantiles: the first, then cumulative softplus steps.

    Quantile crossing is impossible by construction, so no post-hoc sorting is needed."""
    steps = torch.nn.functional.softplus(raw[..., 1:])
    return torch.cat([raw[..., :1], raw[..., :1] + steps.cumsum(-1)], dim=-1)


def pinball_loss(quantiles: torch.Tensor, target: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Mean quantile (pinball) loss; quantiles (..., Q), target (...), levels (Q,)."""
    diff = target.unsqueeze(-1) - quantiles
    return torch.maximum(levels * diff, (levels - 1) * diff).mean()
