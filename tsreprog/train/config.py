"""Training configuration (data, budget, optimisation, devices) kept next to the model config in checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

from tsreprog.config_base import ConfigMixin, setting
from tsreprog.data.loading import CsvReading
from tsreprog.errors import ConfigError
from tsreprog.train.distributed import STRATEGIES
from tsreprog.train.precision import PRECISIONS

SCHEDULES = ("onecycle", "cosine", "constant", "halving")
ACCELERATORS = ("auto", "cpu", "gpu")


@dataclass
class TrainConfig(CsvReading, ConfigMixin):
    _kind = "training setting"

    dataset: str = setting("ETTh1", "registered dataset name (ETTh1, ...) or a CSV path")
    data_dir: str | None = setting(None, "folder holding the benchmark CSVs (default: $TSREPROG_DATA_DIR; ETTh1 is "
                                         "embedded)")
    batch_size: int = setting(32, "training batch size (channel-independent series)")
    eval_batch_size: int = setting(256, "batch size for validation and test")
    learning_rate: float = setting(1e-3, "peak learning rate")
    backbone_learning_rate: float | None = setting(None, "peak learning rate of the backbone's adapted weights (a "
                                                         "model with adapt: layernorm or lora; none: learning_rate)")
    weight_decay: float = setting(0.0, "AdamW weight decay")
    schedule: str = setting("onecycle", "learning-rate schedule: onecycle, cosine, constant or halving (half the rate "
                                        "after each epoch)")
    gradient_clip: float | None = setting(None, "clip the gradient's global norm to this (none: no clipping)")
    epochs: int = setting(10, "maximum epochs")
    patience: int = setting(3, "early-stopping patience in epochs (validation MSE)")
    train_stride: int = setting(1, "stride between training windows (1: every window)")
    # Few-shot training: keep the first share of the training windows (0.1 = Time-LLM's and GPT4TS's 10%); the
    # scaler, validation and test splits stay the standard protocol's.
    train_fraction: float = setting(1.0, "few-shot: train on the first share of the training windows (0.1: Time-LLM's "
                                         "10%%; scaler, validation and test unchanged)")
    val_stride: int = setting(1, "stride between validation windows (1: every window)")
    max_steps_per_epoch: int | None = setting(None, "cap on training batches per epoch (none: all)")
    state_every_steps: int | None = setting(200, "save the resumable training state every N steps inside an epoch too "
                                                 "(none: at epoch ends only; one process only)")
    accelerator: str = setting("auto", "auto, cpu or gpu")
    devices: int = setting(1, "processes (CPU) or GPUs to train on; more than 1 trains with DDP, each taking a share "
                              "of every batch")
    strategy: str = setting("auto", "auto (one process; ddp when devices > 1) or ddp")
    precision: str = setting("auto", "auto (per model: bf16-mixed where it runs faster here - a GPU, or a CPU with "
                                     "bf16 instructions when a timed step says so - else fp32), 32 or bf16-mixed")
    compile: bool = setting(False, "torch.compile the forward pass (true/false; off by default: measure it on your "
                                   "machine, a compile failure falls back to eager with a warning)")
    num_workers: int = setting(0, "data-loader workers")
    seed: int = setting(0, "random seed")
    progress: bool = setting(True, "show progress bars (true/false)")

    def __post_init__(self) -> None:
        self._coerce_fields()
        checks = [
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (self.backbone_learning_rate is None or self.backbone_learning_rate > 0,
             f"backbone_learning_rate must be > 0 (or none), got {self.backbone_learning_rate}"),
            (self.train_stride >= 1 and self.val_stride >= 1, "strides must be >= 1"),
            (0.0 < self.train_fraction <= 1.0, f"train_fraction must be in (0, 1], got {self.train_fraction}"),
            (self.gradient_clip is None or self.gradient_clip > 0,
             f"gradient_clip must be > 0 (or none), got {self.gradient_clip}"),
            (self.schedule in SCHEDULES, f"unknown schedule '{self.schedule}' (use {', '.join(SCHEDULES)})"),
            (self.precision in PRECISIONS, f"unknown precision '{self.precision}' (use {', '.join(PRECISIONS)})"),
            (self.devices >= 1, f"devices must be >= 1, got {self.devices}"),
            (self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}"),
            (self.max_steps_per_epoch is None or self.max_steps_per_epoch >= 1,
             f"max_steps_per_epoch must be >= 1 (or none for no cap), got {self.max_steps_per_epoch}"),
            (self.eval_batch_size >= 1, f"eval_batch_size must be >= 1, got {self.eval_batch_size}"),
            (self.accelerator in ACCELERATORS,
             f"accelerator must be one of {', '.join(ACCELERATORS)}, got '{self.accelerator}'"),
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
