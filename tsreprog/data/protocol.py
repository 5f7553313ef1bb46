"""The standard long-term forecasting protocol: split borders, train-only scaling, sliding windows.

Borders follow the published convention exactly (see shared/data/ltsf/README.md): ETT data uses 12/4/4 months,
everything else 70/10/20 by time; validation and test ranges start ``lookback`` rows early so that every target
lies inside its split and every test target is scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from tsreprog.data.core import scale_statistics, too_short
from tsreprog.errors import DataError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitBorders:
    """Row ranges [start, end) of each split, look-back overlap included for val and test."""

    train: tuple[int, int]
    val: tuple[int, int]
    test: tuple[int, int]

    def __getitem__(self, split: str) -> tuple[int, int]:
        if split not in SPLITS:
            raise DataError(f"unknown split '{split}' (use one of {', '.join(SPLITS)})")
        return getattr(self, split)


def split_borders(n_rows: int, lookback: int, rule: str = "ratio") -> SplitBorders:
    """Borders for ``rule`` in {"ett_hour", "ett_minute", "ratio"}."""
    if rule in ("ett_hour", "ett_minute"):
        per_month = 30 * 24 * (4 if rule == "ett_minute" else 1)
        n_train, n_val, n_test = 12 * per_month, 4 * per_month, 4 * per_month
        if n_rows < n_train + n_val + n_test:
            raise DataError(f"ETT protocol needs {n_train + n_val + n_test} rows, the file has {n_rows}")
        train_end = n_train
        val_end = n_train + n_val
        test_end = val_end + n_test
    elif rule == "ratio":
        n_train = int(n_rows * 0.7)
        n_test = int(n_rows * 0.2)
        train_end = n_train
        val_end = n_rows - n_test
        test_end = n_rows
    else:
        raise DataError(f"unknown split rule '{rule}' (ett_hour, ett_minute or ratio)")
    return SplitBorders(
        train=(0, train_end),
        val=(max(train_end - lookback, 0), val_end),
        test=(max(val_end - lookback, 0), test_end),
    )


@dataclass
class StandardScaler:
    """Per-channel standardisation fitted on training rows only (never on validation or test data)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, columns: list[str] | None = None, source: str = "data") -> "StandardScaler":
        names = [f"column '{c}'" for c in columns] if columns else [f"column #{j}" for j in range(values.shape[1])]
        mean, std = scale_statistics(values, names, source)
        return cls(mean=mean, std=std)

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def inverse(self, values: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        if isinstance(values, torch.Tensor):
            mean = torch.as_tensor(self.mean, dtype=values.dtype, device=values.device)
            std = torch.as_tensor(self.std, dtype=values.dtype, device=values.device)
            return values * std + mean
        return values * self.std + self.mean

    def state_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state_dict(cls, state: dict) -> "StandardScaler":
        return cls(np.asarray(state["mean"], dtype=np.float64), np.asarray(state["std"], dtype=np.float64))


def few_shot_end(start: int, end: int, lookback: int, fraction: float) -> int:
    """The end row of a training range cut to its first ``fraction`` of window starts, as Time-LLM's and GPT4TS's
    loaders cut it for few-shot runs: ``(end - L) * p // 100 + L`` (their range starts at row 0). The scaler is still
    fitted on the whole training range (theirs is too); only the windows trained on are fewer."""
    if fraction >= 1.0:
        return end
    return start + lookback + math.floor((end - start - lookback) * fraction + 1e-9)


def count_windows(n_rows: int, lookback: int, horizon: int, stride: int = 1) -> int:
    """Number of (look-back, horizon) windows in ``n_rows`` rows at the given stride."""
    span = n_rows - lookback - horizon
    return 0 if span < 0 else span // stride + 1


class WindowDataset(Dataset):
    """Sliding windows over one split.

    ``channel_independent=True`` yields one univariate sample per (window, channel) pair, shapes (L, 1) and (H, 1),
    so that a batch mixes channels; otherwise each sample is the whole window (L, C) and (H, C). Either way every
    window start ``0, stride, 2*stride, ...`` is visited, and with stride 1 every target row is scored.
    """

    def __init__(
        self,
        values: np.ndarray,
        lookback: int,
        horizon: int,
        stride: int = 1,
        channel_independent: bool = True,
        source: str = "data",
    ) -> None:
        if stride < 1:
            raise DataError(f"window stride must be >= 1, got {stride}")
        n_rows = values.shape[0]
        if n_rows < lookback + horizon:
            raise too_short(source, n_rows, lookback + horizon, "look-back + horizon")
        self.data = torch.as_tensor(np.ascontiguousarray(values), dtype=torch.float32)
        self.lookback = lookback
        self.horizon = horizon
        self.stride = stride
        self.channel_independent = channel_independent
        self.n_windows = count_windows(n_rows, lookback, horizon, stride)
        self.n_channels = values.shape[1]

    def __len__(self) -> int:
        return self.n_windows * (self.n_channels if self.channel_independent else 1)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.channel_independent:
            window, channel = divmod(index, self.n_channels)
            columns = slice(channel, channel + 1)
        else:
            window, columns = index, slice(None)
        start = window * self.stride
        mid = start + self.lookback
        return self.data[start:mid, columns], self.data[mid:mid + self.horizon, columns]
