"""Reversible instance normalisation: each input series is standardised by its own look-back statistics, and the
forecast is mapped back with the same statistics, so the frozen backbone always sees unit-scale inputs."""

from __future__ import annotations

import torch
from torch import nn


class RevIN(nn.Module):
    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def normalize(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x: (N, L) → normalised x and the (mean, std) needed to invert, each (N, 1)."""
        mean = x.mean(dim=-1, keepdim=True).detach()
        std = torch.sqrt(x.var(dim=-1, keepdim=True, unbiased=False) + self.eps).detach()
        return (x - mean) / std, (mean, std)

    @staticmethod
    def denormalize(y: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        mean, std = stats
        return y * std + mean
