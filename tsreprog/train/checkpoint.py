"""The saved model: one folder, ``weights.safetensors`` (exactly what trained) and ``model.json`` (the model and
training configs, the scaler, the data description, the precision, metrics), with a SHA-256 of each file in the JSON.

Loading reads safetensors and JSON only: nothing is unpickled, so a planted file cannot run code. The folder is
written beside its target and swapped in whole, so an interrupted save never leaves a mixed or half-written one.
Single ``.pt`` files of earlier versions still load (tensors only, ``weights_only=True``) with a one-line warning.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tsreprog.errors import ConfigError, TsreprogError
from tsreprog.models.contract import trained_state

FORMAT_VERSION = 2
WEIGHTS, MANIFEST = "weights.safetensors", "model.json"
CHECKPOINT_NAME = "model"  # the folder `tsreprog train` writes into its output directory


def _plain(value):
    """JSON for what payloads hold beside tensors (numpy numbers and arrays, timestamps)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _manifest_digest(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=_plain).encode()).hexdigest()


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (``trainable_state``: name → tensor; the rest: plain values) as the folder ``path``."""
    path = Path(path)
    weights = {name: tensor.detach().cpu().contiguous().clone()
               for name, tensor in payload.get("trainable_state", {}).items()}
    manifest = {"format": FORMAT_VERSION, **{k: v for k, v in payload.items() if k != "trainable_state"}}
    manifest = json.loads(json.dumps(manifest, default=_plain))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
        try:
            from safetensors.torch import save_file

            save_file(weights, str(staging / WEIGHTS))
            manifest["sha256"] = {WEIGHTS: hashlib.sha256((staging / WEIGHTS).read_bytes()).hexdigest(),
                                  MANIFEST: _manifest_digest(manifest)}
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=1))
            old = path.with_name(f".{path.name}.old") if path.exists() else None
            if old is not None:
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
                path.rename(old)
            staging.rename(path)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as error:
        raise TsreprogError(f"{path}: cannot write the saved model ({error.strerror or error})") from None


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The payload saved at ``path``, checked against its digests; one-line errors for a missing or changed file,
    a newer format or something that is not a saved model."""
    path = Path(path)
    if path.is_file():
        return _load_legacy(path)
    if not path.is_dir():
        raise ConfigError(f"{path}: saved model not found")
    if not (path / MANIFEST).is_file():  # a folder that holds the saved model: the one meant
        if (path / CHECKPOINT_NAME / MANIFEST).is_file():  # `tsreprog train`'s run folder, an interface's folder
            path = path / CHECKPOINT_NAME
        elif (path / "tsreprog.pt").is_file():  # what the interfaces' savers wrote before the folder format
            return _load_legacy(path / "tsreprog.pt")
    missing = [name for name in (MANIFEST, WEIGHTS) if not (path / name).is_file()]
    if missing:
        raise ConfigError(f"{path}: not a complete saved model ({missing[0]} is missing)")
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except ValueError as error:
        raise ConfigError(f"{path / MANIFEST}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or "model_config" not in manifest:
        raise ConfigError(f"{path}: not a tsreprog saved model")
    if manifest.get("format", 0) > FORMAT_VERSION:
        raise ConfigError(f"{path}: written by a newer tsreprog (format {manifest['format']}, this one reads up to "
                          f"{FORMAT_VERSION}); upgrade tsreprog")
    digests = manifest.get("sha256", {})
    if digests.get(MANIFEST) != _manifest_digest(manifest):
        raise ConfigError(f"{path / MANIFEST}: changed since it was saved (its SHA-256 does not match)")
    if digests.get(WEIGHTS) != hashlib.sha256((path / WEIGHTS).read_bytes()).hexdigest():
        raise ConfigError(f"{path / WEIGHTS}: changed or corrupted since it was saved (its SHA-256 does not match)")
    from safetensors.torch import load_file

    try:
        weights = load_file(str(path / WEIGHTS))
    except Exception as error:  # noqa: BLE001 - safetensors raises its own types for a malformed file
        raise ConfigError(f"{path / WEIGHTS}: not a safetensors file ({type(error).__name__})") from None
    return {**{k: v for k, v in manifest.items() if k != "sha256"}, "trainable_state": weights}


def _load_legacy(path: Path) -> dict[str, Any]:
    """A single-file checkpoint of an earlier version: tensors and plain values only, its digest checked."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"{path}: not a tsreprog checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != 1 or "model_config" not in payload:
        raise ConfigError(f"{path}: not a tsreprog checkpoint (format 1 expected in a single file)")
    if "sha256" in payload and _legacy_digest(payload) != payload["sha256"]:  # files written before it have none
        raise ConfigError(f"{path}: checkpoint is corrupted (its content does not match its SHA-256)")
    warnings.warn(f"{path}: a single-file checkpoint of an earlier tsreprog; it loads, and saving again writes the "
                  f"folder format (weights.safetensors + model.json)", stacklevel=3)
    return payload


def _legacy_digest(payload: dict[str, Any]) -> str:
    """The SHA-256 single-file checkpoints carried: tensors by their bytes, the rest by its repr."""
    digest = hashlib.sha256()

    def feed(value) -> None:
        if isinstance(value, torch.Tensor):
            digest.update(str((value.dtype, tuple(value.shape))).encode())
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
