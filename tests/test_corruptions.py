"""Tests of the 15 CIFAR-10-C corruptions on color, MNIST (28x28) and scikit-learn digits (8x8) images."""

from __future__ import annotations

import colorsys
import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mlrsnet.data.corruptions import CORRUPTIONS, SEVERITIES, corrupt, corrupt_images
from mlrsnet.data.corruptions.filters import clipped_zoom, pixel_scale
from mlrsnet.data.corruptions.textures import frost_texture, plasma_fractal

SHARED = Path(os.environ.get("MLRSNET_SHARED", Path(__file__).resolve().parents[2] / "shared"))
MNIST_IMAGES = SHARED / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"

NOISE = ("gaussian_noise", "shot_noise", "impulse_noise")
# Corruptions that only move, average or resample pixels, so a constant image stays constant.
SPATIAL = ("defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "elastic_transform", "pixelate")
# Corruptions whose mean absolute change rises at every severity step on all three image
# kinds below. For the others, only severity 5 against severity 1 is checked.
STRICTLY_STRONGER = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "motion_blur", "zoom_blur",
    "fog", "brightness", "contrast", "jpeg_compression",
)


def read_idx_images(path: Path) -> np.ndarray:
    """Read a gzipped IDX image file (magic 2051, then count, rows, columns) as uint8 (N, rows, cols)."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    magic, count, rows, cols = np.frombuffer(data[:16], dtype=">u4")
    assert magic == 2051, f"{path} is not an IDX image file (magic {magic})"
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(count, rows, cols)


@pytest.fixture(scope="module")
def mnist_digits() -> np.ndarray:
    """Four MNIST test digits of shape (4, 28, 28, 1)."""
    if not MNIST_IMAGES.exists():
        message = f"{MNIST_IMAGES} is missing. Set MLRSNET_SHARED to the folder that contains data/mnist"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return read_idx_images(MNIST_IMAGES)[:4, :, :, np.newaxis].copy()


@pytest.fixture(scope="module")
def small_digits() -> np.ndarray:
    """Four scikit-learn 8x8 digits, scaled from 0..16 to 0..255, of shape (4, 8, 8, 1)."""
    images = load_digits().images[:4] * 255 / 16
    return np.rint(images).astype(np.uint8)[:, :, :, np.newaxis]


def make_color_image(seed: int) -> np.ndarray:
    """Make a 32x32 RGB image: a smooth color gradient with three flat-colored disks."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:32, 0:32]
    image = np.stack([0.2 + 0.5 * rows / 31, 0.3 + 0.4 * cols / 31, 0.6 - 0.3 * rows / 31], axis=2)
    for _ in range(3):
        center_row, center_col = rng.uniform(6, 26, size=2)
        radius = rng.uniform(4, 9)
        inside = (rows - center_row) ** 2 + (cols - center_col) ** 2 < radius**2
        image[inside] = rng.uniform(0, 1, size=3)
    return np.rint(image * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def color_images() -> np.ndarray:
    return np.stack([make_color_image(seed) for seed in range(4)])


def mean_change(corrupted: np.ndarray, original: np.ndarray) -> float:
    return float(np.abs(corrupted.astype(np.int64) - original.astype(np.int64)).mean())


def test_names_and_severities() -> None:
    assert CORRUPTIONS == (
        "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
        "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate",
        "jpeg_compression",
    )
    assert SEVERITIES == (1, 2, 3, 4, 5)


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corruption_keeps_shape_and_dtype(name, mnist_digits, small_digits, color_images) -> None:
    images = {
        "32x32x3 color": color_images[0],
        "28x28x1 MNIST": mnist_digits[0],
        "8x8x1 digits": small_digits[0],
        "8x8 digits without channel axis": small_digits[0, :, :, 0],
    }
    for label, image in images.items():
        for severity in SEVERITIES:
            corrupted = corrupt(image, name, severity, np.random.default_rng(severity))
            assert corrupted.shape == image.shape, f"{label}, severity {severity}"
            assert corrupted.dtype == np.uint8, f"{label}, severity {severity}"
        # Every corruption changes these images at severity 5, so no exception is needed.
        strongest = corrupt(image, name, 5, np.random.default_rng(0))
        assert not np.array_equal(strongest, image), f"{name} left the {label} image unchanged at severity 5"


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corruption_on_odd_sizes(name) -> None:
    # Tiny and non-square images must work too, including sizes below the 3x3 of the affine points.
    for shape in ((1, 1, 3), (2, 3, 1), (5, 5), (20, 40, 3), (48, 36, 1)):
        image = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
        corrupted = corrupt(image, name, 5, np.random.default_rng(2))
        assert corrupted.shape == shape
        assert corrupted.dtype == np.uint8


# elastic_transform is left out. The published parameters shrink its random affine part
# (control points moved by up to 8% of the side at severity 1, 3% at severity 5) while the
# elastic field grows, so its mean change falls with severity. make_cifar_c.py itself shows
# the same fall on MNIST digits padded to 32x32, from about 18 to 12 gray levels.
@pytest.mark.parametrize("name", [name for name in CORRUPTIONS if name != "elastic_transform"])
def test_severity_increases_change(name, mnist_digits, small_digits, color_images) -> None:
    for label, images in (("MNIST", mnist_digits), ("digits", small_digits), ("color", color_images)):
        changes = [mean_change(corrupt_images(images, name, severity, seed=3), images) for severity in SEVERITIES]
        assert changes[-1] >= changes[0], f"{label}: mean change by severity {changes}"
        if name in STRICTLY_STRONGER:
            assert all(np.diff(changes) >= 0), f"{label}: mean change by severity {changes}"


def test_elastic_transform_changes_images(mnist_digits) -> None:
    for severity in SEVERITIES:
        corrupted = corrupt_images(mnist_digits, "elastic_transform", severity, seed=0)
        assert mean_change(corrupted, mnist_digits) > 5


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_same_seed_same_output(name, color_images) -> None:
    first = corrupt_images(color_images[:2], name, 4, seed=11)
    second = corrupt_images(color_images[:2], name, 4, seed=11)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(
        corrupt(color_images[0], name, 4, np.random.default_rng(5)),
        corrupt(color_images[0], name, 4, np.random.default_rng(5)),
    )


def test_different_seeds_differ(color_images) -> None:
    for name in ("gaussian_noise", "glass_blur", "snow", "frost", "fog", "elastic_transform"):
        first = corrupt_images(color_images[:1], name, 3, seed=0)
        second = corrupt_images(color_images[:1], name, 3, seed=1)
        assert not np.array_equal(first, second), name


def test_chunks_match_whole_batch(color_images) -> None:
    whole = corrupt_images(color_images, "snow", 3, seed=9)
    head = corrupt_images(color_images[:1], "snow", 3, seed=9)
    tail = corrupt_images(color_images[1:], "snow", 3, seed=9, first_index=1)
    np.testing.assert_array_equal(np.concatenate([head, tail]), whole)


def test_batch_uses_documented_generators(color_images) -> None:
    batch = corrupt_images(color_images, "frost", 2, seed=4, first_index=10)
    for index, image in enumerate(color_images):
        rng = np.random.default_rng(np.random.SeedSequence(4, spawn_key=(10 + index,)))
        np.testing.assert_array_equal(batch[index], corrupt(image, "frost", 2, rng))


def test_batch_accepts_grayscale_without_channel_axis(small_digits) -> None:
    images = small_digits[:, :, :, 0]
    corrupted = corrupt_images(images, "fog", 2, seed=0)
    assert corrupted.shape == images.shape
    np.testing.assert_array_equal(corrupted, corrupt_images(small_digits, "fog", 2, seed=0)[:, :, :, 0])


def test_progress_reports_each_image(color_images) -> None:
    calls = []
    corrupt_images(color_images, "contrast", 1, seed=0, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize("name", [name for name in CORRUPTIONS if name not in NOISE])
def test_grayscale_matches_averaged_rgb(name, mnist_digits, small_digits) -> None:
    # Outside the noise corruptions, one gray channel gives the mean of the three channels of the
    # gray RGB image under the same generator, up to the rounding of each channel.
    for gray in (mnist_digits[0], small_digits[1]):
        rgb = np.repeat(gray, 3, axis=2)
        for severity in (1, 5):
            from_gray = corrupt(gray, name, severity, np.random.default_rng(8)).astype(np.float64)
            from_rgb = corrupt(rgb, name, severity, np.random.default_rng(8)).astype(np.float64)
            np.testing.assert_allclose(from_gray, from_rgb.mean(axis=2, keepdims=True), atol=1.0)


@pytest.mark.parametrize("name", SPATIAL)
def test_constant_image_stays_constant(name) -> None:
    image = np.full((32, 32, 3), (40, 120, 200), dtype=np.uint8)
    for severity in SEVERITIES:
        np.testing.assert_array_equal(corrupt(image, name, severity, np.random.default_rng(0)), image)


def test_saturated_values_clip_instead_of_wrapping() -> None:
    white = np.full((32, 32, 3), 255, dtype=np.uint8)
    # Wrapping 255 + noise around uint8 would give values near 0.
    assert corrupt(white, "gaussian_noise", 5, np.random.default_rng(0)).min() > 100
    np.testing.assert_array_equal(corrupt(white, "brightness", 5, np.random.default_rng(0)), white)


def test_gaussian_noise_has_published_std() -> None:
    gray = np.full((64, 64, 3), 128, dtype=np.uint8)
    for severity, std in zip(SEVERITIES, (0.04, 0.06, 0.08, 0.09, 0.10)):
        change = corrupt(gray, "gaussian_noise", severity, np.random.default_rng(0)).astype(np.float64) - 128
        assert abs(change.std() / 255 - std) < 0.05 * std
        assert abs(change.mean()) < 1.0


def test_impulse_noise_hits_published_fraction() -> None:
    gray = np.full((64, 64, 3), 128, dtype=np.uint8)
    corrupted = corrupt(gray, "impulse_noise", 5, np.random.default_rng(0))
    changed = corrupted != 128
    assert abs(changed.mean() - 0.07) < 0.01
    assert set(np.unique(corrupted[changed])) == {0, 255}


def test_brightness_matches_hsv(color_images) -> None:
    image = color_images[0]
    corrupted = corrupt(image, "brightness", 3, np.random.default_rng(0))
    expected = np.empty_like(image)
    for row in range(32):
        for col in range(32):
            hue, saturation, value = colorsys.rgb_to_hsv(*(image[row, col] / 255))
            red_green_blue = colorsys.hsv_to_rgb(hue, saturation, min(value + 0.15, 1.0))
            expected[row, col] = np.rint(np.array(red_green_blue) * 255)
    np.testing.assert_allclose(corrupted, expected, atol=1)


def test_contrast_matches_formula(color_images) -> None:
    image = color_images[1]
    values = image / 255
    means = values.mean(axis=(0, 1))
    expected = np.rint(np.clip((values - means) * 0.15 + means, 0, 1) * 255)
    np.testing.assert_array_equal(corrupt(image, "contrast", 5, np.random.default_rng(0)), expected)


def test_clipped_zoom_of_one_keeps_image() -> None:
    image = np.random.default_rng(0).random((9, 7, 2))
    np.testing.assert_allclose(clipped_zoom(image, 1.0), image)


def test_clipped_zoom_enlarges_center() -> None:
    # A centered 9x9 square in a 33x33 image: zooming by 1.25 crops 27 pixels starting at row 3
    # and enlarges them to 34, so the square covers about 11 pixels per side.
    image = np.zeros((33, 33, 1))
    image[12:21, 12:21] = 1.0
    zoomed = clipped_zoom(image, 1.25)
    assert 10 <= (zoomed[:, 16, 0] > 0.5).sum() <= 12


def test_pixel_scale_grows_only_above_32() -> None:
    assert pixel_scale(8, 8) == 1.0
    assert pixel_scale(28, 28) == 1.0
    assert pixel_scale(64, 64) == 2.0
    assert pixel_scale(64, 128) == 2.0


def test_plasma_fractal_is_normalized() -> None:
    fractal = plasma_fractal(32, 2.0, np.random.default_rng(0))
    assert fractal.shape == (32, 32)
    assert fractal.min() == 0.0
    assert fractal.max() == 1.0
    with pytest.raises(ValueError, match="power of two"):
        plasma_fractal(24, 2.0, np.random.default_rng(0))


def test_frost_texture_is_bright_and_blue() -> None:
    texture = frost_texture(32, 32, 1.0, np.random.default_rng(0))
    assert texture.shape == (32, 32, 3)
    assert texture.min() >= 0.0
    assert texture.max() <= 1.0
    red, green, blue = texture.mean(axis=(0, 1))
    assert red < green < blue
    assert 0.3 < texture.mean() < 0.95


def test_unknown_name_lists_valid_names(color_images) -> None:
    with pytest.raises(ValueError, match="gaussian_noise, shot_noise") as error:
        corrupt(color_images[0], "gaussian_blur", 1, np.random.default_rng(0))
    assert "'gaussian_blur'" in str(error.value)
    with pytest.raises(ValueError, match="jpeg_compression"):
        corrupt_images(color_images, "speckle", 1, seed=0)


@pytest.mark.parametrize("severity", [0, 6, -1, 2.0, True, "3", None])
def test_invalid_severity_names_range(severity, color_images) -> None:
    with pytest.raises(ValueError, match=f"from 1 to 5, got {severity!r}"):
        corrupt(color_images[0], "fog", severity, np.random.default_rng(0))
    with pytest.raises(ValueError, match="from 1 to 5"):
        corrupt_images(color_images, "fog", severity, seed=0)


def test_numpy_integer_severity_is_accepted(color_images) -> None:
    corrupted = corrupt(color_images[0], "contrast", np.int64(2), np.random.default_rng(0))
    np.testing.assert_array_equal(corrupted, corrupt(color_images[0], "contrast", 2, np.random.default_rng(0)))


def test_invalid_image_dtype_and_shape() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="dtype uint8, got float64"):
        corrupt(np.zeros((8, 8, 3)), "fog", 1, rng)
    with pytest.raises(TypeError, match="numpy array, got list"):
        corrupt([[0, 1], [2, 3]], "fog", 1, rng)
    for shape in ((32, 32, 2), (32, 32, 4), (32,), (2, 8, 8, 3)):
        with pytest.raises(ValueError, match=rf"got shape \({shape[0]},"):
            corrupt(np.zeros(shape, dtype=np.uint8), "fog", 1, rng)
    with pytest.raises(ValueError, match="at least one row"):
        corrupt(np.zeros((0, 4, 3), dtype=np.uint8), "fog", 1, rng)


def test_invalid_batch_arguments(color_images) -> None:
    with pytest.raises(TypeError, match="dtype uint8, got int64"):
        corrupt_images(color_images.astype(np.int64), "fog", 1, seed=0)
    with pytest.raises(ValueError, match=r"got shape \(4, 32, 32, 2\)"):
        corrupt_images(color_images[..., :2], "fog", 1, seed=0)
    with pytest.raises(ValueError, match=r"got shape \(32, 32\)"):
        corrupt_images(color_images[0, :, :, 0], "fog", 1, seed=0)
    with pytest.raises(ValueError, match="seed must be non-negative, got -1"):
        corrupt_images(color_images, "fog", 1, seed=-1)
    with pytest.raises(TypeError, match="seed must be an int, got 1.5"):
        corrupt_images(color_images, "fog", 1, seed=1.5)
    with pytest.raises(ValueError, match="first_index must be non-negative"):
        corrupt_images(color_images, "fog", 1, seed=0, first_index=-2)


def test_invalid_generator(color_images) -> None:
    with pytest.raises(TypeError, match="numpy.random.Generator, got RandomState"):
        corrupt(color_images[0], "fog", 1, np.random.RandomState(0))
    with pytest.raises(TypeError, match="got int"):
        corrupt(color_images[0], "fog", 1, 0)
