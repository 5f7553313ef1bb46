import pytest

from tsreprog.errors import ConfigError
from tsreprog.train import TrainConfig
from tsreprog.train.module import learning_rates


def test_halving_halves_the_rate_after_every_epoch():
    assert learning_rates("halving", 0.01, 10, steps_per_epoch=4) == pytest.approx([0.01] * 4 + [0.005] * 4
                                                                                   + [0.0025] * 2)


def test_halving_within_one_epoch_keeps_the_rate():
    assert learning_rates("halving", 0.01, 5) == pytest.approx([0.01] * 5)


def test_unknown_schedule_names_the_choices():
    with pytest.raises(ConfigError, match="unknown schedule 'step' \\(use onecycle, cosine, constant, halving\\)"):
        TrainConfig(schedule="step")


def test_training_halves_after_each_epoch_of_the_trainers_steps():
    from types import SimpleNamespace

    import torch

    from tsreprog.train.module import ForecastModule

    module = ForecastModule(torch.nn.Linear(4, 2), 0.01, 0.0, "halving")
    module._trainer = SimpleNamespace(estimated_stepping_batches=9, max_epochs=3)
    configured = module.configure_optimizers()
    optimizer, scheduler = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
    rates = []
    for _ in range(9):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([0.01] * 3 + [0.005] * 3 + [0.0025] * 3)


TINY_LORA = dict(backbone="random:bert", adapt="lora", lora_rank=2, lookback=48, horizon=6, patch_len=8,
                 patch_stride=4, d_model=16, n_heads=4, n_prototypes=20)


@pytest.mark.parametrize("schedule", ["onecycle", "halving"])
def test_the_backbones_adapted_weights_step_at_their_own_rate(schedule):
    """Adam's first step moves every weight with a gradient by the rate (sign of the gradient): each group's largest
    move is its own scheduled rate, ten times larger for the adapters here."""
    from types import SimpleNamespace

    import torch

    from tsreprog.models import ModelConfig, build_model
    from tsreprog.train.module import ForecastModule

    torch.manual_seed(0)
    model = build_model(ModelConfig(**TINY_LORA))
    module = ForecastModule(model, 1e-3, 0.0, schedule, backbone_learning_rate=1e-2)
    module._trainer = SimpleNamespace(estimated_stepping_batches=20, max_epochs=2)
    optimizer = module.configure_optimizers()["optimizer"]
    rates = [group["lr"] for group in optimizer.param_groups]
    assert rates[1] == pytest.approx(10 * rates[0])
    before = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    x = torch.randn(4, 48, 2)
    torch.nn.functional.mse_loss(model(x), torch.randn(4, 6, 2)).backward()
    optimizer.step()
    moves = {name: (p.detach() - before[name]).abs().max().item() for name, p in model.named_parameters()
             if p.requires_grad}
    adapted = max(move for name, move in moves.items() if name.startswith("backbone."))
    rest = max(move for name, move in moves.items() if not name.startswith("backbone."))
    assert adapted == pytest.approx(rates[1], rel=1e-2) and rest == pytest.approx(rates[0], rel=1e-2)  # fp32 steps


def test_without_a_backbone_rate_every_weight_is_in_one_group_at_the_rate():
    """One group, in the parameters' order: an optimizer state saved before the setting existed resumes as it was."""
    from tsreprog.models import ModelConfig, build_model
    from tsreprog.train.module import parameter_groups

    model = build_model(ModelConfig(**TINY_LORA))
    (group,) = parameter_groups(model, 1e-3)
    assert group["lr"] == 1e-3
    assert [id(p) for p in group["params"]] == [id(p) for p in model.parameters() if p.requires_grad]


def test_a_backbone_rate_for_a_frozen_backbone_is_refused_in_one_line():
    from tsreprog.models import ModelConfig, build_model
    from tsreprog.train.module import parameter_groups

    model = build_model(ModelConfig(**{**TINY_LORA, "adapt": "none"}))
    with pytest.raises(ConfigError, match="backbone_learning_rate 0.01 given, but nothing in the model's backbone "
                                          "trains \\(set adapt: layernorm or lora"):
        parameter_groups(model, 1e-3, 1e-2)


def test_a_backbone_rate_below_zero_is_refused():
    with pytest.raises(ConfigError, match="backbone_learning_rate must be > 0 \\(or none\\), got -0.1"):
        TrainConfig(backbone_learning_rate=-0.1)
