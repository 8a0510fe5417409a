"""Reader for CIFAR-10-C and CIFAR-100-C, the CIFAR test sets with common corruptions.

Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
and Perturbations" (ICLR 2019), distribute one ``{corruption}.npy`` array per corruption
that stacks the corrupted test set at severities 1 to 5, and one ``labels.npy``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from mlrsnet.data.paths import DatasetFormatError, dataset_not_found

logger = logging.getLogger(__name__)

# The 15 corruptions of the benchmark, in the order of the paper's tables.
CIFAR_C_CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
# The archives also hold four held-out corruptions that are not part of the benchmark average.
CIFAR_C_EXTRA_CORRUPTIONS = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
CIFAR_C_SEVERITIES = 5
CIFAR_C_SUBFOLDERS = {10: "CIFAR-10-C", 100: "CIFAR-100-C"}
CIFAR_C_IMAGE_SHAPE = (32, 32, 3)


def cifar_c_files(num_classes: int, corruption: str) -> list[str]:
    """Return the paths, relative to the dataset folder, that one corruption needs.

    Raises:
        ValueError: If ``num_classes`` is not 10 or 100 or ``corruption`` is unknown.
    """
    if num_classes not in CIFAR_C_SUBFOLDERS:
        raise ValueError(f"CIFAR-C num_classes must be 10 or 100, got {num_classes!r}")
    if corruption not in CIFAR_C_CORRUPTIONS + CIFAR_C_EXTRA_CORRUPTIONS:
        raise ValueError(
            f"unknown CIFAR-C corruption {corruption!r}; expected one of "
            f"{', '.join(CIFAR_C_CORRUPTIONS + CIFAR_C_EXTRA_CORRUPTIONS)}"
        )
    subfolder = CIFAR_C_SUBFOLDERS[num_classes]
    return [f"{subfolder}/{corruption}.npy", f"{subfolder}/labels.npy"]


def load_cifar_c(
    folder: str | os.PathLike[str], num_classes: int, corruption: str, severity: int
) -> tuple[np.ndarray, np.ndarray]:
    """Load the test images of one corruption at one severity.

    Reads ``CIFAR-10-C/{corruption}.npy`` (or ``CIFAR-100-C/``), an array of shape
    (5 * M, 32, 32, 3) whose rows ``(severity - 1) * M`` to ``severity * M - 1`` hold
    severity ``severity``, and the labels of the same rows from ``labels.npy``. M is 10,000
    in the released files. The arrays are memory-mapped and only the requested rows are copied.

    Args:
        folder: The dataset folder, such as ``<data dir>/cifar10c``.
        num_classes: 10 for CIFAR-10-C or 100 for CIFAR-100-C.
        corruption: One of ``CIFAR_C_CORRUPTIONS`` or ``CIFAR_C_EXTRA_CORRUPTIONS``.
        severity: 1 (mildest) to 5.

    Returns:
        ``(images, labels)``: uint8 images of shape (M, 32, 32, 3) and int64 labels.

    Raises:
        ValueError: If an argument is invalid.
        DatasetNotFoundError: If the corruption's file or ``labels.npy`` is missing.
        DatasetFormatError: If a file is not a .npy array of the expected dtype and shape,
            or a label is out of range.
    """
    relative_paths = cifar_c_files(num_classes, corruption)
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 1 <= severity <= CIFAR_C_SEVERITIES:
        raise ValueError(f"CIFAR-C severity must be an int from 1 to {CIFAR_C_SEVERITIES}, got {severity!r}")
    folder = Path(folder)
    missing = [relative for relative in relative_paths if not (folder / relative).is_file()]
    if missing:
        raise dataset_not_found(CIFAR_C_SUBFOLDERS[num_classes], folder, missing)

    images_path, labels_path = (folder / relative for relative in relative_paths)
    all_images = _load_npy(images_path)
    all_labels = _load_npy(labels_path)
    if all_images.dtype != np.uint8 or all_images.ndim != 4 or all_images.shape[1:] != CIFAR_C_IMAGE_SHAPE:
        raise DatasetFormatError(
            f"{images_path} contains {all_images.dtype} data of shape {all_images.shape}; "
            "expected uint8 of shape (N, 32, 32, 3)"
        )
    total = all_images.shape[0]
    if total == 0 or total % CIFAR_C_SEVERITIES:
        raise DatasetFormatError(
            f"{images_path} has {total} images, which is not a positive multiple of {CIFAR_C_SEVERITIES} severities"
        )
    if all_labels.ndim != 1 or all_labels.shape[0] != total or not np.issubdtype(all_labels.dtype, np.integer):
        raise DatasetFormatError(
            f"{labels_path} contains {all_labels.dtype} data of shape {all_labels.shape}; expected {total} integer labels "
            f"to match {images_path.name}"
        )

    per_severity = total // CIFAR_C_SEVERITIES
    rows = slice((severity - 1) * per_severity, severity * per_severity)
    images = np.array(all_images[rows])
    labels = np.array(all_labels[rows], dtype=np.int64)
    if labels.min() < 0 or labels.max() >= num_classes:
        raise DatasetFormatError(
            f"{labels_path} contains labels outside 0..{num_classes - 1} in rows {rows.start}..{rows.stop - 1}"
        )
    logger.debug("Read %d %s images (severity %d) from %s", len(images), corruption, severity, images_path)
    return images, labels


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as error:
        # np.load raises ValueError for a bad header or a pickled array, and memory-mapping raises
        # ValueError or OSError when the file is shorter than its header declares.
        raise DatasetFormatError(f"{path} is not a valid .npy array file: {error}") from error
