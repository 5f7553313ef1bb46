"""Small, atomic checkpoints: trainable weights + full configuration + the train-only scaler.

Files are written to a temporary sibling and renamed into place, so an interrupted write never leaves a broken
file where a good one was; existing files are never overwritten unless the caller says so.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from tsreprog.errors import ConfigError, TsreprogError

FORMAT_VERSION = 1


def check_writable(path: str | Path, overwrite: bool = False) -> Path:
    """Refuse to replace a user's file unless ``overwrite``; create the parent folder."""
    path = Path(path)
    if path.is_dir():
        raise TsreprogError(f"{path}: is a folder; give a file path")
    if path.exists() and not overwrite:
        raise TsreprogError(f"{path}: already exists; pass --overwrite to replace it or choose another path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TsreprogError(f"{path.parent}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(path.parent, os.W_OK):
        raise TsreprogError(f"{path.parent}: the output folder is not writable")
    return path


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT_VERSION, **payload}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"{path}: not a tsreprog checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION or "model_config" not in payload:
        raise ConfigError(f"{path}: not a tsreprog checkpoint (format {FORMAT_VERSION} expected)")
    return payload


def load_trainable(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Load trainable weights, with an error that says which parameter does not fit instead of a traceback."""
    own = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not own:
        own = dict(model.state_dict())
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        name = (missing or unexpected)[0]
        raise ConfigError(f"{source}: does not fit this model (parameter '{name}' "
                          f"{'missing' if missing else 'unexpected'}); it was trained with another backbone or config")
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(own[name].shape):
            raise ConfigError(f"{source}: parameter '{name}' has shape {tuple(tensor.shape)}, the model expects "
                              f"{tuple(own[name].shape)}; it was trained with another backbone or config")
    with torch.no_grad():
        for name, tensor in state.items():
            own[name].copy_(tensor.to(own[name].dtype))
