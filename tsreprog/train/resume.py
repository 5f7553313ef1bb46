"""Resumable training: a last-state checkpoint at the end of every epoch and every N training steps, and what makes a
resumed run repeat the uninterrupted one exactly (shuffles seeded by epoch, the position inside the epoch, random
states saved with the weights).

The state holds the trainable weights only (the frozen backbone is rebuilt from its name), the optimizer, the
learning-rate schedule, the loops' progress, early stopping, the best weights so far and every random generator.
A run killed mid-epoch resumes from its last step state and skips the batches that state had already trained on.
Under DDP (several processes) the order is split across ranks by Lightning's sampler, so only epoch states are
written there; a killed DDP run repeats its partial epoch.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import torch
from lightning.fabric.plugins import CheckpointIO
from lightning.pytorch.callbacks import Checkpoint
from torch.utils.data import Sampler

from tsreprog.errors import ConfigError
from tsreprog.io import atomic_write_bytes


class EpochShuffle(Sampler[int]):
    """A random order of ``n`` items that depends on (seed, epoch) only, so epoch k shuffles alike in a run that
    was interrupted and one that was not (a generator that advances across epochs would not)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0
        self.skip = 0  # items already trained on in this epoch (a mid-epoch resume): left out once

    def set_epoch(self, epoch: int) -> None:  # Lightning calls this at the start of every epoch
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        skip, self.skip = self.skip, 0
        return iter(torch.randperm(self.n, generator=generator)[skip:].tolist())

    def __len__(self) -> int:
        return self.n


def random_states() -> dict:
    """Every generator's state in types a ``weights_only`` load accepts (tensors, numbers, strings, tuples): numpy's
    key array travels as a tensor, so loading a resume state never unpickles an object."""
    name, keys, position, has_gauss, gauss = np.random.get_state()
    return {"torch": torch.get_rng_state(), "python": random.getstate(),
            "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                      "has_gauss": int(has_gauss), "gauss": float(gauss)},
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def restore_random_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    numpy_state = states["numpy"]
    if isinstance(numpy_state, dict):
        numpy_state = (numpy_state["name"], numpy_state["keys"].numpy().astype(np.uint32), numpy_state["position"],
                       numpy_state["has_gauss"], numpy_state["gauss"])
    np.random.set_state(numpy_state)
    random.setstate(states["python"])
    if states.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class AtomicCheckpointIO(CheckpointIO):
    """Lightning checkpoints written whole or not at all (a kill during the write leaves the previous one)."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def load_checkpoint(self, path, map_location=None, weights_only=None):
        """Tensors and plain values only (``weights_only=True``): a resume state is never unpickled, so a file planted
        in a run folder cannot run code. A file that is not such a state (truncated, older, or crafted) is refused
        with one line."""
        try:
            return torch.load(path, map_location=map_location or "cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - any unreadable state gets the same one-line answer
            reason = str(error).strip().splitlines()[-1][:120] if str(error).strip() else type(error).__name__
            if "Unsupported global" in str(error) or "WeightsUnpickler" in str(error):
                reason = "it holds objects that are not tensors or plain values"
            raise ConfigError(f"{path}: not a resume state this version can load safely ({reason}); remove it to "
                              f"train from the start") from None

    def remove_checkpoint(self, path) -> None:
        Path(path).unlink(missing_ok=True)


class LastState(Checkpoint):
    """Saves the whole training state to ``path`` when an epoch (training and validation) has finished and, with
    ``every_steps``, every that many optimizer steps inside an epoch. A step state records how many batches of the
    epoch were trained, so that the resumed run's ``sampler`` starts after them.

    A ``Checkpoint`` to Lightning, so its epoch-end save runs after early stopping has counted that epoch: saved
    before, the state held early stopping one epoch behind, and a resumed run trained an epoch longer."""

    def __init__(self, path: Path, every_steps: int | None = None, sampler: EpochShuffle | None = None,
                 batch_size: int = 1, precision: str = "32", settings: dict | None = None) -> None:
        self.path = Path(path)
        self.every_steps, self.sampler, self.batch_size = every_steps, sampler, batch_size
        self.batches_done = 0
        # What the run decided and was asked for, kept in its state so that --resume continues it in the same
        # precision and can refuse other settings even before the first checkpoint exists (read_run_record).
        self.precision, self.settings = precision, settings or {}

    def state_dict(self) -> dict:
        return {"batches_done": self.batches_done, "precision": self.precision, "settings": self.settings,
                "threads": torch.get_num_threads()}

    def load_state_dict(self, state: dict) -> None:
        if self.sampler is not None:
            self.sampler.skip = state.get("batches_done", 0) * self.batch_size

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not self.every_steps or self.sampler is None or trainer.global_step % self.every_steps:
            return
        if batch_idx + 1 >= trainer.num_training_batches:  # the epoch's end: the epoch state follows
            return
        self.batches_done = batch_idx + 1
        self._save(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.batches_done = 0
        self._save(trainer)

    def _save(self, trainer) -> None:
        trainer.save_checkpoint(self.path)
        record = record_path(self.path)
        if trainer.is_global_zero and not record.is_file():  # the record does not change during a run
            state = self.state_dict()
            atomic_write_bytes(record, json.dumps({k: state[k] for k in RECORD_KEYS}).encode())


RECORD_KEYS = ("precision", "settings", "threads")


def record_path(state: str | Path) -> Path:
    """The small JSON beside a resume state that says what it recorded, so a resume reads it without loading the
    whole state an extra time (Lightning loads it once, to continue)."""
    return Path(state).with_suffix(".json")


def remove_state(state: str | Path) -> None:
    """A finished run's resume state and its record."""
    Path(state).unlink(missing_ok=True)
    record_path(state).unlink(missing_ok=True)


def read_run_record(path: str | Path) -> dict:
    """What a resume state recorded about its run: ``precision`` (the one it trained in), ``settings`` (the model
    and training configs it was started with) and ``threads`` (torch's CPU threads, which set the order of
    reductions); empty for states written before they were recorded."""
    record = record_path(path)
    if record.is_file():
        try:
            return {k: v for k, v in json.loads(record.read_text()).items() if k in RECORD_KEYS and v}
        except ValueError:
            pass  # a damaged record: the state itself says the same
    state = AtomicCheckpointIO().load_checkpoint(path)
    for key, value in state.get("callbacks", {}).items():
        if key.startswith("LastState") and isinstance(value, dict):
            return {k: value[k] for k in ("precision", "settings", "threads") if value.get(k)}
    return {}
