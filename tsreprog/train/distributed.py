"""Training on several processes with Lightning's DDP strategy (gloo on CPUs, NCCL on GPUs).

Lightning's launcher starts ranks 1..N-1 by running the same command again, so everything a run does outside the
training loop (writing its outputs, scoring the test split) must happen on rank 0 only; the other ranks train and
leave. The global batch stays ``batch_size`` (each rank takes its share), so one process and N processes take the
same number of steps at the same learning rate and reach the same model up to the order of the samples.
"""

from __future__ import annotations

import os

import torch

STRATEGIES = ("auto", "ddp")


def launch_rank() -> int:
    """This process's global rank as the launcher (Lightning, torchrun, SLURM) set it; 0 when not launched."""
    for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if name in os.environ:
            try:
                return int(os.environ[name])
            except ValueError:
                return 0
    return 0


def is_rank_zero() -> bool:
    return launch_rank() == 0


def strategy_for(strategy: str, devices: int) -> str:
    """Lightning's strategy name: one process is ``auto``; several are DDP with the script launcher (``ddp``),
    never ``ddp_spawn``, whose trained weights would stay in the spawned processes."""
    return "ddp" if devices > 1 else strategy


def per_rank_batch(batch_size: int, devices: int) -> int:
    return max(1, batch_size // devices)


def all_reduce_sum(values: list[float]) -> list[float]:
    """Sums of ``values`` over every rank (as they are when only one process runs)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    torch.distributed.all_reduce(tensor)
    return tensor.tolist()
