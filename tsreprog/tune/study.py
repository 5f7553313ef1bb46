"""Run, resume and report an Optuna study.

Storage: a SQLite file by default (embedded, nothing to start), or any SQLAlchemy URL (PostgreSQL, MySQL) for many
workers on many machines. Every worker writes a heartbeat; a trial whose worker died (kill -9, lost machine) goes
stale, is marked FAIL, never counted, and is retried once with the same parameters. The trial budget counts
finished trials (complete or pruned) across all workers, so a resumed or shared study stops at exactly that many.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import optuna
import yaml
from optuna.storages import RDBStorage, RetryFailedTrialCallback
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

from tsreprog.data.splits import prepare
from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig
from tsreprog.train import TrainConfig
from tsreprog.io import atomic_write_bytes, save_figure
from tsreprog.tune.objective import Objective

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass
class StudySettings:
    storage: str = "sqlite:///study.db"
    study_name: str = "tsreprog"
    n_trials: int = 20
    pruner: str = "median"  # median | hyperband | none
    seed: int = 0
    heartbeat: int = 10  # seconds; a trial silent for 2 heartbeats is stale


def make_storage(settings: StudySettings) -> RDBStorage:
    import inspect

    # Optuna 4.9 renamed the stale-trial hook; use whichever this version has.
    renamed = "heartbeat_stale_trial_callback" in inspect.signature(RDBStorage.__init__).parameters
    hook = "heartbeat_stale_trial_callback" if renamed else "failed_trial_callback"
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", RetryFailedTrialCallback) if renamed \
        else RetryFailedTrialCallback
    try:
        with warnings.catch_warnings():  # the heartbeat and its retry are marked experimental in Optuna, nothing more
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            return RDBStorage(settings.storage, heartbeat_interval=settings.heartbeat,
                              grace_period=2 * settings.heartbeat,
                              engine_kwargs={"pool_pre_ping": True} if not settings.storage.startswith("sqlite")
                              else None, **{hook: retry(max_retry=1)})
    except Exception as exc:  # SQLAlchemy raises many types for a bad URL or an unreachable server
        raise ConfigError(f"cannot open study storage {settings.storage!r}: {str(exc).splitlines()[0]}") from None


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"unknown pruner '{name}' (median, hyperband or none)")


class TrialSeededTPESampler(optuna.samplers.TPESampler):
    """TPE whose random stream is re-seeded from (seed, trial number) before every trial.

    A plainly seeded sampler restarts the same sequence in every process: a resumed study drew its earlier trials
    again and two workers drew each other's. Trial numbers are unique within a study across resumes and workers,
    so seeding by them gives every trial its own draw, and the same study replayed gives the same draws."""

    def __init__(self, seed: int = 0, **kwargs) -> None:
        super().__init__(seed=seed, **kwargs)
        self._base_seed = seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        super().before_trial(study, trial)
        trial_seed = (self._base_seed * 1_000_003 + trial.number) % 2**32
        for owner in (self, getattr(self, "_random_sampler", None)):
            state = getattr(owner, "_rng", None)
            if state is not None and hasattr(state, "rng"):
                state.rng.seed(trial_seed)


def open_study(settings: StudySettings, resume: bool) -> optuna.Study:
    storage = make_storage(settings)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    if settings.study_name in names and not resume:
        raise ConfigError(f"study '{settings.study_name}' already exists in {settings.storage}; pass --resume to "
                          "continue it (or join it from another worker), or choose another --study-name")
    if resume and settings.study_name not in names:
        raise ConfigError(f"--resume: no study '{settings.study_name}' in {settings.storage}")
    return optuna.create_study(storage=storage, study_name=settings.study_name, direction="minimize",
                               sampler=TrialSeededTPESampler(seed=settings.seed),
                               pruner=make_pruner(settings.pruner), load_if_exists=True)


def finished_count(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def run(settings: StudySettings, base_model: ModelConfig, base_train: TrainConfig, space: dict,
        resume: bool = False) -> optuna.Study:
    """Run trials until the study holds ``n_trials`` finished trials (all workers together)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = prepare(base_train.dataset, base_model.lookback, base_model.horizon, base_train.data_dir,
                   base_train.date_column, base_train.columns)  # bad data fails before any study is created
    check_depths(space, base_model)
    study = open_study(settings, resume)
    check_same_base(study, base_model, base_train, space)
    with warnings.catch_warnings():  # marked experimental in Optuna, nothing more
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # a dead worker's RUNNING trial → FAIL (and a retry is enqueued)
    fail_orphaned_trials(study, grace_seconds=2 * settings.heartbeat)
    retry_interrupted(study)
    if finished_count(study) < settings.n_trials:
        objective = Objective(data, base_model, base_train, space, settings.n_trials)
        with warnings.catch_warnings():  # the heartbeat and retry callbacks are marked experimental, nothing more
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            study.optimize(objective, callbacks=[MaxTrialsCallback(settings.n_trials, states=FINISHED)],
                           catch=(RuntimeError,), gc_after_trial=True)
    return study


def fail_orphaned_trials(study: optuna.Study, grace_seconds: float) -> list[int]:
    """Fail every RUNNING trial whose worker died before the trial's first heartbeat; return their numbers.

    Optuna fails as stale only trials that have a heartbeat, so a worker killed between creating a trial and its
    first beat left that trial RUNNING for good, counted by the budget and never finished. Such a trial never
    reached the objective, which records its worker first thing; one that has not after a grace period (the
    heartbeat's) is an orphan. It drew no parameters, so there is nothing to retry."""
    now = datetime.now()  # Optuna stamps datetime_start with the worker's local clock
    orphans = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        started = trial.datetime_start
        if "worker" in trial.user_attrs or started is None or (now - started).total_seconds() <= grace_seconds:
            continue
        # the reason is recorded through the storage: Optuna has no public call to annotate another process's trial
        study._storage.set_trial_user_attr(trial._trial_id, "orphaned", "its worker died before the first heartbeat")
        study.tell(trial.number, state=TrialState.FAIL)
        orphans.append(trial.number)
    return orphans


def retry_interrupted(study: optuna.Study) -> None:
    """Enqueue once, with the parameters it had drawn, every trial a Ctrl-C stopped (failed and uncounted, like a
    killed worker's, which the heartbeat retries): the interrupted configuration is evaluated after all."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    for trial in trials:
        if trial.state == TrialState.FAIL and trial.user_attrs.get("interrupted") and trial.number not in retried:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def best_config_yaml(study: optuna.Study) -> str:
    """The best trial as a config that ``tsreprog train --config`` runs unchanged."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ConfigError(f"study '{study.study_name}' has no complete trial yet")
    best = study.best_trial
    train = dict(best.user_attrs["train_config"])
    train["progress"] = True
    header = (f"# Best trial {best.number} of study '{study.study_name}': validation MSE {best.value:.5f}\n"
              f"# Sampled: {best.params}\n")
    return header + yaml.safe_dump({"model": best.user_attrs["model_config"], "train": train}, sort_keys=False)


def summary(study: optuna.Study) -> str:
    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): sum(t.state == state for t in trials) for state in TrialState}
    lines = [f"study {study.study_name}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v)]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if complete:
        best = study.best_trial
        lines.append(f"best trial {best.number}: validation MSE {best.value:.5f}")
        lines += [f"  {k} = {v}" for k, v in best.params.items()]
    return "\n".join(lines)


REPORT_FILES = ("best.yaml", "summary.txt", "history.png", "importance.png", "study.json")


def reports_belong_to(folder: Path, settings: StudySettings) -> bool:
    """Whether the reports in ``folder`` were written for this study (its ``study.json`` names the same storage and
    study); reports of another study, or files with no such record, are not this run's to replace."""
    record = Path(folder) / "study.json"
    try:
        written = json.loads(record.read_text())
    except (OSError, ValueError):
        return not any((Path(folder) / name).exists() for name in REPORT_FILES)
    return written == {"storage": settings.storage, "study_name": settings.study_name}


def check_depths(space: dict, base_model: ModelConfig) -> None:
    """An n_layers range deeper than a backbone the study can sample would prune those trials without a word:
    refuse it before the study starts, naming the backbone and its depth."""
    spec = space.get("n_layers")
    if spec is None or base_model.model not in ("reprogrammed", "vision-image"):
        return
    deepest = max(spec["choices"]) if spec["type"] == "categorical" else spec["high"]
    names = space["backbone"]["choices"] if "backbone" in space and space["backbone"]["type"] == "categorical" \
        else [base_model.backbone]
    from tsreprog.backbones import load_backbone

    for name in names:
        depth = load_backbone(name).n_layers
        if deepest > depth:
            raise ConfigError(f"space entry 'n_layers' reaches {deepest}, but backbone '{name}' has {depth} blocks; "
                              f"lower its high to {depth}")


def check_same_base(study: optuna.Study, base_model: ModelConfig, base_train: TrainConfig, space: dict) -> None:
    """A study keeps the base settings it was created with (a study user attribute): resuming it with another
    horizon, dataset or space would rank trials whose MSEs cannot be compared, so that is refused in one line."""
    now = {"model": base_model.to_dict(), "train": {k: v for k, v in base_train.to_dict().items()
                                                     if k not in ("progress", "seed")}, "space": space}
    now = json.loads(json.dumps(now, default=str))
    before = study.user_attrs.get("base")
    if before is None:  # a new study, or one created before the base was recorded
        study.set_user_attr("base", now)
        return
    for section in ("model", "train"):
        for key in sorted(set(before[section]) | set(now[section])):
            if key != "description" and before[section].get(key) != now[section].get(key):
                raise ConfigError(f"--resume with {section}.{key}={now[section].get(key)!r}, but study "
                                  f"'{study.study_name}' was started with {before[section].get(key)!r}")
    if before["space"] != now["space"]:
        raise ConfigError(f"--resume with another search space than study '{study.study_name}' was started with")


def write_reports(study: optuna.Study, folder: Path, settings: StudySettings | None = None) -> dict[str, Path]:
    """best.yaml, summary.txt, history.png and (with ≥ 2 complete trials) importance.png, written atomically, and
    study.json naming the study they report on."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    folder.mkdir(parents=True, exist_ok=True)
    written = {"best": folder / "best.yaml", "summary": folder / "summary.txt", "history": folder / "history.png"}
    atomic_write_bytes(written["best"], best_config_yaml(study).encode())
    atomic_write_bytes(written["summary"], (summary(study) + "\n").encode())
    if settings is not None:
        written["study"] = folder / "study.json"
        atomic_write_bytes(written["study"], json.dumps({"storage": settings.storage,
                                                         "study_name": settings.study_name}).encode())
    plots = [("history", ovm.plot_optimization_history)]
    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) >= 2:
        written["importance"] = folder / "importance.png"
        plots.append(("importance", ovm.plot_param_importances))
    for name, plot in plots:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            axes = plot(study)
        figure = axes.figure if hasattr(axes, "figure") else plt.gcf()
        figure.set_size_inches(8, 5)
        save_figure(figure, written[name])
    return written


def _sqlite_file(storage: str) -> Path | None:
    return Path(storage.removeprefix("sqlite:///")) if storage.startswith("sqlite:///") else None


def _no_complete_trial(database: Path) -> bool:
    """A study database that holds no finished trial: nothing of value to keep after a failed start."""
    import contextlib
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(database)) as connection:
            return not connection.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0]
    except sqlite3.Error:  # not even a study's tables: nothing finished
        return True


def tune_into(out: Path, settings: StudySettings, model_config: ModelConfig, train_config: TrainConfig,
              space: dict, resume: bool = False, overwrite: bool = False) -> tuple[optuna.Study, dict[str, Path]]:
    """A study with its reports in ``out``, as `tsreprog tune` runs it: --resume rewrites this study's own reports;
    another study's, or a user's summary.txt, only with --overwrite. A failed start leaves no empty folder or
    trial-less database behind."""
    from tsreprog.io import check_writable, removed_if_failed

    own = resume and reports_belong_to(out, settings)
    database = _sqlite_file(settings.storage)
    with removed_if_failed(out, database, unfinished=lambda path: path == database and _no_complete_trial(path)):
        for name in REPORT_FILES:
            check_writable(out / name, overwrite or own)
        study = run(settings, model_config, train_config, space, resume=resume)
        written = write_reports(study, out, settings)
    return study, written
