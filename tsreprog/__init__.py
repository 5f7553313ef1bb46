"""tsreprog: reprogram frozen pretrained transformers into time-series forecasters."""

__version__ = "0.1.0"
