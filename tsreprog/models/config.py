"""Model configuration: one dataclass that checkpoints store in full, so a forecast can be rebuilt exactly."""

from __future__ import annotations

from dataclasses import dataclass

from tsreprog.config_base import ConfigMixin, setting
from tsreprog.backbones.adapt import ADAPTATIONS
from tsreprog.errors import ConfigError
from tsreprog.models.registry import MODEL_SETTINGS, settings_not_applying
from tsreprog.reprogram.prompt import PROMPT_FORMS, STATISTICS


TOKEN_SCALES = ("auto", "embedding", "free")
# What files written before a setting existed were trained with (read back by ModelConfig.from_saved and by the
# benchmark studies' resume check), when that differs from today's default.
SETTINGS_BEFORE_THEY_EXISTED = {"attention_scoring": "dot", "token_scale": "free"}
MODELS = ("reprogrammed", "vision-image", "vision-mae", "dlinear", "patchtst", "naive")
ENCODER_STYLES = ("compact", "paper")  # PatchTST's encoder layer (tsreprog.models.patchtst)
# Read off the settings registry: the models with a quantile head (pinball loss; the rest give points only), and
# those with a backbone that can train around it.
QUANTILE_MODELS = tuple(m for m in MODELS if "quantiles" in MODEL_SETTINGS[m])
ADAPTABLE_MODELS = tuple(m for m in MODELS if "adapt" in MODEL_SETTINGS[m])


# The settings measured fastest at no loss of accuracy (docs/history.md, "Default job"): the compact prompt and
# non-overlapping patches halve the tokens the backbone sees. ModelConfig's own defaults keep Time-LLM's form (the
# benchmark tables compare against it); the default job (configs/quick.yaml) and the pandas/GluonTS interfaces
# take these instead, each saying so, and a test holds them to this one definition.
FAST_SETTINGS = {"prompt": "compact", "patch_stride": 16}


@dataclass
class ModelConfig(ConfigMixin):
    _kind = "model setting"

    model: str = setting("reprogrammed", "forecaster: reprogrammed (frozen backbone), dlinear, patchtst or naive")
    backbone: str = setting("minilm-l6", "backbone name (tsreprog backbones list), local folder or cached HF id")
    n_layers: int | None = setting(None, "keep the first N backbone blocks (none: all)")
    backbone_dtype: str = setting("float32", "backbone weights dtype: float32, bfloat16 or float16")
    lookback: int = setting(512, "look-back window length L")
    horizon: int = setting(96, "forecast horizon H")
    patch_len: int = setting(16, "patch length")
    patch_stride: int = setting(8, "patch stride")
    d_model: int = setting(32, "patch embedding width")
    n_heads: int = setting(8, "heads of the reprogramming attention")
    d_keys: int | None = setting(None, "key width per head (none: d_model / n_heads)")
    n_prototypes: int = setting(1000, "number of text prototypes")
    prototype_vocab: int | None = setting(None, "mix a seeded subset of this many vocabulary rows (none: whole "
                                                "vocabulary)")
    attention_scoring: str = setting("cosine", "reprogramming attention scoring: cosine (learned temperature) or dot "
                                               "(Time-LLM's)")
    # Scale of the reprogrammed tokens: embedding (pinned to the backbone's word-embedding RMS) | free (Time-LLM's) |
    # auto (embedding for language backbones without an embedding norm, e.g. SmolLM2/GPT-2; free otherwise).
    token_scale: str = setting("auto", "reprogrammed token scale: auto, embedding (pinned to the word-embedding RMS) "
                                       "or free (Time-LLM's)")
    head_dim: int | None = setting(None, "reduce backbone width to this before the flatten head (none: keep)")
    dropout: float = setting(0.1, "dropout rate")
    encoder_style: str = setting("compact", "patchtst: encoder layer: compact (pre-norm LayerNorm, ReLU) or paper (Nie"
                                            " et al.: post-norm BatchNorm, GELU, residual attention)")
    d_ff: int | None = setting(None, "patchtst: feed-forward width (default 2 x d_model compact, 4 x d_model paper)")
    prompt: str = setting("full", "prompt prefix: full (Time-LLM's), compact (<= 32 tokens) or none (true/false: "
                                  "full/none)")
    description: str = setting("", "domain description in the prompt (default: the dataset's own)")
    statistics: list[str] = setting(factory=lambda: list(STATISTICS),
                                    help="comma-separated prompt statistics: min,max,median,trend,lags")
    n_lags: int = setting(5, "number of top autocorrelation lags in the prompt")
    period: int | None = setting(None, "vision paths: the period the series is folded by into an image (none: from the"
                                       " data frequency)")
    image_size: int | None = setting(None, "vision-image: input size in pixels (none: the model's, at most 224)")
    visual_prompt: str = setting("full", "vision-image: trainable visual prompt: full, border or none")
    # Backbone adaptation: none (frozen) | layernorm (its norm layers and learned position embeddings) | lora
    # (peft low-rank adapters on the attention projections, rank lora_rank, scale lora_alpha / lora_rank).
    adapt: str = setting("none", "backbone adaptation: none (frozen), layernorm (its norm layers and learned position "
                                 "embeddings train) or lora (peft low-rank adapters on the attention projections)")
    lora_rank: int = setting(8, "adapt lora: rank of the adapters")
    lora_alpha: float = setting(16.0, "adapt lora: scale of the adapters (alpha / rank)")
    quantiles: list[float] | None = setting(None, "comma-separated quantile levels in (0, 1) for a quantile head "
                                                  "(pinball loss; reprogrammed model only; none: point forecasts)")
    seed: int = setting(0, "random seed")

    @classmethod
    def from_saved(cls, values: dict) -> "ModelConfig":
        """A config read back from a checkpoint or saved forecaster: settings that did not exist when it was
        written take the value that version used, not today's default (attention scoring was dot and token scale free
        before they were settings), so an old file rebuilds the model it was trained as."""
        from dataclasses import fields

        values = {**SETTINGS_BEFORE_THEY_EXISTED, **values}
        own = MODEL_SETTINGS.get(values.get("model", "reprogrammed"), frozenset())
        # settings the model never read (earlier versions stored them all, e.g. a description for DLinear) are
        # dropped: they did not shape the model, and today's check would refuse them
        defaults = {f.name for f in fields(cls)}
        return cls.from_dict({k: v for k, v in values.items() if k in own or k not in defaults})

    def __post_init__(self) -> None:
        self._coerce_fields()
        self.prompt = prompt_form(self.prompt)
        checks = [
            (self.lookback >= 2, f"lookback must be >= 2, got {self.lookback}"),
            (self.horizon >= 1, f"horizon must be >= 1, got {self.horizon}"),
            (1 <= self.patch_len <= self.lookback, f"patch_len must be in [1, lookback], got {self.patch_len}"),
            (self.patch_stride >= 1, f"patch_stride must be >= 1, got {self.patch_stride}"),
            (self.n_prototypes >= 1, f"n_prototypes must be >= 1, got {self.n_prototypes}"),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
            (self.model in MODELS, f"unknown model '{self.model}' (use one of {', '.join(MODELS)})"),
            (self.attention_scoring in ("cosine", "dot"),
             f"attention_scoring must be cosine or dot, got '{self.attention_scoring}'"),
            (self.token_scale in TOKEN_SCALES,
             f"token_scale must be one of {', '.join(TOKEN_SCALES)}, got '{self.token_scale}'"),
            (self.encoder_style in ENCODER_STYLES,
             f"encoder_style must be one of {', '.join(ENCODER_STYLES)}, got '{self.encoder_style}'"),
            (self.d_ff is None or self.d_ff >= 1, f"d_ff must be >= 1, got {self.d_ff}"),
            (self.model != "patchtst" or self.n_heads >= 1 and max(self.d_model, 16) % self.n_heads == 0,
             f"patchtst needs d_model (at least 16) divisible by n_heads, got d_model {self.d_model} and n_heads "
             f"{self.n_heads}"),
            (self.n_layers is None or self.n_layers >= 1, f"n_layers must be >= 1, got {self.n_layers}"),
            (self.adapt in ADAPTATIONS, f"unknown adapt '{self.adapt}' (use one of {', '.join(ADAPTATIONS)})"),
            (self.adapt == "none" or self.model in ADAPTABLE_MODELS,
             f"adapt '{self.adapt}' needs a model with a trainable path around a backbone "
             f"({', '.join(ADAPTABLE_MODELS)}); model '{self.model}' has none (use adapt: none)"),
            (self.lora_rank >= 1, f"lora_rank must be >= 1, got {self.lora_rank}"),
            (self.lora_alpha > 0, f"lora_alpha must be > 0, got {self.lora_alpha}"),
        ]
        if self.quantiles is not None:
            checks.append((self.model in QUANTILE_MODELS,
                           f"quantiles need a quantile head, which model '{self.model}' has not (use one of "
                           f"{', '.join(QUANTILE_MODELS)}, or drop quantiles)"))
            checks.append((len(self.quantiles) >= 1 and all(0 < q < 1 for q in self.quantiles)
                           and list(self.quantiles) == sorted(set(self.quantiles)),
                           f"quantiles must be distinct, increasing and inside (0, 1), got {self.quantiles}"))
        self._require(checks)
        self._require_settings_apply()

    def _require_settings_apply(self) -> None:
        """One line for a setting the chosen model does not read (tsreprog.models.registry), rather than training
        as if it mattered."""
        from dataclasses import MISSING, fields

        defaults = {f.name: (f.default if f.default is not MISSING else f.default_factory())  # type: ignore[misc]
                    for f in fields(self)}
        stray = settings_not_applying(self.model, self.to_dict(), defaults)
        if stray:
            raise ConfigError(f"setting '{stray[0]}' does not apply to model '{self.model}' (its settings: "
                              f"{', '.join(sorted(MODEL_SETTINGS[self.model] - {'model'}))})")


def prompt_form(value) -> str:
    """A prompt setting as one of PROMPT_FORMS; true/false (configs written before the forms existed) are full/none."""
    aliases = {"true": "full", "false": "none", "yes": "full", "no": "none", "on": "full", "off": "none"}
    if isinstance(value, bool):
        return "full" if value else "none"
    text = aliases.get(str(value).strip().lower(), str(value).strip().lower())
    if text not in PROMPT_FORMS:
        raise ConfigError(f"prompt must be one of {', '.join(PROMPT_FORMS)} (or true/false), got '{value}'")
    return text
