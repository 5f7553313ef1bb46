"""Numeric precision chosen from what the hardware does fast, never slower than fp32.

bf16 autocast pays on GPUs and on CPUs with bf16 matrix instructions (AMX, AVX512-BF16); on a CPU without them
(e.g. an AMD EPYC with AVX2 only) PyTorch emulates bf16 and autocast was measured 5-14x slower than fp32. So on a
CPU ``auto`` means fp32 unless the CPU has those instructions, and then bf16 only where a timed step of the actual
model says it is faster.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

PRECISIONS = ("auto", "32", "bf16-mixed")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
# bf16 must beat fp32 by this factor in the timed probe: a tie is not worth rounding every activation.
BF16_MIN_SPEEDUP = 1.15


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_has_bf16(flags: set[str] | None = None) -> bool:
    """Whether this CPU multiplies bf16 in hardware (not emulated)."""
    return any(flag in (cpu_flags() if flags is None else flags) for flag in BF16_CPU_FLAGS)


def _seconds(step: Callable[[], None], repeats: int = 2) -> float:
    step()  # warm-up: first-call allocations and kernel selection
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - started)
    return best


def timed_training_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, device: str,
                        precision: str) -> float:
    """Seconds of one forward and backward pass of ``model`` on (x, y) in ``precision``; gradients are discarded."""
    params = [p for p in model.parameters() if p.requires_grad]
    enabled = precision == "bf16-mixed"
    x, y = x.to(device), y.to(device)

    def step() -> None:
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=enabled):
            loss = torch.nn.functional.mse_loss(model(x).float(), y)
        loss.backward()
        for p in params:
            p.grad = None

    was_training = model.training
    model.train()
    try:
        return _seconds(step)
    finally:
        model.train(was_training)


def choose_precision(requested: str, accelerator: str, model: torch.nn.Module | None = None,
                     sample: tuple[torch.Tensor, torch.Tensor] | None = None,
                     has_bf16: bool | None = None) -> str:
    """The precision to train and score in: ``requested`` unless it is ``auto``.

    auto: bf16-mixed on a GPU; fp32 on a CPU without bf16 instructions or for a model with nothing to train; on a
    CPU with them, bf16-mixed only if a timed step of ``model`` on ``sample`` is at least ``BF16_MIN_SPEEDUP``
    times faster than fp32."""
    if requested != "auto":
        return requested
    if accelerator == "gpu":
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "32"
    if not (cpu_has_bf16() if has_bf16 is None else has_bf16):
        return "32"
    if model is None or sample is None or not any(p.requires_grad for p in model.parameters()):
        return "32"
    with torch.random.fork_rng(devices=[]):  # the probe's dropout draws must not shift the run's random stream
        fp32 = timed_training_step(model, *sample, "cpu", "32")
        bf16 = timed_training_step(model, *sample, "cpu", "bf16-mixed")
    return "bf16-mixed" if fp32 >= BF16_MIN_SPEEDUP * bf16 else "32"


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype a run of ``precision`` forecasts and scores in (None: plain fp32)."""
    return torch.bfloat16 if precision == "bf16-mixed" else None
