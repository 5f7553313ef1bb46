"""int8 scoring for frozen backbones on a CPU: their linear layers as dynamically quantized int8 matrix products.

A CPU without bf16 instructions (AVX2 only) still multiplies int8 fast, and scoring spends most of its time in the
backbone's linear layers, whose weights never change. Only scoring may use it: training needs gradients through the
backbone. Weights are quantized per output channel; the feed-forward down-projections (wider input than output)
stay fp32, because their post-activation inputs have outliers that one int8 scale per batch clips (measured in
benchmarks/README.md, "int8 scoring")."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from tsreprog.backbones.base import Backbone


def int8_supported() -> bool:
    """Whether this PyTorch build can run dynamically quantized int8 linear layers on this CPU."""
    try:
        import torch.ao.quantization as quantization  # deprecated in favour of torchao; may be removed
    except ImportError:
        return False
    return hasattr(quantization, "quantize_dynamic") and bool({"fbgemm", "x86", "qnnpack"} & set(torch.backends.quantized.supported_engines))


def int8_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose linear layers, except down-projections, run in int8 (weights per channel,
    activations per batch)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    chosen = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
              if isinstance(module, nn.Linear) and module.in_features <= module.out_features}
    with warnings.catch_warnings():  # torch.ao's eager quantization warns that it is deprecated on every call
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, chosen, dtype=torch.qint8, inplace=False)


@contextmanager
def int8_backbones(model: nn.Module) -> Iterator[bool]:
    """Inside the block every frozen fp32 backbone in ``model`` runs its int8 copy; afterwards the original is back.
    Yields whether any backbone was switched (False where int8 is unsupported: then nothing changes)."""
    backbones = [module for module in model.modules() if isinstance(module, Backbone)
                 and module.dtype == torch.float32 and any(isinstance(m, nn.Linear) for m in module.model.modules())]
    if not backbones or not int8_supported():
        yield False
        return
    originals = [backbone.model for backbone in backbones]
    try:
        for backbone, original in zip(backbones, originals):
            backbone.model = int8_copy(original)
        yield True
    finally:
        for backbone, original in zip(backbones, originals):
            backbone.model = original
