"""Apply a named corruption at a given severity to one image or a batch of images."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from mlrsnet.data.corruptions import blur, digital, noise, weather

logger = logging.getLogger(__name__)

CorruptionFunction = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]

# The 15 corruptions of CIFAR-10-C (Hendrycks & Dietterich, ICLR 2019), in the order of make_cifar_c.py.
_FUNCTIONS: dict[str, CorruptionFunction] = {
    "gaussian_noise": noise.gaussian_noise,
    "shot_noise": noise.shot_noise,
    "impulse_noise": noise.impulse_noise,
    "defocus_blur": blur.defocus_blur,
    "glass_blur": blur.glass_blur,
    "motion_blur": blur.motion_blur,
    "zoom_blur": blur.zoom_blur,
    "snow": weather.snow,
    "frost": weather.frost,
    "fog": weather.fog,
    "brightness": weather.brightness,
    "contrast": digital.contrast,
    "elastic_transform": digital.elastic_transform,
    "pixelate": digital.pixelate,
    "jpeg_compression": digital.jpeg_compression,
}

CORRUPTIONS: tuple[str, ...] = tuple(_FUNCTIONS)
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)


def corrupt(image: np.ndarray, name: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Apply one corruption to one image.

    The severity parameters are those of CIFAR-10-C for 32x32 images. Lengths that the
    original defines as fractions of the image (elastic warp, pixelate, zoom, fog and snow
    patterns) keep that meaning at every size. Blur lengths in pixels (defocus, glass,
    motion and the snow streaks) are multiplied by ``min(H, W) / 32`` for images larger
    than 32x32 and kept as they are for smaller ones, where they already span about one
    pixel. A grayscale image is corrupted as one channel. The three noise corruptions draw
    noise for that channel alone. Every other corruption gives the result of replicating
    the image to three channels and averaging them back, up to rounding. Results are
    rounded to the nearest integer.

    Args:
        image: uint8 image of shape (H, W, C) with C = 1 or 3, or (H, W) for grayscale.
        name: One of ``CORRUPTIONS``.
        severity: One of ``SEVERITIES``, from 1 (mild) to 5 (strong).
        rng: Source of all random choices, so the same generator state gives the same output.

    Returns:
        A new uint8 array of the same shape as ``image``.

    Raises:
        ValueError: If ``name`` or ``severity`` is invalid, or ``image`` has an invalid shape.
        TypeError: If ``image`` is not a uint8 array or ``rng`` is not a ``numpy.random.Generator``.
    """
    _check_name(name)
    _check_severity(severity)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator, got {type(rng).__name__}. "
            "Create one with numpy.random.default_rng(seed)"
        )
    pixels = _as_channels_last(image)

    values = pixels.astype(np.float64) / 255
    corrupted = _FUNCTIONS[name](values, int(severity), rng)
    return np.rint(np.clip(corrupted, 0.0, 1.0) * 255).astype(np.uint8).reshape(image.shape)


def corrupt_images(
    images: np.ndarray,
    name: str,
    severity: int,
    seed: int,
    *,
    first_index: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Apply one corruption to each image of a batch, with one random generator per image.

    Image ``i`` of the batch uses
    ``numpy.random.default_rng(numpy.random.SeedSequence(seed, spawn_key=(first_index + i,)))``.
    Its output depends only on the image, ``seed`` and its index, so a data set corrupted in
    chunks (with ``first_index`` set to the position of each chunk) equals one corrupted at once.

    Args:
        images: uint8 images of shape (N, H, W, C) with C = 1 or 3, or (N, H, W) for grayscale.
        name: One of ``CORRUPTIONS``.
        severity: One of ``SEVERITIES``.
        seed: Non-negative integer seed.
        first_index: Index of the first image in the whole data set.
        progress: Called as ``progress(done, total)`` after each image.

    Returns:
        A new uint8 array of the same shape as ``images``.

    Raises:
        ValueError: If an argument has an invalid value or ``images`` an invalid shape.
        TypeError: If ``images`` is not a uint8 array, or ``seed`` or ``first_index`` is not an int.
    """
    _check_name(name)
    _check_severity(severity)
    for argument, value in (("seed", seed), ("first_index", first_index)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{argument} must be an int, got {value!r} of type {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{argument} must be non-negative, got {value}")
    _check_batch(images)

    total = len(images)
    logger.debug("Applying %s at severity %d to %d images with seed %d", name, severity, total, seed)
    corrupted = np.empty_like(images)
    for index in range(total):
        sequence = np.random.SeedSequence(int(seed), spawn_key=(int(first_index) + index,))
        corrupted[index] = corrupt(images[index], name, severity, np.random.default_rng(sequence))
        if progress is not None:
            progress(index + 1, total)
    return corrupted


def _check_name(name: str) -> None:
    if not isinstance(name, str) or name not in _FUNCTIONS:
        raise ValueError(f"unknown corruption {name!r}. Valid names are {', '.join(CORRUPTIONS)}")


def _check_severity(severity: int) -> None:
    is_integer = isinstance(severity, (int, np.integer)) and not isinstance(severity, bool)
    if not is_integer or severity not in SEVERITIES:
        raise ValueError(
            f"severity must be an integer from {SEVERITIES[0]} to {SEVERITIES[-1]}, got {severity!r}"
        )


def _as_channels_last(image: np.ndarray) -> np.ndarray:
    # Return the image as (H, W, C), or raise an error that names the shape or dtype found.
    _check_uint8_array(image, "image")
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"image must have shape (H, W), (H, W, 1) or (H, W, 3), got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image must have at least one row and one column, got shape {image.shape}")
    return image


def _check_batch(images: np.ndarray) -> None:
    _check_uint8_array(images, "images")
    valid_channels = images.ndim == 3 or (images.ndim == 4 and images.shape[3] in (1, 3))
    if not valid_channels:
        raise ValueError(
            f"images must have shape (N, H, W), (N, H, W, 1) or (N, H, W, 3), got shape {images.shape}"
        )
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"images must have at least one row and one column, got shape {images.shape}")


def _check_uint8_array(array: np.ndarray, label: str) -> None:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{label} must be a numpy array, got {type(array).__name__}")
    if array.dtype != np.uint8:
        raise TypeError(
            f"{label} must have dtype uint8, got {array.dtype}. "
            "Convert values in [0, 255] with numpy.clip(array, 0, 255).astype(numpy.uint8)"
        )
