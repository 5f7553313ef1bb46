import torch

from tsreprog.train.precision import BF16_MIN_SPEEDUP, choose_precision, cpu_has_bf16
import tsreprog.train.precision as precision


def test_cpu_bf16_is_read_from_the_instruction_flags():
    assert cpu_has_bf16({"avx2", "amx_bf16"}) and cpu_has_bf16({"avx512_bf16"})
    assert not cpu_has_bf16({"avx2", "fma", "avx512f"})


def test_auto_is_fp32_on_a_cpu_without_bf16_and_explicit_choices_are_kept():
    model = torch.nn.Linear(4, 2)
    sample = (torch.randn(8, 4), torch.randn(8, 2))
    assert choose_precision("auto", "cpu", model, sample, has_bf16=False) == "32"
    assert choose_precision("bf16-mixed", "cpu", model, sample, has_bf16=False) == "bf16-mixed"
    assert choose_precision("32", "cpu", model, sample, has_bf16=True) == "32"
    frozen = torch.nn.Linear(4, 2).requires_grad_(False)
    assert choose_precision("auto", "cpu", frozen, sample, has_bf16=True) == "32"


def test_auto_takes_bf16_only_when_the_timed_step_is_clearly_faster(monkeypatch):
    model = torch.nn.Linear(4, 2)
    sample = (torch.randn(8, 4), torch.randn(8, 2))
    for bf16_seconds, expected in [(1.0 / (BF16_MIN_SPEEDUP + 0.1), "bf16-mixed"), (0.95, "32"), (5.0, "32")]:
        monkeypatch.setattr(precision, "timed_training_step",
                            lambda m, x, y, device, p, s=bf16_seconds: 1.0 if p == "32" else s)
        assert choose_precision("auto", "cpu", model, sample, has_bf16=True) == expected


def test_the_timed_probe_leaves_the_random_stream_where_it_was():
    """Dropout in the probe's steps draws random numbers; a run must shuffle and initialise alike with or without it."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
    sample = (torch.randn(8, 4), torch.randn(8, 2))
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    choose_precision("auto", "cpu", model, sample, has_bf16=True)
    assert torch.equal(torch.rand(3), expected)


def test_an_unknown_precision_is_one_line_naming_the_choices():
    import pytest

    from tsreprog.errors import ConfigError
    from tsreprog.train import TrainConfig

    with pytest.raises(ConfigError, match=r"unknown precision '16' \(use auto, 32, bf16-mixed\)"):
        TrainConfig(precision="16")
