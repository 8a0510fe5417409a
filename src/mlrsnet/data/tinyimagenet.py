"""Reader for Tiny ImageNet (200 classes of 64x64 JPEG images), with a decoded-array cache."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mlrsnet.atomic import write_atomic
from mlrsnet.data.paths import DatasetFormatError, dataset_not_found

logger = logging.getLogger(__name__)

TINYIMAGENET_SUBFOLDER = "tiny-imagenet-200"
TINYIMAGENET_SPLITS = ("train", "val")
TINYIMAGENET_IMAGE_SIZE = 64
# The official test split has no public labels, so it is not read.
TINYIMAGENET_REQUIRED = {
    "train": ["wnids.txt", "train"],
    "val": ["wnids.txt", "val/val_annotations.txt", "val/images"],
}

ProgressCallback = Callable[[int, int], None]


def tinyimagenet_files(split: str) -> list[str]:
    """Return the paths, relative to the dataset folder, that one Tiny ImageNet split needs.

    Raises:
        ValueError: If ``split`` is not "train" or "val".
    """
    if split not in TINYIMAGENET_SPLITS:
        raise ValueError(f"Tiny ImageNet split must be 'train' or 'val', got {split!r}")
    return [f"{TINYIMAGENET_SUBFOLDER}/{relative}" for relative in TINYIMAGENET_REQUIRED[split]]


def load_tinyimagenet(
    folder: str | os.PathLike[str],
    split: str,
    *,
    cache: bool = True,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a Tiny ImageNet split from the ``tiny-imagenet-200/`` folder of the official zip.

    Labels are the line numbers of the classes' WordNet ids in ``wnids.txt``. The train
    split reads ``train/<wnid>/images/*.JPEG`` class by class in ``wnids.txt`` order and
    file-name order within a class. The val split reads ``val/images/<file>`` in the order of
    ``val/val_annotations.txt``, whose tab-separated lines start with the file name and wnid.
    Images are decoded with Pillow and converted to RGB.

    Decoding the 100,000 train images takes minutes, so the decoded arrays are saved as
    ``{split}_images.npy`` and ``{split}_labels.npy`` in ``tiny-imagenet-200/`` and read
    from there while both are newer than the source files and folders. A read-only folder
    only skips the saving.

    Args:
        folder: The dataset folder, such as ``<data dir>/tinyimagenet``.
        split: "train" (100,000 images) or "val" (10,000 images).
        cache: Whether to read and write the decoded-array cache.
        progress: Called as ``progress(decoded, total)`` while JPEG files are decoded.

    Returns:
        ``(images, labels)``: uint8 images of shape (N, 64, 64, 3) and int64 labels in 0..199.

    Raises:
        ValueError: If ``split`` is invalid.
        ImportError: If Pillow is not installed and no cache can be used.
        DatasetNotFoundError: If ``wnids.txt`` or a split's folder or annotation file is missing.
        DatasetFormatError: If ``wnids.txt`` or the annotations are malformed, a class folder
            is missing, an image is not 64x64 or cannot be decoded.
    """
    relative_paths = tinyimagenet_files(split)
    folder = Path(folder)
    missing = [relative for relative in relative_paths if not (folder / relative).exists()]
    if missing:
        raise dataset_not_found("Tiny ImageNet", folder, missing)

    root = folder / TINYIMAGENET_SUBFOLDER
    wnids = _read_wnids(root / "wnids.txt")
    if split == "train":
        image_paths, labels, sources = _list_train_images(root, wnids)
    else:
        image_paths, labels, sources = _list_val_images(root, wnids)

    images_cache = root / f"{split}_images.npy"
    labels_cache = root / f"{split}_labels.npy"
    if cache:
        newest_source = max(source.stat().st_mtime for source in sources)
        cached = _read_cache(images_cache, labels_cache, labels, newest_source)
        if cached is not None:
            return cached, labels

    images = _decode_images(image_paths, progress)
    if cache:
        try:
            write_atomic(labels_cache, lambda temporary: np.save(temporary, labels))
            write_atomic(images_cache, lambda temporary: np.save(temporary, images))
        except OSError as error:
            logger.warning("Could not save the decoded Tiny ImageNet %s images to %s: %s", split, images_cache, error)
    return images, labels


def _read_wnids(path: Path) -> list[str]:
    wnids = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not wnids:
        raise DatasetFormatError(f"{path} lists no WordNet ids; expected one id (such as n01443537) per line")
    if len(set(wnids)) != len(wnids):
        duplicate = next(wnid for wnid in wnids if wnids.count(wnid) > 1)
        raise DatasetFormatError(f"{path} lists {duplicate} twice")
    return wnids


def _list_train_images(root: Path, wnids: list[str]) -> tuple[list[Path], np.ndarray, list[Path]]:
    # The folders whose modification times decide whether the cache is stale.
    sources = [root / "wnids.txt", root / "train"]
    image_paths: list[Path] = []
    labels: list[int] = []
    for label, wnid in enumerate(wnids):
        class_images = root / "train" / wnid / "images"
        if not class_images.is_dir():
            raise DatasetFormatError(f"{class_images} is missing; {root / 'wnids.txt'} lists class {wnid}")
        sources.extend([class_images.parent, class_images])
        files = sorted(path for path in class_images.iterdir() if path.suffix.lower() in (".jpeg", ".jpg"))
        image_paths.extend(files)
        labels.extend([label] * len(files))
    return image_paths, np.asarray(labels, dtype=np.int64), sources


def _list_val_images(root: Path, wnids: list[str]) -> tuple[list[Path], np.ndarray, list[Path]]:
    annotations = root / "val" / "val_annotations.txt"
    sources = [root / "wnids.txt", annotations, root / "val" / "images"]
    label_of = {wnid: label for label, wnid in enumerate(wnids)}
    image_paths: list[Path] = []
    labels: list[int] = []
    for line_number, line in enumerate(annotations.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise DatasetFormatError(
                f"{annotations} line {line_number} has no tab-separated file name and WordNet id: {line!r}"
            )
        filename, wnid = fields[0], fields[1]
        if wnid not in label_of:
            raise DatasetFormatError(f"{annotations} line {line_number} names class {wnid}, which wnids.txt does not list")
        image_paths.append(root / "val" / "images" / filename)
        labels.append(label_of[wnid])
    return image_paths, np.asarray(labels, dtype=np.int64), sources


def _read_cache(images_cache: Path, labels_cache: Path, labels: np.ndarray, newest_source: float) -> np.ndarray | None:
    # NOTE: an image replaced in place does not change its folder's modification time, so
    # only added, removed or renamed files make the cache stale.
    if not (images_cache.is_file() and labels_cache.is_file()):
        return None
    if min(images_cache.stat().st_mtime, labels_cache.stat().st_mtime) <= newest_source:
        logger.info("Decoding Tiny ImageNet again because %s is older than the source files", images_cache)
        return None
    try:
        cached_labels = np.load(labels_cache, allow_pickle=False)
        images = np.load(images_cache, allow_pickle=False)
    except (ValueError, OSError) as error:
        logger.warning("Ignoring the unreadable cache %s: %s", images_cache, error)
        return None
    expected_shape = (len(labels), TINYIMAGENET_IMAGE_SIZE, TINYIMAGENET_IMAGE_SIZE, 3)
    if images.dtype != np.uint8 or images.shape != expected_shape or not np.array_equal(cached_labels, labels):
        logger.warning("Ignoring the cache %s because it does not match the image list", images_cache)
        return None
    logger.debug("Read %d decoded Tiny ImageNet images from %s", len(images), images_cache)
    return images


def _decode_images(image_paths: list[Path], progress: ProgressCallback | None) -> np.ndarray:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as error:
        raise ImportError("Reading Tiny ImageNet needs Pillow; install it with `python -m pip install Pillow`") from error

    size = TINYIMAGENET_IMAGE_SIZE
    images = np.empty((len(image_paths), size, size, 3), dtype=np.uint8)
    logger.info("Decoding %d Tiny ImageNet images", len(image_paths))
    for index, path in enumerate(image_paths):
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        except FileNotFoundError as error:
            raise DatasetFormatError(f"{path} is missing; the annotations or the class folder list it") from error
        except (UnidentifiedImageError, OSError) as error:
            raise DatasetFormatError(f"{path} is not a readable image: {error}") from error
        if rgb.size != (size, size):
            raise DatasetFormatError(f"{path} is {rgb.size[0]}x{rgb.size[1]} pixels; Tiny ImageNet images are {size}x{size}")
        images[index] = np.asarray(rgb)
        if progress is not None:
            progress(index + 1, len(image_paths))
    return images
