"""Protocol runner: datasets × horizons × models → one JSON file per cell, so a killed run resumes where it
stopped (finished cells are never recomputed) and partial results are always readable."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Callable

import torch

from tsreprog.bench.claim import CellHeld, claim, release_finished
from tsreprog.bench.environment import current_peak_rss_mb, environment, reset_peak_rss
from tsreprog.bench.models import Variant, bench_model, changed, train_config
from tsreprog.data.registry import DATASETS
from tsreprog.data.sizing import sized_window
from tsreprog.data.splits import PreparedData, prepare
from tsreprog.evaluate.forecast import forecast_at, plot_forecast
from tsreprog.errors import ConfigError, DataError
from tsreprog.train.metrics import evaluate
from tsreprog.train import fit
from tsreprog.train.fit import last_state_path, trained_record_path
from tsreprog.train.checkpoint import CHECKPOINT_NAME
from tsreprog.train.precision import autocast_dtype
from tsreprog.io import write_json


def dataset_key(dataset: str) -> str:
    """Registered name as spelt in the registry, or a CSV's file stem."""
    spec = DATASETS.get(dataset.lower())
    return spec.name if spec else Path(dataset).name.split(".")[0]


def cell_path(out: Path, dataset: str, model: str, horizon: int, seed: int = 0) -> Path:
    """One file per cell; seed 0 keeps the name cells had before seeds were a dimension of the table."""
    suffix = "" if seed == 0 else f"_seed{seed}"
    return Path(out) / "cells" / dataset_key(dataset) / model / f"H{horizon}{suffix}.json"


def resume_folder(out: Path, dataset: str, model: str, horizon: int, seed: int) -> Path:
    """Where an unfinished cell keeps its resumable training state (removed once the cell is written)."""
    return Path(out) / ".resume" / dataset_key(dataset) / model / f"H{horizon}_seed{seed}"


def table_window(dataset: str, lookback: int | None = None, horizons: list[int] | None = None,
                 data_dir: str | None = None, csv: dict | None = None) -> tuple[int, list[int]]:
    """One look-back and the horizons of a table: the given ones, else a registered dataset's standard ones (512, or
    ILI's 104; every horizon), else what a user's CSV of its length carries (one horizon), by the one sizing path
    `select` uses too."""
    table_lookback, default_horizon = sized_window(dataset, data_dir, lookback, horizons[0] if horizons else None,
                                                   **(csv or {}))
    if horizons:
        return table_lookback, list(horizons)
    spec = DATASETS.get(dataset.lower())
    return table_lookback, list(spec.horizons) if spec else [default_horizon]


def transfer_targets(targets: list[str] | None, source: str, lookback: int, horizon: int, data_dir: str | None
                     ) -> list[PreparedData]:
    """The datasets a cell's model is also scored on, each with its own training-split scaler (as Time-LLM's transfer
    scripts scale them); loaded before training, so a target the model cannot score stops the cell at once."""
    prepared = []
    for target in targets or []:
        if dataset_key(target) == dataset_key(source):
            continue
        try:
            prepared.append(prepare(target, lookback, horizon, data_dir))
        except DataError as error:
            raise DataError(f"transfer target '{target}' cannot be scored at look-back {lookback} and horizon "
                            f"{horizon}: {error}") from None
    return prepared


def transfer_scores(model: torch.nn.Module, targets: list[PreparedData], lookback: int, horizon: int,
                    precision: str, batch_size: int) -> dict:
    """Zero-shot transfer: the trained ``model`` on every test window of each target. The model is
    channel-independent and normalises each window itself (RevIN), so it reads any target of its look-back. Each
    score keeps its seconds, so that the transfer table's cost is a figure beside the cell's own."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    autocast = autocast_dtype(precision)
    scores = {}
    model.to(device)
    for data in targets:
        started = time.perf_counter()
        result = evaluate(model, data.windows("test", lookback, horizon), batch_size, device, data.scaler, autocast)
        scores[data.name] = {"mse": result["mse"], "mae": result["mae"], "test_windows": result["n_windows"],
                             "seconds": time.perf_counter() - started}
    model.cpu()
    return scores


def run_cell(dataset: str, model_name: str, horizon: int, profile: str, lookback: int, data_dir: str | None,
             out: Path, precision: str = "auto", seed: int = 0, log: Callable[[str], None] | None = None,
             variant: Variant | None = None, transfer_to: list[str] | None = None, csv: dict | None = None,
             extra: dict | None = None) -> dict:
    """One cell of the table, computed unless its file already holds it, written (with ``extra``) and returned.

    A ``variant`` (probes) changes the model's rate or settings and names the row; ``transfer_to`` scores the
    trained model on those datasets' test splits too (zero-shot transfer); ``csv``: how to read a user's CSV
    (date_column, columns, drop_duplicate_rows), as `tsreprog train` reads it. Raises CellHeld while another
    process computes the same cell. The cell is written before its resume state goes, so no moment of a run loses
    a trained cell."""
    row = variant.row(model_name) if variant else model_name
    path = cell_path(out, dataset, row, horizon, seed)
    state = resume_folder(out, dataset, row, horizon, seed)
    lock = state.with_suffix(".lock")
    with claim(lock):
        if finished(path, transfer_to, dataset):  # another run wrote it since the caller looked
            return json.loads(path.read_text())
        cell = _compute_cell(dataset, model_name, horizon, profile, lookback, data_dir, out, precision, seed, log,
                             variant, transfer_to, csv)
        cell = {**cell, **(extra or {})}
        write_json(path, cell)
        discard_resume_state(state)
        if "skipped" not in cell:
            release_finished(lock)
    return cell


def discard_resume_state(folder: Path) -> None:
    """A written cell's training state is no longer needed (hundreds of MB for a backbone row)."""
    shutil.rmtree(folder, ignore_errors=True)


def _compute_cell(dataset: str, model_name: str, horizon: int, profile: str, lookback: int, data_dir: str | None,
                  out: Path, precision: str, seed: int, log: Callable[[str], None] | None, variant: Variant | None,
                  transfer_to: list[str] | None, csv: dict | None) -> dict:
    csv = dict(csv or {})
    spec = bench_model(model_name, profile, lookback, horizon, dataset_key(dataset), seed)
    row = variant.row(model_name) if variant else model_name
    if not spec.available:
        return {"dataset": dataset, "model": row, "horizon": horizon, "seed": seed, "skipped": spec.why_not}
    table_lookback, lookback = lookback, spec.lookback or lookback
    data = prepare(dataset, lookback, horizon, data_dir, **csv)
    targets = transfer_targets(transfer_to, dataset, lookback, horizon, data_dir)
    if variant:
        spec = variant.apply(spec)
    if spec.model.model == "reprogrammed":
        spec.model.description = data.description
    train = train_config(profile, dataset, data_dir, spec.learning_rate,
                         len(data.windows("train", lookback, horizon)), precision, seed)
    train = spec.apply_to_training(train, channels=data.scaled.shape[1])
    if csv:
        train = changed(train, csv)
    if variant:
        train = variant.apply_to_training(train)
    reset_peak_rss()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    # A killed cell resumes from its last finished epoch, or at its scoring once training had ended: its state
    # lives here until every score of the cell is in.
    state = resume_folder(out, dataset, row, horizon, seed)
    checkpoint = state / CHECKPOINT_NAME
    resumed = last_state_path(checkpoint).is_file() or trained_record_path(checkpoint).is_file()
    result = fit(spec.model, train, checkpoint, data=data, log=log, resume=True, keep_record=True)
    seconds = time.perf_counter() - started
    epochs = max(result.metrics["epochs_run"], 1)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cell = {
        "dataset": data.name, "model": row, "horizon": horizon, "seed": seed, "lookback": lookback,
        "table_lookback": table_lookback,
        "profile": profile, "learning_rate": spec.learning_rate, "precision": result.metrics["precision"],
        "epochs_run": result.metrics["epochs_run"], "history": result.history,
        "mse": result.metrics["test_mse"], "mae": result.metrics["test_mae"],
        "test_windows": result.metrics["test_n_windows"], "val_mse": result.metrics["best_val_mse"],
        "trainable_parameters": sum(p.numel() for p in result.model.parameters() if p.requires_grad),
        # frozen weights included: what a forecast costs, the measure the report's pick and select's agree on
        "parameters": sum(p.numel() for p in result.model.parameters()),
        "seconds_per_epoch": result.metrics["train_seconds"] / epochs, "seconds_total": seconds,
        "resumed": resumed, **({"variant": variant.to_dict()} if variant else {}),
        # what `tsreprog train --config` needs to train this cell's model again (the report's pick file)
        "config": {"model": spec.model.to_dict(), "train": train.to_dict()},
        "train_fraction": train.train_fraction, "train_series_windows": result.metrics.get("train_series_windows"),
        "peak_memory_mb": torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else current_peak_rss_mb(),
        **environment(device),
    }
    if transfer_to:
        cell["transfer"] = transfer_scores(result.model, targets, lookback, horizon, cell["precision"],
                                           train.eval_batch_size)
    example = out / "plots" / f"forecast_{data.name}_H{horizon}_{row}.png"
    if not example.exists():
        test_end = data.borders.test[1]
        shown = forecast_at(result.pipeline, data.table, origin=test_end - horizon)
        plot_forecast(shown, example, columns=data.table.columns[-1:], context=2 * horizon)
    return cell


def check_one_table(out: Path, dataset: str, profile: str, lookback: int) -> None:
    """A folder holds one table: refuse to add cells of another profile or look-back to the finished ones, which
    would otherwise be reused and labelled as this run's (the file named, with what it was run with)."""
    for path in sorted((out / "cells" / dataset_key(dataset)).glob("*/H*.json")):
        cell = json.loads(path.read_text())
        if cell.get("profile", profile) != profile:
            raise ConfigError(f"{path} was run with profile {cell['profile']}, this run asks {profile}: use another "
                              f"--output-dir, or --profile {cell['profile']} to finish that table")
        table_lookback = cell.get("table_lookback", cell.get("lookback"))  # older cells: their own look-back
        if cell.get("model") != "dlinear-published" and table_lookback not in (None, lookback):
            raise ConfigError(f"{path} was run with look-back {table_lookback}, this run asks {lookback}: use "
                              f"another --output-dir, or --lookback {table_lookback} to finish that table")


def check_one_precision(out: Path, dataset: str, precision: str) -> None:
    """A table asked for in one explicit precision keeps it: refuse to add cells in another precision than the
    finished ones (cells written before precision was recorded are not checked). ``auto`` lets each model run in
    what is fastest for it on this machine; every cell records what it ran in."""
    if precision == "auto":
        return
    wanted = precision
    for path in sorted((out / "cells" / dataset_key(dataset)).glob("*/H*.json")):
        found = json.loads(path.read_text()).get("precision")
        if found is not None and found != wanted:
            raise ConfigError(f"{path} was run in precision {found}, this run would use {wanted}: pass "
                              f"--precision {found} to finish the table, or use another --output-dir")


def run_bench(datasets: list[str], models: list[str], profile: str = "quick", lookback: int | None = None,
              horizons: list[int] | None = None, data_dir: str | None = None, out: str | Path = "runs/bench",
              log: Callable[[str], None] = logging.getLogger("tsreprog").info, stop_after: int | None = None,
              precision: str = "auto", seeds: list[int] | None = None, seed_horizons: list[int] | None = None,
              transfer_to: list[str] | None = None, csv: dict | None = None) -> list[dict]:
    """Run every missing cell; ``stop_after`` (tests) stops after that many newly computed cells.

    Every cell runs under seed 0; ``seeds`` adds runs under further seeds at ``seed_horizons`` (default: each
    dataset's shortest horizon), so a table can say which differences exceed the seed spread.

    ``precision`` is TrainConfig's (auto: per model, what this machine runs fastest; see train.precision)."""
    out = Path(out)
    computed = 0
    extra = [s for s in (seeds or []) if s != 0]
    windows = {}
    for dataset in datasets:  # every dataset's checks before any cell trains: a bad second dataset wastes no hours
        windows[dataset] = table_lookback, dataset_horizons = table_window(dataset, lookback, horizons, data_dir, csv)
        check_one_precision(out, dataset, precision)
        check_one_table(out, dataset, profile, table_lookback)
        for horizon in dataset_horizons if transfer_to else []:  # a target no cell can be scored on
            transfer_targets(transfer_to, dataset, table_lookback, horizon, data_dir)
        stray = [h for h in seed_horizons or [] if h not in dataset_horizons]
        if extra and stray:  # seed 0 never runs there, so those seeds would have no spread to join
            raise ConfigError(f"seed_horizons {', '.join(map(str, stray))}: not among {dataset}'s horizons "
                              f"({', '.join(map(str, dataset_horizons))})")
    for dataset in datasets:
        table_lookback, dataset_horizons = windows[dataset]
        runs = [(model, horizon, 0) for model in models for horizon in dataset_horizons]
        runs += [(model, horizon, seed) for seed in extra for model in models
                 for horizon in (seed_horizons or dataset_horizons[:1])]
        for model, horizon, seed in runs:
            path = cell_path(out, dataset, model, horizon, seed)
            if finished(path, transfer_to, dataset):
                continue
            if stop_after is not None and computed >= stop_after:
                return collect(out)
            name = f"{dataset} H={horizon} {model} seed {seed}"
            log(f"{name} ...")
            try:
                cell = run_cell(dataset, model, horizon, profile, table_lookback, data_dir, out, precision, seed,
                                log=lambda line: log(f"  {name}: {line}"), transfer_to=transfer_to, csv=csv)
            except CellHeld as held:
                log(f"{name}: left to the other run: {held}")
                continue
            computed += 1
            if "mse" in cell:
                log(f"{name}: MSE {cell['mse']:.4f} MAE {cell['mae']:.4f} ({cell['seconds_total']:.0f} s)")
    return collect(out)


def finished(path: Path, transfer_to: list[str] | None = None, source: str = "") -> bool:
    """A cell that holds a result, with a score for every transfer target asked for. A skipped one (a backbone not
    installed, a row another profile runs) is tried again on the next run, so installing the backbone or switching
    profile fills it in; so is one without a transfer score now asked for (its model was not kept)."""
    if not path.exists():
        return False
    cell = json.loads(path.read_text())
    if "skipped" in cell:
        return False
    wanted = {dataset_key(t) for t in transfer_to or []} - {dataset_key(source)}
    return wanted <= set(cell.get("transfer", {}))


def collect(out: str | Path) -> list[dict]:
    """Every finished cell; cells written before seeds were recorded ran under seed 0."""
    cells = [json.loads(p.read_text()) for p in sorted(Path(out).glob("cells/*/*/H*.json"))]
    return [{"seed": 0, **cell} for cell in cells]
