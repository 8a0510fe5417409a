"""Downloads, archive extraction and the dataset catalog against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from data_fixtures import md5_of, write_cifar, write_tar_gz
from mlrsnet.data.catalog import (
    DATASET_SOURCES,
    DatasetSource,
    RemoteFile,
    dataset_folder,
    fetch_dataset,
    missing_files,
    require_dataset,
)
from mlrsnet.data.cifar import load_cifar
from mlrsnet.data.download import DownloadError, download_file, extract_archive
from mlrsnet.data.idx import load_mnist
from mlrsnet.data.paths import DatasetFormatError, DatasetNotFoundError
from mlrsnet.data.ptb import read_ptb_words

TIMEOUT = 10


class FileServer:
    """An HTTP server on 127.0.0.1 that serves byte strings by path and counts requests.

    A path registered with ``cut=True`` responds with a Content-Length larger than the body
    it sends, then closes the connection, as a connection cut mid-file does.
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if self.path in server.cut:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll interval lets shutdown() return quickly at the end of each test.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def add(self, path: str, body: bytes, *, cut: bool = False) -> str:
        self.files[path] = body
        if cut:
            self.cut.add(path)
        return self.url + path


@pytest.fixture
def server() -> Iterator[FileServer]:
    file_server = FileServer()
    file_server.thread.start()
    yield file_server
    file_server.httpd.shutdown()
    file_server.httpd.server_close()


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- download_file ----------------------------------------------------------------------------


def test_download_good_checksum(server, tmp_path):
    body = bytes(range(256)) * 5000
    url = server.add("/files/data.bin", body)
    calls = []
    destination = tmp_path / "sub" / "data.bin"
    result = download_file(
        url, destination, md5_hex(body), progress=lambda done, total: calls.append((done, total)), timeout=TIMEOUT
    )
    assert result == destination
    assert destination.read_bytes() == body
    assert not (tmp_path / "sub" / "data.bin.part").exists()
    assert calls[0] == (0, len(body))
    assert calls[-1] == (len(body), len(body))


def test_download_skips_verified_file(server, tmp_path):
    body = b"already here"
    url = server.add("/a.txt", body)
    destination = tmp_path / "a.txt"
    destination.write_bytes(body)
    download_file(url, destination, md5_hex(body), timeout=TIMEOUT)
    assert server.requests == []

    destination.write_bytes(b"stale content")
    download_file(url, destination, md5_hex(body), timeout=TIMEOUT)
    assert server.requests == ["/a.txt"]
    assert destination.read_bytes() == body


def test_download_bad_checksum(server, tmp_path):
    body = b"corrupted on the server" * 100
    url = server.add("/bad.bin", body)
    expected = "0" * 32
    with pytest.raises(DownloadError) as caught:
        download_file(url, tmp_path / "bad.bin", expected, timeout=TIMEOUT)
    message = str(caught.value)
    assert isinstance(caught.value, OSError)
    assert "bad.bin" in message
    assert url in message
    assert f"has MD5 {md5_hex(body)}" in message
    assert f"expected {expected}" in message
    assert list(tmp_path.iterdir()) == []


def test_download_connection_cut(server, tmp_path):
    body = b"x" * 300_000
    url = server.add("/cut.bin", body, cut=True)
    with pytest.raises(DownloadError, match=rf"cut.bin from {url} is incomplete: received 150000 of 300000 bytes"):
        download_file(url, tmp_path / "cut.bin", md5_hex(body), timeout=TIMEOUT)
    assert list(tmp_path.iterdir()) == []


def test_download_http_error(server, tmp_path):
    url = server.url + "/missing.bin"
    with pytest.raises(DownloadError, match="missing.bin from .* failed: HTTP 404"):
        download_file(url, tmp_path / "missing.bin", "0" * 32, timeout=TIMEOUT)
    assert list(tmp_path.iterdir()) == []


def test_download_rejects_invalid_md5(tmp_path):
    with pytest.raises(ValueError, match="32 hexadecimal digits"):
        download_file("http://127.0.0.1:9/x", tmp_path / "x", "abc")


# --- extract_archive --------------------------------------------------------------------------


def tar_with_member(path: Path, name: str, data: bytes = b"payload") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("member", ["../escape.txt", "/tmp/absolute-escape.txt", "inner/../../escape.txt"])
def test_extract_tar_rejects_escaping_member(tmp_path, member):
    archive = tar_with_member(tmp_path / "evil.tar.gz", member)
    destination = tmp_path / "out"
    with pytest.raises(DatasetFormatError, match="evil.tar.gz"):
        extract_archive(archive, destination)
    assert not (tmp_path / "escape.txt").exists()
    assert list(destination.iterdir()) == []


def test_extract_tar_rejects_outside_symlink(tmp_path):
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("data/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../outside"
        tar.addfile(info)
    with pytest.raises(DatasetFormatError, match="link.tar"):
        extract_archive(archive, tmp_path / "out")


def test_extract_zip_rejects_escaping_member(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("ok.txt", b"fine")
        zip_file.writestr("../escape.txt", b"bad")
    destination = tmp_path / "out"
    with pytest.raises(DatasetFormatError, match=r"evil.zip member '../escape.txt' would be written outside"):
        extract_archive(archive, destination)
    assert not (tmp_path / "escape.txt").exists()
    assert list(destination.iterdir()) == []


def test_extract_zip_and_replace(tmp_path):
    archive = tmp_path / "good.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("top/a.txt", b"new a")
        zip_file.writestr("top/sub/b.txt", b"b")
    destination = tmp_path / "out"
    (destination / "top").mkdir(parents=True)
    (destination / "top" / "stale.txt").write_text("left over from an older copy")
    created = extract_archive(archive, destination)
    assert created == [destination / "top"]
    assert (destination / "top" / "a.txt").read_bytes() == b"new a"
    assert (destination / "top" / "sub" / "b.txt").read_bytes() == b"b"
    assert not (destination / "top" / "stale.txt").exists()
    assert sorted(path.name for path in destination.iterdir()) == ["top"]


def test_extract_truncated_tar_gz(tmp_path):
    random_bytes = np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes()
    archive = tar_with_member(tmp_path / "cut.tgz", "a.bin", random_bytes)
    archive.write_bytes(archive.read_bytes()[:5000])
    destination = tmp_path / "out"
    with pytest.raises(DatasetFormatError, match="cut.tgz is not a readable tar archive"):
        extract_archive(archive, destination)
    assert list(destination.iterdir()) == []


def test_extract_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="supported archive types"):
        extract_archive(tmp_path / "data.rar", tmp_path)


# --- catalog ----------------------------------------------------------------------------------


def test_catalog_entries():
    assert set(DATASET_SOURCES) == {"mnist", "cifar10", "cifar100", "svhn", "tinyimagenet", "ptb", "cifar10c", "cifar100c"}
    for source in DATASET_SOURCES.values():
        for remote in source.files:
            assert len(remote.md5) == 32
            assert int(remote.md5, 16) >= 0
            assert remote.url.startswith(("http://", "https://"))
        # Every required path comes from some download.
        source.files_providing(source.required)
    assert DATASET_SOURCES["mnist"].files[2].md5 == "9fb629c4189551a2d022fa330f9573f3"
    assert DATASET_SOURCES["ptb"].files[1].url.endswith("/ptb.valid.txt")


def test_require_dataset_message(tmp_path):
    with pytest.raises(DatasetNotFoundError) as caught:
        require_dataset("mnist", tmp_path, files=["t10k-images-idx3-ubyte.gz"])
    message = str(caught.value)
    assert message.startswith(f"MNIST not found: {tmp_path / 'mnist'} does not exist")
    assert "t10k-images-idx3-ubyte.gz" in message
    assert "with --download" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz" in message
    assert "--data-dir (or set MLRSNET_DATA)" in message
    assert "contains mnist/" in message


def test_missing_files_accepts_alternatives(tmp_path):
    folder = dataset_folder("ptb", tmp_path)
    folder.mkdir()
    (folder / "ptb.valid.txt").write_text(" a b \n")
    (folder / "test.txt").write_text(" c \n")
    assert missing_files("ptb", tmp_path) == ["train.txt"]
    assert require_dataset("ptb", tmp_path, files=["valid.txt", "test.txt"]) == folder


def test_unknown_dataset_name(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'; expected one of mnist, cifar10"):
        fetch_dataset("imagenet", tmp_path)


def test_fetch_cifar10_archive_end_to_end(server, tmp_path):
    fixture_dir = tmp_path / "fixture"
    expected = write_cifar(fixture_dir, 10, images_per_file=3, seed=7)
    archive = write_tar_gz(tmp_path / "cifar-10-python.tar.gz", fixture_dir, "cifar-10-batches-py")
    server.add("/mirror/cifar-10-python.tar.gz", archive.read_bytes())
    real = DATASET_SOURCES["cifar10"]
    # The real URL and layout, with the fixture archive's checksum.
    remote = RemoteFile(real.files[0].url, real.files[0].filename, md5_of(archive), extract=True, provides=real.required)
    source = DatasetSource(name="CIFAR-10 fixture", folder="cifar10", files=(remote,), required=real.required)

    progress_calls: dict[str, list] = {}

    def progress_factory(filename):
        progress_calls[filename] = []
        return lambda done, total: progress_calls[filename].append((done, total))

    data_dir = tmp_path / "data"
    folder = fetch_dataset(source, data_dir, base_url=server.url + "/mirror/", progress_factory=progress_factory)
    assert folder == data_dir / "cifar10"
    archive_size = archive.stat().st_size
    assert list(progress_calls) == ["cifar-10-python.tar.gz"]
    assert progress_calls["cifar-10-python.tar.gz"][-1] == (archive_size, archive_size)
    assert server.requests == ["/mirror/cifar-10-python.tar.gz"]
    assert not (folder / "cifar-10-python.tar.gz").exists()
    assert sorted(path.name for path in folder.iterdir()) == ["cifar-10-batches-py"]
    images, labels = load_cifar(folder, 10, "test")
    np.testing.assert_array_equal(images, expected["test"][0])
    np.testing.assert_array_equal(labels, expected["test"][1])

    assert fetch_dataset(source, data_dir, base_url=server.url + "/mirror/") == folder
    assert len(server.requests) == 1


def test_fetch_archive_with_wrong_layout(server, tmp_path):
    archive = tar_with_member(tmp_path / "wrong.tar.gz", "other/file.txt")
    server.add("/wrong.tar.gz", archive.read_bytes())
    remote = RemoteFile(
        server.url + "/wrong.tar.gz", "wrong.tar.gz", md5_of(archive), extract=True, provides=("expected/file.txt",)
    )
    source = DatasetSource(name="Wrong", folder="wrong", files=(remote,), required=("expected/file.txt",))
    with pytest.raises(DatasetFormatError, match="wrong.tar.gz was extracted into .* but lacks expected/file.txt"):
        fetch_dataset(source, tmp_path / "data")


def test_fetch_real_sources_from_local_mirror(server, tmp_path, shared_data_dir):
    # Serve the real shared files under their official names, so the catalog's MD5s are checked.
    mnist_names = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    for name in mnist_names:
        server.add(f"/mnist/{name}", (shared_data_dir / "mnist" / name).read_bytes())
    for split in ("valid", "test"):
        server.add(f"/ptb/ptb.{split}.txt", (shared_data_dir / "ptb" / f"{split}.txt").read_bytes())

    data_dir = tmp_path / "data"
    fetch_dataset("mnist", data_dir, base_url=server.url + "/mnist", files=mnist_names)
    fetch_dataset("ptb", data_dir, base_url=server.url + "/ptb", files=["valid.txt", "test.txt"])
    expected_requests = ["/mnist/" + name for name in mnist_names] + ["/ptb/ptb.valid.txt", "/ptb/ptb.test.txt"]
    assert sorted(server.requests) == sorted(expected_requests)
    images, labels = load_mnist(data_dir / "mnist", "test")
    assert images.shape == (10000, 28, 28, 1)
    assert labels[:3].tolist() == [7, 2, 1]
    assert read_ptb_words(data_dir / "ptb", "valid") == read_ptb_words(shared_data_dir / "ptb", "valid")
    assert missing_files("ptb", data_dir) == ["train.txt"]

    # A second fetch of the same files sends no request.
    fetch_dataset("mnist", data_dir, base_url=server.url + "/mnist", files=mnist_names)
    assert len(server.requests) == 4


def test_fetch_rejects_unknown_file(tmp_path):
    with pytest.raises(ValueError, match="SVHN has no download that provides train_32x32.npy"):
        fetch_dataset("svhn", tmp_path, files=["train_32x32.npy"])
