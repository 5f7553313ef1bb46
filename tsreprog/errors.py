"""User-facing errors.

Anything the user can fix (a path, a column, a flag) raises :class:`TsreprogError` with one line that names the
problem; the CLI prints that line and exits non-zero instead of showing a traceback.
"""


class TsreprogError(Exception):
    """An error caused by user input, reported as one clear line."""


class DataError(TsreprogError):
    """A data file or frame cannot be used as given."""


class ConfigError(TsreprogError):
    """A configuration value, flag or checkpoint does not fit."""


class BackboneError(TsreprogError):
    """A backbone name cannot be resolved or loaded offline."""
