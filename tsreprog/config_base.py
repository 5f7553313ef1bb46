"""Shared behaviour of the configuration dataclasses: checks that name the bad setting, dict round trips that
refuse unknown keys (a typo in a YAML file must not be silently ignored)."""

from __future__ import annotations

from dataclasses import asdict, fields

from tsreprog.errors import ConfigError


class ConfigMixin:
    _kind = "setting"

    @staticmethod
    def _require(checks: list[tuple[bool, str]]) -> None:
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def to_dict(self) -> dict:
        return asdict(self)  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, values: dict):
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown {cls._kind}(s): {', '.join(unknown)}")
        return cls(**values)
