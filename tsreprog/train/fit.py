"""Train a forecaster on a file under the protocol, keep the best validation checkpoint and score the test split."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from tsreprog.data.splits import PreparedData, prepare
from tsreprog.models import ModelConfig
from tsreprog.train.config import TrainConfig
from tsreprog.train.distributed import is_rank_zero, launch_rank
from tsreprog.train.loop import torch_device
from tsreprog.train.metrics import evaluate
from tsreprog.train.pipeline import ForecastPipeline
from tsreprog.train.resume import remove_state
from tsreprog.io import write_json


@dataclass
class FitResult:
    model: torch.nn.Module
    data: PreparedData
    metrics: dict = field(default_factory=dict)
    checkpoint: Path | None = None
    history: list[dict] = field(default_factory=list)
    pipeline: ForecastPipeline | None = None


def dataset_description(data: PreparedData) -> dict:
    """What a saved model records of its file: a CSV by its absolute path, as a checkpoint is used from other
    folders than the one it was trained in."""
    source = data.table.source
    return {"name": data.name, "columns": data.table.columns, "freq": data.table.freq,
            "source": str(Path(source).resolve()) if Path(source).is_file() else source,
            "description": data.description}


def last_state_path(checkpoint_path: str | Path) -> Path:
    """Where a run that writes ``checkpoint_path`` keeps its resumable state while it trains."""
    return Path(checkpoint_path).with_name("last_state.ckpt")


def trained_record_path(checkpoint_path: str | Path) -> Path:
    """Where a run records that its training ended (its epoch history; the metrics are in the saved model). It stays
    until the caller has written what it scored, so a run killed while scoring resumes at the scoring instead of at
    the first epoch."""
    return Path(checkpoint_path).with_name("trained.json")


def fit(model_config: ModelConfig, train: TrainConfig, checkpoint_path: str | Path | None = None,
        data: PreparedData | None = None, test: bool = True, log: Callable[[str], None] | None = None,
        resume: bool = False, keep_record: bool = False) -> FitResult:
    """Train ``model_config`` on ``train.dataset`` under the protocol (a :class:`ForecastPipeline` over the file's
    columns, the training split to fit, the validation split to stop) and return the best model with its
    validation/test metrics; ``log`` receives one line per epoch.

    With a ``checkpoint_path``, the whole training state is saved beside it after every epoch
    (:func:`last_state_path`); when training ends it gives way to the final model and :func:`trained_record_path`,
    removed once the test split is scored, or with ``keep_record`` left for the caller to remove once its own outputs
    are written (bench's transfer scores). ``resume=True`` continues from whichever is there."""
    data = data or prepare(train.dataset, model_config.lookback, model_config.horizon, train.data_dir,
                           train.date_column, train.columns, drop_duplicate_rows=train.drop_duplicate_rows)
    path = Path(checkpoint_path) if checkpoint_path else None
    state = last_state_path(path) if path is not None else None
    record = trained_record_path(path) if path is not None else None
    started = time.perf_counter()
    resumed_after_training = resume and record is not None and record.is_file() and path.exists()
    if resumed_after_training:  # killed after training, while scoring: score it again, do not train it again
        pipeline = ForecastPipeline.load(path)  # its metrics were saved with it
        pipeline.history = json.loads(record.read_text())["history"]
        if log:
            log(f"training had finished ({len(pipeline.history)} epochs); resuming at the scoring")
    else:
        pipeline = ForecastPipeline.train(
            model_config, train, list(data.table.values.T), data.table.columns, data.borders.train[1],
            data.borders.val[1], scaler=data.scaler, freq=data.table.freq, dataset=dataset_description(data),
            source=data.table.source, log=log, checkpoint=path, last_state=state, resume=resume)
        pipeline.metrics["train_seconds"] = time.perf_counter() - started
    model, precision = pipeline.model, pipeline.precision
    if not is_rank_zero():  # a DDP rank other than 0 has trained its share; rank 0 scores and writes
        return FitResult(model, data, {"precision": precision, "rank": launch_rank()}, path, pipeline.history)
    if path is not None and not resumed_after_training:
        pipeline.save(path)  # the best weights with the precision and metrics they were trained under
        write_json(record, {"history": pipeline.history})
        remove_state(state)
    metrics = dict(pipeline.metrics)
    if test:
        device = torch_device(train.accelerator)
        model.to(device)
        test_set = data.windows("test", model_config.lookback, model_config.horizon, 1)
        metrics.update({f"test_{k}": v for k, v in evaluate(model, test_set, train.eval_batch_size, device,
                                                            data.scaler, pipeline.autocast_dtype).items()})
        model.cpu()
    if record is not None and not keep_record:
        record.unlink(missing_ok=True)
    return FitResult(model, data, metrics, path, pipeline.history, pipeline)
