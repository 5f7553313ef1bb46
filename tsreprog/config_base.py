"""Shared behaviour of the configuration dataclasses: checks that name the bad setting, dict round trips that
refuse unknown keys (a typo in a YAML file must not be silently ignored) and values of the wrong type (YAML gives
``32.5`` or ``"thirty"`` where an integer belongs; a flag gives ``"0.1,0.5"`` where a list of floats belongs)."""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, asdict, field, fields

from tsreprog.errors import ConfigError

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _scalar(kind: type, key: str, value):
    """``value`` as ``kind`` (int, float, bool, str), or a one-line ConfigError naming ``key``."""
    wrong = ConfigError(f"{key} must be {'an integer' if kind is int else kind.__name__}, got {value!r}")
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise wrong
    if kind is int:
        if isinstance(value, bool):
            raise wrong
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if value.is_integer():
                return int(value)
            raise wrong
        try:
            return int(str(value).strip())
        except ValueError:
            raise wrong from None
    if kind is float:
        if isinstance(value, bool):
            raise wrong
        try:
            return float(value)  # YAML reads 1e-3 (no dot) as a string: a number written so is still a number
        except (TypeError, ValueError):
            raise wrong from None
    if kind is str:
        if isinstance(value, (dict, list)):
            raise wrong
        return str(value)
    return value


def coerce(annotation, key: str, value):
    """``value`` converted to the field type ``annotation`` (Optional, list[...] and scalars)."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return coerce(inner[0], key, value) if len(inner) == 1 else value
    if value is None:
        raise ConfigError(f"{key} may not be empty")
    if origin is list:
        element = args[0] if args else str
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        elif not isinstance(value, (list, tuple)):
            value = [value]
        return [_scalar(element, key, v) for v in value]
    if isinstance(annotation, type):
        return _scalar(annotation, key, value)
    return value


class ConfigMixin:
    _kind = "setting"

    def _coerce_fields(self) -> None:
        """Every field as its declared type, converted as :meth:`from_dict` converts a YAML value: in Python,
        ``ModelConfig(lookback="a")`` gets the one-line error the same value in a file gets, not a TypeError from
        the first check that compares it."""
        hints = typing.get_type_hints(type(self))
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            converted = coerce(hints[f.name], f.name, value)
            if converted is not value:
                setattr(self, f.name, converted)

    @staticmethod
    def _require(checks: list[tuple[bool, str]]) -> None:
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def to_dict(self) -> dict:
        return asdict(self)  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, values: dict, section: str = ""):
        """Build from a mapping, every value converted to its field's type; ``section`` prefixes the names of bad
        keys in errors (``model.lookback``)."""
        if not isinstance(values, dict):
            raise ConfigError(f"{section or cls._kind} must be a mapping of settings, got {values!r}")
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - known)
        if unknown:
            named = ", ".join(section + "." * bool(section) + u for u in unknown)
            raise ConfigError(f"unknown {cls._kind}(s): {named}")
        hints = typing.get_type_hints(cls)
        prefix = f"{section}." if section else ""
        return cls(**{name: coerce(hints[name], prefix + name, value) for name, value in values.items()})


def setting(default=MISSING, help: str = "", factory=None):  # noqa: A002 - the flag's help, by its usual name
    """A config field with its help text beside it: the flag's ``--help`` line and the docs read it from here."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})
