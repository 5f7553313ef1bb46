"""Metrics on scaled data (LTSF convention) and on the original scale."""

from tsreprog.train.metrics import ErrorSums, evaluate

__all__ = ["ErrorSums", "evaluate"]
