"""Forecast from a trained model at a chosen origin, on the original scale, with a plot of history/forecast/truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tsreprog.data.loading import SeriesTable
from tsreprog.data.protocol import StandardScaler
from tsreprog.errors import DataError
from tsreprog.io import atomic_write_bytes, save_figure
from tsreprog.train.pipeline import ForecastPipeline


@dataclass
class Forecast:
    history: pd.DataFrame  # the look-back window, original scale
    forecast: pd.DataFrame  # horizon rows, original scale
    truth: pd.DataFrame | None  # the observed rows under the forecast, when the origin lies inside the data
    quantiles: dict[float, pd.DataFrame] = field(default_factory=dict)  # level → frame like ``forecast``


def future_index(table: SeriesTable, origin: int, horizon: int) -> pd.Index:
    """Timestamps of the forecast rows: observed ones where they exist, then continued at the inferred frequency."""
    if table.timestamps is None:
        return pd.RangeIndex(origin, origin + horizon)
    known = table.timestamps[origin:origin + horizon]
    if len(known) == horizon:
        return known
    freq = table.freq or pd.infer_freq(table.timestamps[-min(len(table), 50):])
    if freq is None:
        raise DataError(f"{table.source}: cannot infer the time step to date forecasts beyond the data")
    start = table.timestamps[origin - 1] if not len(known) else known[-1]
    extra = pd.date_range(start, periods=horizon - len(known) + 1, freq=freq)[1:]
    return known.append(extra)


def forecast_at(pipeline: ForecastPipeline, table: SeriesTable, origin: int | None = None) -> Forecast:
    """Forecast the model's horizon of rows starting at row ``origin`` (default: just past the data; negative counts
    from the end), each column through the pipeline (its scaler row, the precision the model trained in)."""
    lookback, horizon = pipeline.model_config.lookback, pipeline.model_config.horizon
    n_rows = len(table)
    given = origin
    origin = n_rows if origin is None else (origin + n_rows if origin < 0 else origin)
    if n_rows < lookback:  # no origin works: naming a range of origins would only name impossible ones
        raise DataError(f"{table.source}: {n_rows} rows, fewer than the {lookback} rows of history (the look-back) "
                        "a forecast needs")
    if not lookback <= origin <= n_rows:
        row = f"{given} (row {origin})" if given is not None and given < 0 else f"{origin}"
        raise DataError(f"{table.source}: forecast origin {row} needs {lookback} rows of history inside the "
                        f"{n_rows} rows of the file (origins {lookback - n_rows} to -1, or {lookback} to {n_rows})")
    history_values = table.values[origin - lookback:origin]
    points, quantiles = pipeline.forecast(list(history_values.T), table.columns)
    index = future_index(table, origin, horizon)
    bands = {}
    if quantiles is not None:  # (channels, horizon, levels) → one frame per level, on the original scale
        for j, level in enumerate(pipeline.model.quantiles):
            bands[float(level)] = pd.DataFrame(quantiles[:, :, j].T, index=index, columns=table.columns)
    history_index = table.timestamps[origin - lookback:origin] if table.timestamps is not None else \
        pd.RangeIndex(origin - lookback, origin)
    history = pd.DataFrame(history_values, index=history_index, columns=table.columns)
    frame = pd.DataFrame(points.T, index=index, columns=table.columns)
    observed = table.values[origin:origin + horizon]
    truth = pd.DataFrame(observed, index=index[:len(observed)], columns=table.columns) if len(observed) else None
    return Forecast(history, frame, truth, bands)


def write_forecast(result: Forecast, path: str | Path) -> None:
    """The point forecast, one column per channel, and for a quantile model ``<channel>-q-<level>`` beside it."""
    frame = result.forecast.copy()
    for level, band in result.quantiles.items():
        for column in band.columns:
            frame[f"{column}-q-{level:g}"] = band[column]
    frame.index.name = "date"
    atomic_write_bytes(path, frame.to_csv().encode())


def plot_forecast(result: Forecast, path: str | Path, columns: list[str] | None = None, context: int = 192) -> None:
    """One panel per column: the end of the history, the forecast and (where known) the truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = columns or list(result.forecast.columns)
    fig, axes = plt.subplots(len(columns), 1, figsize=(10, 2.2 * len(columns)), sharex=True, squeeze=False)
    for ax, column in zip(axes[:, 0], columns):
        history = result.history[column].iloc[-context:]
        ax.plot(history.index, history.to_numpy(), color="0.3", lw=1, label="history")
        if result.truth is not None:
            ax.plot(result.truth.index, result.truth[column].to_numpy(), color="tab:green", lw=1, label="truth")
        ax.plot(result.forecast.index, result.forecast[column].to_numpy(), color="tab:red", lw=1.3, label="forecast")
        ax.set_ylabel(column)
    axes[0, 0].legend(loc="upper left", fontsize=8, ncol=3)
    save_figure(fig, path)


def forecast_errors(result: Forecast, scaler: StandardScaler) -> dict[str, float] | None:
    """MSE/MAE of this single forecast against the truth, on the scaled and original scales."""
    if result.truth is None or len(result.truth) < len(result.forecast):
        return None
    diff = result.forecast.to_numpy() - result.truth.to_numpy()
    scaled = diff / scaler.std
    return {"mse": float(np.mean(scaled ** 2)), "mae": float(np.mean(np.abs(scaled))),
            "original_mse": float(np.mean(diff ** 2)), "original_mae": float(np.mean(np.abs(diff)))}
