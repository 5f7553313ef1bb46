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


from tsreprog.errors import ConfigError
from tsreprog.io import load_yaml
from tsreprog.models.config import ModelConfig
from tsreprog.train.config import TrainConfig

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
    """``optional``: "none" means no value. A required setting keeps "none" as its text: a choice of its own for
    strings (``--prompt none``, ``--adapt none``) and lists (select's backbone ``none``), a type error otherwise."""
    def convert(text: str):
        if text.lower() in ("none", "null") and optional:
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
            text = f.metadata.get("help") or f.name  # beside the field (tsreprog.config_base.setting)
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
    values = load_yaml(path)
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
