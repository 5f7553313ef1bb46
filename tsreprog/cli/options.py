"""Flags generated from the config dataclasses, so YAML keys, flags and checkpoint fields are the same names, for
every command: train and tune (ModelConfig, TrainConfig), select (SelectConfig), bench (BenchConfig).

Precedence, the same everywhere: dataclass default < YAML file (``--config``, one section per dataclass) < flag.
"""

from __future__ import annotations

import argparse
import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path

import yaml

from tsreprog.errors import ConfigError
from tsreprog.io import load_yaml
from tsreprog.models.config import ModelConfig
from tsreprog.train.config import TrainConfig

HELP = {
    "model": "forecaster: reprogrammed (frozen backbone), dlinear, patchtst or naive",
    "backbone": "backbone name (tsreprog backbones list), local folder or cached HF id",
    "n_layers": "keep the first N backbone blocks (none: all)",
    "backbone_dtype": "backbone weights dtype: float32, bfloat16 or float16",
    "lookback": "look-back window length L",
    "horizon": "forecast horizon H",
    "patch_len": "patch length",
    "patch_stride": "patch stride",
    "d_model": "patch embedding width",
    "n_heads": "heads of the reprogramming attention",
    "d_keys": "key width per head (none: d_model / n_heads)",
    "n_prototypes": "number of text prototypes",
    "prototype_vocab": "mix a seeded subset of this many vocabulary rows (none: whole vocabulary)",
    "attention_scoring": "reprogramming attention scoring: cosine (learned temperature) or dot (Time-LLM's)",
    "token_scale": "reprogrammed token scale: auto, embedding (pinned to the word-embedding RMS) or free (Time-LLM's)",
    "head_dim": "reduce backbone width to this before the flatten head (none: keep)",
    "dropout": "dropout rate",
    "prompt": "prompt prefix: full (Time-LLM's), compact (<= 32 tokens) or none (true/false: full/none)",
    "description": "domain description in the prompt (default: the dataset's own)",
    "statistics": "comma-separated prompt statistics: min,max,median,trend,lags",
    "n_lags": "number of top autocorrelation lags in the prompt",
    "quantiles": "comma-separated quantile levels in (0, 1) for a quantile head (pinball loss; reprogrammed model "
                 "only; none: point forecasts)",
    "period": "vision paths: the period the series is folded by into an image (none: from the data frequency)",
    "image_size": "vision-image: input size in pixels (none: the model's, at most 224)",
    "visual_prompt": "vision-image: trainable visual prompt: full, border or none",
    "encoder_style": "patchtst: encoder layer: compact (pre-norm LayerNorm, ReLU) or paper (Nie et al.: post-norm "
                     "BatchNorm, GELU, residual attention)",
    "d_ff": "patchtst: feed-forward width (default 2 x d_model compact, 4 x d_model paper)",
    "adapt": "backbone adaptation: none (frozen), layernorm (its norm layers and learned position embeddings "
             "train) or lora (peft low-rank adapters on the attention projections)",
    "lora_rank": "adapt lora: rank of the adapters",
    "lora_alpha": "adapt lora: scale of the adapters (alpha / rank)",
    "seed": "random seed",
    "dataset": "registered dataset name (ETTh1, ...) or a CSV path",
    "data_dir": "folder holding the benchmark CSVs (default: $TSREPROG_DATA_DIR; ETTh1 is embedded)",
    "date_column": "time column of a user CSV (none: no time column)",
    "columns": "comma-separated value columns of a user CSV (default: all but the time column)",
    "drop_duplicate_rows": "drop exact duplicate rows of a user CSV with a warning (default: an error naming the "
                           "line; registered benchmark files keep them as published)",
    "batch_size": "training batch size (channel-independent series)",
    "eval_batch_size": "batch size for validation and test",
    "learning_rate": "peak learning rate",
    "weight_decay": "AdamW weight decay",
    "schedule": "learning-rate schedule: onecycle, cosine, constant or halving (half the rate after each epoch)",
    "gradient_clip": "clip the gradient's global norm to this (none: no clipping)",
    "epochs": "maximum epochs",
    "patience": "early-stopping patience in epochs (validation MSE)",
    "train_stride": "stride between training windows (1: every window)",
    "train_fraction": "few-shot: train on the first share of the training windows (0.1: Time-LLM's 10%%; scaler, "
                      "validation and test unchanged)",
    "val_stride": "stride between validation windows (1: every window)",
    "max_steps_per_epoch": "cap on training batches per epoch (none: all)",
    "state_every_steps": "save the resumable training state every N steps inside an epoch too (none: at epoch ends "
                         "only; one process only)",
    "accelerator": "auto, cpu or gpu",
    "devices": "processes (CPU) or GPUs to train on; more than 1 trains with DDP, each taking a share of every "
               "batch",
    "strategy": "auto (one process; ddp when devices > 1) or ddp",
    "precision": "auto (per model: bf16-mixed where it runs faster here - a GPU, or a CPU with bf16 instructions "
                 "when a timed step says so - else fp32), 32 or bf16-mixed",
    "compile": "torch.compile the forward pass (true/false; off by default: measure it on your machine, a "
               "compile failure falls back to eager with a warning)",
    "num_workers": "data-loader workers",
    "progress": "show progress bars (true/false)",
    # select
    "backbones": "comma-separated backbones to score; none is the no-backbone ablation, the candidate to beat",
    "layers": "comma-separated block counts, or all",
    "n_train": "training windows in the kernel",
    "n_val": "validation windows in the kernel",
    "mode": "exact traced kernel or Rademacher-probe sketch",
    "probes": "output probes in sketch mode",
    "ridge": "relative ridge of the kernel regression",
    "method": "how to rank: kernel (NTK at initialisation), warm (NTK after warmup_steps of real training), "
              "warm-val (the warmed model's own validation MSE) or halving (successive halving: train all briefly, "
              "keep the better half, continue)",
    "budget_steps": "the training budget (steps) the figures model and halving divides",
    "warmup_steps": "methods warm and warm-val: real training steps before the candidate is scored",
    "first_rung_steps": "method halving: training steps of the first rung (doubled at every rung)",
    "n_pool": "training windows the warm-up and halving draw their batches from",
    # bench
    "datasets": "comma-separated datasets",
    "models": "comma-separated benchmark models",
    "horizons": "comma-separated horizons (none: each dataset's standard four)",
    "profile": "budget: quick (smoke test, minutes), standard (early stopping, converged on a CPU), full (the "
               "published budget, for a GPU), fewshot10 / fewshot5 (standard's, on the first 10%% / 5%% of the "
               "training windows at stride 1)",
    "transfer_to": "comma-separated datasets each trained model is also scored on (every test window, the target's "
                   "own scaler): zero-shot transfer",
    "seeds": "comma-separated seeds; seeds other than 0 run at seed_horizons",
    "seed_horizons": "horizons the extra seeds run at (none: each dataset's shortest)",
}
# Where a field means something else in another command's dataclass.
HELP_BY_CLASS = {
    "BenchConfig.lookback": "one look-back for every model (none: the dataset's standard one, 512; ILI 104)",
    "BenchConfig.precision": "numeric precision of every cell (auto: per model, what runs faster here); an explicit "
                             "one is kept for the whole table",
    "SelectConfig.dataset": "dataset name or CSV",
    "SelectConfig.seed": "seed for windows, probes and initialisation",
    "SelectConfig.learning_rate": "learning rate of the warm-up and halving steps and of the modelled budget",
    "SelectConfig.batch_size": "windows per warm-up or halving step",
}


def _base_type(annotation) -> type:
    """The flag's value type of a resolved field annotation (``typing.get_type_hints``, never ``eval``)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and args:
        return _base_type(args[0])
    if origin is list:
        return list
    return annotation


def _converter(kind: type, name: str, optional: bool = True):
    """``optional``: "none" means no value; a required list keeps it as an element (select's backbone ``none``)."""
    def convert(text: str):
        if text.lower() in ("none", "null") and (optional or kind is not list):
            return None
        if kind is bool:
            if text.lower() in ("true", "1", "yes", "on"):
                return True
            if text.lower() in ("false", "0", "no", "off"):
                return False
            raise argparse.ArgumentTypeError(f"--{name.replace('_', '-')} expects true or false, got {text!r}")
        if kind is list:
            return [part.strip() for part in text.split(",") if part.strip()]
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name.replace('_', '-')} expects {kind.__name__}, "
                                             f"got {text!r}") from None
    return convert


def add_config_flags(parser: argparse.ArgumentParser, *classes: type) -> None:
    """One flag per dataclass field; a name shared by two classes (seed) is one flag that sets both."""
    seen: set[str] = set()
    for cls in classes:
        group = parser.add_argument_group(f"{cls.__name__} settings")
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            if f.name in seen:
                continue
            seen.add(f.name)
            default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
            text = HELP_BY_CLASS.get(f"{cls.__name__}.{f.name}", HELP.get(f.name, f.name))
            shown = ",".join(map(str, default)) if isinstance(default, list) else default
            group.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, default=argparse.SUPPRESS,
                               type=_converter(_base_type(hints[f.name]), f.name,
                                               optional=type(None) in typing.get_args(hints[f.name])),
                               help=f"{text} (default: {shown})")


def read_yaml(path: str | Path, sections: tuple[str, ...] = ("model", "train")) -> dict:
    path = Path(path)
    named = " and ".join(f"'{name}'" for name in sections)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        values = load_yaml(path)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
    if values is None:  # an empty file would otherwise run the whole default job without a word
        raise ConfigError(f"{path}: the config file is empty (expected {named} section{'s' * (len(sections) > 1)})")
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping with {named} section{'s' * (len(sections) > 1)}")
    unknown = sorted(set(values) - set(sections))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(map(str, unknown))} (use {named})")
    for section, settings in values.items():
        if settings is not None and not isinstance(settings, dict):
            raise ConfigError(f"{path}: section '{section}' must be a mapping of settings, got {settings!r}")
    return values


TRAIN_SECTIONS = {"model": ModelConfig, "train": TrainConfig}


def build_configs(args: argparse.Namespace, sections: dict[str, type] | None = None) -> tuple:
    """One config per section (``model``/``train`` unless given): defaults < the ``--config`` YAML < flags."""
    sections = sections or TRAIN_SECTIONS
    values = read_yaml(args.config, tuple(sections)) if getattr(args, "config", None) else {}
    given = vars(args)
    where = f"{args.config}: " if getattr(args, "config", None) else ""
    built = []
    for section, cls in sections.items():
        settings = dict(values.get(section) or {})
        settings.update({f.name: given[f.name] for f in fields(cls) if f.name in given})
        try:
            built.append(cls.from_dict(settings, section))
        except ConfigError as exc:
            raise ConfigError(f"{where}{exc}") from None
        except TypeError as exc:
            raise ConfigError(f"{where}invalid configuration: {exc}") from None
    return tuple(built)


def write_sections(path: Path, **configs) -> None:
    """The YAML ``--config`` reads back: one section per config."""
    from tsreprog.io import atomic_write_bytes

    atomic_write_bytes(path, yaml.safe_dump({name: config.to_dict() for name, config in configs.items()},
                                            sort_keys=False).encode())


def write_yaml(path: Path, model: ModelConfig, train: TrainConfig) -> None:
    write_sections(path, model=model, train=train)
