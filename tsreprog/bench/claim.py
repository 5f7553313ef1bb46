"""One process computes a bench cell at a time. Several runs may fill one table (two `tsreprog bench` runs on one
output folder, or cell queues started one after another); two runs training the same cell would overwrite each
other's resume state and spend the work twice. The claim is an OS file lock, so a run that is killed never leaves a
stale claim behind: the operating system releases it with the process."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # Windows has no advisory flock: there a table takes one run at a time (docs/usage.md)
    fcntl = None


class CellHeld(Exception):
    """Another live process is computing this cell; the message names it."""


@contextlib.contextmanager
def claim(lock_path: Path) -> Iterator[None]:
    """Hold ``lock_path`` for the body, or raise CellHeld at once when another process holds it.

    The file stays where it is while the cell is unfinished: removing it while another process has it open could
    hand two processes two different files. Callers remove it with `release_finished` once the cell is written."""
    if fcntl is None:
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise CellHeld(f"{handle.read().strip() or 'another process'} is computing it ({lock_path})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def release_finished(lock_path: Path) -> None:
    """Remove the lock of a cell whose result is written. A process that opened the old file meanwhile still finds
    the cell finished once it holds the lock, so it computes nothing."""
    lock_path.unlink(missing_ok=True)
