import json

import pytest
import torch

from tsreprog.backbones.registry import dinov2_dir, load_backbone
from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig, build_model
from tsreprog.models.vision import fold, period_for, unfold
from tsreprog.ntk import empirical_ntk
from tests.models.conformance import check_forecaster


@pytest.mark.parametrize("length,period", [(96, 24), (100, 24), (7, 7), (50, 13)])
def test_fold_round_trip_is_exact(length, period):
    x = torch.randn(4, length)
    grid = fold(x, period)
    assert grid.shape == (4, period, -(-length // period))
    assert torch.equal(unfold(grid, length), x)
    assert torch.equal(grid[:, :, -1], x[:, -period:]) if length >= period else True  # last column = last period


@pytest.mark.parametrize("config", [
    dict(model="reprogrammed", backbone="random:vit", n_prototypes=20),
    dict(model="reprogrammed", backbone="random:dinov2", n_prototypes=20),
    dict(model="vision-image", backbone="random:vit", period=12),
    dict(model="vision-image", backbone="random:dinov2", period=12, visual_prompt="border"),
    dict(model="vision-mae", backbone="random:vit-mae", period=12),
])
def test_vision_paths_conform(config):
    patches = dict(patch_len=8, patch_stride=4, d_model=16, n_heads=4) if config["model"] == "reprogrammed" else {}
    model = build_model(ModelConfig(lookback=48, horizon=12, **patches, **config))
    check_forecaster(model, 48, 12)
    assert all(not p.requires_grad for p in model.backbone.parameters())


def test_mae_masks_exactly_the_horizon_columns():
    model = build_model(ModelConfig(model="vision-mae", backbone="random:vit-mae", lookback=48, horizon=24, period=12))
    keep = int(len(model.noise) * (1 - model.mask_ratio))
    kept = model.noise.argsort()[:keep] % model.grid
    assert keep == model.grid * model.context_patches
    assert (kept < model.context_patches).all()


def test_wrong_backbone_for_a_path_is_named():
    with pytest.raises(ConfigError, match="needs a vision backbone"):
        build_model(ModelConfig(model="vision-image", backbone="random:bert", lookback=48, horizon=12))
    with pytest.raises(ConfigError, match="needs a ViT-MAE"):
        build_model(ModelConfig(model="vision-mae", backbone="random:vit", lookback=48, horizon=12))


def test_period_from_frequency():
    assert period_for("h") == 24 and period_for("15min") == 96 and period_for("D") == 7 and period_for(None) == 24


def test_ntk_accepts_vision_candidates():
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone="random:dinov2", lookback=48, horizon=6, patch_len=8, patch_stride=4,
                                    d_model=16, n_heads=4, n_prototypes=20, dropout=0.0)).double()
    x = torch.randn(4, 48, 1, dtype=torch.float64)
    structured = empirical_ntk(model, x, dtype=torch.float64).kernel
    generic = empirical_ntk(model, x, dtype=torch.float64, structured=False).kernel
    torch.testing.assert_close(structured, generic, rtol=1e-8, atol=1e-8)
    image = build_model(ModelConfig(model="vision-image", backbone="random:vit", lookback=48, horizon=6, period=12,
                                    dropout=0.0)).double()
    assert empirical_ntk(image, x, dtype=torch.float64).kernel.shape == (4, 4)


@pytest.mark.integration
def test_converted_dinov2_matches_onnx_and_differs_from_random():
    if not (dinov2_dir() / "config.json").is_file():
        pytest.skip("dinov2-small not installed (tsreprog backbones install dinov2-small)")
    report = json.loads((dinov2_dir() / "verification.json").read_text())
    assert report["parameters"] == 22_056_576
    assert report["max_abs_difference"] < 1e-4 < report["random_init_max_abs_difference"]
    backbone = load_backbone("dinov2-small")
    assert backbone.kind == "vision" and backbone.embed_dim == 384 and backbone.n_layers == 12
    random = load_backbone("random:dinov2-small")
    pixels = torch.rand(1, 3, 56, 56)
    with torch.no_grad():
        assert (backbone.encode_images(pixels) - random.encode_images(pixels)).abs().max() > 0.1
