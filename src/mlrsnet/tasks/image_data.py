"""Train, meta-data and test splits of an image task, as normalized float tensors."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlrsnet.tasks.dataset_files import DownloadSettings, dataset_folder_with
from mlrsnet.tasks.spec import Budget

logger = logging.getLogger(__name__)

# Fixed seed of every split, so that runs with different seeds share the same data.
SPLIT_SEED = 0
META_SIZE = 1000
OFFLINE_MNIST_SIZES = (8000, 1000, 1000)
DIGITS_META_SIZE = 200
DIGITS_TEST_SIZE = 400
# Corruption seeds of the train and test splits, so that both differ but stay fixed.
CORRUPTION_SEEDS = {"train": 1, "test": 2}

NUM_CLASSES = {"digits": 10, "mnist": 10, "cifar10": 10, "cifar100": 100, "svhn": 10, "tinyimagenet": 200}


@dataclass
class ImageSplits:
    """Normalized float32 images ``(N, C, H, W)`` and int64 labels of each split.

    ``info`` records where each split came from (sizes, files, normalization, corruption).
    """

    train: tuple[torch.Tensor, torch.Tensor]
    meta: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    num_classes: int
    input_shape: tuple[int, int, int]
    info: dict[str, Any] = field(default_factory=dict)


Arrays = tuple[np.ndarray, np.ndarray]


def load_image_splits(
    dataset: str,
    budget: Budget,
    data_dir: Path,
    *,
    download: DownloadSettings | None = None,
    corruption: str | None = None,
    severity: int | None = None,
) -> ImageSplits:
    """Read ``dataset`` from ``data_dir`` and split it as ``budget.split`` sets.

    With ``corruption``, the train and test images are corrupted at ``severity`` and the
    meta-data stays clean, as in the method's robustness experiment. For CIFAR-10 and
    CIFAR-100 the test split then comes from the CIFAR-10-C or CIFAR-100-C files when
    they are in ``data_dir``.

    Raises:
        DatasetNotFoundError: If a file is missing and ``download`` does not allow fetching it.
        ValueError: For an unknown dataset, corruption or severity.
    """
    if dataset not in NUM_CLASSES:
        raise ValueError(f"unknown image dataset {dataset!r}. Valid datasets: {', '.join(NUM_CLASSES)}")
    train, meta, test, info = _read_splits(dataset, budget, data_dir, download)
    if budget.train_limit is not None:
        train = (train[0][: budget.train_limit], train[1][: budget.train_limit])
        info["train_limit"] = budget.train_limit

    # The test limit applies before the corruption, which is slow, and again to CIFAR-C test files.
    if budget.test_limit is not None:
        test = (test[0][: budget.test_limit], test[1][: budget.test_limit])
    if corruption is not None:
        train, test = _corrupt(dataset, data_dir, train, test, corruption, severity, info)
    if budget.test_limit is not None:
        test = (test[0][: budget.test_limit], test[1][: budget.test_limit])
        info["test_limit"] = budget.test_limit

    mean, std = _channel_statistics(train[0])
    info.update(
        {
            "train_size": len(train[1]),
            "meta_size": len(meta[1]),
            "test_size": len(test[1]),
            "normalization": {"mean": mean.tolist(), "std": std.tolist()},
        }
    )
    logger.info("%s splits: %s", dataset, info)
    splits = [_to_tensors(images, labels, mean, std) for images, labels in (train, meta, test)]
    height, width, channels = train[0].shape[1:]
    return ImageSplits(*splits, num_classes=NUM_CLASSES[dataset], input_shape=(channels, height, width), info=info)


def _read_splits(
    dataset: str, budget: Budget, data_dir: Path, download: DownloadSettings | None
) -> tuple[Arrays, Arrays, Arrays, dict[str, Any]]:
    if dataset == "digits":
        if budget.split != "standard":
            raise ValueError(f"digits has one fixed split, so the budget's split must be 'standard', got {budget.split!r}")
        return _digits_splits()

    if dataset == "mnist":
        from mlrsnet.data.idx import load_mnist

        if budget.split == "offline":
            folder = dataset_folder_with("mnist", data_dir, MNIST_TEST_FILES, download)
            images, labels = load_mnist(folder, "test")
            train_size, meta_size, _ = OFFLINE_MNIST_SIZES
            order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
            parts = np.split(order, [train_size, train_size + meta_size])
            splits = [(images[part], labels[part]) for part in parts]
            info = {"source": "MNIST test set (t10k), split 8,000/1,000/1,000", "split_seed": SPLIT_SEED}
            return splits[0], splits[1], splits[2], info
        folder = dataset_folder_with("mnist", data_dir, None, download)
        train, test = load_mnist(folder, "train"), load_mnist(folder, "test")
    elif dataset in ("cifar10", "cifar100"):
        from mlrsnet.data.cifar import load_cifar

        num_classes = NUM_CLASSES[dataset]
        folder = dataset_folder_with(dataset, data_dir, None, download)
        train, test = load_cifar(folder, num_classes, "train"), load_cifar(folder, num_classes, "test")
    elif dataset == "svhn":
        from mlrsnet.data.svhn import load_svhn

        folder = dataset_folder_with("svhn", data_dir, None, download)
        train, test = load_svhn(folder, "train"), load_svhn(folder, "test")
    else:
        from mlrsnet.data.tinyimagenet import load_tinyimagenet

        folder = dataset_folder_with("tinyimagenet", data_dir, None, download)
        train, test = load_tinyimagenet(folder, "train"), load_tinyimagenet(folder, "val")

    if budget.split != "standard":
        raise ValueError(f"dataset {dataset!r} has no {budget.split!r} split; only MNIST has an offline split")
    train, meta = _hold_out(train, META_SIZE)
    info = {"source": f"{dataset} official train and test files", "meta_source": "1,000 held-out training images"}
    return train, meta, test, info


MNIST_TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _digits_splits() -> tuple[Arrays, Arrays, Arrays, dict[str, Any]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Pixel values are counts from 0 to 16; scale them to the 0-255 range of the other readers.
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    test, meta, train = np.split(order, [DIGITS_TEST_SIZE, DIGITS_TEST_SIZE + DIGITS_META_SIZE])
    info = {"source": "scikit-learn digits (1,797 images)", "split_seed": SPLIT_SEED}
    return (images[train], labels[train]), (images[meta], labels[meta]), (images[test], labels[test]), info


def _hold_out(split: Arrays, count: int) -> tuple[Arrays, Arrays]:
    images, labels = split
    if len(labels) <= count:
        raise ValueError(
            f"the training set has {len(labels)} images, but {count} are held out as meta-data. "
            "Check that the dataset files are complete"
        )
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    train_index, meta_index = order[count:], order[:count]
    return (images[train_index], labels[train_index]), (images[meta_index], labels[meta_index])


def _corrupt(
    dataset: str,
    data_dir: Path,
    train: Arrays,
    test: Arrays,
    corruption: str,
    severity: int | None,
    info: dict[str, Any],
) -> tuple[Arrays, Arrays]:
    from mlrsnet.data.corruptions import corrupt_images

    if severity is None:
        raise ValueError(f"corruption {corruption!r} needs a severity from 1 to 5")
    train = (corrupt_images(train[0], corruption, severity, seed=CORRUPTION_SEEDS["train"]), train[1])
    info["corruption"] = {"name": corruption, "severity": severity, "meta": "clean"}

    cifar_c = _cifar_c_test(dataset, data_dir, corruption, severity)
    if cifar_c is not None:
        info["corruption"]["test"] = f"{dataset.upper()}-C files"
        return train, cifar_c
    info["corruption"]["test"] = "corrupted on the fly"
    return train, (corrupt_images(test[0], corruption, severity, seed=CORRUPTION_SEEDS["test"]), test[1])


def _cifar_c_test(dataset: str, data_dir: Path, corruption: str, severity: int) -> Arrays | None:
    if dataset not in ("cifar10", "cifar100"):
        return None
    from mlrsnet.data.catalog import dataset_folder, missing_files
    from mlrsnet.data.cifar_c import cifar_c_files, load_cifar_c

    name = f"{dataset}c"
    if missing_files(name, data_dir, cifar_c_files(NUM_CLASSES[dataset], corruption)):
        return None
    return load_cifar_c(dataset_folder(name, data_dir), NUM_CLASSES[dataset], corruption, severity)


def _channel_statistics(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pixels = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    std = pixels.std(axis=0)
    # A constant channel (possible after heavy corruption) would divide by zero.
    return pixels.mean(axis=0), np.where(std > 0, std, 1.0)


def _to_tensors(images: np.ndarray, labels: np.ndarray, mean: np.ndarray, std: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    scaled = (images.astype(np.float32) / 255.0 - mean.astype(np.float32)) / std.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(scaled.transpose(0, 3, 1, 2))), torch.from_numpy(labels.astype(np.int64))
