from tsreprog.bench.models import CONVERGED_HEAD_DIM, CONVERGED_RATES, MODELS, Variant, bench_model, train_config


def test_converged_profiles_give_every_backbone_row_the_same_narrow_head():
    """Ablations differ from the reprogrammed model in one thing only: the head is the same on every backbone row."""
    for name in ("reprog-minilm", "reprog-minilm-compact", "no-prompt", "random-backbone", "reprog-smollm2",
                 "reprog-dinov2"):
        assert bench_model(name, "standard", 512, 96, "ETTh1").model.head_dim == CONVERGED_HEAD_DIM
        assert bench_model(name, "quick", 512, 96, "ETTh1").model.head_dim is None  # the old tables stay comparable
    assert bench_model("patchtst", "standard", 512, 96, "ETTh1").model.head_dim is None


def test_converged_rates_apply_to_converged_profiles_only():
    for name in CONVERGED_RATES:
        assert name in MODELS
        assert bench_model(name, "standard", 512, 96, "ETTh1").learning_rate == CONVERGED_RATES[name]
    assert bench_model("dlinear", "quick", 512, 96, "ETTh1").learning_rate == 5e-3


def test_a_variant_is_a_row_of_its_own_and_changes_only_what_it_names():
    table = bench_model("reprog-minilm-compact", "standard", 512, 96, "ETTh1")
    variant = Variant(learning_rate=1e-3, model_changes={"prototype_vocab": 1000})
    assert variant.row("reprog-minilm-compact") == "reprog-minilm-compact@lr0.001@prototype_vocab1000"
    assert Variant(weight_decay=0.05).row("no-prompt") == "no-prompt@wd0.05"
    assert Variant().row("dlinear") == "dlinear"
    probe = variant.apply(bench_model("reprog-minilm-compact", "standard", 512, 96, "ETTh1"))
    assert probe.learning_rate == 1e-3 != table.learning_rate
    assert probe.model.prototype_vocab == 1000 and table.model.prototype_vocab is None
    changed = {k for k, v in probe.model.to_dict().items() if table.model.to_dict()[k] != v}
    assert changed == {"prototype_vocab"}
    batched = Variant(train_changes={"batch_size": 224})
    assert batched.row("patchtst") == "patchtst@batch_size224"
    budget = train_config("standard", "ETTh1", None, 1e-4)
    wider = batched.apply_to_training(train_config("standard", "ETTh1", None, 1e-4))
    assert {k for k, v in wider.to_dict().items() if budget.to_dict()[k] != v} == {"batch_size"}
    assert wider.batch_size == 224 and batched.to_dict()["train_changes"] == {"batch_size": 224}


def test_published_dlinear_row_trains_with_its_authors_recipe_and_only_where_one_is_recorded():
    spec = bench_model("dlinear-published", "standard", 512, 192, "ETTh2")
    assert spec.available and spec.lookback == 336 == spec.model.lookback and spec.learning_rate == 5e-2
    train = spec.apply_to_training(train_config("standard", "ETTh2", None, spec.learning_rate), channels=7)
    assert (train.batch_size, train.schedule, train.train_stride, train.val_stride) == (224, "halving", 1, 1)
    assert (train.epochs, train.patience) == (10, 3)  # the rest of the budget is the profile's
    assert bench_model("dlinear-published", "standard", 512, 96, "ETTm1").batch_windows == 8
    quick = bench_model("dlinear-published", "quick", 512, 96, "ETTh1")
    assert not quick.available and "standard" in quick.why_not
    elsewhere = bench_model("dlinear-published", "standard", 512, 96, "exchange_rate")
    assert not elsewhere.available and "exchange_rate" in elsewhere.why_not and "ETTm1" in elsewhere.why_not
    shared = bench_model("dlinear", "standard", 512, 96, "ETTh1")
    assert shared.lookback is None and shared.apply_to_training(train_config("standard", "ETTh1", None, 3e-4),
                                                                channels=7) == train_config("standard", "ETTh1",
                                                                                            None, 3e-4)


def test_the_dinov2_row_is_the_patch_path_and_says_when_it_is_not_installed(tmp_path, monkeypatch):
    """A vision backbone has no vocabulary: the row runs without a prompt in every profile, the compact-prompt
    few-shot profiles included, and an empty cache makes it a skipped row with the install command."""
    monkeypatch.setenv("TSREPROG_CACHE", str(tmp_path))
    for profile in ("standard", "fewshot10"):
        spec = bench_model("reprog-dinov2", profile, 512, 96, "ETTh1")
        assert spec.model.backbone == "dinov2-small" and spec.model.prompt == "none"
        assert not spec.available and "tsreprog backbones install dinov2-small" in spec.why_not
