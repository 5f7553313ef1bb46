"""What the pandas and GluonTS interfaces share: configs from keyword arguments, and training the one pipeline
(:class:`tsreprog.train.pipeline.ForecastPipeline`) on a series collection with a held-out tail."""

from __future__ import annotations

from dataclasses import fields

from tsreprog.backbones import is_language_backbone
from tsreprog.data.collection import SeriesCollection
from tsreprog.errors import ConfigError
from tsreprog.models import ModelConfig
from tsreprog.models.config import FAST_SETTINGS
from tsreprog.train.config import TrainConfig
from tsreprog.train.pipeline import ForecastPipeline


# The interfaces differ from ModelConfig's defaults in one way: they take FAST_SETTINGS (tsreprog.models.config), as
# the default job does. Only for language backbones known by name: a vision backbone has no vocabulary for a compact
# prompt.
INTERFACE_MODEL_DEFAULTS = FAST_SETTINGS


def split_options(options: dict, backbone: str = "minilm-l6") -> tuple[dict, dict]:
    """Route keyword arguments to ModelConfig or TrainConfig by field name; unknown names are an error. Model
    settings not given take ``INTERFACE_MODEL_DEFAULTS`` for the reprogrammed model on a language backbone."""
    model_keys = {f.name for f in fields(ModelConfig)}
    train_keys = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(options) - model_keys - train_keys)
    if unknown:
        raise ConfigError(f"unknown option(s): {', '.join(unknown)}")
    model = {k: v for k, v in options.items() if k in model_keys}
    if model.get("model", "reprogrammed") == "reprogrammed" and is_language_backbone(backbone):
        model = {**INTERFACE_MODEL_DEFAULTS, **model}
    train = {k: v for k, v in options.items() if k in train_keys}
    if "seed" in options:
        model["seed"] = train["seed"] = options["seed"]
    return model, train


def train_collection(model_config: ModelConfig, train_config: TrainConfig, collection: SeriesCollection,
                     holdout: int, source: str = "the training series") -> ForecastPipeline:
    """Train the one pipeline on every series of ``collection``: each series' last ``holdout`` rows are its
    validation rows (the targets early stopping scores), the rows before them its training rows (scaler and
    training windows), as a file's validation and training splits are under the protocol."""
    if holdout < model_config.horizon:
        raise ConfigError(f"the held-out tail ({holdout} rows) is shorter than the horizon "
                          f"({model_config.horizon}); validation needs at least one horizon of rows")
    lengths = [len(values) for values in collection.values]
    return ForecastPipeline.train(model_config, train_config, collection.values, collection.names,
                                  [n - holdout for n in lengths], lengths, freq=collection.freq,
                                  dataset={"name": source, "series": len(lengths)}, source=source)
