"""Blur corruptions: defocus, glass, motion and zoom blur.

Each function takes a float image in [0, 1] of shape (H, W, C). Blur lengths are those of
CIFAR-10-C for 32x32 images, multiplied by ``filters.pixel_scale`` for larger images.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mlrsnet.data.corruptions.filters import (
    clipped_zoom,
    convolve_channels,
    defocus_kernel,
    motion_blur as blur_along_line,
    pixel_scale,
)

# Parameters of severities 1 to 5 for 32x32 images, from CIFAR-10-C.
# (disk radius, sigma of the Gaussian that smooths the disk), in pixels.
DEFOCUS_BLUR = ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1))
# (Gaussian sigma in pixels, maximum pixel shift, number of shuffling passes).
GLASS_BLUR = ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2))
# (kernel radius, Gaussian sigma), in pixels.
MOTION_BLUR = ((6, 1.0), (6, 1.5), (6, 2.0), (8, 2.0), (9, 2.5))
# Number of zoomed copies, with factors 1.00, 1.01, 1.02, ... The original writes them as
# np.arange(1, stop, 0.01) with stop 1.06, 1.11, 1.16, 1.21 and 1.26. Floating-point
# rounding in arange includes the stop value for the first two, so they have 7 and 12 copies.
ZOOM_BLUR_COPIES = (7, 12, 16, 21, 26)


def defocus_blur(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Convolve with a smoothed disk, like an out-of-focus lens."""
    radius, alias_sigma = DEFOCUS_BLUR[severity - 1]
    scale = pixel_scale(*image.shape[:2])
    return convolve_channels(image, defocus_kernel(radius * scale, alias_sigma * scale))


def glass_blur(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Blur, replace each pixel by a random close neighbor, then blur again, like frosted glass.

    Each pass visits the pixels one at a time from the bottom-right corner, as CIFAR-10-C
    does, and copies into each one the pixel at an offset drawn uniformly from
    ``[-shift, shift - 1]`` along both axes. The original code means to swap the two pixels,
    but its tuple assignment on numpy views copies instead. Copying here too keeps the
    published strength (a true swap changes MNIST digits about 40% more at severity 1).
    """
    sigma, shift, passes = GLASS_BLUR[severity - 1]
    height, width, channels = image.shape
    scale = pixel_scale(height, width)
    sigma *= scale
    shift = max(1, round(shift * scale))

    blurred = _gaussian_blur(image, sigma)
    pixels = blurred.reshape(height * width, channels)
    rows = range(height - shift, shift, -1)
    cols = range(width - shift, shift, -1)
    for _ in range(passes):
        offsets = rng.integers(-shift, shift, size=(len(rows), len(cols), 2)).tolist()
        for row, row_offsets in zip(rows, offsets):
            for col, (row_shift, col_shift) in zip(cols, row_offsets):
                pixels[row * width + col] = pixels[(row + row_shift) * width + col + col_shift]
    return _gaussian_blur(pixels.reshape(image.shape), sigma)


def motion_blur(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Blur along a random direction within 45 degrees of the horizontal, like camera shake."""
    radius, sigma = MOTION_BLUR[severity - 1]
    scale = pixel_scale(*image.shape[:2])
    return blur_along_line(image, radius * scale, sigma * scale, rng.uniform(-45, 45))


def zoom_blur(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Average the image with zoomed copies of itself, like a camera zooming during exposure.

    The copies use factors 1.00, 1.01, ... (7 copies at severity 1, 26 at severity 5),
    and the image itself counts once more, as in CIFAR-10-C. See ``filters.clipped_zoom``
    for where the zoom is anchored.
    """
    factors = 1 + 0.01 * np.arange(ZOOM_BLUR_COPIES[severity - 1])
    total = image.copy()
    for factor in factors:
        total += clipped_zoom(image, factor)
    return total / (len(factors) + 1)


def _gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    # Blur the two spatial axes only, with the edge mode and truncation of skimage.filters.gaussian.
    return ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0), mode="nearest", truncate=4.0)
