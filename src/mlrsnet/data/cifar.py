"""Reader for the Python versions of CIFAR-10 and CIFAR-100."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from mlrsnet.data.paths import DatasetFormatError, dataset_not_found
from mlrsnet.data.safe_pickle import restricted_load

logger = logging.getLogger(__name__)

CIFAR_IMAGE_SIZE = 32
CIFAR_CHANNELS = 3
CIFAR_ROW_BYTES = CIFAR_CHANNELS * CIFAR_IMAGE_SIZE * CIFAR_IMAGE_SIZE

# Files of each split, relative to the dataset folder, and the key of the labels in them.
# CIFAR-100 files also contain coarse_labels (the 20 superclasses), which are not read.
CIFAR_LAYOUTS: dict[int, dict[str, Any]] = {
    10: {
        "title": "CIFAR-10",
        "subfolder": "cifar-10-batches-py",
        "splits": {"train": [f"data_batch_{index}" for index in range(1, 6)], "test": ["test_batch"]},
        "labels_key": "labels",
    },
    100: {
        "title": "CIFAR-100",
        "subfolder": "cifar-100-python",
        "splits": {"train": ["train"], "test": ["test"]},
        "labels_key": "fine_labels",
    },
}


def cifar_files(num_classes: int, split: str) -> list[str]:
    """Return the paths, relative to the dataset folder, of the files of one CIFAR split.

    Raises:
        ValueError: If ``num_classes`` is not 10 or 100, or ``split`` is not "train" or "test".
    """
    if num_classes not in CIFAR_LAYOUTS:
        raise ValueError(f"CIFAR num_classes must be 10 or 100, got {num_classes!r}")
    layout = CIFAR_LAYOUTS[num_classes]
    if split not in layout["splits"]:
        raise ValueError(f"CIFAR split must be 'train' or 'test', got {split!r}")
    return [f"{layout['subfolder']}/{name}" for name in layout["splits"][split]]


def load_cifar(folder: str | os.PathLike[str], num_classes: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load a CIFAR-10 or CIFAR-100 split from the pickled batches of the Python version.

    CIFAR-10 is read from ``cifar-10-batches-py/data_batch_1`` to ``data_batch_5`` (train)
    or ``test_batch``. CIFAR-100 is read from ``cifar-100-python/train`` or ``test``, with
    the 100 fine labels. The pickles are read with a restricted unpickler that accepts only
    numpy arrays, so a tampered file cannot run code.

    Args:
        folder: The dataset folder, such as ``<data dir>/cifar10``.
        num_classes: 10 or 100.
        split: "train" (50,000 images) or "test" (10,000 images).

    Returns:
        ``(images, labels)``: uint8 images of shape (N, 32, 32, 3) and int64 labels.

    Raises:
        ValueError: If ``num_classes`` or ``split`` is invalid.
        DatasetNotFoundError: If a batch file is missing.
        DatasetFormatError: If a file is not a valid CIFAR pickle: truncated, a global other
            than numpy's array reconstruction, a missing key, a wrong shape or a label out of range.
    """
    relative_paths = cifar_files(num_classes, split)
    layout = CIFAR_LAYOUTS[num_classes]
    folder = Path(folder)
    missing = [relative for relative in relative_paths if not (folder / relative).is_file()]
    if missing:
        raise dataset_not_found(layout["title"], folder, missing)

    image_batches = []
    label_batches = []
    for relative in relative_paths:
        images, labels = _read_batch(folder / relative, layout["labels_key"], num_classes)
        image_batches.append(images)
        label_batches.append(labels)
    images = np.concatenate(image_batches)
    labels = np.concatenate(label_batches)
    logger.debug("Read %d %s %s images from %s", len(images), layout["title"], split, folder)
    return images, labels


def _read_batch(path: Path, labels_key: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as file:
            batch = restricted_load(file)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise DatasetFormatError(f"{path} is not a valid CIFAR pickle: {error}") from error
    if not isinstance(batch, dict):
        raise DatasetFormatError(f"{path} contains a {type(batch).__name__}; a CIFAR batch is a dict")
    # Keys are str in the real files, which Python 2 wrote and latin1 decodes, but bytes in pickles of bytes keys.
    batch = {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in batch.items()}
    for key in ("data", labels_key):
        if key not in batch:
            raise DatasetFormatError(f"{path} has no {key!r} entry (found {sorted(map(str, batch))})")

    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != CIFAR_ROW_BYTES:
        description = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetFormatError(f"{path} 'data' is a {description}; expected a uint8 array of shape (N, {CIFAR_ROW_BYTES})")
    try:
        labels = np.asarray(batch[labels_key], dtype=np.int64)
    except (TypeError, ValueError) as error:
        raise DatasetFormatError(f"{path} {labels_key!r} is not a list of integers: {error}") from error
    if labels.shape != (len(data),):
        raise DatasetFormatError(f"{path} has {len(data)} images but {labels_key!r} has shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise DatasetFormatError(f"{path} contains label {int(bad)}; CIFAR-{num_classes} labels are 0..{num_classes - 1}")

    # Each row stores the red, then green, then blue plane of a 32x32 image, rows first.
    images = data.reshape(-1, CIFAR_CHANNELS, CIFAR_IMAGE_SIZE, CIFAR_IMAGE_SIZE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels
