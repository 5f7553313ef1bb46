"""Training configuration (data, budget, optimisation, devices) kept next to the model config in checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

from tsreprog.config_base import ConfigMixin
from tsreprog.errors import ConfigError
from tsreprog.train.distributed import STRATEGIES

SCHEDULES = ("onecycle", "cosine", "constant", "halving")


@dataclass
class TrainConfig(ConfigMixin):
    _kind = "training setting"

    dataset: str = "ETTh1"
    data_dir: str | None = None
    date_column: str | None = "date"
    columns: list[str] | None = None
    drop_duplicate_rows: bool = False  # a user CSV's exact duplicate rows: dropped with a warning (else an error)
    batch_size: int = 32
    eval_batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "onecycle"  # onecycle | cosine | constant | halving (half the rate after every epoch)
    gradient_clip: float | None = None  # clip the gradient's global norm to this (None: no clipping)
    epochs: int = 10
    patience: int = 3
    train_stride: int = 1
    # Few-shot training: keep the first share of the training windows (0.1 = Time-LLM's and GPT4TS's 10%); the
    # scaler, validation and test splits stay the standard protocol's.
    train_fraction: float = 1.0
    val_stride: int = 1
    max_steps_per_epoch: int | None = None
    state_every_steps: int | None = 200  # resumable state every N steps inside an epoch too (None: epoch ends only)
    accelerator: str = "auto"  # auto | cpu | gpu
    devices: int = 1  # processes (CPU) or GPUs; more than one trains with DDP (see train.distributed)
    strategy: str = "auto"  # auto (one process; ddp when devices > 1) | ddp
    precision: str = "auto"  # auto (per model, whatever runs faster here; see train.precision) | 32 | bf16-mixed
    compile: bool = False  # torch.compile the forward pass (falls back to eager with a warning if it fails)
    num_workers: int = 0
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        checks = [
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (self.train_stride >= 1 and self.val_stride >= 1, "strides must be >= 1"),
            (0.0 < self.train_fraction <= 1.0, f"train_fraction must be in (0, 1], got {self.train_fraction}"),
            (self.gradient_clip is None or self.gradient_clip > 0,
             f"gradient_clip must be > 0 (or none), got {self.gradient_clip}"),
            (self.schedule in SCHEDULES, f"unknown schedule '{self.schedule}' (use {', '.join(SCHEDULES)})"),
            (self.precision in ("auto", "32", "bf16-mixed"), f"unknown precision '{self.precision}'"),
            (self.devices >= 1, f"devices must be >= 1, got {self.devices}"),
            (self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}"),
            (self.max_steps_per_epoch is None or self.max_steps_per_epoch >= 1,
             f"max_steps_per_epoch must be >= 1 (or none for no cap), got {self.max_steps_per_epoch}"),
            (self.eval_batch_size >= 1, f"eval_batch_size must be >= 1, got {self.eval_batch_size}"),
            (self.accelerator in ("auto", "cpu", "gpu"),
             f"accelerator must be one of auto, cpu, gpu, got '{self.accelerator}'"),
            (self.state_every_steps is None or self.state_every_steps >= 1,
             f"state_every_steps must be >= 1 (or none), got {self.state_every_steps}"),
            (self.strategy in STRATEGIES, f"unknown strategy '{self.strategy}' (use {', '.join(STRATEGIES)})"),
            (self.devices <= self.batch_size, f"devices ({self.devices}) must not exceed batch_size "
                                               f"({self.batch_size}): each process takes a share of every batch"),
        ]
        self._require(checks)


def check_enough_windows(train_set, train: "TrainConfig", source: str) -> None:
    """Refuse a training set smaller than one batch (a few-shot fraction or stride can leave that little), naming
    what was left: Lightning would otherwise train on one short batch or none without a word."""
    if len(train_set) < train.batch_size:
        cut = f" with train_fraction {train.train_fraction:g}" if train.train_fraction < 1 else ""
        raise ConfigError(f"{source}: {len(train_set)} training series windows left{cut} at train_stride "
                          f"{train.train_stride}, fewer than one batch of {train.batch_size} (raise train_fraction, "
                          f"lower train_stride or batch_size)")
