"""Reader for the cropped-digits (32x32) version of SVHN, stored as MATLAB files."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from mlrsnet.data.paths import DatasetFormatError, dataset_not_found

logger = logging.getLogger(__name__)

SVHN_SPLITS = ("train", "test", "extra")
SVHN_IMAGE_SHAPE = (32, 32, 3)
# SVHN labels the digit 0 as 10 and the digits 1 to 9 as themselves.
SVHN_ZERO_LABEL = 10


def svhn_filename(split: str) -> str:
    """Return the file name of an SVHN split, such as "train_32x32.mat".

    Raises:
        ValueError: If ``split`` is not "train", "test" or "extra".
    """
    if split not in SVHN_SPLITS:
        raise ValueError(f"SVHN split must be one of {', '.join(map(repr, SVHN_SPLITS))}, got {split!r}")
    return f"{split}_32x32.mat"


def load_svhn(folder: str | os.PathLike[str], split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load an SVHN split from ``{split}_32x32.mat``.

    The file contains ``X``, the images as an array of shape (32, 32, 3, N), and ``y``, the
    labels of shape (N, 1) in 1..10 where 10 is the digit 0. Reading needs scipy.

    Args:
        folder: The SVHN folder, such as ``<data dir>/svhn``.
        split: "train" (73,257 images), "test" (26,032) or "extra" (531,131).

    Returns:
        ``(images, labels)``: uint8 images of shape (N, 32, 32, 3) and int64 labels in 0..9,
        where label d is the digit d.

    Raises:
        ValueError: If ``split`` is invalid.
        ImportError: If scipy is not installed.
        DatasetNotFoundError: If the file is missing.
        DatasetFormatError: If the file is not a MATLAB file, lacks ``X`` or ``y``, or has
            the wrong shapes or labels outside 1..10.
    """
    filename = svhn_filename(split)
    folder = Path(folder)
    path = folder / filename
    if not path.is_file():
        raise dataset_not_found("SVHN", folder, [filename])
    try:
        import scipy.io
    except ImportError as error:
        raise ImportError("Reading SVHN needs scipy; install it with `python -m pip install scipy`") from error

    try:
        content = scipy.io.loadmat(path, variable_names=["X", "y"])
    except (ValueError, TypeError, OSError, NotImplementedError) as error:
        # scipy raises MatReadError (a ValueError) or NotImplementedError for MATLAB 7.3 (HDF5) files.
        raise DatasetFormatError(f"{path} is not a readable MATLAB file: {error}") from error
    for key in ("X", "y"):
        if key not in content:
            raise DatasetFormatError(f"{path} has no variable {key!r}")

    data = content["X"]
    raw_labels = content["y"]
    if data.ndim != 4 or data.shape[:3] != SVHN_IMAGE_SHAPE:
        raise DatasetFormatError(f"{path} variable 'X' has shape {data.shape}; expected (32, 32, 3, N)")
    num_images = data.shape[3]
    if raw_labels.size != num_images or raw_labels.ndim != 2:
        raise DatasetFormatError(f"{path} variable 'y' has shape {raw_labels.shape}; expected ({num_images}, 1)")
    if data.dtype != np.uint8:
        raise DatasetFormatError(f"{path} variable 'X' contains {data.dtype} data; expected uint8")
    labels = raw_labels.reshape(-1)
    if not np.issubdtype(labels.dtype, np.number) or not np.all(np.isin(labels, np.arange(1, SVHN_ZERO_LABEL + 1))):
        raise DatasetFormatError(f"{path} variable 'y' contains values outside 1..10: {np.unique(labels)[:10]}")

    labels = labels.astype(np.int64)
    labels[labels == SVHN_ZERO_LABEL] = 0
    images = np.ascontiguousarray(data.transpose(3, 0, 1, 2))
    logger.debug("Read %d SVHN %s images from %s", num_images, split, path)
    return images, labels
