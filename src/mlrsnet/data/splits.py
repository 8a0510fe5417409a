"""The container for a data set's train, meta and test splits."""

from __future__ import annotations

from dataclasses import dataclass

from torch.utils.data import TensorDataset


@dataclass(frozen=True)
class DatasetSplits:
    """Train, meta and test sets of one image classification data set.

    The meta set is the held-out data that meta-training evaluates the look-ahead on.
    Each split is a ``TensorDataset`` of (float32 images of shape ``(N, *input_shape)``,
    int64 labels).
    """

    train: TensorDataset
    meta: TensorDataset
    test: TensorDataset
    num_classes: int
    input_shape: tuple[int, ...]
    name: str
