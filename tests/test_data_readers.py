"""Dataset readers on the real shared files and on tiny fixtures in each exact file format."""

from __future__ import annotations

import gzip
import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from data_fixtures import (
    MNIST_TEST_CLASS_COUNTS,
    PTB_VALID_LINES,
    PTB_VALID_WORDS,
    idx_bytes,
    write_cifar,
    write_cifar_c,
    write_idx,
    write_mnist,
    write_ptb,
    write_svhn,
    write_tinyimagenet,
)
from mlrsnet.data.cifar import load_cifar
from mlrsnet.data.cifar_c import CIFAR_C_CORRUPTIONS, load_cifar_c
from mlrsnet.data.idx import load_mnist, read_idx
from mlrsnet.data.paths import DatasetFormatError, DatasetNotFoundError, default_data_dir, resolve_data_dir
from mlrsnet.data.ptb import UnknownWordError, Vocabulary, read_ptb_words
from mlrsnet.data.safe_pickle import restricted_loads
from mlrsnet.data.svhn import load_svhn
from mlrsnet.data.tinyimagenet import load_tinyimagenet


# --- data directory ---------------------------------------------------------------------------


def test_default_data_dir_reads_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLRSNET_DATA", str(tmp_path / "data"))
    assert default_data_dir() == tmp_path / "data"
    monkeypatch.delenv("MLRSNET_DATA")
    assert default_data_dir() == Path.home() / ".cache" / "mlrsnet"


def test_resolve_data_dir_cases(monkeypatch, tmp_path):
    monkeypatch.setenv("MLRSNET_DATA", str(tmp_path))
    assert resolve_data_dir(None) == tmp_path
    assert resolve_data_dir("~/x") == Path.home() / "x"
    assert resolve_data_dir(tmp_path / "y") == tmp_path / "y"
    with pytest.raises(ValueError, match="must not be empty"):
        resolve_data_dir("")
    with pytest.raises(TypeError, match="must be a path"):
        resolve_data_dir(3)


# --- MNIST (IDX) ------------------------------------------------------------------------------


def test_mnist_real_test_split(shared_data_dir):
    images, labels = load_mnist(shared_data_dir / "mnist", "test")
    assert images.shape == (10000, 28, 28, 1)
    assert images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(labels).tolist() == MNIST_TEST_CLASS_COUNTS
    # The first test image is a 7: its bright pixels sit in the middle rows.
    assert images[0].max() == 255
    assert images[0, :5].max() == 0


def test_mnist_fixture_gz_and_raw(tmp_path):
    expected_images, expected_labels = write_mnist(tmp_path / "gz", "train", 7, seed=1)
    images, labels = load_mnist(tmp_path / "gz", "train")
    np.testing.assert_array_equal(images[..., 0], expected_images)
    np.testing.assert_array_equal(labels, expected_labels)

    expected_images, expected_labels = write_mnist(tmp_path / "raw", "test", 3, seed=2, compress=False)
    images, labels = load_mnist(tmp_path / "raw", "test")
    np.testing.assert_array_equal(images[..., 0], expected_images)
    np.testing.assert_array_equal(labels, expected_labels)


def test_read_idx_multibyte_types(tmp_path):
    ints = np.array([[1, -2, 70000]], dtype=np.int32)
    floats = np.array([0.5, -1.25], dtype=np.float32)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "ints.idx", ints)), ints)
    result = read_idx(write_idx(tmp_path / "floats.idx.gz", floats))
    np.testing.assert_array_equal(result, floats)
    assert result.dtype.isnative


def test_read_idx_bad_magic(tmp_path):
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x00\x01\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(DatasetFormatError, match="bad.idx has an invalid IDX magic number 00010801"):
        read_idx(path)


def test_read_idx_truncated_data(tmp_path):
    path = tmp_path / "short.idx"
    path.write_bytes(idx_bytes(np.zeros((4, 28, 28), dtype=np.uint8))[:-10])
    with pytest.raises(DatasetFormatError, match=r"short.idx is truncated: .* needs 3136 data bytes, found 3126"):
        read_idx(path)


def test_read_idx_trailing_bytes(tmp_path):
    path = tmp_path / "long.idx"
    path.write_bytes(idx_bytes(np.zeros(3, dtype=np.uint8)) + b"\x00")
    with pytest.raises(DatasetFormatError, match="long.idx is longer than its header declares"):
        read_idx(path)


def test_read_idx_truncated_gzip(tmp_path):
    path = tmp_path / "cut.idx.gz"
    compressed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8)))
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DatasetFormatError, match="cut.idx.gz is not a valid gzip file"):
        read_idx(path)


def test_mnist_wrong_image_shape(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 27, 28), dtype=np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(2, dtype=np.uint8))
    with pytest.raises(DatasetFormatError, match=r"t10k-images-idx3-ubyte.gz contains uint8 data of shape \(2, 27, 28\)"):
        load_mnist(tmp_path, "test")


def test_mnist_label_out_of_range(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([3, 12], dtype=np.uint8))
    with pytest.raises(DatasetFormatError, match="t10k-labels-idx1-ubyte.gz contains label 12"):
        load_mnist(tmp_path, "test")


def test_mnist_count_mismatch(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(DatasetFormatError, match="has 3 labels but .* has 2 images"):
        load_mnist(tmp_path, "test")


def test_mnist_missing_names_fix(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    with pytest.raises(DatasetNotFoundError) as caught:
        load_mnist(folder, "train")
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert f"{folder} lacks train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz" in message
    assert "--download" in message
    assert "--data-dir" in message
    assert "MLRSNET_DATA" in message
    assert "contains mnist/" in message


def test_mnist_invalid_split(tmp_path):
    with pytest.raises(ValueError, match="'train' or 'test', got 'valid'"):
        load_mnist(tmp_path, "valid")


# --- CIFAR (restricted pickles) ---------------------------------------------------------------


@pytest.mark.parametrize("python2_style", [True, False], ids=["python2-pickle", "python3-pickle"])
def test_cifar10_fixture(tmp_path, python2_style):
    expected = write_cifar(tmp_path, 10, images_per_file=4, seed=3, python2_style=python2_style)
    for split, count in (("train", 20), ("test", 4)):
        images, labels = load_cifar(tmp_path, 10, split)
        assert images.shape == (count, 32, 32, 3)
        assert images.dtype == np.uint8
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(images, expected[split][0])
        np.testing.assert_array_equal(labels, expected[split][1])


def test_cifar_fixture_has_python2_opcodes(tmp_path):
    write_cifar(tmp_path, 10, images_per_file=1)
    content = (tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes()
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in content
    assert b"U\x04data" in content  # SHORT_BINSTRING, a Python 2 str key
    assert b"_codecs" not in content


def test_cifar100_fine_labels(tmp_path):
    expected = write_cifar(tmp_path, 100, images_per_file=6, seed=4)
    images, labels = load_cifar(tmp_path, 100, "train")
    np.testing.assert_array_equal(images, expected["train"][0])
    np.testing.assert_array_equal(labels, expected["train"][1])
    assert labels.max() < 100


def test_cifar_channel_order(tmp_path):
    write_cifar(tmp_path, 10, images_per_file=1)
    batch_path = tmp_path / "cifar-10-batches-py" / "test_batch"
    # The first 1024 bytes of a row are the red plane, so a row of 1024 x 9 then 2048 x 0 is pure red.
    row = np.concatenate([np.full(1024, 9, np.uint8), np.zeros(2048, np.uint8)])
    batch_path.write_bytes(pickle.dumps({b"data": row[np.newaxis], b"labels": [5]}, protocol=4))
    images, labels = load_cifar(tmp_path, 10, "test")
    assert images[0, :, :, 0].min() == 9
    assert images[0, :, :, 1:].max() == 0
    assert labels.tolist() == [5]


def test_cifar_truncated_pickle(tmp_path):
    write_cifar(tmp_path, 10, images_per_file=2)
    batch_path = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch_path.write_bytes(batch_path.read_bytes()[:100])
    with pytest.raises(DatasetFormatError, match="data_batch_3 is not a valid CIFAR pickle"):
        load_cifar(tmp_path, 10, "train")


def test_cifar_rejects_code_in_pickle(tmp_path):
    write_cifar(tmp_path, 10, images_per_file=2)
    marker = tmp_path / "marker"
    # A protocol 0 pickle that would call os.system("touch <marker>") when loaded with pickle.load.
    payload = f"cos\nsystem\n(V touch {marker}\ntR.".encode()
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(payload)
    with pytest.raises(DatasetFormatError, match="test_batch is not a valid CIFAR pickle: rejected global os.system"):
        load_cifar(tmp_path, 10, "test")
    assert not marker.exists()


def test_cifar_label_out_of_range(tmp_path):
    write_cifar(tmp_path, 10, images_per_file=2)
    data = np.zeros((2, 3072), dtype=np.uint8)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({b"data": data, b"labels": [1, 10]}, protocol=4))
    with pytest.raises(DatasetFormatError, match="test_batch contains label 10; CIFAR-10 labels are 0..9"):
        load_cifar(tmp_path, 10, "test")


def test_cifar_wrong_data_shape(tmp_path):
    write_cifar(tmp_path, 100, images_per_file=2)
    data = np.zeros((2, 3000), dtype=np.uint8)
    (tmp_path / "cifar-100-python" / "test").write_bytes(pickle.dumps({b"data": data, b"fine_labels": [1, 2]}, protocol=4))
    with pytest.raises(DatasetFormatError, match=r"test 'data' is a uint8 array of shape \(2, 3000\)"):
        load_cifar(tmp_path, 100, "test")


def test_cifar_missing_batch(tmp_path):
    write_cifar(tmp_path, 10, images_per_file=1)
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DatasetNotFoundError, match="lacks cifar-10-batches-py/data_batch_4"):
        load_cifar(tmp_path, 10, "train")


def test_restricted_pickle_rejects_globals():
    class RunsCommand:
        def __reduce__(self):
            return (os.system, ("true",))

    with pytest.raises(pickle.UnpicklingError, match=r"rejected global (posix|nt|os)\.system"):
        restricted_loads(pickle.dumps(RunsCommand()))
    with pytest.raises(pickle.UnpicklingError, match=r"rejected global builtins\.eval"):
        restricted_loads(b"cbuiltins\neval\n(V1+1\ntR.")
    # numpy's pickle protocol 5 path uses another global, which is not needed for CIFAR.
    with pytest.raises(pickle.UnpicklingError, match="rejected global"):
        restricted_loads(pickle.dumps(np.arange(3), protocol=5))


def test_restricted_pickle_loads_arrays():
    array = np.arange(12, dtype=np.int16).reshape(3, 4)
    loaded = restricted_loads(pickle.dumps({"a": array, "b": [1, 2]}, protocol=4))
    np.testing.assert_array_equal(loaded["a"], array)
    assert loaded["a"].dtype == np.int16
    assert loaded["b"] == [1, 2]


# --- SVHN (.mat) ------------------------------------------------------------------------------


def test_svhn_fixture_maps_ten_to_zero(tmp_path):
    expected_images, raw_labels = write_svhn(tmp_path, "test", 9, seed=5)
    images, labels = load_svhn(tmp_path, "test")
    assert images.shape == (9, 32, 32, 3)
    assert images.dtype == np.uint8
    np.testing.assert_array_equal(images, expected_images)
    assert labels.dtype == np.int64
    assert labels[0] == 0
    np.testing.assert_array_equal(labels, np.where(raw_labels == 10, 0, raw_labels))


def test_svhn_not_a_mat_file(tmp_path):
    (tmp_path / "train_32x32.mat").write_bytes(b"this is not a MATLAB file" * 10)
    with pytest.raises(DatasetFormatError, match="train_32x32.mat is not a readable MATLAB file"):
        load_svhn(tmp_path, "train")


def test_svhn_wrong_shape(tmp_path):
    import scipy.io

    scipy.io.savemat(tmp_path / "extra_32x32.mat", {"X": np.zeros((28, 28, 1, 2), np.uint8), "y": np.ones((2, 1), np.uint8)})
    with pytest.raises(DatasetFormatError, match=r"extra_32x32.mat variable 'X' has shape \(28, 28, 1, 2\)"):
        load_svhn(tmp_path, "extra")


def test_svhn_label_out_of_range(tmp_path):
    import scipy.io

    content = {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[0], [3]], np.uint8)}
    scipy.io.savemat(tmp_path / "train_32x32.mat", content)
    with pytest.raises(DatasetFormatError, match="train_32x32.mat variable 'y' contains values outside 1..10"):
        load_svhn(tmp_path, "train")


def test_svhn_missing(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"svhn does not exist \(expected train_32x32.mat in it\)"):
        load_svhn(tmp_path / "svhn", "train")


# --- Tiny ImageNet (JPEG folders) -------------------------------------------------------------

WNIDS = ["n01443537", "n01629819", "n01641577"]


def test_tinyimagenet_train_and_val(tmp_path):
    _, colors = write_tinyimagenet(tmp_path, WNIDS, train_per_class=2, val_images=4)
    calls = []
    images, labels = load_tinyimagenet(tmp_path, "train", cache=False, progress=lambda done, total: calls.append((done, total)))
    assert images.shape == (6, 64, 64, 3)
    assert images.dtype == np.uint8
    assert labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert calls[-1] == (6, 6)
    # Each fixture image is one flat color, which JPEG keeps within a few levels.
    assert np.abs(images.astype(int) - np.array(colors["train"])[:, None, None, :]).max() <= 3

    images, labels = load_tinyimagenet(tmp_path, "val", cache=False)
    assert images.shape == (4, 64, 64, 3)
    assert labels.tolist() == [0, 1, 2, 0]
    assert np.abs(images.astype(int) - np.array(colors["val"])[:, None, None, :]).max() <= 3
    # The first val image is grayscale; converted to RGB, all its channels are equal.
    assert np.array_equal(images[0, :, :, 0], images[0, :, :, 2])


def test_tinyimagenet_cache_used_until_stale(tmp_path):
    root, _ = write_tinyimagenet(tmp_path, WNIDS, train_per_class=2, val_images=3)
    images, labels = load_tinyimagenet(tmp_path, "val")
    assert (root / "val_images.npy").is_file()
    assert (root / "val_labels.npy").is_file()

    # Corrupt one image without changing the folders' times: the cache still serves the data.
    corrupt = root / "val" / "images" / "val_1.JPEG"
    corrupt.write_bytes(b"not a jpeg")
    past = time.time() - 100
    for path in (root / "val" / "images", root / "val" / "val_annotations.txt", root / "wnids.txt"):
        os.utime(path, (past, past))
    cached_images, cached_labels = load_tinyimagenet(tmp_path, "val")
    np.testing.assert_array_equal(cached_images, images)
    np.testing.assert_array_equal(cached_labels, labels)

    # A change to the images folder makes the cache stale, so the corrupt file is decoded.
    future = time.time() + 100
    os.utime(root / "val" / "images", (future, future))
    with pytest.raises(DatasetFormatError, match="val_1.JPEG is not a readable image"):
        load_tinyimagenet(tmp_path, "val")


def test_tinyimagenet_unknown_wnid(tmp_path):
    root, _ = write_tinyimagenet(tmp_path, WNIDS, train_per_class=1, val_images=2)
    with (root / "val" / "val_annotations.txt").open("a") as file:
        file.write("val_9.JPEG\tn99999999\t0\t0\t63\t63\n")
    with pytest.raises(DatasetFormatError, match="val_annotations.txt line 3 names class n99999999"):
        load_tinyimagenet(tmp_path, "val", cache=False)


def test_tinyimagenet_wrong_image_size(tmp_path):
    from PIL import Image

    root, _ = write_tinyimagenet(tmp_path, WNIDS, train_per_class=1, val_images=1)
    Image.new("RGB", (32, 64)).save(root / "train" / WNIDS[1] / "images" / f"{WNIDS[1]}_0.JPEG")
    with pytest.raises(DatasetFormatError, match=f"{WNIDS[1]}_0.JPEG is 32x64 pixels"):
        load_tinyimagenet(tmp_path, "train", cache=False)


def test_tinyimagenet_missing_class_folder(tmp_path):
    root, _ = write_tinyimagenet(tmp_path, WNIDS, train_per_class=1, val_images=1)
    (root / "wnids.txt").write_text("\n".join(WNIDS + ["n00000001"]) + "\n")
    with pytest.raises(DatasetFormatError, match="n00000001/images is missing"):
        load_tinyimagenet(tmp_path, "train", cache=False)


def test_tinyimagenet_missing(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="tiny-imagenet-200/wnids.txt"):
        load_tinyimagenet(tmp_path, "train")


# --- Penn Treebank ----------------------------------------------------------------------------


def test_ptb_real_valid_counts(shared_data_dir):
    words = read_ptb_words(shared_data_dir / "ptb", "valid")
    assert len(words) == PTB_VALID_WORDS + PTB_VALID_LINES
    assert words.count("<eos>") == PTB_VALID_LINES
    assert words[:3] == ["consumers", "may", "want"]
    assert words[-1] == "<eos>"
    vocabulary = Vocabulary.from_words(words)
    assert len(vocabulary) == len(set(words))
    assert vocabulary.decode(vocabulary.encode(words[:50])) == words[:50]


def test_ptb_fixture_file_names(tmp_path):
    write_ptb(tmp_path, "train", ["the cat sat", "a dog <unk> ran"], prefixed=True)
    write_ptb(tmp_path, "test", ["the end"])
    assert read_ptb_words(tmp_path, "train") == ["the", "cat", "sat", "<eos>", "a", "dog", "<unk>", "ran", "<eos>"]
    assert read_ptb_words(tmp_path, "test") == ["the", "end", "<eos>"]


def test_ptb_empty_and_missing(tmp_path):
    (tmp_path / "valid.txt").write_text("\n\n")
    with pytest.raises(DatasetFormatError, match="valid.txt contains no words"):
        read_ptb_words(tmp_path, "valid")
    with pytest.raises(DatasetNotFoundError, match=r"lacks ptb.test.txt \(or test.txt\)"):
        read_ptb_words(tmp_path, "test")
    (tmp_path / "train.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(DatasetFormatError, match="train.txt is not UTF-8 text"):
        read_ptb_words(tmp_path, "train")


def test_vocabulary_first_seen_order():
    vocabulary = Vocabulary.from_words(["b", "a", "b", "<eos>"], ["c", "a"])
    assert vocabulary.words == ("b", "a", "<eos>", "c")
    assert len(vocabulary) == 4
    assert vocabulary.index("c") == 3
    assert vocabulary.word(2) == "<eos>"
    assert "a" in vocabulary
    assert "z" not in vocabulary
    encoded = vocabulary.encode(["a", "c", "b"])
    assert encoded.dtype == torch.int64
    assert encoded.tolist() == [1, 3, 0]


def test_vocabulary_unknown_word():
    vocabulary = Vocabulary.from_words(["x", "y"])
    with pytest.raises(UnknownWordError) as caught:
        vocabulary.encode(["x", "zebra"])
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == "word 'zebra' at position 1 is not in the vocabulary of 2 words"
    with pytest.raises(KeyError, match="'q' is not in the vocabulary"):
        vocabulary.index("q")
    with pytest.raises(IndexError, match="word id 2 is out of range"):
        vocabulary.word(2)


def test_vocabulary_json_round_trip():
    vocabulary = Vocabulary.from_words(["ünï", "<eos>", "b"])
    restored = Vocabulary.from_json(vocabulary.to_json())
    assert restored == vocabulary
    assert restored.words == ("ünï", "<eos>", "b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"words": ["a"]}', "format"),
        ('{"format": "mlrsnet-vocabulary", "version": 2, "words": []}', "version 2"),
        ('{"format": "mlrsnet-vocabulary", "version": 1, "words": ["a", "a"]}', "'a' appears twice"),
        ('{"format": "mlrsnet-vocabulary", "version": 1, "words": [1]}', "must be strings"),
    ],
)
def test_vocabulary_json_invalid(text, message):
    with pytest.raises(ValueError, match=message):
        Vocabulary.from_json(text)


# --- CIFAR-10-C / CIFAR-100-C -----------------------------------------------------------------


def test_cifar_c_corruption_names():
    assert len(CIFAR_C_CORRUPTIONS) == 15
    assert CIFAR_C_CORRUPTIONS[0] == "gaussian_noise"
    assert CIFAR_C_CORRUPTIONS[-1] == "jpeg_compression"


@pytest.mark.parametrize("num_classes", [10, 100])
def test_cifar_c_severity_rows(tmp_path, num_classes):
    arrays, all_labels = write_cifar_c(tmp_path, num_classes, ["fog", "pixelate"], per_severity=3, seed=num_classes)
    for severity in range(1, 6):
        images, labels = load_cifar_c(tmp_path, num_classes, "pixelate", severity)
        rows = slice(3 * (severity - 1), 3 * severity)
        assert images.shape == (3, 32, 32, 3)
        assert images.dtype == np.uint8
        assert labels.dtype == np.int64
        assert not isinstance(images, np.memmap)
        np.testing.assert_array_equal(images, arrays["pixelate"][rows])
        np.testing.assert_array_equal(labels, all_labels[rows])


def test_cifar_c_invalid_arguments(tmp_path):
    write_cifar_c(tmp_path, 10, ["fog"], per_severity=1)
    for severity in (0, 6, True, 2.0):
        with pytest.raises(ValueError, match="severity must be an int from 1 to 5"):
            load_cifar_c(tmp_path, 10, "fog", severity)
    with pytest.raises(ValueError, match="unknown CIFAR-C corruption 'fogg'"):
        load_cifar_c(tmp_path, 10, "fogg", 1)
    with pytest.raises(ValueError, match="must be 10 or 100"):
        load_cifar_c(tmp_path, 20, "fog", 1)
    with pytest.raises(DatasetNotFoundError, match="lacks CIFAR-10-C/snow.npy"):
        load_cifar_c(tmp_path, 10, "snow", 1)


def test_cifar_c_wrong_shape(tmp_path):
    write_cifar_c(tmp_path, 10, ["fog"], per_severity=2)
    np.save(tmp_path / "CIFAR-10-C" / "fog.npy", np.zeros((10, 32, 32), np.uint8))
    with pytest.raises(DatasetFormatError, match=r"fog.npy contains uint8 data of shape \(10, 32, 32\)"):
        load_cifar_c(tmp_path, 10, "fog", 1)


def test_cifar_c_labels_length_mismatch(tmp_path):
    write_cifar_c(tmp_path, 10, ["fog"], per_severity=2)
    np.save(tmp_path / "CIFAR-10-C" / "labels.npy", np.zeros(9, np.uint8))
    with pytest.raises(DatasetFormatError, match=r"labels.npy contains uint8 data of shape \(9,\); expected 10 integer"):
        load_cifar_c(tmp_path, 10, "fog", 1)


def test_cifar_c_rejects_pickled_npy(tmp_path):
    write_cifar_c(tmp_path, 10, ["fog"], per_severity=1)
    np.save(tmp_path / "CIFAR-10-C" / "fog.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetFormatError, match="fog.npy is not a valid .npy array file"):
        load_cifar_c(tmp_path, 10, "fog", 1)


def test_cifar_c_truncated_npy(tmp_path):
    write_cifar_c(tmp_path, 10, ["fog"], per_severity=2)
    path = tmp_path / "CIFAR-10-C" / "fog.npy"
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(DatasetFormatError, match="fog.npy is not a valid .npy array file"):
        load_cifar_c(tmp_path, 10, "fog", 1)
