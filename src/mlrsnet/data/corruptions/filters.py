"""Image filters that several corruptions share: defocus kernel, motion blur and zoom.

All functions take and return float images of shape (H, W, C).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# CIFAR-10-C defines its blur lengths in pixels of 32x32 images.
REFERENCE_SIZE = 32


def pixel_scale(height: int, width: int) -> float:
    """Return the factor that blur lengths, given in pixels of a 32x32 image, are multiplied by.

    The factor is ``min(height, width) / 32`` for images larger than 32x32 and 1 otherwise.
    The 32x32 lengths are already about one pixel, and shrinking them further would make
    the blurs vanish on the pixel grid (a defocus radius of 1.5 becomes 0.375 on 8x8).
    """
    return max(1.0, min(height, width) / REFERENCE_SIZE)


def defocus_kernel(radius: float, alias_sigma: float) -> np.ndarray:
    """Build a normalized disk of ``radius`` pixels, smoothed by a Gaussian of ``alias_sigma``.

    The disk contains the pixels whose centers lie within ``radius`` of the center pixel.
    The Gaussian is truncated at two standard deviations, but at least one pixel, which
    gives a 3x3 window for the CIFAR-10-C parameters.
    """
    window = max(1, int(2 * alias_sigma))
    half = int(np.ceil(radius)) + window
    offsets = np.arange(-half, half + 1)
    rows, cols = np.meshgrid(offsets, offsets, indexing="ij")
    disk = (rows**2 + cols**2 <= radius**2).astype(np.float64)

    taps = np.arange(-window, window + 1)
    gaussian = np.exp(-(taps**2) / (2 * alias_sigma**2))
    gaussian /= gaussian.sum()
    kernel = ndimage.convolve(disk, np.outer(gaussian, gaussian), mode="constant")
    return kernel / kernel.sum()


def convolve_channels(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve each channel with the 2-D ``kernel``, mirroring the image at its borders."""
    return ndimage.convolve(image, kernel[:, :, np.newaxis], mode="mirror")


def motion_blur(image: np.ndarray, radius: float, sigma: float, angle: float) -> np.ndarray:
    """Blur along one direction with a one-sided line of Gaussian weights.

    Output pixel ``p`` is the weighted mean of the image at ``p + i * (sin(angle), cos(angle))``
    in (row, column) coordinates, for ``i = 0 .. 2 * ceil(radius)``, with weights
    ``exp(-i**2 / (2 * sigma**2))``. Radius and sigma mean what they mean in ImageMagick's
    motion blur, which CIFAR-10-C called through Wand (see the port at
    https://github.com/KarpelesLab/mblur). That blur rounds each sample to a whole pixel.
    This one interpolates between pixels bilinearly, and samples outside the image repeat
    the edge pixel.

    NOTE: This blur was not compared with ImageMagick output, so motion_blur and snow may
    differ in strength from CIFAR-10-C, unlike the corruptions that were compared.

    Args:
        image: Float image of shape (H, W, C).
        radius: Length of the kernel in pixels.
        sigma: Standard deviation of the weights in pixels.
        angle: Direction in degrees, 0 pointing along increasing columns.
    """
    steps = np.arange(2 * int(np.ceil(radius)) + 1)
    weights = np.exp(-(steps**2) / (2 * sigma**2))
    weights /= weights.sum()

    theta = np.deg2rad(angle)
    height, width, channels = image.shape
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    blurred = np.zeros_like(image, dtype=np.float64)
    for step, weight in zip(steps, weights):
        coordinates = np.stack([rows + step * np.sin(theta), cols + step * np.cos(theta)])
        for channel in range(channels):
            sampled = ndimage.map_coordinates(image[:, :, channel], coordinates, order=1, mode="nearest")
            blurred[:, :, channel] += weight * sampled
    return blurred


def clipped_zoom(image: np.ndarray, factor: float) -> np.ndarray:
    """Zoom into the image by ``factor`` and keep its size, with the geometry of CIFAR-10-C.

    Along each axis of length ``n``, the original crops the central ``ceil(n / factor)``
    pixels, resizes them to ``round(crop * factor)`` pixels with ``scipy.ndimage.zoom``
    (bilinear, first and last pixels aligned) and keeps ``n`` pixels from the middle.
    The rounding in these steps often anchors the zoom near the top-left corner, not the
    center, and that shift is part of the published corruption strength. This function
    computes that same map in one bilinear resampling.

    NOTE: On images of about 10 pixels or fewer, factors close to 1 round to an unchanged
    image, as they do in the original.
    """
    scales = []
    offsets = []
    for length in image.shape[:2]:
        crop = int(np.ceil(length / factor))
        crop_start = (length - crop) // 2
        resized = round(crop * factor)
        trim = (resized - length) // 2
        # Output index i reads the crop at (trim + i) * (crop - 1) / (resized - 1).
        scale = (crop - 1) / (resized - 1) if resized > 1 else 0.0
        scales.append(scale)
        offsets.append(crop_start + trim * scale)
    # A full matrix, because scipy divides by the diagonal form and a 1-pixel axis has scale 0.
    return ndimage.affine_transform(
        image, np.diag(scales + [1.0]), offset=np.array(offsets + [0.0]), order=1, mode="nearest"
    )
