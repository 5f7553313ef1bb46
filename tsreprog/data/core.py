"""The checks every input path shares: CSV files and wide frames (:mod:`loading`), long frames and GluonTS
datasets (:mod:`collection`). Written once so that a timestamp, a value, a frequency, a scale or a too-short series
is judged the same way whichever way the data came in. Only the way a row is named differs (a CSV line number, a
frame row): each caller passes its own ``where``, and messages read "<source>: column '<c>' <where>: <problem>".
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import pandas as pd

from tsreprog.errors import DataError

Where = Callable[[int], str]  # row position -> how the user finds it ("line 9" in a CSV, "row 7" in a frame)
FREQUENCY_PREFIX = 1000  # rows pd.infer_freq looks at; longer series are judged by their start


def parse_timestamps(values: pd.Series, source: str, column: str, where: Where) -> pd.DatetimeIndex:
    """Every value a timestamp, else an error naming the first one that is not."""
    parsed = pd.to_datetime(values, errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}: column '{column}' {where(row)}: not a timestamp: {values.iloc[row]!r}")
    return pd.DatetimeIndex(parsed)


def numeric_values(values: pd.Series, source: str, column: str, where: Where,
                   allow_missing: bool = False) -> np.ndarray:
    """float64 values of a column. Text is always an error; missing or infinite values are an error too unless
    ``allow_missing`` (series on a grid keep gaps as NaN), where they become NaN."""
    numeric = pd.to_numeric(values, errors="coerce")
    bad = (numeric.isna() & values.notna()).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}: column '{column}' {where(row)}: non-numeric value {values.iloc[row]!r}")
    out = numeric.to_numpy(dtype=np.float64)
    infinite = np.isinf(out)
    if infinite.any():  # never a gap: a value overflowed or was written as inf
        row = int(np.flatnonzero(infinite)[0])
        raise DataError(f"{source}: column '{column}' {where(row)}: infinite value ({out[row]})")
    not_finite = ~np.isfinite(out)
    if not_finite.any():
        if not allow_missing:
            row = int(np.flatnonzero(not_finite)[0])
            raise DataError(f"{source}: column '{column}' {where(row)}: missing or infinite value ({out[row]})")
        out[not_finite] = np.nan
    return out


def infer_frequency(index: pd.DatetimeIndex, name: str) -> str:
    """The series' frequency: pandas' reading of its start, else (gaps defeat it) its most common step."""
    freq = pd.infer_freq(index[:FREQUENCY_PREFIX]) if len(index) >= 3 else None
    if freq is None:
        steps = np.diff(index.asi8)
        steps = steps[steps > 0]
        if steps.size == 0:
            raise DataError(f"{name}: too short to infer a frequency (needs at least 2 distinct timestamps)")
        values, counts = np.unique(steps, return_counts=True)
        freq = pd.tseries.frequencies.to_offset(pd.Timedelta(int(values[np.argmax(counts)]))).freqstr
    return freq


def check_one_spacing(index: pd.DatetimeIndex, source: str, column: str, where: Where) -> None:
    """Refuse rows that follow two spacings (hourly rows, then 15-minute ones): windows would mix time scales
    without a word. Gaps (a longer step now and then) and the odd short step are allowed."""
    all_steps = np.diff(index.asi8)
    steps = all_steps[all_steps > 0]
    if steps.size < 2:
        return
    values, counts = np.unique(steps, return_counts=True)
    modal, smallest = values[np.argmax(counts)], values[0]
    least = max(3, 0.01 * steps.size)
    other, row, count = None, 0, 0
    if smallest != modal and counts[0] >= least:
        other, count = smallest, counts[0]
        row = int(np.flatnonzero(all_steps == smallest)[0]) + 1
    else:  # a run of rows at another spacing (hourly rows before 15-minute ones): a second regime, not gaps
        run_start, run_value = 0, None
        for i, step in enumerate(all_steps):
            if step != run_value:
                run_start, run_value = i, step
            if step != modal and step > 0 and i - run_start + 1 >= least:
                other, row, count = step, run_start + 1, int((all_steps == step).sum())
                break
    if other is not None:
        raise DataError(f"{source}: column '{column}' {where(row)}: rows are {pd.Timedelta(int(modal))} apart but "
                        f"{count} are {pd.Timedelta(int(other))} apart (mixed frequencies); resample to one "
                        f"frequency first")


def scale_statistics(values: np.ndarray, names: list[str], source: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation over the observed (non-NaN) values of ``values`` (T, C); ``names``
    says what each column is to the user ("column 'OT'", "series 'a'").

    A column is refused when it cannot be scaled: fewer than 2 observed values, values whose square overflows
    float64 (near 1e300: every value would scale to 0), or a spread that vanishes *relative to its own level*
    (a column of tiny but varying values, x1e-30, still carries signal)."""
    observed = np.isfinite(values)
    counts = observed.sum(axis=0)
    few = np.flatnonzero(counts < 2)
    if few.size:
        raise DataError(f"{source}: {names[few[0]]} has {int(counts[few[0]])} observed value(s) in the rows used "
                        "for scaling; at least 2 are needed")
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.nanmean(values, axis=0)
        std = np.nanstd(values, axis=0)
    overflow = np.flatnonzero(~np.isfinite(mean) | ~np.isfinite(std))
    if overflow.size:
        j = overflow[0]
        raise DataError(f"{source}: {names[j]} has values too large to scale in float64 (largest "
                        f"{np.nanmax(np.abs(values[:, j])):.3g}); rescale it")
    constant = np.flatnonzero(std <= 1e-12 * np.abs(mean))
    if constant.size:
        raise DataError(f"{source}: {names[constant[0]]} is constant over the training rows; it carries no signal "
                        "to learn from (drop it or pick other columns)")
    return mean, std


def too_short(name: str, rows: int, needed: int, what: str) -> DataError:
    """The one error for a series too short for what is asked of it, naming the series, its length and the need."""
    return DataError(f"{name}: {rows} rows, fewer than the {needed} {what} needs; use a shorter look-back or horizon, "
                     "or a longer series")


def complete_lookback(values: np.ndarray, lookback: int, name: str) -> np.ndarray:
    """The last ``lookback`` values of a series as a complete window: a shorter series is an error (never padded),
    and missing values inside the window are interpolated linearly, with a warning."""
    window = np.asarray(values, dtype=np.float64)[-lookback:]
    if len(window) < lookback:
        raise too_short(name, len(window), lookback, "look-back before the forecast origin")
    missing = ~np.isfinite(window)
    if missing.any():
        observed = np.flatnonzero(~missing)
        if observed.size < 2:
            raise DataError(f"{name}: the look-back before the forecast origin has {observed.size} observed "
                            "value(s); at least 2 are needed")
        warnings.warn(f"{name}: {int(missing.sum())} missing value(s) in the look-back interpolated for "
                      "forecasting", stacklevel=3)
        window = np.interp(np.arange(lookback), observed, window[observed])
    return window


def check_increasing(index: pd.DatetimeIndex, source: str, column: str, where: Where,
                     allowed_repeats: np.ndarray | None = None) -> None:
    """Timestamps strictly increasing: a repeated one is a duplicate (unless ``allowed_repeats`` marks that row as
    an exact duplicate the reader keeps), a smaller one is out of order."""
    steps = np.diff(index.asi8)
    repeats = steps == 0
    if allowed_repeats is not None:
        repeats &= ~np.asarray(allowed_repeats)[1:]
    if repeats.any():
        row = int(np.flatnonzero(repeats)[0]) + 1
        raise DataError(f"{source}: column '{column}' {where(row)}: duplicate timestamp {index[row]}")
    if (steps < 0).any():
        row = int(np.flatnonzero(steps < 0)[0]) + 1
        raise DataError(f"{source}: column '{column}' {where(row)}: timestamps not sorted ({index[row]} after "
                        f"{index[row - 1]})")
