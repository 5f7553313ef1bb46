"""The search space: prompt and hyper-parameters, defined in code and overridable from YAML.

Each entry names a ModelConfig/TrainConfig field and how to sample it:
``{"type": "categorical", "choices": [...]}``, ``{"type": "float", "low": a, "high": b, "log": true}``,
``{"type": "int", "low": a, "high": b, "step": s}``. A YAML file with a ``space:`` mapping replaces entries by name,
adds new ones, or removes one with ``null``. Two entries are special: ``description`` choices may be ``none``
(no domain text), ``dataset`` (the dataset's own text) or any user text; ``statistics`` choices are
comma-separated lists of prompt statistics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tsreprog.errors import ConfigError

DEFAULT_SPACE: dict[str, dict[str, Any]] = {
    "prompt": {"type": "categorical", "choices": [True, False]},
    "description": {"type": "categorical", "choices": ["dataset", "none"]},
    "statistics": {"type": "categorical",
                   "choices": ["min,max,median,trend,lags", "min,max,median", "trend,lags"]},
    "n_lags": {"type": "int", "low": 1, "high": 8},
    "n_prototypes": {"type": "categorical", "choices": [100, 500, 1000]},
    "patch_len": {"type": "categorical", "choices": [8, 16, 24]},
    "patch_stride": {"type": "categorical", "choices": [4, 8]},
    "d_model": {"type": "categorical", "choices": [16, 32, 64]},
    "n_heads": {"type": "categorical", "choices": [4, 8]},
    "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "n_layers": {"type": "int", "low": 1, "high": 6},
}


def load_space(path: str | Path | None) -> dict[str, dict[str, Any]]:
    space = {k: dict(v) for k, v in DEFAULT_SPACE.items()}
    if path is None:
        return space
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: search-space file not found")
    values = yaml.safe_load(path.read_text()) or {}
    overrides = values.get("space") if isinstance(values, dict) else None
    if not isinstance(overrides, dict):
        raise ConfigError(f"{path}: expected a 'space:' mapping")
    for name, spec in overrides.items():
        if spec is None:
            space.pop(name, None)
            continue
        if not isinstance(spec, dict) or spec.get("type") not in ("categorical", "float", "int"):
            raise ConfigError(f"{path}: space entry '{name}' needs type categorical, float or int")
        space[name] = spec
    return space


def suggest(trial, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Sample one point; returns plain field values (statistics as a list, description resolved later)."""
    values: dict[str, Any] = {}
    for name, spec in space.items():
        kind = spec["type"]
        if kind == "categorical":
            values[name] = trial.suggest_categorical(name, spec["choices"])
        elif kind == "float":
            values[name] = trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False))
        else:
            values[name] = trial.suggest_int(name, spec["low"], spec["high"], step=spec.get("step", 1))
    if isinstance(values.get("statistics"), str):
        values["statistics"] = [s for s in values["statistics"].split(",") if s]
    return values
