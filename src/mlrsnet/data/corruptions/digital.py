"""Digital corruptions: contrast, elastic transform, pixelate and JPEG compression.

Each function takes a float image in [0, 1] of shape (H, W, C) whose values are multiples
of 1/255, and may return values outside [0, 1], which the caller clips.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

# Parameters of severities 1 to 5 for 32x32 images, from CIFAR-10-C.
# Factor applied to the distance of each value from its channel mean.
CONTRAST = (0.75, 0.5, 0.4, 0.3, 0.15)
# (displacement scale, displacement smoothing sigma, maximum shift of the affine control
#  points), as fractions of the image side.
ELASTIC_TRANSFORM = (
    (0.0, 0.0, 0.08),
    (0.05, 0.2, 0.07),
    (0.08, 0.06, 0.06),
    (0.1, 0.04, 0.05),
    (0.1, 0.03, 0.03),
)
# Side of the downsampled image as a fraction of the original side.
PIXELATE = (0.95, 0.9, 0.85, 0.75, 0.65)
# JPEG quality, from 1 (worst) to 95.
JPEG_QUALITY = (80, 65, 58, 50, 40)


def contrast(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Pull every value toward the mean of its channel."""
    factor = CONTRAST[severity - 1]
    means = image.mean(axis=(0, 1), keepdims=True)
    return (image - means) * factor + means


def elastic_transform(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Warp the image with a random affine map, then with a smooth random displacement field.

    The affine map moves three control points around the center by up to the given shift.
    The displacement field is uniform noise in [-1, 1], smoothed by a Gaussian and scaled.
    All lengths are fractions of the shorter image side, so the warp looks the same at
    every size. Severity 1 has no displacement field, only the affine map.
    """
    displacement, smoothing, affine_shift = (
        fraction * min(image.shape[:2]) for fraction in ELASTIC_TRANSFORM[severity - 1]
    )
    warped = _random_affine(image, affine_shift, rng)
    if displacement == 0:
        return warped

    height, width, channels = image.shape
    row_shift, col_shift = (
        displacement * ndimage.gaussian_filter(rng.uniform(-1, 1, (height, width)), smoothing, mode="reflect", truncate=3)
        for _ in range(2)
    )
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    coordinates = np.stack([rows + row_shift, cols + col_shift])
    return np.stack(
        [ndimage.map_coordinates(warped[:, :, channel], coordinates, order=1, mode="reflect") for channel in range(channels)],
        axis=2,
    )


def pixelate(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Shrink the image with box filtering, then enlarge it back with box filtering."""
    fraction = PIXELATE[severity - 1]
    height, width, _ = image.shape
    small_size = (max(1, int(width * fraction)), max(1, int(height * fraction)))
    picture = _to_pil(image)
    picture = picture.resize(small_size, Image.Resampling.BOX).resize((width, height), Image.Resampling.BOX)
    return _from_pil(picture, image.shape)


def jpeg_compression(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Encode the image as JPEG in memory with Pillow and decode it again."""
    buffer = io.BytesIO()
    _to_pil(image).save(buffer, format="JPEG", quality=JPEG_QUALITY[severity - 1])
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return _from_pil(decoded, image.shape)


def _random_affine(image: np.ndarray, max_shift: float, rng: np.random.Generator) -> np.ndarray:
    # Three control points around the center, in (row, column) coordinates, each moved by up
    # to max_shift along both axes. Pixels outside the image are mirrored in.
    height, width, _ = image.shape
    center = np.array([height // 2, width // 2], dtype=np.float64)
    spread = max(1, min(height, width) // 3)
    source = np.array([center + spread, center + [spread, -spread], center - spread])
    target = source + rng.uniform(-max_shift, max_shift, size=source.shape)

    # Solve for the forward map target = A @ (row, col, 1), then invert it, because
    # affine_transform samples the input at the inverse image of each output pixel.
    homogeneous = np.hstack([source, np.ones((3, 1))])
    forward = np.vstack([np.linalg.solve(homogeneous, target).T, [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(forward)
    matrix = np.eye(3)
    matrix[:2, :2] = inverse[:2, :2]
    offset = np.append(inverse[:2, 2], 0.0)
    return ndimage.affine_transform(image, matrix, offset=offset, order=1, mode="mirror")


def _to_pil(image: np.ndarray) -> Image.Image:
    pixels = np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    # Pillow reads a 2-D uint8 array as mode "L" and an (H, W, 3) one as mode "RGB".
    if pixels.shape[2] == 1:
        return Image.fromarray(pixels[:, :, 0])
    return Image.fromarray(pixels)


def _from_pil(picture: Image.Image, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(picture, dtype=np.float64).reshape(shape) / 255
