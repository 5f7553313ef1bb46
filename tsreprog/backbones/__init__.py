"""Frozen backbones behind one interface, resolved by name offline."""

from tsreprog.backbones.base import Backbone
from tsreprog.backbones.registry import REGISTRY, available_backbones, is_language_backbone, load_backbone

__all__ = ["Backbone", "REGISTRY", "available_backbones", "is_language_backbone", "load_backbone"]
