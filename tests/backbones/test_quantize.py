import pytest
import torch
from torch import nn

from tsreprog.backbones.quantize import int8_backbones, int8_supported
from tsreprog.models import ModelConfig, build_model
from tsreprog.train.precision import scoring_precision

pytestmark = pytest.mark.skipif(not int8_supported(), reason="this PyTorch build has no int8 CPU kernels")


def tiny_forecaster() -> nn.Module:
    config = ModelConfig(backbone="random:bert", lookback=64, horizon=8, n_prototypes=20, d_model=16, n_heads=2)
    return build_model(config).eval()


def test_int8_switches_the_backbone_inside_the_block_and_restores_it_after():
    model = tiny_forecaster()
    x = torch.randn(3, 64, 2)
    original = model.backbone.model
    with torch.no_grad():
        fp32 = model(x)
        with int8_backbones(model) as switched:
            assert switched and model.backbone.model is not original
            kinds = {name: type(m).__name__ for name, m in model.backbone.model.named_modules()
                     if "Linear" in type(m).__name__}
            int8 = model(x)
        after = model(x)
    assert model.backbone.model is original
    torch.testing.assert_close(after, fp32)
    # Down-projections (wider input than output) stay fp32, everything else runs in int8.
    assert all(kind == "Linear" for name, kind in kinds.items() if name.endswith("output.dense")
               and "attention" not in name)
    assert any(kind != "Linear" for kind in kinds.values())
    error = (int8 - fp32).abs().max() / fp32.abs().max()
    assert 0 < error < 0.05


def test_scoring_precision_names_what_scoring_ran_in():
    model = tiny_forecaster()
    with scoring_precision(model, "int8", "32", "cpu") as used:
        assert used == "int8"
    with scoring_precision(model, "32", "32", "cpu") as used:
        assert used == "32"
    with scoring_precision(model, "int8", "bf16-mixed", "cpu") as used:  # never stacked on bf16 autocast
        assert used == "bf16-mixed"
    linear = build_model(ModelConfig(model="dlinear", lookback=64, horizon=8))
    with pytest.warns(UserWarning, match="no fp32 backbone"), scoring_precision(linear, "int8", "32", "cpu") as used:
        assert used == "32"
