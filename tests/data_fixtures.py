"""Writers of tiny dataset files in the exact formats of the real downloads."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

# Number of MNIST test images of each digit, 0 to 9.
MNIST_TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
PTB_VALID_LINES = 3370
PTB_VALID_WORDS = 70390

IDX_TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D}


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as IDX: magic 00 00 <type> <ndim>, big-endian sizes, big-endian data."""
    header = bytes([0, 0, IDX_TYPE_CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as IDX, gzip-compressed when ``path`` ends with .gz."""
    data = idx_bytes(array)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_mnist(
    folder: Path, split: str, num_images: int, *, seed: int = 0, compress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Write MNIST-format images and labels for one split; return them as (N, 28, 28) and (N,)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(num_images, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=num_images, dtype=np.uint8)
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if compress else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


class Python2StylePickler(pickle._Pickler):
    """Pickler that writes bytes as Python 2 ``str`` opcodes, as the real CIFAR files do.

    Python 3 pickles bytes with protocol 2 through ``_codecs.encode``, but the CIFAR files were
    written by Python 2, whose strings use the SHORT_BINSTRING and BINSTRING opcodes, and by a
    numpy that named its array reconstructor ``numpy.core.multiarray._reconstruct``.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str

    def save_global(self, obj, name=None) -> None:
        # numpy 2 names the function numpy._core.multiarray._reconstruct; the files name numpy.core.
        if obj is np.zeros(0).__reduce__()[0]:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


def cifar_pickle_bytes(batch: dict, *, python2_style: bool) -> bytes:
    if python2_style:
        buffer = io.BytesIO()
        Python2StylePickler(buffer, protocol=2).dump(batch)
        return buffer.getvalue()
    # Protocol 4 pickles arrays through numpy's _reconstruct; protocol 5 would use another global.
    return pickle.dumps(batch, protocol=4)


def cifar_batch(images: np.ndarray, labels: np.ndarray, labels_key: bytes, batch_label: bytes) -> dict:
    """Build a batch dict as in the real files: bytes keys, rows of R, G, B planes, labels as a list."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return {
        b"batch_label": batch_label,
        labels_key: [int(label) for label in labels],
        b"data": np.ascontiguousarray(rows),
        b"filenames": [f"image_{index}.png".encode() for index in range(len(images))],
    }


def write_cifar(
    folder: Path, num_classes: int, images_per_file: int, *, seed: int = 0, python2_style: bool = True
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write a CIFAR-10 or CIFAR-100 folder of pickled batches; return the (images, labels) of each split."""
    rng = np.random.default_rng(seed)
    if num_classes == 10:
        subfolder, labels_key = folder / "cifar-10-batches-py", b"labels"
        split_files = {"train": [f"data_batch_{index}" for index in range(1, 6)], "test": ["test_batch"]}
    else:
        subfolder, labels_key = folder / "cifar-100-python", b"fine_labels"
        split_files = {"train": ["train"], "test": ["test"]}
    subfolder.mkdir(parents=True, exist_ok=True)

    expected = {}
    for split, filenames in split_files.items():
        all_images, all_labels = [], []
        for filename in filenames:
            images = rng.integers(0, 256, size=(images_per_file, 32, 32, 3), dtype=np.uint8)
            labels = rng.integers(0, num_classes, size=images_per_file)
            batch = cifar_batch(images, labels, labels_key, f"{filename} of the fixture".encode())
            if num_classes == 100:
                batch[b"coarse_labels"] = [int(label) // 5 for label in labels]
            (subfolder / filename).write_bytes(cifar_pickle_bytes(batch, python2_style=python2_style))
            all_images.append(images)
            all_labels.append(labels)
        expected[split] = (np.concatenate(all_images), np.concatenate(all_labels))
    return expected


def write_svhn(folder: Path, split: str, num_images: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Write ``{split}_32x32.mat`` with X of shape (32, 32, 3, N) and y of shape (N, 1) in 1..10."""
    import scipy.io

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(num_images, 32, 32, 3), dtype=np.uint8)
    raw_labels = rng.integers(1, 11, size=(num_images, 1), dtype=np.uint8)
    raw_labels[0, 0] = 10  # Make sure the 10-means-zero case is present.
    folder.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(folder / f"{split}_32x32.mat", {"X": images.transpose(1, 2, 3, 0), "y": raw_labels})
    return images, raw_labels.reshape(-1)


def write_tinyimagenet(
    folder: Path, wnids: list[str], train_per_class: int, val_images: int, *, seed: int = 0
) -> tuple[Path, dict[str, list[tuple[int, int, int]]]]:
    """Write a ``tiny-imagenet-200/`` folder of 64x64 JPEG files in the official layout.

    Every image is one flat color, so JPEG compression keeps each pixel within a few levels.
    Returns the ``tiny-imagenet-200`` folder and the RGB color of each image by split, in
    the order that the reader returns them.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    colors: dict[str, list[tuple[int, int, int]]] = {"train": [], "val": []}
    root = folder / "tiny-imagenet-200"
    root.mkdir(parents=True, exist_ok=True)
    (root / "wnids.txt").write_text("".join(f"{wnid}\n" for wnid in wnids))

    for wnid in wnids:
        images_dir = root / "train" / wnid / "images"
        images_dir.mkdir(parents=True)
        boxes = []
        for index in range(train_per_class):
            color = tuple(int(value) for value in rng.integers(0, 256, size=3))
            Image.new("RGB", (64, 64), color).save(images_dir / f"{wnid}_{index}.JPEG", quality=95)
            colors["train"].append(color)
            boxes.append(f"{wnid}_{index}.JPEG\t0\t0\t63\t63\n")
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text("".join(boxes))

    val_dir = root / "val" / "images"
    val_dir.mkdir(parents=True)
    annotations = []
    for index in range(val_images):
        wnid = wnids[index % len(wnids)]
        # One grayscale image checks the conversion to RGB.
        mode, color = ("L", 128) if index == 0 else ("RGB", tuple(int(value) for value in rng.integers(0, 256, size=3)))
        Image.new(mode, (64, 64), color).save(val_dir / f"val_{index}.JPEG", quality=95)
        colors["val"].append((color,) * 3 if mode == "L" else color)
        annotations.append(f"val_{index}.JPEG\t{wnid}\t0\t0\t63\t63\n")
    (root / "val" / "val_annotations.txt").write_text("".join(annotations))
    return root, colors


def write_ptb(folder: Path, split: str, lines: list[str], *, prefixed: bool = False) -> Path:
    """Write PTB text as the real files are: a leading space, words separated by spaces, one sentence per line."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"ptb.{split}.txt" if prefixed else f"{split}.txt")
    path.write_text("".join(f" {line} \n" for line in lines), encoding="utf-8")
    return path


def write_cifar_c(
    folder: Path, num_classes: int, corruptions: list[str], per_severity: int, *, seed: int = 0
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Write ``CIFAR-{10,100}-C/{corruption}.npy`` (5 severities stacked) and ``labels.npy``.

    Returns the image arrays by corruption and the labels, each with 5 * per_severity rows.
    """
    rng = np.random.default_rng(seed)
    subfolder = folder / ("CIFAR-10-C" if num_classes == 10 else "CIFAR-100-C")
    subfolder.mkdir(parents=True, exist_ok=True)
    # The real labels.npy repeats the test labels once per severity.
    labels = np.tile(rng.integers(0, num_classes, size=per_severity).astype(np.uint8), 5)
    np.save(subfolder / "labels.npy", labels)
    arrays = {}
    for corruption in corruptions:
        images = rng.integers(0, 256, size=(5 * per_severity, 32, 32, 3), dtype=np.uint8)
        np.save(subfolder / f"{corruption}.npy", images)
        arrays[corruption] = images
    return arrays, labels


def write_tar_gz(archive: Path, source_folder: Path, top_level: str) -> Path:
    """Pack ``source_folder / top_level`` into a .tar.gz whose members start with ``top_level/``."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source_folder / top_level, arcname=top_level)
    return archive
