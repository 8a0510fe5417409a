"""Classifiers as plain PyTorch modules."""

from mlrsnet.models.cnn import SmallCNN
from mlrsnet.models.mlp import MLP

__all__ = ["MLP", "SmallCNN"]
