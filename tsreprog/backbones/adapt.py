"""Light adaptation of a frozen backbone: train its norm layers (GPT4TS, VisionTS) or low-rank adapters on its
attention projections (LLM4TS, CALF), the rest of its weights staying frozen.

LoRA comes from peft, so the adapters are the library's (initialisation, scaling, names), not a hand-written copy.
Adaptation runs in a forked random stream, so an adapted model's other weights start exactly where the frozen
model's do: the two rows of a table differ in the adaptation alone.
"""

from __future__ import annotations

import torch
from torch import nn

from tsreprog.backbones.base import Backbone, find_blocks
from tsreprog.errors import BackboneError

ADAPTATIONS = ("none", "layernorm", "lora")
# Attention projections by family: BERT/MiniLM and HF ViT/DINOv2 (query, key, value), Llama/SmolLM2 (q/k/v/o_proj),
# GPT-2 (c_attn, a Conv1D that peft handles).
LORA_TARGETS = ("query", "key", "value", "q_proj", "k_proj", "v_proj", "o_proj", "c_attn")
# Learned absolute position embeddings, trained with the norms under `layernorm` as GPT4TS does (wpe in GPT-2).
POSITION_NAMES = ("position_embeddings", "wpe")


def adapt_backbone(backbone: Backbone, mode: str, lora_rank: int = 8, lora_alpha: float = 16.0,
                   seed: int = 0) -> list[str]:
    """Make the part of ``backbone`` named by ``mode`` trainable (in place); returns the names of the parameters
    that now train, relative to the backbone's model. ``none`` leaves it frozen."""
    if mode not in ADAPTATIONS:
        raise BackboneError(f"unknown adapt '{mode}' (use one of {', '.join(ADAPTATIONS)})")
    if mode == "none":
        return []
    model = backbone.model
    if mode == "layernorm":
        names = [name for name, p in model.named_parameters() if _is_norm_or_position(model, name)]
    else:
        names = _inject_lora(model, backbone.name, lora_rank, lora_alpha, seed)
    if not names:
        raise BackboneError(f"adapt '{mode}' found nothing to train in backbone '{backbone.name}'")
    wanted = set(names)
    for name, p in model.named_parameters():
        p.requires_grad_(name in wanted)
    backbone.adaptation = mode
    return names


def _is_norm_or_position(model: nn.Module, name: str) -> bool:
    owner, _, leaf = name.rpartition(".")
    module = model.get_submodule(owner) if owner else model
    if "norm" in type(module).__name__.lower():
        return True
    return any(part in POSITION_NAMES for part in name.split(".")) and leaf in ("weight", *POSITION_NAMES)


def _inject_lora(model: nn.Module, name: str, rank: int, alpha: float, seed: int) -> list[str]:
    from peft import LoraConfig, inject_adapter_in_model

    blocks = find_blocks(model)[2]
    present = {leaf for block in blocks for leaf, _ in
               ((n.rpartition(".")[2], m) for n, m in block.named_modules()) if leaf in LORA_TARGETS}
    if not present:
        raise BackboneError(f"adapt 'lora' found no attention projection ({', '.join(LORA_TARGETS)}) in backbone "
                            f"'{name}'")
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, bias="none", target_modules=sorted(present),
                        fan_in_fan_out="c_attn" in present)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        inject_adapter_in_model(config, model)
    return [n for n, _ in model.named_parameters() if "lora_" in n]
