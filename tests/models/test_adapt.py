"""Backbone adaptation (adapt: layernorm | lora): what trains, that the rest starts as the frozen model does, that a
restored checkpoint forecasts as trained, and the one-line errors."""

from __future__ import annotations

import pytest
import torch

from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig, build_model
from tests.models.conformance import check_forecaster

TINY = dict(lookback=48, horizon=6, patch_len=8, patch_stride=4, d_model=16, n_heads=4, n_prototypes=20)


@pytest.mark.parametrize("backbone", ["random:bert", "random:gpt2", "random:llama", "random:dinov2"])
@pytest.mark.parametrize("adapt", ["layernorm", "lora"])
def test_adapted_models_conform_and_train_only_their_part(backbone, adapt):
    model = build_model(ModelConfig(backbone=backbone, adapt=adapt, lora_rank=2, **TINY))
    check_forecaster(model, 48, 6)
    trained = [n for n, p in model.backbone.model.named_parameters() if p.requires_grad]
    assert trained
    if adapt == "lora":
        from peft.tuners.lora import LoraLayer

        assert all("lora_" in n for n in trained)
        assert any(isinstance(m, LoraLayer) for m in model.backbone.modules())  # peft's adapters, not our own
    else:
        def owner(name: str) -> str:
            return type(model.backbone.model.get_submodule(name.rpartition(".")[0])).__name__.lower()

        assert all("norm" in owner(n) or "position" in n or "wpe" in n for n in trained), trained
        assert any("norm" in owner(n) for n in trained)


@pytest.mark.parametrize("adapt", ["layernorm", "lora"])
def test_adaptation_leaves_the_rest_of_the_model_as_the_frozen_one_starts(adapt):
    frozen = build_model(ModelConfig(backbone="random:bert", **TINY))
    adapted = build_model(ModelConfig(backbone="random:bert", adapt=adapt, **TINY))
    for name, value in frozen.trainable_state_dict().items():
        torch.testing.assert_close(adapted.state_dict()[name], value, rtol=0, atol=0)
    x = torch.randn(2, 48, 3)
    with torch.no_grad():  # LoRA starts at zero (B = 0) and the norms at their pretrained values: the same forecast
        torch.testing.assert_close(adapted.eval()(x), frozen.eval()(x))


def test_lora_rank_and_alpha_reach_peft():
    model = build_model(ModelConfig(backbone="random:bert", adapt="lora", lora_rank=3, lora_alpha=6.0, **TINY))
    from peft.tuners.lora import LoraLayer

    layer = next(m for m in model.backbone.modules() if isinstance(m, LoraLayer))
    assert layer.r["default"] == 3 and layer.scaling["default"] == pytest.approx(2.0)


@pytest.mark.parametrize("values, message", [
    (dict(adapt="full"), "unknown adapt 'full' (use one of none, layernorm, lora)"),
    (dict(model="dlinear", adapt="layernorm"), "model 'dlinear' has none"),
    (dict(model="patchtst", adapt="lora"), "model 'patchtst' has none"),
    (dict(adapt="lora", lora_rank=0), "lora_rank must be >= 1, got 0"),
])
def test_bad_adaptation_settings_are_one_line_errors(values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ModelConfig(backbone="random:bert", **{**TINY, **values})


@pytest.mark.parametrize("adapt", ["layernorm", "lora"])
def test_checkpoint_holds_what_trained_and_restores_the_same_forecast(tmp_path, synthetic_csv, adapt):
    from tsreprog.train import TrainConfig, fit
    from tsreprog.train.pipeline import ForecastPipeline

    config = ModelConfig(backbone="random:bert", adapt=adapt, lora_rank=2, **TINY)
    result = fit(config, TrainConfig(dataset=str(synthetic_csv), epochs=1, batch_size=8, max_steps_per_epoch=4,
                                     progress=False, precision="32"), tmp_path / "model")
    from tsreprog.train.checkpoint import load_checkpoint

    saved = load_checkpoint(tmp_path / "model")["trainable_state"]
    assert set(saved) == {n for n, p in result.model.named_parameters() if p.requires_grad}
    assert any(n.startswith("backbone.") for n in saved)
    moved = [n for n in saved if n.startswith("backbone.")
             and not torch.equal(saved[n], build_model(config).state_dict()[n])]
    assert moved, "training moved no backbone weight"
    restored = ForecastPipeline.load(tmp_path / "model").model
    x = torch.randn(3, 48, 3)
    with torch.no_grad():
        torch.testing.assert_close(restored.eval()(x), result.model.eval()(x), rtol=0, atol=0)
