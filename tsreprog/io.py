"""Writing the user's files safely, shared by every package: nothing replaced without being asked, nothing left
half-written (a file is written whole beside its target, then renamed over it)."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Callable

from tsreprog.errors import ConfigError, TsreprogError


def check_writable(path: str | Path, overwrite: bool = False, folder: bool = False,
                   how_to_replace: str = "--overwrite") -> Path:
    """Refuse to replace a user's file (or, with ``folder``, a folder such as a saved model) unless ``overwrite``;
    create the parent folder. ``how_to_replace``: what the error tells the caller to pass (a flag, or a Python
    keyword such as ``overwrite=True``)."""
    path = Path(path)
    if path.is_dir() and not folder:
        raise TsreprogError(f"{path}: is a folder; give a file path")
    if path.exists() and not overwrite:
        raise TsreprogError(f"{path}: already exists; pass {how_to_replace} to replace it or choose another path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TsreprogError(f"{path.parent}: cannot create the output folder ({exc.strerror})") from None
    try:  # a file made and removed there: os.access says yes to root where no file can be made (/proc, say)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise TsreprogError(f"{path.parent}: the output folder is not writable ({exc.strerror})") from None
    return path


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:  # nothing was written: the previous file, if any, is as it was
        raise TsreprogError(f"{path}: cannot write ({error.strerror}); the previous version, if any, is "
                            f"unchanged") from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes owner-only files; outputs get the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            # the previous file (if any) is untouched: say so in one line instead of a traceback
            raise TsreprogError(f"{path}: cannot write ({error.strerror}); the previous version, if any, is "
                                f"unchanged") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_yaml(path: str | Path):
    """A YAML file's content, refusing a key given twice in one mapping (YAML keeps the last one silently, so a
    setting the user wrote would be lost) with a one-line error naming the file, key and line; invalid YAML is one
    line naming the file and where the parser stopped."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise TsreprogError(f"{path}: key '{key}' appears twice (lines {seen[key] + 1} and "
                                    f"{key_node.start_mark.line + 1}); keep one")
            seen[key] = key_node.start_mark.line
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        return yaml.load(Path(path).read_text(), Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:  # one line naming where the parser stopped, not its multi-line report
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        if mark is not None:
            problem = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        raise ConfigError(f"{path}: invalid YAML ({problem})") from None


def save_figure(figure, path: str | Path, dpi: int = 90) -> None:
    """A matplotlib figure as a PNG at ``path``, written whole (atomically), and the figure closed."""
    import io

    import matplotlib.pyplot as plt

    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())


def json_ready(value):
    """``value`` with every non-finite float as ``None`` (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def write_json(path: str | Path, payload: dict) -> None:
    """``payload`` as indented JSON, written whole; numpy scalars as numbers, non-finite floats as null."""
    atomic_write_bytes(path, (json.dumps(json_ready(payload), indent=2, default=float) + "\n").encode())


def write_config_sections(path: str | Path, **configs) -> None:
    """The YAML a ``--config`` reads back: one section per config (``model``, ``train``, ...), each a config object
    or the dict of its fields."""
    import yaml

    sections = {name: config if isinstance(config, dict) else config.to_dict() for name, config in configs.items()}
    atomic_write_bytes(path, yaml.safe_dump(sections, sort_keys=False).encode())


@contextlib.contextmanager
def removed_if_failed(*paths: Path | None, unfinished: Callable[[Path], bool] = lambda path: False):
    """Folders and files a command is about to create: if it fails, those it created and left empty (a folder) or
    holding nothing finished (a file ``unfinished`` says so of) are removed, not left behind."""
    new = [p for p in paths if p is not None and not p.exists()]
    try:
        yield
    except BaseException:
        for path in new:
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
            elif path.is_file() and unfinished(path):
                path.unlink()
        raise
