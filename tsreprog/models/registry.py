"""Which model reads which settings, declared once: a setting that does not apply to the chosen model is refused with
one line (``ModelConfig``), and the shared conformance test builds every model and variant listed here."""

from __future__ import annotations

COMMON = ("model", "lookback", "horizon", "seed")
_BACKBONE = ("backbone", "n_layers", "backbone_dtype")
_ADAPTATION = ("adapt", "lora_rank", "lora_alpha")
_PATCHES = ("patch_len", "patch_stride", "d_model", "n_heads")

MODEL_SETTINGS: dict[str, frozenset[str]] = {
    "reprogrammed": frozenset((*COMMON, *_BACKBONE, *_ADAPTATION, *_PATCHES, "d_keys", "n_prototypes",
                               "prototype_vocab", "attention_scoring", "token_scale", "head_dim", "dropout", "prompt",
                               "description", "statistics", "n_lags", "quantiles")),
    "vision-image": frozenset((*COMMON, *_BACKBONE, *_ADAPTATION, "head_dim", "dropout", "period", "image_size",
                               "visual_prompt")),
    "vision-mae": frozenset((*COMMON, "backbone", "backbone_dtype", "period")),
    "patchtst": frozenset((*COMMON, *_PATCHES, "n_layers", "dropout", "encoder_style", "d_ff")),
    "dlinear": frozenset(COMMON),
    "naive": frozenset(("model", "lookback", "horizon")),
}

# Tiny variants of every model for the shared conformance test (tests/models/test_conformance_all.py): each model's
# own forms (prompt forms, adaptations, encoder styles, the quantile head), with random backbones.
_TINY_PATCHES = dict(lookback=48, horizon=12, patch_len=8, patch_stride=4, d_model=16, n_heads=4)
CONFORMANCE_VARIANTS: dict[str, list[dict]] = {
    "reprogrammed": [dict(_TINY_PATCHES, backbone=b, n_prototypes=20, prompt=p)
                     for b in ("random:bert", "random:gpt2", "random:llama") for p in ("full", "compact", "none")]
    + [dict(_TINY_PATCHES, backbone="random:bert", n_prototypes=20, quantiles=[0.1, 0.5, 0.9]),
       dict(_TINY_PATCHES, backbone="random:bert", n_prototypes=20, adapt="layernorm"),
       dict(_TINY_PATCHES, backbone="random:llama", n_prototypes=20, adapt="lora", lora_rank=2),
       dict(_TINY_PATCHES, backbone="random:dinov2", n_prototypes=20, prompt="none")],
    "vision-image": [dict(lookback=48, horizon=12, backbone="random:vit", period=12),
                     dict(lookback=48, horizon=12, backbone="random:dinov2", period=12, visual_prompt="border",
                          adapt="layernorm")],
    "patchtst": [dict(_TINY_PATCHES, encoder_style="compact"), dict(_TINY_PATCHES, encoder_style="paper", d_ff=32)],
    "dlinear": [dict(lookback=48, horizon=12)],
    "naive": [dict(lookback=48, horizon=12)],
}


def settings_not_applying(model: str, values: dict, defaults: dict) -> list[str]:
    """The settings in ``values`` that ``model`` does not read and that differ from their defaults."""
    own = MODEL_SETTINGS.get(model, frozenset())
    return [name for name, value in values.items() if name not in own and value != defaults.get(name)]


def settings_read_by(model: str, values: dict) -> dict:
    """Only the settings ``model`` reads, in their order: what a file that trains it needs to say (a DLinear pick
    listing a backbone and prompt would suggest they matter)."""
    own = MODEL_SETTINGS.get(model, frozenset())
    return {name: value for name, value in values.items() if name in own}
