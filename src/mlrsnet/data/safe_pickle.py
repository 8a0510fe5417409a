"""A restricted unpickler for the numpy arrays in the CIFAR pickles.

A plain ``pickle.load`` runs any function that the file names, so a tampered dataset
file could run code. This unpickler resolves only the few globals that an ndarray's
pickle refers to and rejects every other one before anything is called.
"""

from __future__ import annotations

import io
import pickle
from typing import IO, Any

import numpy as np

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2.0 has no numpy._core.
    from numpy.core.multiarray import _reconstruct

# Pickles written with numpy 1.x name numpy.core, those written with numpy 2.x name numpy._core.
# Both names map to the installed function, so numpy 2 emits no deprecation warning for numpy.core.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals in ``ALLOWED_GLOBALS``.

    Raises:
        pickle.UnpicklingError: From ``load`` when the pickle names any other global,
            such as ``os.system``. The message names the rejected global.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            allowed = ", ".join(f"{allowed_module}.{allowed_name}" for allowed_module, allowed_name in ALLOWED_GLOBALS)
            raise pickle.UnpicklingError(
                f"rejected global {module}.{name}: a dataset pickle may only reference {allowed}"
            ) from None


def restricted_load(file: IO[bytes], *, encoding: str = "latin1") -> Any:
    """Unpickle one object from ``file`` with ``RestrictedUnpickler``.

    Args:
        file: A binary file opened for reading.
        encoding: How to decode Python 2 byte strings. The default "latin1" is what numpy
            needs for arrays pickled by Python 2, as the CIFAR files are.

    Raises:
        pickle.UnpicklingError: If the pickle names a global that is not allowed or is corrupt.
        EOFError: If the pickle is truncated.
    """
    return RestrictedUnpickler(file, encoding=encoding).load()


def restricted_loads(data: bytes, *, encoding: str = "latin1") -> Any:
    """Unpickle one object from ``data`` with ``RestrictedUnpickler``; see ``restricted_load``."""
    return restricted_load(io.BytesIO(data), encoding=encoding)
