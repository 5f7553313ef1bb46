import pytest
import torch

from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig, build_model
from tsreprog.models.patchtst import PaperEncoder, ResidualAttention


def etth1_paper_config(**changes) -> ModelConfig:
    values = dict(model="patchtst", lookback=512, horizon=96, d_model=16, n_heads=4, dropout=0.3,
                  encoder_style="paper", d_ff=128)
    return ModelConfig(**{**values, **changes})


def test_paper_patchtst_has_the_published_models_parameter_count():
    # Nie et al.'s ETTh1 model at look-back 512: patch embedding 272, positions 1,024, three layers of 5,392
    # (attention 1,088, feed-forward 4,240, two BatchNorms 64) and a flatten head of 98,400.
    model = build_model(etth1_paper_config())
    assert sum(p.numel() for p in model.parameters()) == 272 + 1024 + 3 * 5392 + 98400
    assert model(torch.randn(2, 512, 3)).shape == (2, 96, 3)


def test_residual_attention_adds_the_previous_layers_scores():
    torch.manual_seed(0)
    attention = ResidualAttention(16, 4, dropout=0.0).eval()
    x = torch.randn(2, 5, 16)
    _, own = attention(x, None)
    previous = torch.randn_like(own)
    out, summed = attention(x, previous)
    torch.testing.assert_close(summed, own + previous)
    assert not torch.allclose(out, attention(x, None)[0], atol=1e-4)


def test_each_style_builds_its_own_encoder_and_the_paper_one_stays_finite():
    paper, compact = build_model(etth1_paper_config()), build_model(etth1_paper_config(encoder_style="compact"))
    assert isinstance(paper.encoder, PaperEncoder) and isinstance(compact.encoder, torch.nn.TransformerEncoder)
    hidden = PaperEncoder(16, 4, 64, 0.0, n_layers=3).eval()(torch.randn(4, 10, 16) * 5)
    assert torch.isfinite(hidden).all() and hidden.shape == (4, 10, 16)


@pytest.mark.parametrize("changes, message", [({"encoder_style": "deep"}, "encoder_style must be one of compact, "
                                                                          "paper, got 'deep'"),
                                              ({"d_ff": 0}, "d_ff must be >= 1, got 0"),
                                              ({"d_model": 30}, "patchtst needs d_model \\(at least 16\\) "
                                                                "divisible by n_heads, got d_model 30 and n_heads 4")])
def test_bad_patchtst_settings_are_named(changes, message):
    with pytest.raises(ConfigError, match=message):
        etth1_paper_config(**changes)


def test_a_snapshot_holds_the_batchnorm_statistics_of_its_moment():
    """Training moves BatchNorm's running statistics as well as the weights: a snapshot (the best epoch, a
    checkpoint) without them paired the best weights with the last epoch's statistics, and a restored checkpoint
    with the statistics the model was built with."""
    from tsreprog.train.checkpoint import load_trainable

    torch.manual_seed(0)
    model = build_model(etth1_paper_config(lookback=64, horizon=8, patch_len=8, patch_stride=8)).train()
    model(torch.randn(16, 64, 1) * 3 + 2)
    snapshot = model.trainable_state_dict()
    key = "encoder.layers.0.norm_attention.norm.running_mean"
    assert key in snapshot and int(snapshot[key.replace("running_mean", "num_batches_tracked")]) == 1
    model(torch.randn(16, 64, 1) * 5 - 4)  # statistics move on; the snapshot does not
    assert not torch.equal(snapshot[key], model.state_dict()[key])
    fresh = build_model(etth1_paper_config(lookback=64, horizon=8, patch_len=8, patch_stride=8)).eval()
    load_trainable(fresh, snapshot)
    torch.testing.assert_close(fresh.state_dict()[key], snapshot[key])
    x = torch.randn(2, 64, 1)
    model.eval()
    model.load_state_dict({**model.state_dict(), **snapshot})
    torch.testing.assert_close(fresh(x), model(x))


def test_a_checkpoint_without_the_statistics_loads_with_a_warning():
    from tsreprog.train.checkpoint import load_trainable

    config = etth1_paper_config(lookback=64, horizon=8, patch_len=8, patch_stride=8)
    weights_only = {k: v for k, v in build_model(config).trainable_state_dict().items() if "running" not in k
                    and "num_batches" not in k}
    with pytest.warns(UserWarning, match="no running statistics for encoder.layers.0.norm_attention.norm.num_"):
        load_trainable(build_model(config), weights_only, "old.pt")
    whole = build_model(config).trainable_state_dict()
    with pytest.raises(ConfigError, match="parameter 'head.proj.weight' missing"):  # weights stay required
        load_trainable(build_model(config), {k: v for k, v in whole.items() if k != "head.proj.weight"})


def test_a_resume_state_keeps_the_batchnorm_statistics_and_drops_nothing_else_trained():
    from tsreprog.train.module import ForecastModule

    module = ForecastModule(build_model(etth1_paper_config(lookback=64, horizon=8, patch_len=8, patch_stride=8)))
    checkpoint = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    kept = set(checkpoint["state_dict"])
    assert "model.encoder.layers.2.norm_feed_forward.norm.running_var" in kept
    assert kept == {f"model.{name}" for name in module.model.trainable_state_dict()}
