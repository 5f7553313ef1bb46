import numpy as np
import pytest
import torch

from tsreprog.backbones.tokenizer import CharTokenizer
from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig
from tsreprog.ntk.kernel import vmap_friendly_attention
from tsreprog.reprogram import (FlattenHead, PatchEmbedding, PromptPrefix, ReprogrammingAttention, RevIN,
                                TextPrototypes, num_patches, series_statistics)
from tsreprog.reprogram.prompt import _CHARS, value_chars


def test_revin_round_trip():
    x = torch.randn(5, 64) * 7 + 3
    revin = RevIN()
    normalised, stats = revin.normalize(x)
    assert torch.allclose(normalised.mean(-1), torch.zeros(5), atol=1e-5)
    assert torch.allclose(normalised.std(-1, unbiased=False), torch.ones(5), atol=1e-3)
    assert torch.allclose(revin.denormalize(normalised, stats), x, atol=1e-4)


@pytest.mark.parametrize("lookback,patch_len,stride", [(512, 16, 8), (96, 16, 8), (36, 6, 3), (30, 7, 4)])
def test_patching_shapes_and_content(lookback, patch_len, stride):
    x = torch.arange(2 * lookback, dtype=torch.float32).view(2, lookback)
    embedding = PatchEmbedding(patch_len, stride, d_model=4)
    patches = embedding.patches(x)
    assert patches.shape == (2, num_patches(lookback, patch_len, stride), patch_len)
    torch.testing.assert_close(patches[1, 0], x[1, :patch_len])
    assert float(patches[0, -1, -1]) == float(x[0, -1])  # end padding replicates the last value
    assert embedding(x).shape == (2, patches.shape[1], 4)


def numpy_statistics(row: np.ndarray, n_lags: int):
    length = len(row)
    t = np.arange(length)
    slope = np.polyfit(t, row, 1)[0]
    centred = row - row.mean()
    acf = np.correlate(centred, centred, mode="full")[length:]  # lags 1 .. L-1
    lags = np.argsort(-acf, kind="stable")[:n_lags] + 1
    return row.min(), row.max(), np.median(row), slope * (length - 1), lags


@pytest.mark.parametrize("length", [64, 97])
def test_statistics_match_numpy_reference(length):
    rng = np.random.default_rng(1)
    t = np.arange(length)
    rows = np.stack([np.sin(2 * np.pi * t / p) + 0.3 * rng.standard_normal(length) + 0.02 * t
                     for p in (7, 12, 24)])
    stats = series_statistics(torch.tensor(rows, dtype=torch.float64), n_lags=5)
    for i, row in enumerate(rows):
        mn, mx, med, trend, lags = numpy_statistics(row, 5)
        assert stats["min"][i].item() == pytest.approx(mn)
        assert stats["max"][i].item() == pytest.approx(mx)
        assert stats["median"][i].item() == pytest.approx(med)
        assert stats["trend"][i].item() == pytest.approx(trend, rel=1e-6)
        assert set(stats["lags"][i].tolist()) == set(lags.tolist())


def test_value_rendering():
    chars = value_chars(torch.tensor([-1.234, 0.006, 12.5, 3.999]))
    text = ["".join(_CHARS[int(c)] for c in row) for row in chars]
    assert text == ["-1.23", "+0.01", "+9.99", "+4.00"]


def test_prompt_fixed_length_and_vectorised():
    tokenizer = CharTokenizer(128)
    prompt = PromptPrefix(tokenizer, "Some domain.", lookback=96, horizon=24)
    a = prompt(torch.randn(4, 96))
    b = prompt(torch.randn(9, 96) * 100)
    assert a.shape == (4, prompt.length) and b.shape == (9, prompt.length)
    decoded = "".join(chr(int(i) - 1) for i in a[0])  # CharTokenizer: id = 1 + ord(c) % 127
    assert decoded.startswith("Dataset description: Some domain. Task description: forecast the next 24 steps")
    assert " min" in decoded and " top 5 lags" in decoded
    none = PromptPrefix(tokenizer, "", lookback=96, horizon=24, statistics=("min",))
    assert none.length < prompt.length


def test_prototypes_and_attention_shapes():
    embeddings = torch.randn(300, 16)
    full = TextPrototypes(embeddings, n_prototypes=10)
    subset = TextPrototypes(embeddings, n_prototypes=10, vocab_size=50)
    assert full().shape == (10, 16) and subset().shape == (10, 16)
    assert subset.mix.weight.shape == (10, 50)
    expected = full.mix.weight @ embeddings + full.mix.bias[:, None]
    torch.testing.assert_close(full(), expected)
    attention = ReprogrammingAttention(d_model=8, d_llm=16, n_heads=2)
    out = attention(torch.randn(3, 5, 8), full())
    assert out.shape == (3, 5, 16)
    assert FlattenHead(5, 16, horizon=7)(out).shape == (3, 7)


def test_cosine_scoring_lets_patches_pick_different_prototypes_at_initialisation():
    """The failure it fixes: dot-product logits of random prototypes are ~0, every patch gets the same mixture."""
    torch.manual_seed(0)
    prototypes = TextPrototypes(torch.randn(3000, 64) * 0.05, n_prototypes=200)()
    patches = torch.randn(4, 6, 16)
    spread = {}
    for scoring in ("dot", "cosine"):
        torch.manual_seed(1)
        attention = ReprogrammingAttention(d_model=16, d_llm=64, n_heads=4, dropout=0.0, scoring=scoring)
        out = attention(patches, prototypes)
        spread[scoring] = (out - out.mean(dim=(0, 1))).norm(dim=-1).mean().item()
        with vmap_friendly_attention():  # the NTK's math backend computes the same attention
            torch.testing.assert_close(attention(patches, prototypes), out)
    assert spread["cosine"] > 50 * spread["dot"]


def test_unknown_attention_scoring_is_named():
    with pytest.raises(ConfigError, match="attention_scoring"):
        ModelConfig(attention_scoring="cos")


def test_output_rms_pins_every_reprogrammed_token_to_the_embedding_scale():
    """However large the output projection grows, the tokens keep the given root-mean-square."""
    torch.manual_seed(0)
    prototypes = TextPrototypes(torch.randn(300, 16) * 0.05, n_prototypes=20)()
    attention = ReprogrammingAttention(d_model=8, d_llm=16, n_heads=2, dropout=0.0, output_rms=0.13)
    with torch.no_grad():
        attention.out.weight.mul_(1000.0)
    out = attention(torch.randn(3, 5, 8), prototypes)
    torch.testing.assert_close(out.pow(2).mean(-1).sqrt(), torch.full((3, 5), 0.13))
    with pytest.raises(ValueError, match="output_rms must be positive"):
        ReprogrammingAttention(d_model=8, d_llm=16, output_rms=0.0)


@pytest.mark.parametrize("vocab_size", [None, 50])
def test_reassociated_prototype_projection_equals_the_direct_product(vocab_size):
    torch.manual_seed(0)
    prototypes = TextPrototypes(torch.randn(300, 64), n_prototypes=10, vocab_size=vocab_size)
    attention = ReprogrammingAttention(d_model=8, d_llm=64, n_heads=2)  # k = 2 * 8 < d = 64: re-associated
    torch.testing.assert_close(attention.project_prototypes(prototypes), attention.project(prototypes()),
                               rtol=1e-5, atol=1e-5)


def test_compact_prompt_fits_its_budget_and_keeps_the_series_statistics():
    from tsreprog.reprogram.prompt import COMPACT_MAX_TOKENS

    from tsreprog.backbones.registry import load_backbone

    description = "Electricity transformer temperature, hourly."
    wordpiece = load_backbone("minilm-l6", n_layers=1).tokenizer
    compact = PromptPrefix(wordpiece, description, lookback=512, horizon=96, form="compact")
    full = PromptPrefix(wordpiece, description, lookback=512, horizon=96)
    assert compact.length <= COMPACT_MAX_TOKENS and full.length > 2 * compact.length
    tokenizer = CharTokenizer(128)  # one token per character, so the rendering can be read back
    compact = PromptPrefix(tokenizer, description, lookback=512, horizon=96, form="compact")
    x = torch.linspace(0, 3, 512).repeat(2, 1)
    decoded = "".join(chr(int(i) - 1) for i in compact(x)[0])
    assert " next 96:" in decoded and " min" in decoded and " max" in decoded and " trend" in decoded
    with pytest.raises(ConfigError, match="unknown prompt form 'short'"):
        PromptPrefix(tokenizer, "", lookback=96, horizon=24, form="short")
