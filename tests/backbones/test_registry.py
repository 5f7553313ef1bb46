import pytest
import torch

from tsreprog.backbones import available_backbones, is_language_backbone, load_backbone
from tsreprog.errors import BackboneError


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(BackboneError, match="cannot load backbone 'no-such-model' offline"):
        load_backbone("no-such-model")
    with pytest.raises(BackboneError, match="unknown random backbone"):
        load_backbone("random:nothing")


def test_none_as_a_backbone_says_how_to_train_the_ablation():
    """select calls the no-backbone ablation 'none'; a user who passes that name to train learns what it stands for."""
    for name in ("none", "None"):
        with pytest.raises(BackboneError, match="no-backbone ablation, a model of its own: train it with --model "
                                                "patchtst --n-layers 1"):
            load_backbone(name)


def test_truncate_bounds():
    backbone = load_backbone("random:gpt2")
    with pytest.raises(BackboneError, match="cannot keep 5"):
        backbone.truncate(5)


def test_gradients_reach_inputs_not_weights():
    backbone = load_backbone("random:llama")
    x = torch.randn(2, 6, backbone.embed_dim, requires_grad=True)
    backbone(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in backbone.parameters())


def test_listing_mentions_install_steps():
    rows = {r["name"]: r for r in available_backbones()}
    assert rows["minilm-l6"]["available"]
    assert "random:bert" in rows
    if not rows["smollm2-135m"]["available"]:
        assert "tsreprog backbones install smollm2-135m" in rows["smollm2-135m"]["needs"]


def test_minilm_loads_offline_and_truncates():
    backbone = load_backbone("minilm-l6", n_layers=2)
    assert backbone.embed_dim == 384 and backbone.n_layers == 2 and not backbone.causal
    assert backbone.word_embeddings.shape == (30522, 384)


def test_embedding_norm_is_detected_where_the_architecture_has_one():
    """BERT layer-normalises its embeddings; GPT-2 and Llama feed them to the residual stream as they are."""
    assert load_backbone("random:bert").normalises_inputs
    assert not load_backbone("random:gpt2").normalises_inputs
    assert not load_backbone("random:llama").normalises_inputs
    backbone = load_backbone("random:llama")
    rows = backbone.word_embeddings.detach()
    assert backbone.embedding_rms == pytest.approx(rows.pow(2).mean(dim=1).sqrt().mean().item(), rel=1e-6)


def test_language_backbones_are_known_without_loading():
    for name in ("minilm-l6", "smollm2-135m", "random:minilm-l6", "random:bert", "random:gpt2", "random:llama"):
        assert is_language_backbone(name), name
    for name in ("dinov2-small", "random:dinov2-small", "random:vit", "random:vit-mae", "some/local-folder"):
        assert not is_language_backbone(name), name


def test_a_bert_encoder_computes_only_the_read_positions_of_its_last_block():
    """The pruned last block gives the same outputs and input gradients as the whole one (to 1e-5, fp32);
    backbones it does not know (causal ones) fall back to computing everything and slicing."""
    from tsreprog.backbones.base import prunable_encoder

    torch.manual_seed(0)
    for name, prunable in (("random:bert", True), ("minilm-l6", True), ("random:llama", False)):
        backbone = load_backbone(name, n_layers=2)
        assert prunable_encoder(backbone.model) == prunable, name
        x = torch.randn(3, 20, backbone.embed_dim, requires_grad=True)
        outputs, grads = [], []
        for prune in (True, False):
            backbone.prune_last_block = prune
            out = backbone(x, keep_last=7)
            assert out.shape == (3, 7, backbone.embed_dim)
            (grad,) = torch.autograd.grad(out.pow(2).sum(), x)
            outputs.append(out.detach())
            grads.append(grad)
        full = backbone(x).detach()[:, -7:]
        assert torch.allclose(outputs[0], full, atol=1e-5) and torch.allclose(outputs[1], full, atol=1e-5), name
        assert torch.allclose(grads[0], grads[1], atol=1e-5, rtol=1e-4), name
        assert grads[0][:, :13].abs().sum() > 0, name  # the unread positions still feed the read ones


def test_check_loadable_names_the_problem_without_loading_weights():
    from tsreprog.backbones.registry import check_loadable

    check_loadable("random:bert")  # a tiny config: nothing to read
    with pytest.raises(BackboneError, match="unknown random backbone 'random:nope'"):
        check_loadable("random:nope")
    with pytest.raises(BackboneError, match="cannot load backbone 'not-a-backbone' offline"):
        check_loadable("not-a-backbone")
