"""What `tsreprog bench` is asked to run, as a dataclass: its flags and YAML keys come from these fields."""

from __future__ import annotations

from dataclasses import dataclass

from tsreprog.bench.models import MODELS, PROFILES
from tsreprog.config_base import ConfigMixin, setting
from tsreprog.data.loading import CsvReading
from tsreprog.train.precision import PRECISIONS


@dataclass
class BenchConfig(CsvReading, ConfigMixin):
    _kind = "bench setting"

    datasets: list[str] = setting(factory=lambda: ["ETTh1"], help="comma-separated datasets")
    models: list[str] = setting(factory=lambda: ["reprog-minilm", "reprog-smollm2", "no-backbone", "random-backbone",
                                                 "no-prompt", "dlinear", "patchtst", "naive"],
                                help="comma-separated benchmark models")
    horizons: list[int] | None = setting(None, "comma-separated horizons (none: each dataset's standard four)")
    lookback: int | None = setting(None, "one look-back for every model (none: the dataset's standard one, 512; ILI "
                                         "104)")
    profile: str = setting("quick", "budget: quick (smoke test, minutes), standard (early stopping, converged on a "
                                    "CPU), full (the published budget, for a GPU), fewshot10 / fewshot5 (standard's, "
                                    "on the first 10%% / 5%% of the training windows at stride 1)")
    seeds: list[int] = setting(factory=lambda: [0],
                               help="comma-separated seeds; seeds other than 0 run at seed_horizons")
    seed_horizons: list[int] | None = setting(None, "horizons the extra seeds run at (none: each dataset's shortest)")
    data_dir: str | None = setting(None, "folder holding the benchmark CSVs (default: $TSREPROG_DATA_DIR; ETTh1 is "
                                         "embedded)")
    precision: str = setting("auto", "numeric precision of every cell (auto: per model, what runs faster here); an "
                                     "explicit one is kept for the whole table")
    transfer_to: list[str] | None = setting(None, "comma-separated datasets each trained model is also scored on "
                                                  "(every test window, the target's own scaler): zero-shot transfer")

    def __post_init__(self) -> None:
        self._coerce_fields()
        unknown = [m for m in self.models if m not in MODELS]
        self._require([
            (not unknown, f"unknown benchmark model '{unknown[0] if unknown else ''}' (known: {', '.join(MODELS)})"),
            (bool(self.datasets) and bool(self.models), "datasets and models must each name at least one"),
            (self.profile in PROFILES, f"profile must be one of {', '.join(PROFILES)}, got '{self.profile}'"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got '{self.precision}'"),
            (self.lookback is None or self.lookback >= 2, f"lookback must be >= 2, got {self.lookback}"),
        ])
        for name in ("datasets", "models", "transfer_to"):  # a name given twice would run (or score) it twice
            values = getattr(self, name) or []
            repeated = sorted({v for v in values if values.count(v) > 1})
            self._require([(not repeated, f"{name} names {', '.join(repeated)} more than once")])
        for name, least in (("horizons", 1), ("seeds", 0), ("seed_horizons", 1)):
            values = getattr(self, name)
            if values is not None:
                self._require([(bool(values) and len(set(values)) == len(values) and min(values) >= least,
                                f"{name} takes distinct integers >= {least}, got {values}")])
