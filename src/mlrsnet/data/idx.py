"""Reader for the IDX format of MNIST, plain or gzip-compressed."""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from pathlib import Path

import numpy as np

from mlrsnet.data.paths import DatasetFormatError, dataset_not_found

logger = logging.getLogger(__name__)

# The third byte of an IDX magic number gives the element type. Multi-byte types are big-endian.
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
MNIST_SPLIT_PREFIXES = {"train": "train", "test": "t10k"}
MNIST_NUM_CLASSES = 10
MNIST_IMAGE_SIZE = 28


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not, into an array in native byte order.

    The header is two zero bytes, a type code, the number of dimensions and then one
    big-endian uint32 size per dimension. The data must fill exactly the product of the
    sizes. A file that starts with the gzip magic bytes is decompressed first.

    Args:
        path: The IDX file.

    Returns:
        The array with the shape given in the header.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        DatasetFormatError: If the gzip stream is corrupt or truncated, the magic number is
            invalid, or the data size does not match the header.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as error:
            raise DatasetFormatError(f"{path} is not a valid gzip file ({error}); delete it and download it again") from error

    if len(raw) < 4:
        raise DatasetFormatError(f"{path} is too short for an IDX header: {len(raw)} bytes")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise DatasetFormatError(
            f"{path} has an invalid IDX magic number {raw[:4].hex()}; expected 0000 followed by a type code "
            f"({', '.join(f'{code:02x}' for code in IDX_DTYPES)}) and the number of dimensions"
        )
    dtype = IDX_DTYPES[raw[2]]
    num_dims = raw[3]
    header_size = 4 + 4 * num_dims
    if len(raw) < header_size:
        raise DatasetFormatError(
            f"{path} is truncated: the header declares {num_dims} dimensions but the file has {len(raw)} bytes"
        )
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=num_dims, offset=4))

    expected_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual_bytes = len(raw) - header_size
    if actual_bytes != expected_bytes:
        state = "truncated" if actual_bytes < expected_bytes else "longer than its header declares"
        raise DatasetFormatError(
            f"{path} is {state}: shape {shape} of {dtype} needs {expected_bytes} data bytes, found {actual_bytes}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def _find_idx_file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def load_mnist(folder: str | os.PathLike[str], split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load the MNIST train or test split from its IDX files.

    Reads ``{train,t10k}-images-idx3-ubyte`` and ``{train,t10k}-labels-idx1-ubyte`` from
    ``folder``, each either gzip-compressed (with a ``.gz`` suffix) or plain.

    Args:
        folder: The MNIST folder, such as ``<data dir>/mnist``.
        split: "train" (60,000 images) or "test" (10,000 images).

    Returns:
        ``(images, labels)``: uint8 images of shape (N, 28, 28, 1) and int64 labels in 0..9.

    Raises:
        ValueError: If ``split`` is not "train" or "test".
        DatasetNotFoundError: If an images or labels file is missing.
        DatasetFormatError: If a file is not valid IDX, the shapes do not fit MNIST or a
            label is outside 0..9.
    """
    if split not in MNIST_SPLIT_PREFIXES:
        raise ValueError(f"MNIST split must be 'train' or 'test', got {split!r}")
    folder = Path(folder)
    prefix = MNIST_SPLIT_PREFIXES[split]
    images_stem = f"{prefix}-images-idx3-ubyte"
    labels_stem = f"{prefix}-labels-idx1-ubyte"
    images_path = _find_idx_file(folder, images_stem)
    labels_path = _find_idx_file(folder, labels_stem)
    missing = [f"{stem}.gz" for stem, path in ((images_stem, images_path), (labels_stem, labels_path)) if path is None]
    if images_path is None or labels_path is None:
        raise dataset_not_found("MNIST", folder, missing)

    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE):
        raise DatasetFormatError(
            f"{images_path} contains {images.dtype} data of shape {images.shape}; expected uint8 of shape (N, 28, 28)"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DatasetFormatError(
            f"{labels_path} contains {labels.dtype} data of shape {labels.shape}; expected uint8 of shape (N,)"
        )
    if len(labels) != len(images):
        raise DatasetFormatError(f"{labels_path} has {len(labels)} labels but {images_path} has {len(images)} images")
    if len(labels) and labels.max() >= MNIST_NUM_CLASSES:
        raise DatasetFormatError(f"{labels_path} contains label {int(labels.max())}; MNIST labels are 0..9")

    logger.debug("Read %d MNIST %s images from %s", len(images), split, folder)
    return images[..., np.newaxis], labels.astype(np.int64)
