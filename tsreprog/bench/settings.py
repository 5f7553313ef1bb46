"""What `tsreprog bench` is asked to run, as a dataclass: its flags and YAML keys come from these fields."""

from __future__ import annotations

from dataclasses import dataclass, field

from tsreprog.bench.models import MODELS, PROFILES
from tsreprog.config_base import ConfigMixin
from tsreprog.train.precision import PRECISIONS


@dataclass
class BenchConfig(ConfigMixin):
    _kind = "bench setting"

    datasets: list[str] = field(default_factory=lambda: ["ETTh1"])
    models: list[str] = field(default_factory=lambda: ["reprog-minilm", "reprog-smollm2", "no-backbone",
                                                       "random-backbone", "no-prompt", "dlinear", "patchtst", "naive"])
    horizons: list[int] | None = None  # None: each dataset's standard four
    lookback: int | None = None  # None: the dataset's standard one
    profile: str = "quick"
    seeds: list[int] = field(default_factory=lambda: [0])
    seed_horizons: list[int] | None = None  # None: each dataset's shortest horizon
    data_dir: str | None = None
    precision: str = "auto"
    transfer_to: list[str] | None = None  # datasets every trained model is also scored on (zero-shot transfer)
    # How a user's CSV in `datasets` is read, as `tsreprog train` reads it (registered datasets ignore them).
    date_column: str | None = "date"
    columns: list[str] | None = None
    drop_duplicate_rows: bool = False

    def csv_options(self) -> dict:
        return {"date_column": self.date_column, "columns": self.columns,
                "drop_duplicate_rows": self.drop_duplicate_rows}

    def __post_init__(self) -> None:
        unknown = [m for m in self.models if m not in MODELS]
        self._require([
            (not unknown, f"unknown benchmark model '{unknown[0] if unknown else ''}' (known: {', '.join(MODELS)})"),
            (bool(self.datasets) and bool(self.models), "datasets and models must each name at least one"),
            (self.profile in PROFILES, f"profile must be one of {', '.join(PROFILES)}, got '{self.profile}'"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got '{self.precision}'"),
            (self.lookback is None or self.lookback >= 2, f"lookback must be >= 2, got {self.lookback}"),
        ])
        for name, least in (("horizons", 1), ("seeds", 0), ("seed_horizons", 1)):
            values = getattr(self, name)
            if values is not None:
                self._require([(bool(values) and len(set(values)) == len(values) and min(values) >= least,
                                f"{name} takes distinct integers >= {least}, got {values}")])
