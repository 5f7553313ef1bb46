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
