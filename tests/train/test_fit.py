import pytest
import torch

from tsreprog.errors import ConfigError, TsreprogError
from tsreprog.io import check_writable
from tsreprog.models import ModelConfig
from tsreprog.train import TrainConfig, fit
from tsreprog.train.checkpoint import load_checkpoint, save_checkpoint
from tsreprog.train.pipeline import ForecastPipeline

MODEL = dict(backbone="random:bert", lookback=48, horizon=12, patch_len=8, patch_stride=4, d_model=16, n_heads=4,
             n_prototypes=20)


def train_config(csv, **extra):
    values = dict(dataset=str(csv), epochs=2, batch_size=16, train_stride=4, val_stride=4, progress=False,
                  learning_rate=3e-3)
    values.update(extra)
    return TrainConfig(**values)


def test_backbone_bit_identical_and_checkpoint_small(synthetic_csv, tmp_path):
    from tsreprog.models import build_model

    reference = {k: v.clone() for k, v in build_model(ModelConfig(**MODEL)).backbone.state_dict().items()}
    path = tmp_path / "ck.pt"
    result = fit(ModelConfig(**MODEL), train_config(synthetic_csv), path)
    after = result.model.backbone.state_dict()
    assert reference.keys() == after.keys()
    assert all(torch.equal(reference[k], after[k]) for k in reference)
    payload = load_checkpoint(path)
    assert not any(k.startswith("backbone.") for k in payload["trainable_state"])
    assert payload["model_config"]["backbone"] == "random:bert"
    assert payload["dataset"]["columns"] == ["c0", "c1", "c2"]
    from tsreprog.train.metrics import evaluate

    naive = evaluate(build_model(ModelConfig(model="naive", lookback=MODEL["lookback"], horizon=MODEL["horizon"])),
                     result.data.windows("test", MODEL["lookback"], MODEL["horizon"]))["mse"]
    assert result.metrics["test_n_windows"] > 0
    assert 0 < result.metrics["test_mse"] < 2 * naive  # a trained model, not a broken one, whatever its budget
    assert len(result.history) >= 1


def test_best_checkpoint_restores_same_predictions(synthetic_csv, tmp_path):
    path = tmp_path / "ck.pt"
    result = fit(ModelConfig(**MODEL), train_config(synthetic_csv, epochs=3), path)
    restored = ForecastPipeline.load(path)
    x = torch.randn(2, 48, 3)
    result.model.eval()
    torch.testing.assert_close(restored.model(x), result.model(x))
    with pytest.raises(ConfigError, match="trained with backbone 'random:bert', not 'random:gpt2'"):
        ForecastPipeline.load(path, expect_backbone="random:gpt2")
    # a finished fit leaves the model only: no resume state, no training record a later resume=True would take up
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt", synthetic_csv.name]


def test_the_model_scored_after_training_holds_the_best_epochs_weights(synthetic_csv, tmp_path):
    """On the CPU the kept 'best' weights once aliased the live parameters, so the test split was scored with the
    last epoch's weights. At this rate the last of five epochs is worse than the fourth."""
    path = tmp_path / "ck.pt"
    result = fit(ModelConfig(model="dlinear", lookback=48, horizon=12),
                 train_config(synthetic_csv, epochs=5, patience=10, learning_rate=0.03, schedule="constant"), path)
    val = [row["val_mse"] for row in result.history]
    assert min(range(len(val)), key=val.__getitem__) < len(val) - 1, val  # the best epoch is not the last
    best = load_checkpoint(path)["trainable_state"]
    now = result.model.trainable_state_dict()
    assert all(torch.equal(best[name], now[name]) for name in best)


def test_checkpoint_from_other_config_is_refused(synthetic_csv, tmp_path):
    path = tmp_path / "ck.pt"
    fit(ModelConfig(**MODEL), train_config(synthetic_csv, epochs=1), path, test=False)
    payload = load_checkpoint(path)
    payload["model_config"]["d_model"] = 32
    payload.pop("format")
    other = tmp_path / "other.pt"
    save_checkpoint(other, payload)
    with pytest.raises(ConfigError, match="trained with another backbone or config"):
        ForecastPipeline.load(other)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="not a tsreprog checkpoint"):
        ForecastPipeline.load(tmp_path / "junk.pt")


def test_atomic_write_never_leaves_partial_files(tmp_path):
    path = tmp_path / "ck"
    save_checkpoint(path, {"model_config": {}, "trainable_state": {"w": torch.ones(3)}})
    save_checkpoint(path, {"model_config": {}, "trainable_state": {"w": torch.zeros(3)}})  # replaced whole
    assert torch.equal(load_checkpoint(path)["trainable_state"]["w"], torch.zeros(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]  # no staging folder or old copy left
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "weights.safetensors"]
    with pytest.raises(TsreprogError, match="already exists"):
        check_writable(path / "model.json")


def test_training_lowers_validation_error_over_baseline_init(synthetic_csv):
    result = fit(ModelConfig(model="dlinear", lookback=48, horizon=12), train_config(synthetic_csv, epochs=5))
    naive = fit(ModelConfig(model="naive", lookback=48, horizon=12), train_config(synthetic_csv))
    assert result.metrics["test_mse"] < naive.metrics["test_mse"]


def test_checkpoint_from_before_attention_scoring_restores_as_dot(synthetic_csv, tmp_path):
    """Checkpoints written before ``attention_scoring`` existed hold dot-scoring weights (no temperature)."""
    path = tmp_path / "ck.pt"
    fit(ModelConfig(**MODEL, attention_scoring="dot"), train_config(synthetic_csv, epochs=1), path, test=False)
    payload = load_checkpoint(path)
    del payload["model_config"]["attention_scoring"]
    payload.pop("format")
    old = tmp_path / "old.pt"
    save_checkpoint(old, payload)
    assert ForecastPipeline.load(old).model_config.attention_scoring == "dot"
    assert "reprogramming.log_temperature" in ForecastPipeline.load(
        _trained_with_default_scoring(synthetic_csv, tmp_path)).model.state_dict()


def _trained_with_default_scoring(csv, tmp_path):
    path = tmp_path / "new.pt"
    fit(ModelConfig(**MODEL), train_config(csv, epochs=1), path, test=False)
    return path


@pytest.mark.parametrize("precision", ["32", "bf16-mixed"])
def test_gradient_clip_bounds_every_update(synthetic_csv, precision):
    """Clipping the global norm to almost nothing leaves Adam's updates below its epsilon: nothing moves. In bf16
    too, which `auto` picks on CPUs with bf16 instructions (Lightning's own clipping refused the fused AdamW there)."""
    from tsreprog.models import build_model

    config = ModelConfig(**MODEL, dropout=0.0)
    start = build_model(config).trainable_state_dict()
    moved = {}
    for clip in (None, 1e-12):
        state = fit(config, train_config(synthetic_csv, epochs=1, gradient_clip=clip,
                                         precision=precision)).model.trainable_state_dict()
        moved[clip] = max((state[k] - start[k]).abs().max().item() for k in start)
    assert moved[1e-12] < 1e-5 < moved[None]
    with pytest.raises(ConfigError, match="gradient_clip"):
        TrainConfig(gradient_clip=0.0)


def test_a_paper_patchtst_checkpoint_restores_its_batchnorm_and_forecasts_as_trained(synthetic_csv, tmp_path):
    """BatchNorm's statistics (a 0-d step count among them) travel through the best-epoch snapshot, the checkpoint's
    digest and the restore, so the restored model forecasts exactly as the one that was scored."""
    path = tmp_path / "ck.pt"
    config = ModelConfig(model="patchtst", encoder_style="paper", lookback=48, horizon=12, patch_len=8, patch_stride=4,
                         d_model=16, n_heads=4)
    result = fit(config, train_config(synthetic_csv, epochs=2), path)
    assert "encoder.layers.0.norm_attention.norm.num_batches_tracked" in load_checkpoint(path)["trainable_state"]
    restored = ForecastPipeline.load(path)
    x = torch.randn(2, 48, 3)
    result.model.eval()
    torch.testing.assert_close(restored.model(x), result.model(x))


def test_a_backbone_rate_moves_the_adapters_further_and_is_recorded(synthetic_csv, tmp_path):
    """LoRA's B starts at zero: at the shared rate it stays small, at its own rate ten times higher it moves
    further, and the checkpoint records the rate it trained at."""
    lora = dict(MODEL, adapt="lora", lora_rank=2)

    def adapter_norm(**extra) -> float:
        result = fit(ModelConfig(**lora), train_config(synthetic_csv, epochs=1, learning_rate=1e-3, **extra),
                     tmp_path / f"ck{len(extra)}")
        return sum(p.norm().item() for name, p in result.model.named_parameters() if "lora_B" in name)

    shared, own = adapter_norm(), adapter_norm(backbone_learning_rate=1e-2)
    assert own > 3 * shared > 0
    assert load_checkpoint(tmp_path / "ck1")["train_config"]["backbone_learning_rate"] == 1e-2
