"""Dataset readers, downloads and corruptions as plain numpy and PyTorch code.

Readers return ``(images, labels)`` numpy arrays (uint8 ``(N, H, W, C)`` and int64) or
word lists, and know nothing of the method. Modules that need scipy or Pillow import them
when called.
"""

from mlrsnet.data.digits import load_digits_splits
from mlrsnet.data.paths import DatasetFormatError, DatasetNotFoundError, default_data_dir, resolve_data_dir
from mlrsnet.data.splits import DatasetSplits

__all__ = [
    "DatasetFormatError",
    "DatasetNotFoundError",
    "DatasetSplits",
    "default_data_dir",
    "load_digits_splits",
    "resolve_data_dir",
]
