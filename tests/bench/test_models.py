from tsreprog.bench.models import CONVERGED_HEAD_DIM, CONVERGED_RATES, MODELS, bench_model


def test_converged_profiles_give_every_backbone_row_the_same_narrow_head():
    """Ablations differ from the reprogrammed model in one thing only: the head is the same on every backbone row."""
    for name in ("reprog-minilm", "reprog-minilm-compact", "no-prompt", "random-backbone", "reprog-smollm2"):
        assert bench_model(name, "standard", 512, 96, "ETTh1").model.head_dim == CONVERGED_HEAD_DIM
        assert bench_model(name, "quick", 512, 96, "ETTh1").model.head_dim is None  # the old tables stay comparable
    assert bench_model("patchtst", "standard", 512, 96, "ETTh1").model.head_dim is None


def test_converged_rates_apply_to_converged_profiles_only():
    for name in CONVERGED_RATES:
        assert name in MODELS
        assert bench_model(name, "standard", 512, 96, "ETTh1").learning_rate == CONVERGED_RATES[name]
    assert bench_model("dlinear", "quick", 512, 96, "ETTh1").learning_rate == 5e-3
