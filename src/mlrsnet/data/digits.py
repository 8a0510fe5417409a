"""The scikit-learn digits data set split into train, meta and test sets."""

from __future__ import annotations

import logging

import torch
from sklearn.datasets import load_digits
from torch.utils.data import TensorDataset

from mlrsnet.data.splits import DatasetSplits

logger = logging.getLogger(__name__)

DIGITS_NAME = "digits"
DIGITS_NUM_CLASSES = 10
DIGITS_INPUT_SHAPE = (1, 8, 8)
# Pixel values in load_digits() are counts of set pixels in a 4x4 block, from 0 to 16.
DIGITS_MAX_PIXEL = 16.0


def load_digits_splits(seed: int = 0, meta_size: int = 200, test_size: int = 400) -> DatasetSplits:
    """Load the 1,797 8x8 images of scikit-learn's digits set and split them by ``seed``.

    A permutation drawn from ``torch.Generator().manual_seed(seed)`` assigns the first
    ``test_size`` images to the test set, the next ``meta_size`` to the meta set and the
    rest to the train set, so the same seed always gives the same splits. Pixels are
    scaled to [0, 1], then standardized with the mean and standard deviation of all
    train pixels (one scalar each), so meta and test use the train statistics.

    Args:
        seed: Seed of the permutation.
        meta_size: Number of images in the meta set.
        test_size: Number of images in the test set.

    Raises:
        TypeError: If an argument is not an int.
        ValueError: If a size is not positive or the sizes leave no train images.
    """
    for arg_name, value in (("seed", seed), ("meta_size", meta_size), ("test_size", test_size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{arg_name} must be an int, got {value!r} of type {type(value).__name__}")
    for arg_name, value in (("meta_size", meta_size), ("test_size", test_size)):
        if value <= 0:
            raise ValueError(f"{arg_name} must be positive, got {value}")

    digits = load_digits()
    images = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / DIGITS_MAX_PIXEL
    labels = torch.as_tensor(digits.target, dtype=torch.int64)
    num_images = len(labels)

    train_size = num_images - meta_size - test_size
    if train_size <= 0:
        raise ValueError(
            f"meta_size ({meta_size}) + test_size ({test_size}) must be less than the "
            f"{num_images} digits images so that the train set is not empty. Reduce them"
        )

    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(num_images, generator=generator)
    test_idx = order[:test_size]
    meta_idx = order[test_size : test_size + meta_size]
    train_idx = order[test_size + meta_size :]

    # Standardize with train statistics only, so no information from meta or test leaks in.
    train_pixels = images[train_idx]
    mean = train_pixels.mean()
    std = train_pixels.std()
    images = (images - mean) / std
    logger.debug("digits splits: seed=%d train=%d meta=%d test=%d", seed, train_size, meta_size, test_size)

    return DatasetSplits(
        train=TensorDataset(images[train_idx], labels[train_idx]),
        meta=TensorDataset(images[meta_idx], labels[meta_idx]),
        test=TensorDataset(images[test_idx], labels[test_idx]),
        num_classes=DIGITS_NUM_CLASSES,
        input_shape=DIGITS_INPUT_SHAPE,
        name=DIGITS_NAME,
    )
