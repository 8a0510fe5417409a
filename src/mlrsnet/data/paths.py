"""The data directory and the errors that dataset readers raise."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

DATA_DIR_ENV_VAR = "MLRSNET_DATA"
DEFAULT_DATA_DIR = Path("~/.cache/mlrsnet")


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not in the folder that was searched."""


class DatasetFormatError(ValueError):
    """A dataset file exists but its content is not in the expected format."""


def default_data_dir() -> Path:
    """Return the data directory: ``$MLRSNET_DATA`` if set and not empty, else ``~/.cache/mlrsnet``."""
    from_env = os.environ.get(DATA_DIR_ENV_VAR, "")
    if from_env:
        return Path(from_env).expanduser().absolute()
    return DEFAULT_DATA_DIR.expanduser().absolute()


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """Return ``data_dir`` as an absolute path, or the default data directory when it is None.

    Raises:
        TypeError: If ``data_dir`` is neither None, a string nor a path.
        ValueError: If ``data_dir`` is an empty string.
    """
    if data_dir is None:
        return default_data_dir()
    if not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a path or None, got {data_dir!r} of type {type(data_dir).__name__}")
    if isinstance(data_dir, str) and not data_dir.strip():
        raise ValueError("data_dir must not be empty; pass a folder or None for the default data directory")
    return Path(data_dir).expanduser().absolute()


def dataset_not_found(
    title: str, folder: Path, missing: Sequence[str], source_urls: Sequence[str] = ()
) -> DatasetNotFoundError:
    """Build the error for a dataset whose files are missing from ``folder``.

    The message names the folder, the missing files and both fixes: download the files,
    or point the data directory at the folder that contains ``folder.name``.

    Args:
        title: Dataset name for people, such as "MNIST".
        folder: The dataset folder that was searched, such as ``<data dir>/mnist``.
        missing: Paths relative to ``folder`` that were expected but not found.
        source_urls: Official URLs of the missing files, named in the message when given.

    Returns:
        The error, for the caller to raise.
    """
    if folder.is_dir():
        problem = f"{folder} lacks {', '.join(missing)}"
    else:
        problem = f"{folder} does not exist (expected {', '.join(missing)} in it)"
    origin = f" from {', '.join(source_urls)}" if source_urls else ""
    return DatasetNotFoundError(
        f"{title} not found: {problem}. Rerun `mlrsnet train` or `mlrsnet meta-train` with --download "
        f"to fetch it{origin}, or pass --data-dir (or set {DATA_DIR_ENV_VAR}) to the folder that "
        f"contains {folder.name}/ (searched {folder.parent})."
    )
