"""Run a list of benchmark cells in parallel worker processes, in the list's order, into the `tsreprog bench` layout.

Made for a lent GPU: one ETTh1 cell of a reprogrammed MiniLM keeps an H100 far from busy, so many cells share it,
each in its own process. A cell is never started after ``--deadline`` seconds, so a leased machine's time limit
loses no finished cell; finished cells are skipped on a rerun, and `tsreprog bench --report-only` renders them.
Queues may share a job file and an output folder: a cell another live process is computing is left to it.

Job file: a JSON list of {"dataset", "model", "horizon", "seed" (0), "profile", "transfer_to", "learning_rate",
"weight_decay", "model_changes", "train_changes"}. "profile" (default ``--profile``) also names the cell's folder
under ``--output-dir`` when given, so one queue can fill several profiles' tables; "transfer_to" lists datasets the
trained model is scored on too (zero-shot transfer). The last four are optional; any of them makes the cell a probe
row of its own (bench Variant).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import signal
import time
from pathlib import Path

from tsreprog.bench.claim import CellHeld
from tsreprog.bench.models import Variant
from tsreprog.bench.runner import cell_path, finished, run_cell, table_window

STARTED = time.time()


def _variant(job: dict) -> Variant | None:
    keys = ("learning_rate", "weight_decay", "model_changes", "train_changes")
    found = {key: job[key] for key in keys if job.get(key) is not None}
    return Variant(**found) if found else None


def _init(threads: int, started: float) -> None:
    import torch

    global STARTED
    STARTED = started
    torch.set_num_threads(threads)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _run(task: tuple[dict, dict]) -> str:
    """One cell; a failing or stopped cell is reported as a line and never stops the other workers.

    While the cell runs, SIGTERM to its worker stops it as Ctrl-C would (training hands it back as
    KeyboardInterrupt), so it is reported; killed outright, the worker took its task with it and the pool waited for
    that task forever. Outside a cell SIGTERM ends the worker quietly: the pool's own shutdown sends it to idle
    workers, and an exception raised then is a traceback in the log."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run_cell(*task)
    except KeyboardInterrupt:
        return f"{task[0]}: stopped by a signal; a rerun resumes it from its last saved training state"
    except Exception as error:  # noqa: BLE001 - reported, the queue goes on
        return f"{task[0]}: failed: {type(error).__name__}: {error}"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_cell(job: dict, opts: dict) -> str:
    variant = _variant(job)
    row = variant.row(job["model"]) if variant else job["model"]
    seed = job.get("seed", 0)
    profile = job.get("profile", opts["profile"])
    out = Path(opts["out"]) / job["profile"] if "profile" in job else Path(opts["out"])
    transfer_to = job.get("transfer_to")
    path = cell_path(out, job["dataset"], row, job["horizon"], seed)
    name = f"{profile} {job['dataset']} H={job['horizon']} {row} seed {seed}"
    if finished(path, transfer_to, job["dataset"]):
        return f"{name}: already done"
    if time.time() - STARTED > opts["deadline"]:
        return f"{name}: not started (deadline)"
    began = time.time()
    lookback = table_window(job["dataset"], opts["lookback"], [job["horizon"]], opts["data_dir"])[0]
    try:
        cell = run_cell(job["dataset"], job["model"], job["horizon"], profile, lookback, opts["data_dir"], out,
                        opts["precision"], seed, log=lambda line: print(f"  {name}: {line}", flush=True),
                        variant=variant, transfer_to=transfer_to, extra={"parallel_workers": opts["workers"]})
    except CellHeld as held:
        return f"{name}: left to the other run: {held}"
    mse, val = (float("nan") if cell.get(key) is None else cell[key] for key in ("mse", "val_mse"))
    return f"{name}: MSE {mse:.4f} val {val:.4f} " \
           f"epochs {cell.get('epochs_run')} ({time.time() - began:.0f} s, at {time.time() - STARTED:.0f} s)"


def _exit_on_term(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", type=Path)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--deadline", type=float, default=float("inf"), help="seconds after which no cell starts")
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--lookback", type=int, default=None, help="one look-back for every cell (default: the "
                        "dataset's standard one)")
    parser.add_argument("--precision", default="32")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    jobs = json.loads(args.jobs.read_text())
    opts = {"out": str(args.output_dir), "deadline": args.deadline, "profile": args.profile,
            "precision": args.precision, "data_dir": args.data_dir, "workers": args.workers,
            "lookback": args.lookback}
    # SIGTERM to the queue alone used to leave its workers computing as orphans; as an exception it ends the pool
    # below, which stops every worker (a stopped cell resumes from its last training state)
    signal.signal(signal.SIGTERM, _exit_on_term)
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.workers, initializer=_init, initargs=(args.threads, STARTED), maxtasksperchild=1) as pool:
        for line in pool.imap_unordered(_run, [(job, opts) for job in jobs], chunksize=1):
            print(line, flush=True)


if __name__ == "__main__":
    main()
