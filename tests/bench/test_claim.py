"""A bench cell is computed by one process at a time, and a killed holder leaves no stale claim."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tsreprog.bench.claim import CellHeld, claim, fcntl

pytestmark = pytest.mark.skipif(fcntl is None, reason="no advisory file locks on this platform")

HOLD = "import sys, time; from pathlib import Path; from tsreprog.bench.claim import claim\n" \
       "with claim(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(120)"


def hold_in_another_process(lock):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_claim_held_elsewhere_is_refused_naming_the_holder_and_free_once_the_holder_is_killed(tmp_path):
    lock = tmp_path / ".resume" / "ETTh1" / "dlinear" / "H96_seed0.lock"
    holder = hold_in_another_process(lock)
    try:
        with pytest.raises(CellHeld, match=f"pid {holder.pid} on .*H96_seed0.lock"):
            with claim(lock):
                pass
    finally:
        holder.kill()  # SIGKILL: no cleanup runs in the holder
        holder.wait()
    with claim(lock):
        assert f"pid {os.getpid()}" in lock.read_text()
