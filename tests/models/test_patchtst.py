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
