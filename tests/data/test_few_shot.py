"""Few-shot training (train_fraction): Time-LLM's and GPT4TS's cut of the training windows, the scaler and the other
splits untouched, and the one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from tsreprog.data.protocol import few_shot_end, split_borders
from tsreprog.data.splits import prepare
from tsreprog.errors import ConfigError, DataError
from tsreprog.train import TrainConfig


def time_llm_border(end: int, lookback: int, percent: int) -> int:
    """Their loaders' line, for the training split (which starts at row 0)."""
    return (end - lookback) * percent // 100 + lookback


@pytest.mark.parametrize("rule, rows", [("ett_hour", 17420), ("ett_minute", 69680), ("ratio", 7588)])
@pytest.mark.parametrize("percent", [5, 10, 25, 100])
def test_the_cut_is_time_llms(rule, rows, percent):
    borders = split_borders(rows, 512, rule)
    start, end = borders.train
    assert few_shot_end(start, end, 512, percent / 100) == time_llm_border(end, 512, percent)


def test_fraction_keeps_the_first_windows_and_the_scaler(synthetic_csv):
    data = prepare(str(synthetic_csv), 24, 6)
    full = data.windows("train", 24, 6)
    tenth = data.windows("train", 24, 6, fraction=0.1)
    end = data.borders.train[1]
    assert tenth.n_windows == (end - 24) * 10 // 100 - 6 + 1
    for i in range(len(tenth)):  # the same windows as the first ones of the full split, in the same order
        np.testing.assert_array_equal(tenth[i][0].numpy(), full[i][0].numpy())
    again = prepare(str(synthetic_csv), 24, 6)
    np.testing.assert_array_equal(again.scaler.mean, data.scaler.mean)  # fitted on the whole training split
    with pytest.raises(DataError, match="training split only"):
        data.windows("val", 24, 6, fraction=0.5)


@pytest.mark.parametrize("value", [0, -0.1, 1.5])
def test_fraction_outside_0_1_is_named(value):
    with pytest.raises(ConfigError, match=rf"train_fraction must be in \(0, 1\], got {value}"):
        TrainConfig(train_fraction=value)


def test_fraction_leaving_less_than_a_batch_says_how_many(synthetic_csv):
    from tsreprog.models import ModelConfig
    from tsreprog.train import fit

    with pytest.raises(ConfigError, match=r"21 training series windows left with train_fraction 0.05 at train_stride "
                                          r"1, fewer than one batch of 32"):
        fit(ModelConfig(model="dlinear", lookback=24, horizon=6),
            TrainConfig(dataset=str(synthetic_csv), train_fraction=0.05, batch_size=32, progress=False))
