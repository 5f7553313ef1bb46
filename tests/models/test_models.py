import pytest
import torch

from tsreprog.models import ModelConfig, build_model
from tsreprog.errors import ConfigError
from tests.models.conformance import check_forecaster

TINY = dict(lookback=48, horizon=12, patch_len=8, patch_stride=4, d_model=16, n_heads=4, n_prototypes=20)


@pytest.mark.parametrize("backbone", ["random:bert", "random:gpt2", "random:llama"])
@pytest.mark.parametrize("prompt", [True, False])
def test_reprogrammed_conforms(backbone, prompt):
    quantiles = [0.1, 0.5, 0.9] if prompt else None  # the shared check covers the quantile head too
    model = build_model(ModelConfig(backbone=backbone, prompt=prompt, quantiles=quantiles, **TINY))
    check_forecaster(model, TINY["lookback"], TINY["horizon"])
    assert all(not p.requires_grad for p in model.backbone.parameters())
    assert not model.backbone.model.training  # stays in eval mode while the forecaster trains


@pytest.mark.parametrize("kind", ["dlinear", "patchtst"])
def test_a_config_builds_the_same_weights_whatever_ran_before(kind):
    """select builds its candidates one after another: the no-backbone candidate's score must not depend on them."""
    patches = dict(patch_len=8, patch_stride=4, d_model=16, n_heads=4) if kind == "patchtst" else {}
    config = ModelConfig(model=kind, lookback=48, horizon=12, **patches)
    first = build_model(config).state_dict()
    torch.randn(1000)  # another model's initialisation
    second = build_model(config).state_dict()
    assert all(torch.equal(first[name], second[name]) for name in first)
    other = build_model(ModelConfig(**{**config.to_dict(), "seed": 1})).state_dict()
    assert not all(torch.equal(first[name], other[name]) for name in first)


def test_layer_truncation_and_vocab_subset():
    model = build_model(ModelConfig(backbone="random:llama", n_layers=1, prototype_vocab=40, **TINY))
    assert model.backbone.n_layers == 1
    assert model.prototypes.mix.weight.shape == (20, 40)
    check_forecaster(model, TINY["lookback"], TINY["horizon"], channels=1)


def test_bf16_backbone_runs():
    model = build_model(ModelConfig(backbone="random:bert", backbone_dtype="bfloat16", **TINY))
    assert model.backbone.dtype == torch.bfloat16
    y = model(torch.randn(2, 48, 1))
    assert y.dtype == torch.float32 and torch.isfinite(y).all()


def test_invalid_settings_are_named():
    with pytest.raises(ConfigError, match="patch_len"):
        ModelConfig(lookback=8, patch_len=16)
    with pytest.raises(ConfigError, match="unknown model setting"):
        ModelConfig.from_dict({"lookbak": 3})


def test_saved_configs_from_before_a_setting_rebuild_as_they_trained():
    """Checkpoints and saved forecasters share ModelConfig.from_saved: an old file keeps the scoring and token scale
    it trained with."""
    old = ModelConfig(backbone="random:bert").to_dict()
    del old["attention_scoring"], old["token_scale"]
    assert ModelConfig.from_saved(old).attention_scoring == "dot"
    assert ModelConfig.from_saved(old).token_scale == "free"
    assert ModelConfig.from_saved({**old, "attention_scoring": "cosine"}).attention_scoring == "cosine"
    assert ModelConfig.from_dict(old).attention_scoring == "cosine"  # new configs get today's defaults
    assert ModelConfig.from_dict(old).token_scale == "auto"


@pytest.mark.parametrize("backbone, token_scale, pinned", [
    ("random:llama", "auto", True), ("random:gpt2", "auto", True), ("random:bert", "auto", False),
    ("random:bert", "embedding", True), ("random:llama", "free", False)])
def test_token_scale_pins_reprogrammed_tokens_where_the_backbone_does_not_normalise_them(backbone, token_scale,
                                                                                        pinned):
    model = build_model(ModelConfig(backbone=backbone, token_scale=token_scale, prompt=False, dropout=0.0, **TINY))
    tokens, _ = model.embed_inputs(torch.randn(3, TINY["lookback"]))
    rms = tokens.pow(2).mean(-1).sqrt()
    target = torch.full_like(rms, model.backbone.embedding_rms)
    assert torch.allclose(rms, target, rtol=1e-4) == pinned
    with pytest.raises(ConfigError, match="token_scale"):
        ModelConfig(token_scale="unit")


def test_token_scale_embedding_is_refused_for_vision_backbones():
    with pytest.raises(ConfigError, match="needs a language backbone"):
        build_model(ModelConfig(backbone="random:dinov2", token_scale="embedding", prompt=False, **TINY))


@pytest.mark.parametrize("value,form", [(True, "full"), (False, "none"), ("compact", "compact"), ("off", "none")])
def test_prompt_setting_reads_forms_and_old_booleans(value, form):
    assert ModelConfig(prompt=value).prompt == form


def test_unknown_prompt_form_and_compact_on_vision_are_named():
    with pytest.raises(ConfigError, match="prompt must be one of full, compact, none.*got 'short'"):
        ModelConfig(prompt="short")
    with pytest.raises(ConfigError, match="compact"):
        build_model(ModelConfig(backbone="random:dinov2", prompt="compact", **TINY))


def test_cached_prototype_keys_follow_weight_updates():
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone="random:gpt2", **TINY)).eval()
    x = torch.randn(3, TINY["lookback"], 1)
    with torch.no_grad():
        first = model(x)
        cached = model.prototype_keys_values()
        assert model.prototype_keys_values() is cached  # reused while no weight changed
        torch.testing.assert_close(model(x), first)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(x).pow(2).mean().backward()
    optimizer.step()
    with torch.no_grad():
        assert model.prototype_keys_values() is not cached
        fresh = model.reprogramming.project(model.prototypes())
        torch.testing.assert_close(model.prototype_keys_values(), fresh, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backbone", ["random:gpt2", "random:llama"])
@pytest.mark.parametrize("form", ["full", "compact"])
@pytest.mark.filterwarnings("error::FutureWarning")  # the cache goes in under the name this transformers takes
def test_causal_prompt_prefix_cache_matches_the_uncached_sequence(backbone, form):
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=backbone, prompt=form, description="Hourly load of a transformer.",
                                    dropout=0.0, **TINY))
    assert model.caches_prompt_prefix() and model.prompt.constant_length >= 5
    x = torch.randn(4, TINY["lookback"], 2)
    cached = model(x)
    cached.pow(2).mean().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    model.use_prefix_cache = False
    plain = model(x)
    plain.pow(2).mean().backward()
    torch.testing.assert_close(cached, plain, rtol=1e-5, atol=1e-5)
    for name, p in model.named_parameters():
        if p.requires_grad:
            torch.testing.assert_close(grads[name], p.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_bidirectional_backbones_run_the_whole_prompt():
    model = build_model(ModelConfig(backbone="random:bert", **TINY))
    assert not model.caches_prompt_prefix()


def test_the_fast_settings_are_defined_once_and_the_default_job_takes_them():
    """configs/quick.yaml and the interfaces depart from ModelConfig's defaults the same way, from one definition."""
    from pathlib import Path

    import yaml

    from tsreprog.interfaces.core import INTERFACE_MODEL_DEFAULTS
    from tsreprog.models.config import FAST_SETTINGS

    job = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "quick.yaml").read_text())["model"]
    assert {k: job[k] for k in FAST_SETTINGS} == FAST_SETTINGS
    assert INTERFACE_MODEL_DEFAULTS == FAST_SETTINGS
    assert all(getattr(ModelConfig(), k) != v for k, v in FAST_SETTINGS.items())  # a real departure, stated once


@pytest.mark.parametrize("backbone", ["random:bert", "random:gpt2"])
def test_a_sequence_past_the_backbones_learned_positions_is_one_line(backbone):
    """BERT and GPT-2 learn a table of positions (1,024 in the random configs): a look-back whose patches overrun it
    is refused when the model is built, naming the count, not mid-training as a tensor-size error."""
    settings = {**TINY, "n_prototypes": 20, "prompt": "none", "lookback": 4100}
    with pytest.raises(ConfigError, match=r"1025 patches .* = 1025 tokens; backbone 'random:\w+' takes at most 1024"):
        build_model(ModelConfig(backbone=backbone, **settings))
    assert build_model(ModelConfig(backbone=backbone, **{**settings, "patch_stride": 8})).sequence_length() == 513


def test_rotary_positions_have_no_table_to_overrun():
    assert build_model(ModelConfig(backbone="random:llama", **TINY)).backbone.max_positions is None
