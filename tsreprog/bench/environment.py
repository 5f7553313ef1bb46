"""What every benchmark JSON records about where it ran."""

from __future__ import annotations

import os
import platform
import subprocess

import torch


CPU_MARK = "torch threads"  # only a CPU's name carries it, so a recorded name tells which kind of device ran


def device_name(device: str = "cpu") -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu} ({os.cpu_count()} cores, {CPU_MARK} {torch.get_num_threads()})"


def named_a_cpu(name: str) -> bool:
    """Whether a name written by ``device_name`` is a CPU's (read back from stored results)."""
    return CPU_MARK in name


def git_commit() -> str:
    """The checkout's commit; TSREPROG_COMMIT names it where the code travelled without its git folder (a lent
    GPU machine gets a copy of the working tree)."""
    if os.environ.get("TSREPROG_COMMIT"):
        return os.environ["TSREPROG_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def environment(device: str = "cpu") -> dict:
    return {"device": device_name(device), "commit": git_commit(), "torch": torch.__version__,
            "python": platform.python_version()}


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process (Linux), so a peak can be measured per phase."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def current_peak_rss_mb() -> float:
    """VmHWM (peak resident memory since start or the last reset), in MiB; falls back to getrusage."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return peak_rss_mb()
