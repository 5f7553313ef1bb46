"""Resumable training: a last-state checkpoint at the end of every epoch, and what makes a resumed run repeat the
uninterrupted one exactly (shuffles seeded by epoch, random states saved with the weights).

The state holds the trainable weights only (the frozen backbone is rebuilt from its name), the optimizer, the
learning-rate schedule, the loops' progress, early stopping, the best weights so far and every random generator.
A run killed mid-epoch resumes from the last finished epoch; the partial epoch is run again from its start.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import torch
from lightning.fabric.plugins import CheckpointIO
from lightning.pytorch.callbacks import Callback
from torch.utils.data import Sampler

from tsreprog.io import atomic_write_bytes


class EpochShuffle(Sampler[int]):
    """A random order of ``n`` items that depends on (seed, epoch) only, so epoch k shuffles alike in a run that
    was interrupted and one that was not (a generator that advances across epochs would not)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:  # Lightning calls this at the start of every epoch
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=generator).tolist())

    def __len__(self) -> int:
        return self.n


def random_states() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def restore_random_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
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
        return torch.load(path, map_location=map_location or "cpu", weights_only=False)

    def remove_checkpoint(self, path) -> None:
        Path(path).unlink(missing_ok=True)


class LastState(Callback):
    """Saves the whole training state to ``path`` when an epoch (training and validation) has finished."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        trainer.save_checkpoint(self.path)
