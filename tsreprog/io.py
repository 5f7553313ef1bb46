"""Writing the user's files safely, shared by every package: nothing replaced without being asked, nothing left
half-written (a file is written whole beside its target, then renamed over it)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tsreprog.errors import TsreprogError


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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes owner-only files; outputs get the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
