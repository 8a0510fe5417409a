import pytest
import torch

from mlrsnet.data import DatasetSplits, load_digits_splits

NUM_DIGITS = 1797


def _pixel_rows(dataset):
    images = dataset.tensors[0]
    return {tuple(row.tolist()) for row in images.flatten(1)}


def test_split_sizes_and_metadata():
    splits = load_digits_splits(seed=0, meta_size=150, test_size=300)

    assert isinstance(splits, DatasetSplits)
    assert len(splits.test) == 300
    assert len(splits.meta) == 150
    assert len(splits.train) == NUM_DIGITS - 450
    assert splits.num_classes == 10
    assert splits.input_shape == (1, 8, 8)
    assert splits.name == "digits"


def test_split_tensors_dtypes_and_shapes():
    splits = load_digits_splits()

    for dataset in (splits.train, splits.meta, splits.test):
        images, labels = dataset.tensors
        assert images.dtype == torch.float32
        assert images.shape[1:] == (1, 8, 8)
        assert labels.dtype == torch.int64
        assert labels.min() >= 0
        assert labels.max() <= 9
    assert set(splits.train.tensors[1].tolist()) == set(range(10))


def test_splits_are_disjoint_and_cover_all_images():
    splits = load_digits_splits(seed=3)
    train, meta, test = (_pixel_rows(s) for s in (splits.train, splits.meta, splits.test))

    # The 1,797 digits images are all distinct, so a shared row means a shared image.
    assert not train & meta
    assert not train & test
    assert not meta & test
    assert len(train | meta | test) == NUM_DIGITS


def test_same_seed_gives_same_splits():
    first = load_digits_splits(seed=7)
    second = load_digits_splits(seed=7)

    for a, b in ((first.train, second.train), (first.meta, second.meta), (first.test, second.test)):
        assert torch.equal(a.tensors[0], b.tensors[0])
        assert torch.equal(a.tensors[1], b.tensors[1])


def test_different_seeds_give_different_splits():
    first = load_digits_splits(seed=0)
    second = load_digits_splits(seed=1)

    assert not torch.equal(first.test.tensors[1], second.test.tensors[1])


def test_standardization_uses_train_statistics():
    splits = load_digits_splits(seed=0)
    train_images = splits.train.tensors[0]

    assert train_images.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert train_images.std().item() == pytest.approx(1.0, abs=1e-5)

    # Raw pixels take the values 0..16, so with the same affine map every split's
    # values must come from the same 17 levels, the lowest being the blank pixel.
    levels = torch.unique(train_images)
    assert len(levels) == 17
    for dataset in (splits.meta, splits.test):
        values = torch.unique(dataset.tensors[0])
        distances = (values[:, None] - levels[None, :]).abs().min(dim=1).values
        assert distances.max().item() < 1e-5
        assert values.min().item() == pytest.approx(levels.min().item())


@pytest.mark.parametrize(
    ("meta_size", "test_size", "message"),
    [
        (0, 400, "meta_size must be positive"),
        (200, -1, "test_size must be positive"),
        (1000, 797, "train set is not empty"),
    ],
)
def test_invalid_sizes_raise_value_error(meta_size, test_size, message):
    with pytest.raises(ValueError, match=message):
        load_digits_splits(meta_size=meta_size, test_size=test_size)


def test_non_int_size_raises_type_error():
    with pytest.raises(TypeError, match="meta_size must be an int"):
        load_digits_splits(meta_size=0.5)
