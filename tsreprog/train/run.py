"""A training run in an output folder, as `tsreprog train` makes it: the folder checked (nothing of the user's
replaced unless asked, a resumed run continued only under the settings it started with), ``config.yaml`` first,
the saved model as it improves, ``metrics.json`` last (its presence says the run finished)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from tsreprog.errors import ConfigError
from tsreprog.io import check_writable, write_config_sections, write_json
from tsreprog.models import ModelConfig
from tsreprog.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from tsreprog.train.config import TrainConfig
from tsreprog.train.fit import FitResult, fit, last_state_path, trained_record_path
from tsreprog.train.resume import read_run_record

# Settings a resumed run may change: they do not change what is trained.
RESUMABLE_CHANGES = ("progress", "description", "state_every_steps")


def resumable_run(out: Path, model_config: ModelConfig, train_config: TrainConfig) -> Path:
    """The checkpoint path of a killed run in ``out`` that ``--resume`` may continue, after checking that it was
    started with the same settings (a resumed run under other settings would mix two experiments)."""
    checkpoint = out / CHECKPOINT_NAME
    state = last_state_path(checkpoint)
    if not state.is_file() and not trained_record_path(checkpoint).is_file():
        finished = (out / "metrics.json").is_file()
        raise ConfigError(f"{out}: nothing to resume (" + ("the run there finished" if finished else
                          "no last_state.ckpt: no epoch of a run there had finished") + ")")
    # The settings the run was started with: its checkpoint's, or, killed before its first validation wrote one,
    # those its resume state recorded.
    saved = load_checkpoint(checkpoint) if checkpoint.exists() else read_run_record(state).get("settings")
    if saved:
        for section, now in (("model", model_config.to_dict()), ("train", train_config.to_dict())):
            before = saved[f"{section}_config"]
            for key in sorted(set(before) | set(now)):
                if key not in RESUMABLE_CHANGES and before.get(key) != now.get(key):
                    raise ConfigError(f"{out}: --resume with {section}.{key}={now.get(key)!r}, but the run there "
                                      f"was started with {before.get(key)!r}")
    return checkpoint


def fresh_run(out: Path, model_config: ModelConfig, train_config: TrainConfig, overwrite: bool) -> Path:
    """Check that ``out`` may take a new run, clear what an older run left there (with ``overwrite``), write
    ``config.yaml`` and return where the saved model goes."""
    # the user's own config may live there; checkpoint.pt: an earlier version's saved model
    for written in ("config.yaml", "metrics.json", "last_state.ckpt", "checkpoint.pt"):
        check_writable(out / written, overwrite)
    checkpoint = check_writable(out / CHECKPOINT_NAME, overwrite, folder=True)
    # --overwrite: nothing of an older run may stay beside this one (a kill would leave a mixed folder)
    shutil.rmtree(checkpoint, ignore_errors=True)
    for older in ("checkpoint.pt", "metrics.json", "last_state.ckpt", "last_state.json", "trained.json"):
        (out / older).unlink(missing_ok=True)
    write_config_sections(out / "config.yaml", model=model_config, train=train_config)
    return checkpoint


def train_in_folder(out: Path, model_config: ModelConfig, train_config: TrainConfig, overwrite: bool = False,
                    resume: bool = False, log: Callable[[str], None] | None = None) -> FitResult:
    """Train into ``out`` (see the module's note); a KeyboardInterrupt leaves ``last_state.ckpt`` to resume from."""
    checkpoint = resumable_run(out, model_config, train_config) if resume else \
        fresh_run(out, model_config, train_config, overwrite)
    result = fit(model_config, train_config, checkpoint, log=log, resume=resume, keep_record=True)
    write_config_sections(out / "config.yaml", model=result.model.config, train=train_config)
    write_json(out / "metrics.json", {"metrics": result.metrics, "history": result.history})
    trained_record_path(checkpoint).unlink(missing_ok=True)  # the run is whole: nothing left to resume
    return result
