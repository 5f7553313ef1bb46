"""Small, atomic checkpoints: trainable weights + full configuration + the train-only scaler.

Files are written to a temporary sibling and renamed into place, so an interrupted write never leaves a broken
file where a good one was; existing files are never overwritten unless the caller says so.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import Any

import torch

from tsreprog.errors import ConfigError
from tsreprog.models.contract import trained_state
from tsreprog.io import atomic_write_bytes

FORMAT_VERSION = 1


def content_digest(payload: dict[str, Any]) -> str:
    """SHA-256 over everything a checkpoint holds (tensors by their bytes, the rest by its repr), so a flipped byte
    anywhere is found on load; the zip container's own CRCs are not checked when torch reads it."""
    digest = hashlib.sha256()

    def feed(value) -> None:
        if isinstance(value, torch.Tensor):
            digest.update(str((value.dtype, tuple(value.shape))).encode())
            # hashed in place, no copy; flat, so a 0-d tensor (BatchNorm's step count) has bytes to view
            digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
        elif isinstance(value, dict):
            for key in sorted(value, key=str):
                digest.update(repr(key).encode())
                feed(value[key])
        elif isinstance(value, (list, tuple)):
            for item in value:
                feed(item)
        else:
            digest.update(repr(value).encode())

    feed({k: v for k, v in payload.items() if k != "sha256"})
    return digest.hexdigest()


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    full = {"format": FORMAT_VERSION, **payload}
    buffer = io.BytesIO()
    torch.save({**full, "sha256": content_digest(full)}, buffer)
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
    if "sha256" in payload and content_digest(payload) != payload["sha256"]:  # files written before it have none
        raise ConfigError(f"{path}: checkpoint is corrupted (its content does not match its SHA-256)")
    return payload


def load_trainable(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Load trainable weights, with an error that says which parameter does not fit instead of a traceback.

    Files written before norm-layer statistics were saved with the weights lack them: they load with a warning,
    since their forecasts use the statistics the model was built with."""
    own = trained_state(model)
    parameters = dict(model.named_parameters())
    unsaved = sorted(name for name in own if name not in parameters and name not in state)  # statistics only
    if unsaved:
        shown = ", ".join(unsaved[:2]) + (f" and {len(unsaved) - 2} more" if len(unsaved) > 2 else "")
        warnings.warn(f"{source}: holds no running statistics for {shown} (written before they were saved); "
                      "forecasts use the statistics the model starts with", stacklevel=2)
        own = {name: tensor for name, tensor in own.items() if name not in unsaved}
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
