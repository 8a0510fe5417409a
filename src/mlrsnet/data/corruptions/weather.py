"""Weather corruptions: snow, frost, fog and brightness.

Each function takes a float image in [0, 1] of shape (H, W, C) and may return values
outside [0, 1], which the caller clips. A grayscale image (C = 1) is treated as a gray RGB
image, which gives the same result as replicating it to three channels and averaging back.
"""

from __future__ import annotations

import numpy as np

from mlrsnet.data.corruptions.filters import clipped_zoom, motion_blur, pixel_scale
from mlrsnet.data.corruptions.textures import frost_texture, next_power_of_two, plasma_fractal

# Parameters of severities 1 to 5 for 32x32 images, from CIFAR-10-C.
# (flake noise mean, flake noise std, flake zoom, flake threshold, blur radius in pixels,
#  blur sigma in pixels, weight of the image against its whitened copy)
SNOW = (
    (0.1, 0.2, 1.0, 0.6, 8, 3, 0.95),
    (0.1, 0.2, 1.0, 0.5, 10, 4, 0.9),
    (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
    (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
    (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
)
# (weight of the image, weight of the frost texture)
FROST = ((1.0, 0.2), (1.0, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45))
# (fog amount, plasma fractal decay)
FOG = ((0.2, 3.0), (0.5, 3.0), (0.75, 2.5), (1.0, 2.0), (1.5, 1.75))
# Increase of the HSV value.
BRIGHTNESS = (0.05, 0.1, 0.15, 0.2, 0.3)

# ITU-R BT.601 luma weights, which OpenCV's RGB-to-gray conversion uses.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])


def snow(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Whiten the image and add two layers of falling snowflakes.

    Flakes are thresholded Gaussian noise, zoomed in and blurred along a
    random direction within 45 degrees of vertical. The layer is added once as drawn and
    once rotated by 180 degrees.
    """
    mean, std, zoom, threshold, radius, sigma, image_weight = SNOW[severity - 1]
    height, width, _ = image.shape

    flakes = rng.normal(mean, std, size=(height, width, 1))
    flakes = clipped_zoom(flakes, zoom)
    flakes[flakes < threshold] = 0.0
    flakes = np.clip(flakes, 0.0, 1.0)
    scale = pixel_scale(height, width)
    flakes = motion_blur(flakes, radius * scale, sigma * scale, rng.uniform(-135, -45))

    whitened = np.maximum(image, _luminance(image) * 1.5 + 0.5)
    image = image_weight * image + (1 - image_weight) * whitened
    return image + flakes + np.rot90(flakes, k=2)


def frost(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Blend the image with a procedural frost texture, like a frosted window.

    NOTE: CIFAR-10-C crops photos of frost that ship as image files. This texture is
    generated from ``rng`` instead, so the look differs from those photos even though
    the blend weights are the same.
    """
    image_weight, frost_weight = FROST[severity - 1]
    height, width, channels = image.shape
    texture = frost_texture(height, width, pixel_scale(height, width), rng)
    blended = image_weight * image + frost_weight * texture
    if channels == 1:
        # Clip each color before averaging, as a gray RGB image would be clipped.
        return np.clip(blended, 0.0, 1.0).mean(axis=2, keepdims=True)
    return blended


def fog(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Add a plasma-fractal fog, then rescale so that the brightest input value keeps its level.

    The fractal spans the next power of two of the larger side and is cropped to the image,
    so its coarsest structure is about the size of the image. A black image stays black.
    """
    amount, decay = FOG[severity - 1]
    height, width, _ = image.shape
    fractal = plasma_fractal(next_power_of_two(max(height, width)), decay, rng)[:height, :width]
    peak = image.max()
    return (image + amount * fractal[:, :, np.newaxis]) * peak / (peak + amount)


def brightness(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Raise the value (V) of each pixel in HSV space, keeping its hue and saturation.

    In HSV, changing V alone scales all channels of a pixel by the same factor, so this
    scales by ``new V / V`` directly. Black pixels become gray with the new V.
    """
    shift = BRIGHTNESS[severity - 1]
    value = image.max(axis=2, keepdims=True)
    new_value = np.minimum(value + shift, 1.0)
    ratio = np.divide(new_value, value, out=np.ones_like(value), where=value > 0)
    return np.where(value > 0, image * ratio, new_value)


def _luminance(image: np.ndarray) -> np.ndarray:
    if image.shape[2] == 1:
        return image
    return image @ LUMA_WEIGHTS[:, np.newaxis]
