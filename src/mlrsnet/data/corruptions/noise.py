"""Noise corruptions: Gaussian, shot (Poisson) and impulse (salt-and-pepper) noise.

Each function takes a float image in [0, 1] of shape (H, W, C) and may return values
outside [0, 1], which the caller clips. Noise is drawn independently for every pixel and
channel, so a grayscale image gets the noise of one channel.
"""

from __future__ import annotations

import numpy as np

# Parameters of severities 1 to 5 for 32x32 images, from CIFAR-10-C.
GAUSSIAN_NOISE_STD = (0.04, 0.06, 0.08, 0.09, 0.10)
# Mean photon count of a white pixel. Fewer photons give more noise.
SHOT_NOISE_PHOTONS = (500, 250, 100, 75, 50)
# Fraction of values replaced by 0 or 1.
IMPULSE_NOISE_AMOUNT = (0.01, 0.02, 0.03, 0.05, 0.07)


def gaussian_noise(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Add zero-mean Gaussian noise."""
    std = GAUSSIAN_NOISE_STD[severity - 1]
    return image + rng.normal(scale=std, size=image.shape)


def shot_noise(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Replace each value by a Poisson photon count with that mean, rescaled to [0, 1]."""
    photons = SHOT_NOISE_PHOTONS[severity - 1]
    return rng.poisson(image * photons) / photons


def impulse_noise(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Set a random fraction of the values to 0 (pepper) or 1 (salt), with equal odds."""
    amount = IMPULSE_NOISE_AMOUNT[severity - 1]
    hit = rng.random(image.shape) < amount
    salt = rng.random(image.shape) < 0.5
    noisy = image.copy()
    noisy[hit & salt] = 1.0
    noisy[hit & ~salt] = 0.0
    return noisy
