"""Checksum-verified downloads and safe archive extraction, with the standard library only."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from mlrsnet._version import __version__
from mlrsnet.data.paths import DatasetFormatError

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
USER_AGENT = f"mlrsnet/{__version__}"
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
ZIP_SUFFIXES = (".zip",)

DownloadProgress = Callable[[int, int | None], None]
# tarfile.FilterError exists only in Python versions that have extraction filters.
TAR_FILTER_ERRORS = getattr(tarfile, "FilterError", ())


class DownloadError(OSError):
    """A download failed: the server could not be reached or returned an error, the
    connection was cut, or the file's MD5 checksum did not match."""


def file_md5(path: str | os.PathLike[str]) -> str:
    """Return the hexadecimal MD5 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(
    url: str,
    destination: str | os.PathLike[str],
    md5: str,
    *,
    progress: DownloadProgress | None = None,
    timeout: float = 60,
) -> Path:
    """Download ``url`` to ``destination`` and check its MD5 checksum.

    The body is streamed to ``<destination>.part`` and hashed as it arrives. Only a
    complete file with the expected checksum is renamed to ``destination``, so an
    interrupted or corrupt download never appears under the final name. A destination
    that already exists with the expected checksum is kept and nothing is downloaded.

    Args:
        url: The http, https or file URL to fetch.
        destination: The file to create. Its folder is created if needed.
        md5: The expected MD5 digest as 32 hexadecimal digits.
        progress: Called as ``progress(received_bytes, total_bytes)`` after each chunk,
            where ``total_bytes`` is the Content-Length, or None if the server sent none.
        timeout: Seconds to wait for the connection and for each read.

    Returns:
        ``destination`` as a Path.

    Raises:
        ValueError: If ``md5`` is not 32 hexadecimal digits.
        DownloadError: If the request fails, the connection is cut before Content-Length
            bytes arrive, or the MD5 does not match. The ``.part`` file is removed first.
    """
    destination = Path(destination)
    expected_md5 = md5.lower()
    if len(expected_md5) != 32 or any(character not in "0123456789abcdef" for character in expected_md5):
        raise ValueError(f"md5 must be 32 hexadecimal digits, got {md5!r}")

    if destination.is_file():
        existing_md5 = file_md5(destination)
        if existing_md5 == expected_md5:
            logger.info("%s is already present with the expected MD5, so it is not downloaded again", destination)
            return destination
        logger.warning("%s has MD5 %s instead of %s; downloading it again", destination, existing_md5, expected_md5)

    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    logger.info("Downloading %s to %s", url, destination)
    try:
        received, actual_md5 = _stream_to_file(url, partial, destination, progress, timeout)
    except BaseException:
        # Also on KeyboardInterrupt: a half-written .part file must not stay behind.
        partial.unlink(missing_ok=True)
        raise

    if actual_md5 != expected_md5:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"download of {destination.name} from {url} has MD5 {actual_md5} ({received} bytes), expected {expected_md5}, "
            f"so the file was removed. Retry later, or download it by hand to {destination} and check its MD5"
        )
    os.replace(partial, destination)
    logger.info("Downloaded %s (%d bytes, MD5 verified)", destination, received)
    return destination


def _stream_to_file(
    url: str, partial: Path, destination: Path, progress: DownloadProgress | None, timeout: float
) -> tuple[int, str]:
    failed = f"download of {destination.name} from {url} failed"
    retry_hint = f"Check the network connection and retry, or download the file by hand to {destination}"
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    total: int | None = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, partial.open("wb") as file:
            length_header = response.headers.get("Content-Length")
            total = int(length_header) if length_header and length_header.isdigit() else None
            if progress is not None:
                progress(0, total)
            while chunk := response.read(CHUNK_SIZE):
                file.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
            file.flush()
            os.fsync(file.fileno())
    except urllib.error.HTTPError as error:
        # The server responded, so the network works: the URL (or the mirror) lacks the file.
        raise DownloadError(
            f"{failed}: HTTP {error.code} {error.reason}. Check that the server has the file at that URL, "
            f"or download it by hand to {destination}"
        ) from error
    except urllib.error.URLError as error:
        raise DownloadError(f"{failed}: {error.reason}. {retry_hint}") from error
    except (http.client.HTTPException, OSError) as error:
        # OSError includes timeouts and connection resets. The caller removes the partial file.
        raise DownloadError(f"{failed} after {received} bytes: {error or type(error).__name__}. {retry_hint}") from error

    # http.client returns an empty chunk, not an error, when the server closes the
    # connection early, so the byte count is the only sign of a cut connection.
    if total is not None and received != total:
        raise DownloadError(
            f"download of {destination.name} from {url} is incomplete: received {received} of {total} bytes "
            f"before the connection closed. {retry_hint}"
        )
    return received, digest.hexdigest()


def extract_archive(archive: str | os.PathLike[str], destination: str | os.PathLike[str]) -> list[Path]:
    """Extract a .tar, .tar.gz, .tgz or .zip archive into ``destination``.

    Members are first extracted into a temporary folder inside ``destination``, then
    each top-level entry is moved into place, replacing an entry of the same name. A
    failed extraction therefore leaves no half-written tree under the final names.
    Tar archives use tarfile's "data" filter, which rejects absolute paths, ``..``,
    links that point outside the destination and device files. Zip members with an
    absolute path or a ``..`` component are rejected.

    Args:
        archive: The archive file. Its format is chosen by its name's suffix.
        destination: The folder to extract into. It is created if needed.

    Returns:
        The top-level paths created in ``destination``.

    Raises:
        ValueError: If the suffix is not a supported archive type.
        DatasetFormatError: If the archive is corrupt or a member would be written
            outside ``destination``.
    """
    archive = Path(archive)
    destination = Path(destination)
    name = archive.name.lower()
    if not name.endswith(TAR_SUFFIXES + ZIP_SUFFIXES):
        raise ValueError(f"cannot extract {archive}: supported archive types are {', '.join(TAR_SUFFIXES + ZIP_SUFFIXES)}")

    destination.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".extract-{archive.name}-", dir=destination))
    try:
        logger.info("Extracting %s into %s", archive, destination)
        if name.endswith(ZIP_SUFFIXES):
            _extract_zip(archive, staging)
        else:
            _extract_tar(archive, staging)
        created = []
        for entry in sorted(staging.iterdir()):
            target = destination / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
            created.append(target)
        return created
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract_tar(archive: Path, staging: Path) -> None:
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            # The data filter would strip a leading "/" and extract the member anyway, so reject it first.
            for member in members:
                _check_member_path(archive, member.name)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(staging, members=members, filter="data")
            else:
                # NOTE: Python versions without extraction filters (before 3.10.12 and 3.11.4)
                # get this stricter check instead: regular files and folders only.
                for member in members:
                    if not (member.isfile() or member.isdir()):
                        raise DatasetFormatError(
                            f"{archive} member {member.name!r} is a link or device; only files and folders are extracted"
                        )
                tar.extractall(staging, members=members)
    except TAR_FILTER_ERRORS as error:
        raise DatasetFormatError(f"{archive} has a member that would be extracted unsafely: {error}") from error
    except (tarfile.TarError, EOFError, OSError) as error:
        # gzip reports a truncated stream as EOFError and a corrupt one as OSError.
        raise DatasetFormatError(f"{archive} is not a readable tar archive: {error}") from error


def _extract_zip(archive: Path, staging: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zip_file:
            members = zip_file.infolist()
            for member in members:
                _check_member_path(archive, member.filename)
            zip_file.extractall(staging, members=members)
    except (zipfile.BadZipFile, EOFError) as error:
        raise DatasetFormatError(f"{archive} is not a readable zip archive: {error}") from error


def _check_member_path(archive: Path, member_name: str) -> None:
    normalized = member_name.replace("\\", "/")
    path = PurePosixPath(normalized)
    # A drive letter such as "C:" makes a Windows path absolute.
    if path.is_absolute() or ".." in path.parts or (len(normalized) > 1 and normalized[1] == ":"):
        raise DatasetFormatError(f"{archive} member {member_name!r} would be written outside the destination folder")
