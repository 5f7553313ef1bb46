"""Training: Lightning module, trainer set-up and atomic checkpoints."""

from tsreprog.train.checkpoint import load_checkpoint, save_checkpoint
from tsreprog.train.config import TrainConfig
from tsreprog.train.fit import FitResult, fit
from tsreprog.train.pipeline import ForecastPipeline

__all__ = ["FitResult", "ForecastPipeline", "TrainConfig", "fit", "load_checkpoint", "save_checkpoint"]
