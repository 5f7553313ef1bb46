"""Metrics on scaled data (LTSF convention) and on the original scale."""

from tsreprog.evaluate.metrics import ErrorSums, evaluate

__all__ = ["ErrorSums", "evaluate"]
