"""The training loop every route shares: Lightning, early stopping on exact validation MSE, the best trainable
weights kept in memory (and on disk when asked), one resolved precision per run, resumable state."""

from __future__ import annotations

import contextlib
import logging
import signal
import time
import warnings
from pathlib import Path
from typing import Callable

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from torch.utils.data import DataLoader

from tsreprog.errors import ConfigError
from tsreprog.train.checkpoint import load_trainable, save_checkpoint
from tsreprog.train.config import TrainConfig
from tsreprog.train.module import ForecastModule
from tsreprog.train.compile import compile_forward, uncompile
from tsreprog.train.precision import choose_precision
from tsreprog.train.distributed import per_rank_batch, strategy_for
from tsreprog.train.resume import AtomicCheckpointIO, EpochShuffle, LastState, read_run_record, record_path


class BestTrainableCheckpoint(Callback):
    """Keeps the best trainable weights in memory and, when a path is given, on disk (atomically)."""

    def __init__(self, payload_base: dict, path: Path | None) -> None:
        self.payload_base = payload_base
        self.path = path
        self.best = float("inf")
        self.best_state: dict | None = None
        self.history: list[dict] = []
        self.precision: str | None = None  # what training ran in, set by train_on_windows

    def state_dict(self) -> dict:
        return {"best": self.best, "best_state": self.best_state, "history": self.history}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_state, self.history = state["best"], state["best_state"], list(state["history"])

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        value = float(trainer.callback_metrics.get("val_mse", float("nan")))
        train_loss = trainer.callback_metrics.get("train_loss")
        self.history.append({"epoch": trainer.current_epoch, "val_mse": value,
                             "train_loss": float(train_loss) if train_loss is not None else None})
        if value < self.best:
            self.best = value
            self.best_state = pl_module.model.trainable_state_dict()
            if self.path is not None and trainer.is_global_zero:
                save_checkpoint(self.path, {**self.payload_base, "trainable_state": self.best_state,
                                            "metrics": {"val_mse": value}, "epoch": trainer.current_epoch})


class EpochLog(Callback):
    """One line per epoch (train loss, validation MSE, seconds), written whether or not output is a terminal."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.write = log
        self.started = time.perf_counter()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.started = time.perf_counter()

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        loss = trainer.callback_metrics.get("train_loss")
        val = trainer.callback_metrics.get("val_mse")
        self.write(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}: train loss "
                 f"{float(loss) if loss is not None else float('nan'):.4f}, val MSE "
                 f"{float(val) if val is not None else float('nan'):.4f}, {time.perf_counter() - self.started:.0f} s")


def resolve_accelerator(accelerator: str) -> str:
    """``auto``, ``cpu`` or ``gpu`` as Lightning's accelerator: auto takes the GPU where PyTorch sees one; gpu on a
    machine without one is a one-line error, not a failure deep inside the first step."""
    if accelerator == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    if accelerator == "gpu" and not torch.cuda.is_available():
        raise ConfigError("accelerator gpu: PyTorch sees no GPU on this machine (a CPU build of torch, or no "
                          "driver); use accelerator auto or cpu")
    return accelerator


def torch_device(accelerator: str) -> torch.device:
    """The device a model runs on outside Lightning (scoring, selection) for an ``accelerator`` setting."""
    return torch.device("cuda" if resolve_accelerator(accelerator) == "gpu" else "cpu")


def first_batch(dataset, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = [dataset[i] for i in range(min(size, len(dataset)))]
    return torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs])


# Lightning's notices that say nothing about a run of this package: silenced only while it trains (a context, not a
# process-wide filter, so the caller's own warnings and filters are left as they were).
LIGHTNING_NOISE = (
    ".*does not have many workers.*", ".*LeafSpec.*", ".*module\\(s\\) in eval mode.*",
    # validation sums are already reduced over ranks (ForecastModule): no metric left to sync
    ".*sync_dist=True.*",
    # a mid-epoch resume is exact: LastState tells the sampler which batches were trained (train.resume)
    ".*resuming from a checkpoint that ended before the epoch ended.*",
)


@contextlib.contextmanager
def quiet_lightning():
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            for pattern in LIGHTNING_NOISE:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def train_on_windows(model: torch.nn.Module, train_set, val_set, train: TrainConfig,
                     keeper: BestTrainableCheckpoint, extra_callbacks: list | None = None,
                     log: Callable[[str], None] | None = None, last_state: Path | None = None,
                     resume: bool = False) -> BestTrainableCheckpoint:
    """The training loop every interface shares: Lightning, early stopping on exact validation MSE, best weights
    kept by ``keeper`` and loaded back into ``model`` at the end; ``log`` receives one line per epoch.
    The precision it ran in (``train.precision``, ``auto`` resolved for this model) is left in ``keeper.precision``.

    ``last_state``: where the whole training state is saved after every epoch; with ``resume`` and that file
    present, training continues from it (see :mod:`tsreprog.train.resume`)."""
    accelerator = resolve_accelerator(train.accelerator)
    resume_from = str(last_state) if resume and last_state is not None and Path(last_state).is_file() else None
    # auto is decided once per run (a timed probe on CPUs with bf16 instructions can decide either way) and a
    # resumed run continues in what the run recorded; an explicit precision always wins.
    record = read_run_record(resume_from) if resume_from else {}
    if last_state is not None and not resume_from:  # a record left by an earlier run in this place is not this run's
        record_path(last_state).unlink(missing_ok=True)
    recorded = record.get("precision")
    if record.get("threads") and record["threads"] != torch.get_num_threads():
        # the thread count sets the order of CPU reductions: the resumed run continues with the run's own
        torch.set_num_threads(record["threads"])
        if log is not None:
            log(f"resuming with {record['threads']} threads, as the run started")
    if train.precision == "auto" and recorded:
        precision = recorded
    else:
        precision = choose_precision(train.precision, accelerator, model, first_batch(train_set, train.batch_size))
    keeper.precision = precision
    keeper.payload_base["precision"] = precision
    callbacks = [EarlyStopping("val_mse", patience=train.patience, mode="min"), keeper, *(extra_callbacks or [])]
    if log is not None:
        callbacks.append(EpochLog(log))
    sampler = EpochShuffle(len(train_set), train.seed)
    if last_state is not None:
        # inside an epoch only in one process: under DDP Lightning splits the order across ranks
        step_states = train.state_every_steps if train.devices == 1 else None
        settings = {k: keeper.payload_base[k] for k in ("model_config", "train_config") if k in keeper.payload_base}
        callbacks.append(LastState(last_state, step_states, sampler, train.batch_size, precision, settings))
    if resume_from and log is not None:
        log(f"resuming from {last_state}")
    # Each loader draws its iterators' base seed from its own generator, not the global one: a resume inside an
    # epoch creates an iterator the uninterrupted run did not, and must not shift the dropout stream by that draw.
    loaders = [
        DataLoader(train_set, batch_size=per_rank_batch(train.batch_size, train.devices), sampler=sampler,
                   num_workers=train.num_workers, generator=torch.Generator().manual_seed(train.seed)),
        DataLoader(val_set, batch_size=train.eval_batch_size, shuffle=False, num_workers=train.num_workers,
                   generator=torch.Generator().manual_seed(train.seed)),
    ]
    with quiet_lightning():
        trainer = L.Trainer(
            max_epochs=train.epochs, accelerator=accelerator, devices=train.devices,
            strategy=strategy_for(train.strategy, train.devices), precision=precision,
            limit_train_batches=train.max_steps_per_epoch or 1.0, gradient_clip_val=train.gradient_clip,
            logger=False, enable_checkpointing=last_state is not None,  # LastState: the only checkpoint callback
            enable_progress_bar=train.progress, enable_model_summary=False, num_sanity_val_steps=0,
            callbacks=callbacks, plugins=[AtomicCheckpointIO()],
        )
    if train.compile:
        compile_forward(model, warn=log or (lambda line: warnings.warn(line, stacklevel=2)))
    module = ForecastModule(model, train.learning_rate, train.weight_decay, train.schedule,
                            train.backbone_learning_rate)
    try:
        try:
            with quiet_lightning():
                trainer.fit(module, *loaders, ckpt_path=resume_from)
        except SystemExit:
            # Lightning answers Ctrl-C by exiting the process (status 1, no message): hand it back as the
            # interrupt it was, so the caller can say how to resume.
            if trainer.interrupted:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                raise KeyboardInterrupt from None
            raise
    finally:
        uncompile(model)
    if keeper.best_state is not None:
        load_trainable(model, keeper.best_state, "best validation checkpoint")
    model.cpu().eval()
    return keeper
