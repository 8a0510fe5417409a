"""The 15 image corruptions of CIFAR-10-C at 5 severities, for uint8 images of any size.

The corruptions and their severity parameters follow ``make_cifar_c.py`` of
https://github.com/hendrycks/robustness (Hendrycks & Dietterich, "Benchmarking Neural
Network Robustness to Common Corruptions and Perturbations", ICLR 2019), reimplemented
with numpy, scipy.ndimage and Pillow. Frost uses a generated texture in place of the
original's frost photos, and motion blur is computed here in place of ImageMagick.

Example:
    >>> images = corrupt_images(test_images, "fog", severity=3, seed=0)
"""

from mlrsnet.data.corruptions.apply import CORRUPTIONS, SEVERITIES, corrupt, corrupt_images

__all__ = ["CORRUPTIONS", "SEVERITIES", "corrupt", "corrupt_images"]
