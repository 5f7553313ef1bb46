"""What `tsreprog select` is asked to do, as a dataclass: its flags and YAML keys come from these fields, as the
train and tune commands' come from ModelConfig and TrainConfig."""

from __future__ import annotations

from dataclasses import dataclass, field

from tsreprog.config_base import ConfigMixin

KERNEL_MODES = ("exact", "sketch")


@dataclass
class SelectConfig(ConfigMixin):
    _kind = "select setting"

    dataset: str = "ETTh1"
    data_dir: str | None = None
    backbones: list[str] = field(default_factory=lambda: ["minilm-l6", "random:minilm-l6"])
    layers: list[str] = field(default_factory=lambda: ["1", "2", "4", "6"])  # block counts, or "all"
    lookback: int = 512
    horizon: int = 96
    n_train: int = 64
    n_val: int = 32
    mode: str = "sketch"
    probes: int = 8
    ridge: float = 1e-3
    n_prototypes: int = 1000
    prompt: str = "full"
    seed: int = 0

    def __post_init__(self) -> None:
        self._require([
            (bool(self.backbones), "backbones must name at least one backbone"),
            (self.n_train >= 1, f"n_train must be at least 1, got {self.n_train}"),
            (self.n_val >= 1, f"n_val must be at least 1, got {self.n_val}"),
            (self.probes >= 1, f"probes must be at least 1, got {self.probes}"),
            (self.mode in KERNEL_MODES, f"mode must be one of {', '.join(KERNEL_MODES)}, got '{self.mode}'"),
            (self.ridge > 0, f"ridge must be > 0, got {self.ridge}"),
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
