"""Every registered model and variant passes the one conformance check, and every setting a model does not read is
refused in one line (tsreprog.models.registry)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig, build_model
from tsreprog.models.registry import CONFORMANCE_VARIANTS, MODEL_SETTINGS
from tests.models.conformance import check_forecaster

CASES = [(model, variant) for model, variants in CONFORMANCE_VARIANTS.items() for variant in variants]


def test_every_model_is_registered_with_variants_and_settings():
    from tsreprog.models.config import MODELS

    assert set(MODEL_SETTINGS) == set(MODELS)
    assert set(CONFORMANCE_VARIANTS) == set(MODELS) - {"vision-mae"}  # no MAE weights exist offline; its own test
    names = {f.name for f in fields(ModelConfig)}
    assert all(own <= names for own in MODEL_SETTINGS.values())


@pytest.mark.parametrize("model, variant", CASES, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CASES)])
def test_every_registered_variant_conforms(model, variant):
    check_forecaster(build_model(ModelConfig(model=model, **variant)), variant["lookback"], variant["horizon"])


@pytest.mark.parametrize("model, setting, value", [("dlinear", "prompt", "compact"), ("patchtst", "backbone", "x"),
                                                   ("naive", "seed", 3), ("dlinear", "n_prototypes", 50),
                                                   ("vision-mae", "prompt", "none")])
def test_a_setting_the_model_does_not_read_is_one_line(model, setting, value):
    with pytest.raises(ConfigError, match=f"'{setting}' does not apply to model '{model}'"):
        ModelConfig(model=model, **{setting: value})


def test_a_saved_config_with_settings_the_model_never_read_still_loads():
    saved = {**ModelConfig(model="dlinear").to_dict(), "description": "ETT hourly", "prompt": "full"}
    assert ModelConfig.from_saved(saved).model == "dlinear"
