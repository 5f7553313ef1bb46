"""Forecasters sharing one protocol: ``forward(x: (B, L, C)) -> (B, H, C)`` and ``trainable_state_dict()``."""

from tsreprog.models.baselines import DLinear, NaiveLastValue, build_model
from tsreprog.models.config import ModelConfig
from tsreprog.models.reprogrammed import ReprogrammedForecaster

__all__ = ["DLinear", "ModelConfig", "NaiveLastValue", "ReprogrammedForecaster", "build_model"]
