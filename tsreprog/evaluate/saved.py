"""Score or forecast with a saved model on a file, as `tsreprog evaluate` and `tsreprog forecast` do: the saved
pipeline's scaler, columns and precision, never the file's own statistics."""

from __future__ import annotations

from tsreprog.data.loading import SeriesTable
from tsreprog.data.splits import load_table, prepare_table
from tsreprog.errors import DataError
from tsreprog.evaluate.forecast import Forecast, forecast_at
from tsreprog.train.metrics import evaluate
from tsreprog.train.pipeline import ForecastPipeline
from tsreprog.train.precision import autocast_dtype


def trained_columns(table: SeriesTable, pipeline: ForecastPipeline) -> SeriesTable:
    """The table's columns the model was trained on, in the training order; a missing one is a one-line error."""
    trained = list(pipeline.dataset.get("columns") or pipeline.scaler.names)
    missing = [c for c in trained if c not in table.columns]
    if missing:
        raise DataError(f"{table.source}: column '{missing[0]}' the model was trained on is missing")
    table.values = table.values[:, [table.columns.index(c) for c in trained]]
    table.columns = trained
    return table


def score_saved(pipeline: ForecastPipeline, dataset: str | None = None, data_dir: str | None = None,
                split: str = "test", stride: int = 1, batch_size: int = 256, precision: str = "auto",
                original_scale: bool = False) -> dict:
    """MSE/MAE over every window of ``split`` of ``dataset`` (default: the one trained on) under the protocol;
    ``precision`` auto: the one training chose."""
    config, train = pipeline.model_config, pipeline.train_config
    table, name, rule, description = load_table(dataset or pipeline.dataset_path, data_dir or train.data_dir,
                                                train.date_column, train.columns)
    data = prepare_table(trained_columns(table, pipeline), name, rule, description, config.lookback, config.horizon,
                         scaler=pipeline.scaler)
    windows = data.windows(split, config.lookback, config.horizon, stride)
    precision = pipeline.precision if precision == "auto" else precision
    metrics = evaluate(pipeline.model, windows, batch_size, "cpu", pipeline.scaler if original_scale else None,
                       autocast_dtype(precision))
    return {"dataset": data.name, "split": split, **metrics, "precision": precision}


def forecast_saved(pipeline: ForecastPipeline, dataset: str | None = None, data_dir: str | None = None,
                   origin: int | None = None) -> Forecast:
    """The horizon after ``origin`` of ``dataset`` (default: the one trained on, past its end)."""
    train = pipeline.train_config
    table, _, _, _ = load_table(dataset or pipeline.dataset_path, data_dir or train.data_dir, train.date_column,
                                train.columns)
    return forecast_at(pipeline, trained_columns(table, pipeline), origin)
