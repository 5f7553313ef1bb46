"""Exact error metrics over every window of a split (sums accumulated, never averaged per batch)."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from tsreprog.data.protocol import StandardScaler
from tsreprog.data.windows import SeriesWindows


class ErrorSums:
    """Running sums of squared and absolute errors, for exact means over uneven batches."""

    def __init__(self) -> None:
        self.sse = 0.0
        self.sae = 0.0
        self.count = 0

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        diff = (prediction.float() - target.float()).detach()
        self.sse += float((diff * diff).sum())
        self.sae += float(diff.abs().sum())
        self.count += diff.numel()

    def result(self, prefix: str = "") -> dict[str, float]:
        if self.count == 0:
            return {f"{prefix}mse": float("nan"), f"{prefix}mae": float("nan")}
        return {f"{prefix}mse": self.sse / self.count, f"{prefix}mae": self.sae / self.count}


@torch.no_grad()
def evaluate(model: torch.nn.Module, dataset: SeriesWindows, batch_size: int = 256, device: str | torch.device = "cpu",
             scaler: StandardScaler | None = None, autocast_dtype: torch.dtype | None = None) -> dict[str, float]:
    """MSE and MAE on the scaled data (the LTSF convention) over every window; with ``scaler`` also on the
    original scale (``original_mse``, ``original_mae``), each sample by its own series' statistics."""
    model.eval()
    scaled, original = ErrorSums(), ErrorSums()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, drop_last=False)
    device = torch.device(device)
    position = 0
    if scaler is not None:  # each sample's series statistics, looked up per batch
        means = torch.as_tensor(scaler.mean, dtype=torch.float32)
        stds = torch.as_tensor(scaler.std, dtype=torch.float32)
    for x, y in loader:
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            prediction = model(x.to(device)).float().cpu()
        scaled.update(prediction, y)
        if scaler is not None:
            series = torch.as_tensor(dataset.series_index[position:position + len(x)])
            mean, std = means[series][:, None, None], stds[series][:, None, None]
            original.update(prediction * std + mean, y * std + mean)
        position += len(x)
    metrics = scaled.result()
    if scaler is not None:
        metrics.update(original.result("original_"))
    metrics["n_windows"] = dataset.n_windows
    return metrics
