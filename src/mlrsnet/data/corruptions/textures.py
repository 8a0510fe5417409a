"""Random textures for the weather corruptions: plasma fractal (fog) and frost."""

from __future__ import annotations

import numpy as np

from mlrsnet.data.corruptions.filters import motion_blur

# Color of frost relative to its brightness: the mean RGB of the CIFAR-10-C frost photos over its mean.
FROST_TINT = np.array([0.89, 1.02, 1.09])


def plasma_fractal(size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """Generate a periodic diamond-square height map of shape (size, size), scaled to [0, 1].

    Each halving of the grid step sets the new points to the mean of their four neighbors
    plus uniform noise. The noise amplitude shrinks by ``decay**2`` per level, as in the
    fog of CIFAR-10-C, so a smaller ``decay`` gives rougher fog.

    Args:
        size: Side length, a power of two of at least 2.
        decay: Square root of the amplitude ratio between successive levels.
        rng: Source of the noise.

    Raises:
        ValueError: If ``size`` is not a power of two of at least 2.
    """
    if size < 2 or size & (size - 1):
        raise ValueError(f"plasma fractal size must be a power of two of at least 2, got {size}")

    heights = np.zeros((size, size))
    step = size
    amplitude = 1.0
    while step >= 2:
        half = step // 2

        # Square step: the center of each square gets the mean of its four corners.
        corners = heights[0::step, 0::step]
        below = np.roll(corners, -1, axis=0)
        square_mean = (corners + below + np.roll(corners, -1, axis=1) + np.roll(below, -1, axis=1)) / 4
        heights[half::step, half::step] = square_mean + amplitude * rng.uniform(-1, 1, square_mean.shape)

        # Diamond step: each edge midpoint gets the mean of its two corners and two centers.
        centers = heights[half::step, half::step]
        top_mean = (corners + np.roll(corners, -1, axis=1) + centers + np.roll(centers, 1, axis=0)) / 4
        heights[0::step, half::step] = top_mean + amplitude * rng.uniform(-1, 1, top_mean.shape)
        left_mean = (corners + np.roll(corners, -1, axis=0) + centers + np.roll(centers, 1, axis=1)) / 4
        heights[half::step, 0::step] = left_mean + amplitude * rng.uniform(-1, 1, left_mean.shape)

        step = half
        amplitude /= decay**2

    heights -= heights.min()
    return heights / heights.max()


def next_power_of_two(value: int) -> int:
    """Return the smallest power of two that is at least ``value`` and at least 2."""
    return max(2, 1 << (int(value) - 1).bit_length())


def frost_texture(height: int, width: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Generate an RGB frost texture of shape (height, width, 3) with values in [0, 1].

    The texture is a random base brightness with plasma-fractal haze and bright ice needles
    along three directions 60 degrees apart, tinted blue-white. It roughly matches 32x32
    crops of the five frost photos that CIFAR-10-C samples (scaled to 0.2), whose mean
    brightness ranges from about 0.45 to 0.8 and whose standard deviation within a crop is
    about 0.04 to 0.09. On 32x32, the texture's mean brightness ranges from about 0.5 to
    0.8 and its standard deviation within a crop is about 0.06.

    Args:
        height: Height in pixels.
        width: Width in pixels.
        scale: Factor applied to the needle length, defined for 32x32 images.
        rng: Source of all random choices.
    """
    side = next_power_of_two(max(height, width))
    haze = plasma_fractal(side, decay=1.5, rng=rng)[:height, :width]

    needles = np.zeros((height, width, 1))
    first_angle = rng.uniform(0, 60)
    for direction in range(3):
        seeds = (rng.random((height, width, 1)) < 0.03) * rng.uniform(0.5, 1.0, (height, width, 1))
        streaks = motion_blur(seeds, radius=4 * scale, sigma=3 * scale, angle=first_angle + 60 * direction)
        needles = np.maximum(needles, streaks)
    needles /= max(needles.max(), 1e-12)

    brightness = rng.uniform(0.45, 0.85) + 0.2 * (haze - 0.5) + 0.3 * (needles[:, :, 0] - needles.mean())
    return np.clip(brightness[:, :, np.newaxis] * FROST_TINT, 0.0, 1.0)
