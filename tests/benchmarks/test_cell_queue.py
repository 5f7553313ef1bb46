"""benchmarks/cell_queue.py: stopping the queue stops its workers (they used to keep computing as orphans); stopping
one worker stops its cell only (the queue used to wait for that cell forever)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_to_the_queue_stops_its_workers(tmp_path):
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"dataset": "ETTh1", "model": "patchtst", "horizon": 96, "profile": "standard"}]))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    queue = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "cell_queue.py"), str(jobs), "--workers", "1",
                              "--output-dir", str(tmp_path / "out")], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    workers = []
    try:
        deadline = time.time() + 60
        while time.time() < deadline:  # the pool's worker is up (not only multiprocessing's resource tracker)
            workers = psutil.Process(queue.pid).children(recursive=True)
            if any("spawn_main" in " ".join(w.cmdline()) for w in workers):
                break
            time.sleep(0.2)
        assert any("spawn_main" in " ".join(w.cmdline()) for w in workers), "no pool worker within 60 s"
        time.sleep(1.0)
        queue.send_signal(signal.SIGTERM)
        assert queue.wait(timeout=30) == 128 + signal.SIGTERM
        gone, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, f"workers still running after the queue stopped: {[p.pid for p in alive]}"
    finally:  # nothing of this test outlives it, whatever failed
        for process in [psutil.Process(queue.pid), *workers] if queue.poll() is None else workers:
            if process.is_running():
                process.kill()


def test_sigterm_to_one_worker_stops_its_cell_and_the_queue_ends(tmp_path):
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"dataset": "ETTh1", "model": "patchtst", "horizon": 96, "profile": "standard"}]))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "out"
    queue = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "cell_queue.py"), str(jobs), "--workers", "1",
                              "--output-dir", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    try:
        def holder() -> str:  # "pid N on host" once the worker has claimed the cell: it is computing
            locks = list((out / "standard" / ".resume").rglob("*.lock"))
            return locks[0].read_text() if locks else ""

        deadline = time.time() + 120
        while time.time() < deadline and not holder():
            time.sleep(0.2)
        assert holder(), "the cell was not claimed within 120 s"
        worker = int(holder().split()[1])
        time.sleep(2.0)
        os.kill(worker, signal.SIGTERM)
        stdout, _ = queue.communicate(timeout=60)
        assert queue.returncode == 0
        assert "stopped by a signal; a rerun resumes it" in stdout
        assert not (out / "standard" / "cells" / "ETTh1" / "patchtst" / "H96.json").exists()
    finally:
        if queue.poll() is None:
            for process in [*psutil.Process(queue.pid).children(recursive=True), psutil.Process(queue.pid)]:
                process.kill()


def test_a_queue_that_ends_leaves_no_traceback(tmp_path):
    """The pool's shutdown sends SIGTERM to idle workers; the handler that stops a running cell used to turn it into
    a KeyboardInterrupt traceback in the log at the end of every queue."""
    out = tmp_path / "out"
    done = out / "standard" / "cells" / "ETTh1" / "dlinear" / "H96.json"
    done.parent.mkdir(parents=True)
    done.write_text(json.dumps({"dataset": "ETTh1", "mse": 0.4, "val_mse": 0.5}))
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"dataset": "ETTh1", "model": "dlinear", "horizon": 96, "profile": "standard"}] * 2))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    finished = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cell_queue.py"), str(jobs), "--workers",
                               "2", "--output-dir", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0 and finished.stdout.count("already done") == 2
    assert "Traceback" not in finished.stderr, finished.stderr
