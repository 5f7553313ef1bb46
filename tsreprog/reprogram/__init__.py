"""Layers that turn a series into inputs for a frozen backbone, and its outputs back into a forecast."""

from tsreprog.reprogram.head import FlattenHead
from tsreprog.reprogram.patching import PatchEmbedding, num_patches
from tsreprog.reprogram.prompt import PromptPrefix, series_statistics
from tsreprog.reprogram.prototypes import ReprogrammingAttention, TextPrototypes
from tsreprog.reprogram.revin import RevIN

__all__ = ["FlattenHead", "PatchEmbedding", "PromptPrefix", "ReprogrammingAttention", "RevIN", "TextPrototypes",
           "num_patches", "series_statistics"]
