"""Optional ``torch.compile`` of a forecaster's forward pass, never at the cost of a run.

Compilation fails late (at the first call, e.g. without a C++ compiler on a CPU machine) and its speed-up differs
by machine, so it is off unless asked for (``TrainConfig.compile``), and a failure falls back to eager with one
warning instead of ending the run.
"""

from __future__ import annotations

from typing import Callable

import torch


def compile_forward(model: torch.nn.Module, warn: Callable[[str], None]) -> torch.nn.Module:
    """Replace ``model.forward`` (in place) with a compiled one that falls back to eager on any compile error."""
    eager = model.forward
    compiled = torch.compile(eager, dynamic=None)
    current = {"forward": compiled}

    def forward(*args, **kwargs):
        if current["forward"] is eager:
            return eager(*args, **kwargs)
        try:
            return current["forward"](*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - any compiler failure: the eager model still works
            current["forward"] = eager
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            warn(f"torch.compile failed ({type(error).__name__}: {first[:160]}); training continues in eager mode")
            return eager(*args, **kwargs)

    model.forward = forward
    return model


def uncompile(model: torch.nn.Module) -> torch.nn.Module:
    """Drop a compiled forward set by :func:`compile_forward` (the class's own forward is used again)."""
    model.__dict__.pop("forward", None)
    return model
