"""The look-back and horizon a command uses when none is given: a registered dataset's standard ones, and for a
user's CSV the longest standard ones its length can carry, so `bench` and `select` size a short series alike."""

from __future__ import annotations

from tsreprog.data.registry import DATASETS
from tsreprog.errors import DataError

CSV_HORIZONS = (96, 48, 24, 14, 12, 7, 6)
CSV_LOOKBACKS = (512, 336, 168, 96, 48, 24)


def csv_defaults(n_rows: int, source: str = "the CSV") -> tuple[int, int]:
    """A look-back and horizon a short user series can carry under the 70/10/20 split: the longest standard
    horizon within 5% of the rows, and the longest standard look-back that leaves half the training split for
    windows (flags override both). Too few rows for the shortest of each is a one-line error."""
    horizon = next((h for h in CSV_HORIZONS if h <= 0.05 * n_rows), None)
    lookback = next((lb for lb in CSV_LOOKBACKS if horizon and lb + horizon <= 0.35 * n_rows), None)
    if horizon is None or lookback is None:
        least = int(-(-max(CSV_HORIZONS[-1] / 0.05, (CSV_LOOKBACKS[-1] + CSV_HORIZONS[-1]) / 0.35) // 1))
        raise DataError(f"{source}: {n_rows} rows; at least {least} are needed for the shortest look-back "
                        f"({CSV_LOOKBACKS[-1]}) and horizon ({CSV_HORIZONS[-1]}) under the 70/10/20 split (or give "
                        f"the look-back and horizon)")
    return lookback, horizon


def sized_window(dataset: str, data_dir: str | None = None, lookback: int | None = None,
                 horizon: int | None = None, **csv) -> tuple[int, int]:
    """``lookback`` and ``horizon`` where given; otherwise a registered dataset's standard look-back and shortest
    horizon (512 and 96; ILI 104 and 24), or what a user's CSV of its length can carry (:func:`csv_defaults`)."""
    if lookback is not None and horizon is not None:
        return lookback, horizon
    spec = DATASETS.get(dataset.lower())
    if spec is not None:
        return lookback or spec.lookback, horizon or spec.horizons[0]
    from tsreprog.data.splits import load_table

    table = load_table(dataset, data_dir, **csv)[0]
    default_lookback, default_horizon = csv_defaults(len(table), table.source)
    return lookback or default_lookback, horizon or default_horizon
