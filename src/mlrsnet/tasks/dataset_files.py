"""Find a dataset's files under the data folder, fetching them only when downloads are allowed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadSettings:
    """Whether a missing dataset may be downloaded, and how to show the progress.

    ``progress_factory(filename)`` returns the ``progress(received_bytes, total_bytes)``
    callback of one file's download. The command line passes one that draws a progress bar.
    ``base_url`` replaces the official URLs up to their last ``/``, for a mirror that
    serves the same file names.
    """

    enabled: bool = False
    base_url: str | None = None
    progress_factory: Callable[[str], Callable[[int, int | None], None]] | None = None


def dataset_folder_with(
    name: str, data_dir: Path, files: Sequence[str] | None, download: DownloadSettings | None
) -> Path:
    """Return the folder of dataset ``name`` under ``data_dir`` once ``files`` are in it.

    ``files`` are paths relative to that folder, or None for every file the dataset
    requires. Missing files are downloaded from the official source when
    ``download.enabled``. Otherwise the call raises.

    Raises:
        DatasetNotFoundError: If files are missing and downloads are not enabled. The
            message names the folder and the ``--download`` flag.
        DownloadError: If a download fails its checksum or is cut short.
    """
    from mlrsnet.data.catalog import dataset_folder, fetch_dataset, missing_files, require_dataset

    if missing_files(name, data_dir, files) and download is not None and download.enabled:
        logger.info("downloading dataset %s into %s", name, data_dir)
        fetch_dataset(name, data_dir, files=files, **_fetch_arguments(download))
    require_dataset(name, data_dir, files)
    return dataset_folder(name, data_dir)


def _fetch_arguments(download: DownloadSettings) -> dict[str, Any]:
    arguments: dict[str, Any] = {"base_url": download.base_url}
    if download.progress_factory is not None:
        arguments["progress_factory"] = download.progress_factory
    return arguments
