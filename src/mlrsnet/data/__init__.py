"""Data sets as plain PyTorch ``TensorDataset`` splits."""

from mlrsnet.data.digits import load_digits_splits
from mlrsnet.data.splits import DatasetSplits

__all__ = ["DatasetSplits", "load_digits_splits"]
