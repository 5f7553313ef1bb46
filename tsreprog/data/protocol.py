"""The standard long-term forecasting protocol: split borders, train-only scaling, the few-shot cut.

Borders follow the published convention exactly (see shared/data/ltsf/README.md): ETT data uses 12/4/4 months,
everything else 70/10/20 by time; validation and test ranges start ``lookback`` rows early so that every target
lies inside its split and every test target is scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from tsreprog.data.core import scale_statistics
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
    """The one scaler: a mean and std per series (a file's column, a frame's or GluonTS dataset's series), fitted on
    its training rows only (never on validation or test data); ``names`` say which series each row belongs to."""

    mean: np.ndarray
    std: np.ndarray
    names: list[str] = field(default_factory=list)

    @classmethod
    def fit_each(cls, series: Sequence[np.ndarray], ends: Sequence[int], names: Sequence[str],
                 source: str = "data", label: str = "series") -> "StandardScaler":
        """Each series' statistics over its rows before ``ends[k]`` (NaN gaps left out)."""
        means, stds = [], []
        for values, end, name in zip(series, ends, names):
            mean, std = scale_statistics(np.asarray(values[:end], dtype=np.float64)[:, None],
                                         [f"{label} {name!r}"], source)
            means.append(mean[0])
            stds.append(std[0])
        return cls(np.asarray(means, dtype=np.float64), np.asarray(stds, dtype=np.float64), [str(n) for n in names])

    @classmethod
    def fit(cls, values: np.ndarray, columns: list[str] | None = None, source: str = "data") -> "StandardScaler":
        """Per column of a (T, C) table, every row given: the same statistics as :meth:`fit_each` of its columns,
        reduced along the table's rows at once (the order every published figure here was computed in)."""
        columns = list(columns) if columns else [f"#{j}" for j in range(values.shape[1])]
        mean, std = scale_statistics(values, [f"column {c!r}" for c in columns], source)
        return cls(mean, std, [str(c) for c in columns])

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def inverse(self, values: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        if isinstance(values, torch.Tensor):
            mean = torch.as_tensor(self.mean, dtype=values.dtype, device=values.device)
            std = torch.as_tensor(self.std, dtype=values.dtype, device=values.device)
            return values * std + mean
        return values * self.std + self.mean

    def state_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "names": list(self.names)}

    @classmethod
    def from_state_dict(cls, state: dict) -> "StandardScaler":
        return cls(np.asarray(state["mean"], dtype=np.float64), np.asarray(state["std"], dtype=np.float64),
                   [str(n) for n in state.get("names", [])])


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
