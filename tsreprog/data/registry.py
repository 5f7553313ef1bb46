"""Known benchmark datasets: file names, frequencies, split protocol, horizons and a prompt description.

Nothing is downloaded: files are looked up in a data directory (``--data-dir`` or ``TSREPROG_DATA_DIR``); ETTh1 is
also embedded in the package so that the default job runs on a fresh machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tsreprog.errors import DataError

DATA_DIR_ENV = "TSREPROG_DATA_DIR"
EMBEDDED_DATASET = "ETTh1"


@dataclass(frozen=True)
class DatasetSpec:
    """What the standard protocol needs to know about one benchmark dataset."""

    name: str
    file_stem: str
    freq: str
    split: str  # "ett_hour", "ett_minute" or "ratio" (70/10/20)
    horizons: tuple[int, ...] = (96, 192, 336, 720)
    lookback: int = 512
    description: str = ""
    target: str = "OT"
    extra: dict = field(default_factory=dict)


_ETT_TEXT = (
    "The Electricity Transformer Temperature (ETT) records the oil temperature and six load features of an "
    "electricity transformer."
)

DATASETS: dict[str, DatasetSpec] = {
    spec.name.lower(): spec
    for spec in [
        DatasetSpec("ETTh1", "ETTh1", "h", "ett_hour", description=_ETT_TEXT + " Hourly readings."),
        DatasetSpec("ETTh2", "ETTh2", "h", "ett_hour", description=_ETT_TEXT + " Hourly readings."),
        DatasetSpec("ETTm1", "ETTm1", "15min", "ett_minute", description=_ETT_TEXT + " Readings every 15 minutes."),
        DatasetSpec("ETTm2", "ETTm2", "15min", "ett_minute", description=_ETT_TEXT + " Readings every 15 minutes."),
        DatasetSpec("weather", "weather", "10min", "ratio",
                    description="Weather records 21 meteorological indicators every 10 minutes."),
        DatasetSpec("electricity", "electricity", "h", "ratio",
                    description="Hourly electricity consumption of 321 clients."),
        DatasetSpec("traffic", "traffic", "h", "ratio",
                    description="Hourly road occupancy rates measured by 862 sensors on freeways."),
        DatasetSpec("exchange_rate", "exchange_rate", "D", "ratio",
                    description="Daily exchange rates of eight countries against the US dollar."),
        DatasetSpec("national_illness", "national_illness", "W", "ratio", horizons=(24, 36, 48, 60), lookback=104,
                    description="Weekly ratio of patients seen with influenza-like illness to all patients in the US."),
    ]
}


def get_spec(name: str) -> DatasetSpec:
    """The spec of a registered dataset; the error lists the known names."""
    spec = DATASETS.get(name.lower())
    if spec is None:
        known = ", ".join(s.name for s in DATASETS.values())
        raise DataError(f"unknown dataset '{name}' (known: {known}; or pass a CSV path)")
    return spec


def default_data_dir() -> Path | None:
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def embedded_path(name: str) -> Path | None:
    """Path of a dataset shipped inside the package, or None."""
    if name.lower() != EMBEDDED_DATASET.lower():
        return None
    return Path(str(resources.files("tsreprog.data").joinpath("embedded", f"{EMBEDDED_DATASET}.csv.gz")))


def find_dataset_file(name: str, data_dir: str | Path | None = None) -> Path:
    """Locate ``<stem>.csv`` or ``<stem>.csv.gz`` in the data directory, falling back to the embedded copy."""
    spec = get_spec(name)
    directory = Path(data_dir) if data_dir else default_data_dir()
    tried: list[str] = []
    if directory is not None:
        for suffix in (".csv", ".csv.gz"):
            candidate = directory / f"{spec.file_stem}{suffix}"
            if candidate.is_file():
                return candidate
            tried.append(str(candidate))
    embedded = embedded_path(spec.name)
    if embedded is not None and embedded.is_file():
        return embedded
    where = ", ".join(tried) if tried else f"no data directory set (use --data-dir or {DATA_DIR_ENV})"
    raise DataError(f"dataset '{spec.name}' not found: looked for {where}")
