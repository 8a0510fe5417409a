"""Paper-scale tasks on small files in each dataset's real format, and downloads through the CLI.

The full datasets are not available offline, so these tests write a few hundred images
per split in the official layouts and check that every task reads, splits, builds and
trains on them.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading

import pytest
import torch

from data_fixtures import write_cifar, write_cifar_c, write_ptb, write_svhn, write_tinyimagenet
from mlrsnet.cli import main
from mlrsnet.runs.methods import MethodSpec
from mlrsnet.runs.task_run import RunConfig, run_task
from mlrsnet.tasks.prepare import prepare_task

QUICK = {"epochs": 1, "train_limit": 120, "test_limit": 60, "batch_size": 40, "meta_batch_size": 40, "t_val": 1}
IMAGE_TASKS = {
    "cifar10-resnet18": "cifar10",
    "cifar100-wrn28-10": "cifar100",
    "cifar10-shufflenetv2": "cifar10",
    "cifar10-mobilenetv2": "cifar10",
    "svhn-resnet18": "svhn",
    "tinyimagenet-resnet18": "tinyimagenet",
}
PTB_LINES = [
    "the cat sat on the mat",
    "a dog ran in the park",
    "the market fell N points",
    "investors sold shares of the company",
] * 60


def _write_dataset(data_dir, dataset):
    folder = data_dir / dataset
    if dataset == "cifar10":
        write_cifar(folder, 10, images_per_file=230)
    elif dataset == "cifar100":
        write_cifar(folder, 100, images_per_file=1150)
    elif dataset == "svhn":
        write_svhn(folder, "train", 1150)
        write_svhn(folder, "test", 80)
    else:
        write_tinyimagenet(folder, ["n01", "n02", "n03"], train_per_class=390, val_images=60)


@pytest.fixture(scope="module")
def image_data_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    for dataset in ("cifar10", "cifar100", "svhn", "tinyimagenet"):
        _write_dataset(data_dir, dataset)
    return data_dir


@pytest.mark.parametrize("task", sorted(IMAGE_TASKS))
def test_paper_task_meta_trains_on_fixture_files(tmp_path, image_data_dir, task):
    config = RunConfig(task, MethodSpec(meta_train=True), data_dir=str(image_data_dir), overrides=QUICK)
    outcome = run_task(config, tmp_path / "run")
    info = outcome.prepared.data_info
    assert info["meta_size"] == 1000
    assert info["train_size"] == 120
    assert info["test_size"] == 60
    expected_side = 64 if task.startswith("tinyimagenet") else 32
    assert info["input_shape"] == [3, expected_side, expected_side]
    assert not outcome.result.diverged
    assert (tmp_path / "run" / "schedule.safetensors").exists()


@pytest.mark.parametrize(("task", "flips"), [("cifar10-resnet18", True), ("svhn-resnet18", False)])
def test_paper_budget_augments_training_batches(image_data_dir, task, flips):
    prepared = prepare_task(task, "paper", data_dir=image_data_dir, overrides={"train_limit": 64})
    assert prepared.budget.augment
    assert prepared.train_loader.flip is flips
    images, _ = next(iter(prepared.train_loader))
    assert images.shape[1:] == (3, 32, 32)
    assert prepared.budget.epochs == 200


def test_cifar10_c_files_replace_the_test_split(tmp_path, image_data_dir):
    data_dir = tmp_path / "data"
    shutil.copytree(image_data_dir / "cifar10", data_dir / "cifar10")
    write_cifar_c(data_dir / "cifar10c", 10, ["fog"], per_severity=50)
    prepared = prepare_task("cifar10-resnet18", "cpu", data_dir=data_dir, corruption="fog", severity=2, overrides=QUICK)
    assert prepared.data_info["corruption"]["test"] == "CIFAR10-C files"
    # QUICK limits the test split to 60 images, and the fog file has 50 per severity.
    assert len(prepared.test_loader.labels) == 50


def test_too_small_training_set_is_rejected(tmp_path):
    write_svhn(tmp_path / "svhn", "train", 1000)
    write_svhn(tmp_path / "svhn", "test", 10)
    with pytest.raises(ValueError, match="has 1000 images, but 1000 are held out"):
        prepare_task("svhn-resnet18", "cpu", data_dir=tmp_path)


def test_ptb_paper_task_uses_train_text(tmp_path):
    folder = tmp_path / "ptb"
    for split in ("train", "valid", "test"):
        write_ptb(folder, split, PTB_LINES, prefixed=split == "train")
    config = RunConfig(
        "ptb-lstm2-paper",
        MethodSpec(baseline="fixed"),
        data_dir=str(tmp_path),
        overrides={"epochs": 1, "batch_size": 4, "meta_batch_size": 4, "eval_batch_size": 4},
    )
    outcome = run_task(config, tmp_path / "run")
    info = outcome.prepared.data_info
    assert info["source"] == "train.txt, meta-data valid.txt, test.txt"
    assert info["train_tokens"] == len(PTB_LINES) * 7 - 60
    assert outcome.prepared.describe_model() == "lstm(num_layers=2, size=200)"
    assert outcome.result.test_metric[0] > 1


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class names it so
        pass


@pytest.fixture
def mirror(tmp_path, shared_data_dir):
    """A local HTTP server on 127.0.0.1 that serves the real MNIST test files by their official names."""
    served = tmp_path / "served"
    served.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(shared_data_dir / "mnist" / name, served / name)
    (served / "t10k-labels-idx1-ubyte.gz.bad").write_bytes(b"not the labels")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", served
    server.shutdown()
    thread.join()


def test_cli_train_downloads_only_needed_files(tmp_path, mirror, capsys):
    url, _ = mirror
    data_dir = tmp_path / "data"
    arguments = ["train", "--task", "mnist-cnn", "--baseline", "fixed", "--data-dir", str(data_dir), "--epochs", "1",
                 "--set", "train_limit=500", "--no-progress", "--out", str(tmp_path / "run")]
    assert main([*arguments, "--download", "--mirror", url]) == 0
    assert sorted(path.name for path in (data_dir / "mnist").iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "finished"
    assert "test accuracy" in capsys.readouterr().out


def test_cli_download_task_uses_mirror(tmp_path, mirror, capsys):
    url, _ = mirror
    data_dir = tmp_path / "data"
    assert main(["download", "mnist-cnn", "--data-dir", str(data_dir), "--mirror", url]) == 0
    assert sorted(path.name for path in (data_dir / "mnist").iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert "downloaded into" in capsys.readouterr().out


def test_cli_download_bad_checksum_leaves_nothing(tmp_path, mirror, capsys):
    url, served = mirror
    # The mirror now serves a corrupt labels file under the real name.
    (served / "t10k-labels-idx1-ubyte.gz").write_bytes(b"corrupt")
    data_dir = tmp_path / "data"
    code = main(["train", "--task", "mnist-cnn", "--baseline", "fixed", "--data-dir", str(data_dir), "--download",
                 "--mirror", url, "--no-progress", "--out", str(tmp_path / "run")])
    assert code == 1
    error = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte.gz" in error
    assert "md5" in error.lower()
    assert not (data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((data_dir / "mnist").glob("*.part"))
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_cli_mirror_needs_download(tmp_path, capsys):
    code = main(["train", "--task", "mnist-cnn", "--baseline", "fixed", "--mirror", "http://127.0.0.1:9/"])
    assert code == 2
    assert "--mirror needs --download" in capsys.readouterr().err


def test_model_builds_on_every_device_it_may_run(image_data_dir):
    prepared = prepare_task("cifar10-resnet18", "cpu", data_dir=image_data_dir, overrides=QUICK)
    model = prepared.build_model()
    assert sum(parameter.numel() for parameter in model.parameters()) < 1_000_000
    images, _ = next(iter(prepared.train_loader))
    assert model(images).shape == (len(images), 10)
    if torch.cuda.is_available():
        assert model.cuda()(images.cuda()).shape == (len(images), 10)
