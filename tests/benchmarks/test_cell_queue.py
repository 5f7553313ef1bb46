"""benchmarks/cell_queue.py: stopping the queue stops its workers (they used to keep computing as orphans)."""

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
