"""What `tsreprog select` is asked to do, as a dataclass: its flags and YAML keys come from these fields, as the
train and tune commands' come from ModelConfig and TrainConfig."""

from __future__ import annotations

from dataclasses import dataclass

from tsreprog.config_base import ConfigMixin, setting
from tsreprog.data.loading import CsvReading
from tsreprog.train.config import ACCELERATORS

KERNEL_MODES = ("exact", "sketch")
METHODS = ("kernel", "warm", "warm-val", "halving")
# The figure each kernel-side method ranks by, and what it is ({steps}: the warm-up's steps); halving ranks by the
# validation MSE at the last rung a candidate reached.
METHOD_SCORES = {
    "kernel": ("krr_val_mse", "KRR validation MSE with the candidate's NTK at initialisation"),
    "warm": ("warm_krr_val_mse", "KRR validation MSE with the candidate's NTK after {steps} training steps"),
    "warm-val": ("warm_init_val_mse", "the model's own validation MSE after {steps} training steps"),
}


@dataclass
class SelectConfig(CsvReading, ConfigMixin):
    _kind = "select setting"

    dataset: str = setting("ETTh1", "dataset name or CSV")
    data_dir: str | None = setting(None, "folder holding the benchmark CSVs (default: $TSREPROG_DATA_DIR; ETTh1 is "
                                         "embedded)")
    # "none" (the no-backbone ablation) is a candidate by default: in every converged study it was the one to beat
    backbones: list[str] = setting(factory=lambda: ["none", "minilm-l6", "random:minilm-l6"],
                                   help="comma-separated backbones to score; none is the no-backbone ablation, the "
                                        "candidate to beat")
    layers: list[str] = setting(factory=lambda: ["1", "2", "4", "6"], help="comma-separated block counts, or all")
    lookback: int | None = setting(None, "look-back window length L (none: the dataset's standard one, 512; a short "
                                         "CSV: the longest its length carries, as bench sizes it)")
    horizon: int | None = setting(None, "forecast horizon H (none: the dataset's shortest standard one, 96; a short "
                                        "CSV: sized as bench sizes it)")
    n_train: int = setting(64, "training windows in the kernel")
    n_val: int = setting(32, "validation windows in the kernel")
    mode: str = setting("sketch", "exact traced kernel or Rademacher-probe sketch")
    probes: int = setting(8, "output probes in sketch mode")
    ridge: float = setting(1e-3, "relative ridge of the kernel regression")
    n_prototypes: int = setting(1000, "number of text prototypes")
    prompt: str = setting("full", "prompt prefix: full (Time-LLM's), compact (<= 32 tokens) or none (true/false: "
                                  "full/none)")
    adapt: str = setting("none", "adaptation of every backbone candidate: none (frozen), layernorm or lora (the "
                                 "kernel then covers the adapted weights too)")
    seed: int = setting(0, "seed for windows, probes and initialisation")
    train_fraction: float = setting(1.0, "draw the training windows (kernel rows, warm-up and halving batches) from "
                                         "this first share of the training windows only, as train_fraction trains")
    # warm-val: its pick was the best in all four full-data studies; with 10% of the data no method picks within the
    # spread (warm-val picks the worst on ETTm1), so there bench trains the candidates instead (benchmarks/README.md)
    method: str = setting("warm-val", "how to rank: kernel (NTK at initialisation), warm (NTK after warmup_steps of "
                                      "real training), warm-val (the warmed model's own validation MSE) or halving "
                                      "(successive halving: train all briefly, keep the better half, continue)")
    budget_steps: int = setting(120, "the training budget (steps) the figures model and halving divides")
    warmup_steps: int = setting(6, "methods warm and warm-val: real training steps before the candidate is scored")
    first_rung_steps: int = setting(8, "method halving: training steps of the first rung (doubled at every rung)")
    learning_rate: float = setting(1e-3, "learning rate of the warm-up and halving steps and of the modelled budget")
    batch_size: int = setting(32, "windows per warm-up or halving step")
    n_pool: int = setting(512, "training windows the warm-up and halving draw their batches from")
    accelerator: str = setting("auto", "where the candidates are scored and warmed up: auto (the GPU where PyTorch "
                                       "sees one), cpu or gpu; the spectral figures are computed on the CPU")

    def __post_init__(self) -> None:
        self._coerce_fields()
        self._require([
            (bool(self.backbones), "backbones must name at least one backbone"),
            (self.n_train >= 1, f"n_train must be at least 1, got {self.n_train}"),
            (self.n_val >= 1, f"n_val must be at least 1, got {self.n_val}"),
            (self.probes >= 1, f"probes must be at least 1, got {self.probes}"),
            (self.mode in KERNEL_MODES, f"mode must be one of {', '.join(KERNEL_MODES)}, got '{self.mode}'"),
            (self.ridge > 0, f"ridge must be > 0, got {self.ridge}"),
            (self.method in METHODS, f"method must be one of {', '.join(METHODS)}, got '{self.method}'"),
            (self.budget_steps >= 1, f"budget_steps must be at least 1, got {self.budget_steps}"),
            (0 < self.warmup_steps < self.budget_steps,
             f"warmup_steps must lie in [1, budget_steps), got {self.warmup_steps}"),
            (1 <= self.first_rung_steps <= self.budget_steps,
             f"first_rung_steps must lie in [1, budget_steps], got {self.first_rung_steps}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (self.batch_size >= 1 and self.n_pool >= 1, "batch_size and n_pool must be at least 1"),
            (0 < self.train_fraction <= 1, f"train_fraction must lie in (0, 1], got {self.train_fraction}"),
            (self.accelerator in ACCELERATORS,
             f"accelerator must be one of {', '.join(ACCELERATORS)}, got '{self.accelerator}'"),
        ])
        self.layer_counts()

    def layer_counts(self) -> list[int | None]:
        """The layer counts to score (None: every block), each checked."""
        counts: list[int | None] = []
        for value in self.layers:
            text = str(value).strip()
            if text == "all":
                counts.append(None)
                continue
            if not text.isdigit() or int(text) < 1:
                self._require([(False, f"layers takes block counts >= 1 or 'all', got '{text}'")])
            counts.append(int(text))
        self._require([(len(set(counts)) == len(counts), f"layers are repeated: {', '.join(map(str, self.layers))}"),
                       (bool(counts), "layers must name at least one block count")])
        return counts
