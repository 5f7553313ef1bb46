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


from tsreprog.errors import ConfigError
from tsreprog.io import load_yaml

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


def load_space(path: str | Path | None, model: str = "reprogrammed") -> dict[str, dict[str, Any]]:
    """The search space for ``model``: the default entries that model reads, with the file's entries over them (an
    entry for a setting the model does not read is an error)."""
    from dataclasses import fields

    from tsreprog.models import ModelConfig
    from tsreprog.models.registry import MODEL_SETTINGS

    model_fields = {f.name for f in fields(ModelConfig)}
    space = {k: dict(v) for k, v in DEFAULT_SPACE.items() if k not in model_fields or k in MODEL_SETTINGS[model]}
    if path is None:
        return space
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: search-space file not found")
    values = load_yaml(path) or {}
    overrides = values.get("space") if isinstance(values, dict) else None
    if not isinstance(overrides, dict):
        raise ConfigError(f"{path}: expected a 'space:' mapping")
    for name, spec in overrides.items():
        if spec is None:
            space.pop(name, None)
            continue
        if not isinstance(spec, dict) or spec.get("type") not in ("categorical", "float", "int"):
            raise ConfigError(f"{path}: space entry '{name}' needs type categorical, float or int")
        check_entry(path, name, spec)
        if name in model_fields and name not in MODEL_SETTINGS[model]:
            raise ConfigError(f"{path}: space entry '{name}' does not apply to model '{model}'")
        space[name] = spec
    return space


def check_entry(path: Path, name: str, spec: dict) -> None:
    """One line for a search-space entry that would sample nothing useful: a field no config has (it would be
    reported as a best setting while doing nothing), a range without both ends, or one whose low exceeds its high."""
    from dataclasses import fields

    from tsreprog.models import ModelConfig
    from tsreprog.train import TrainConfig

    known = {f.name for f in fields(ModelConfig)} | {f.name for f in fields(TrainConfig)}
    if name not in known:
        raise ConfigError(f"{path}: space entry '{name}' is not a model or training setting (see tsreprog train "
                          f"--help)")
    if spec["type"] == "categorical":
        if not isinstance(spec.get("choices"), list) or not spec["choices"]:
            raise ConfigError(f"{path}: space entry '{name}' needs a non-empty 'choices' list")
        return
    missing = [end for end in ("low", "high") if end not in spec]
    if missing:
        raise ConfigError(f"{path}: space entry '{name}' needs '{missing[0]}'")
    if not all(isinstance(spec[end], (int, float)) and not isinstance(spec[end], bool) for end in ("low", "high")):
        raise ConfigError(f"{path}: space entry '{name}': low and high must be numbers, got {spec['low']!r} and "
                          f"{spec['high']!r}")
    if spec["low"] > spec["high"]:
        raise ConfigError(f"{path}: space entry '{name}': low {spec['low']} is above high {spec['high']}")
    if spec.get("log") and spec["low"] <= 0:  # a log scale has no zero or negative end
        raise ConfigError(f"{path}: space entry '{name}': a log scale needs low > 0, got {spec['low']}")


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
