"""Task runs end to end: meta-train then transfer, metrics.json, resume and the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from mlrsnet.cli import main
from mlrsnet.core import load_schedule
from mlrsnet.runs.methods import MethodSpec
from mlrsnet.runs.task_run import ResumeError, RunConfig, run_task

QUICK_MNIST = {"epochs": 2, "train_limit": 1000, "test_limit": 500, "t_val": 2}
QUICK_PTB = {"epochs": 2, "train_limit": 3000, "test_limit": 2000}


class Interrupt(KeyboardInterrupt):
    """Stands in for a Ctrl-C after an epoch."""


def _interrupt_after(epoch_to_stop: int):
    def on_epoch(epoch, record):
        if epoch == epoch_to_stop:
            raise Interrupt

    return on_epoch


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_meta_train_mnist_then_transfer_to_ptb(tmp_path, shared_data_dir):
    meta_dir = tmp_path / "meta"
    meta_config = RunConfig("mnist-cnn", MethodSpec(meta_train=True), data_dir=str(shared_data_dir), overrides=QUICK_MNIST)
    meta = run_task(meta_config, meta_dir)

    schedule = load_schedule(meta.files["schedule"])
    assert schedule.num_snapshots == 3
    assert schedule.meta_trained_on["task"] == "mnist-cnn"
    metrics = _metrics(meta_dir)
    steps = meta.prepared.total_steps
    assert metrics["status"] == "finished"
    assert metrics["metric"] == "accuracy"
    assert len(metrics["lr_per_step"]) == len(metrics["loss_per_step"]) == steps == 2 * 8
    assert [epoch["epoch"] for epoch in metrics["epochs"]] == [0, 1]
    assert [epoch["lr"] for epoch in metrics["epochs"]] == [metrics["lr_per_step"][7], metrics["lr_per_step"][15]]
    # 16 steps: above chance (10%), and the training loss falls.
    assert 0.15 < metrics["final"]["test_metric"] <= 1.0
    assert metrics["epochs"][1]["train_loss"] < metrics["epochs"][0]["train_loss"]
    assert metrics["wall_time_s"] > 0
    assert metrics["config"]["budget"]["t_val"] == 2
    assert metrics["config"]["run"]["method"]["meta_train"] is True
    assert not (meta_dir / "checkpoint.pt").exists()

    ptb_dir = tmp_path / "ptb"
    ptb_config = RunConfig(
        "ptb-lstm2", MethodSpec(schedule=meta.files["schedule"]), data_dir=str(shared_data_dir), overrides=QUICK_PTB
    )
    transfer = run_task(ptb_config, ptb_dir)
    metrics = _metrics(ptb_dir)
    assert metrics["metric"] == "perplexity"
    vocab_size = transfer.prepared.num_classes
    # Two epochs of a fresh LSTM: better than uniform guessing, worse than a trained model.
    assert 50 < metrics["final"]["test_metric"] < vocab_size
    assert metrics["final"]["test_metric"] == pytest.approx(math.exp(metrics["epochs"][-1]["test_loss"]))
    lrs = metrics["lr_per_step"]
    assert len(lrs) == transfer.prepared.total_steps
    # The language-model gamma (from the perplexity, C = V) puts the LR near the released LM scale.
    assert 1.0 < lrs[0] < 60.0
    assert len(set(lrs)) > 1

    # The tied embedding and decoder weights are stored once and load back into a fresh model.
    from safetensors.torch import load_model

    fresh = transfer.prepared.build_model()
    load_model(fresh, str(transfer.files["model"]))
    assert fresh.decoder.weight is fresh.embedding.weight


def test_meta_train_ptb_then_transfer_to_mnist(tmp_path, shared_data_dir):
    ptb_config = RunConfig(
        "ptb-lstm2", MethodSpec(meta_train=True), data_dir=str(shared_data_dir), overrides={**QUICK_PTB, "t_val": 2}
    )
    meta = run_task(ptb_config, tmp_path / "ptb")
    schedule = load_schedule(meta.files["schedule"])
    assert schedule.meta_trained_on["task"] == "ptb-lstm2"
    assert schedule.meta_trained_on["gamma_from_perplexity"] is True
    # The net read loss / ln(V) while meta-training, and the file keeps that scale.
    assert schedule.input_scale == pytest.approx(math.log(meta.prepared.num_classes))

    mnist_config = RunConfig(
        "mnist-cnn", MethodSpec(schedule=meta.files["schedule"]), data_dir=str(shared_data_dir), overrides=QUICK_MNIST
    )
    transfer = run_task(mnist_config, tmp_path / "mnist")
    metrics = _metrics(tmp_path / "mnist")
    assert metrics["status"] == "finished"
    assert metrics["config"]["schedule_settings"] == {"num_classes": 10}
    assert 0.15 < metrics["final"]["test_metric"] <= 1.0
    assert len(metrics["lr_per_step"]) == transfer.prepared.total_steps


@pytest.mark.parametrize(
    ("task", "method", "overrides"),
    [
        ("digits-mlp", MethodSpec(meta_train=True), {"epochs": 3, "t_val": 3}),
        ("digits-cnn", MethodSpec(baseline="sgdr"), {"epochs": 3}),
        ("ptb-lstm2", MethodSpec(baseline="fixed"), {"epochs": 3, "train_limit": 2000, "test_limit": 1000}),
    ],
)
def test_resume_matches_uninterrupted_run(tmp_path, shared_data_dir, task, method, overrides):
    config = RunConfig(task, method, data_dir=str(shared_data_dir), overrides=overrides)
    whole = run_task(config, tmp_path / "whole")

    with pytest.raises(Interrupt):
        run_task(config, tmp_path / "cut", on_epoch=_interrupt_after(1))
    assert _metrics(tmp_path / "cut")["status"] == "interrupted"
    assert (tmp_path / "cut" / "checkpoint.pt").exists()
    resumed = run_task(config, tmp_path / "cut", resume=True)

    # The interrupt came before the checkpoint of epoch 1, so the run restarts at epoch 1.
    assert resumed.resumed_from_epoch == 1
    assert resumed.result.lr_per_step == whole.result.lr_per_step
    assert resumed.result.loss_per_step == whole.result.loss_per_step
    assert resumed.result.test_metric == whole.result.test_metric
    if method.meta_train:
        whole_schedule = load_schedule(whole.files["schedule"])
        resumed_schedule = load_schedule(resumed.files["schedule"])
        for a, b in zip(whole_schedule.snapshots, resumed_schedule.snapshots):
            assert all(torch.equal(a[name], b[name]) for name in a)


def test_finished_run_is_never_rerun(tmp_path):
    config = RunConfig("digits-mlp", MethodSpec(baseline="fixed"), overrides={"epochs": 1})
    run_task(config, tmp_path)
    for resume in (False, True):
        with pytest.raises(ResumeError, match="already finished; choose another output folder"):
            run_task(config, tmp_path, resume=resume)


def test_unfinished_run_needs_resume_and_same_config(tmp_path):
    config = RunConfig("digits-mlp", MethodSpec(baseline="fixed"), overrides={"epochs": 3})
    with pytest.raises(Interrupt):
        run_task(config, tmp_path, on_epoch=_interrupt_after(1))
    with pytest.raises(ResumeError, match="unfinished run. Resume it"):
        run_task(config, tmp_path)
    other = RunConfig("digits-mlp", MethodSpec(baseline="adam"), overrides={"epochs": 3})
    with pytest.raises(ResumeError, match="another config .*method: saved .*'fixed'.*now .*'adam'"):
        run_task(other, tmp_path, resume=True)


def test_resume_needs_an_existing_run(tmp_path):
    config = RunConfig("digits-mlp", MethodSpec(baseline="fixed"), overrides={"epochs": 1})
    with pytest.raises(ResumeError, match="contains no run to resume"):
        run_task(config, tmp_path / "typo", resume=True)
    assert not (tmp_path / "typo").exists()


def test_corrupt_checkpoint_is_reported(tmp_path):
    config = RunConfig("digits-mlp", MethodSpec(baseline="fixed"), overrides={"epochs": 3})
    with pytest.raises(Interrupt):
        run_task(config, tmp_path, on_epoch=_interrupt_after(1))
    checkpoint = tmp_path / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    with pytest.raises(ResumeError, match="checkpoint.pt is unreadable"):
        run_task(config, tmp_path, resume=True)


def test_diverged_baseline_is_recorded(tmp_path):
    config = RunConfig("digits-mlp", MethodSpec(baseline="fixed"), overrides={"epochs": 2, "lr": 1e6})
    outcome = run_task(config, tmp_path)
    metrics = _metrics(tmp_path)
    assert outcome.result.diverged
    assert metrics["status"] == "diverged"
    assert metrics["final"]["diverged"] is True
    assert "model" not in metrics["files"]


def test_cli_meta_train_then_train(tmp_path, shared_data_dir, capsys):
    schedule_dir = tmp_path / "schedule"
    code = main(
        ["meta-train", "--task", "mnist-cnn", "--data-dir", str(shared_data_dir), "--out", str(schedule_dir),
         "--epochs", "1", "--set", "train_limit=600", "--set", "test_limit=300", "--t-val", "2", "--no-progress"]
    )
    assert code == 0
    assert "mnist-cnn with mlrsnet-meta-train: finished after 1 epoch," in capsys.readouterr().out

    code = main(
        ["train", "--task", "ptb-lstm2", "--schedule", str(schedule_dir / "schedule.safetensors"),
         "--data-dir", str(shared_data_dir), "--out", str(tmp_path / "ptb"), "--epochs", "1",
         "--set", "train_limit=2000", "--set", "test_limit=1000", "--no-progress"]
    )
    assert code == 0
    output = capsys.readouterr().out
    assert "ptb-lstm2 with mlrsnet: finished after 1 epoch, test perplexity" in output
    assert _metrics(tmp_path / "ptb")["config"]["run"]["overrides"] == {"train_limit": 2000, "test_limit": 1000, "epochs": 1}


def test_cli_diverged_meta_training_exits_1(tmp_path, capsys):
    code = main(["meta-train", "--task", "digits-mlp", "--epochs", "2", "--set", "weight_decay=1e4",
                 "--out", str(tmp_path), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1, captured.out
    assert "meta-training diverged" in captured.err
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "diverged"
    assert not (tmp_path / "schedule.safetensors").exists()


def test_cli_diverged_train_exits_1(tmp_path, capsys):
    code = main(["train", "--task", "digits-mlp", "--baseline", "fixed", "--set", "lr=1e6", "--out", str(tmp_path), "--no-progress"])
    output = capsys.readouterr().out
    assert code == 1
    assert "diverged at step" in output
    assert "no evaluated epoch" in output
    assert _metrics(tmp_path)["status"] == "diverged"


def test_cli_download_task_fetches_only_its_files(tmp_path, shared_data_dir, capsys):
    assert main(["download", "digits-cnn", "--data-dir", str(tmp_path)]) == 0
    assert "needs no download" in capsys.readouterr().out
    assert main(["download", "ptb-lstm2", "--data-dir", str(shared_data_dir)]) == 0
    assert "already present" in capsys.readouterr().out


def test_cli_resume_with_schedule_path_spelled_differently(tmp_path, monkeypatch):
    meta = run_task(RunConfig("digits-mlp", MethodSpec(meta_train=True), overrides={"epochs": 1}), tmp_path / "meta")
    monkeypatch.chdir(tmp_path)
    arguments = ["train", "--task", "digits-cnn", "--epochs", "3", "--out", "transfer", "--no-progress"]
    relative = ["--schedule", "meta/schedule.safetensors"]

    original = run_task

    def interrupted_run(*args, **kwargs):
        # Stands in for a Ctrl-C after the second epoch.
        kwargs["on_epoch"] = _interrupt_after(1)
        return original(*args, **kwargs)

    import mlrsnet.cli_tasks

    monkeypatch.setattr(mlrsnet.cli_tasks, "run_task", interrupted_run)
    assert main([*arguments, *relative]) == 130
    monkeypatch.setattr(mlrsnet.cli_tasks, "run_task", original)
    assert main([*arguments, "--schedule", str(meta.files["schedule"]), "--resume"]) == 0
    assert _metrics(tmp_path / "transfer")["status"] == "finished"


def test_cli_import_official_keeps_existing_file(tmp_path, official_files, capsys):
    output = tmp_path / "official.safetensors"
    output.write_bytes(b"keep me")
    assert main(["import-official", *map(str, official_files), "-o", str(output)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert output.read_bytes() == b"keep me"
    assert main(["import-official", *map(str, official_files), "-o", str(output), "--force"]) == 0
    assert output.read_bytes() != b"keep me"


def test_cli_gamma_fixes_the_scale(tmp_path):
    code = main(["meta-train", "--task", "digits-mlp", "--epochs", "1", "--gamma", "0.05", "--out", str(tmp_path / "meta"), "--no-progress"])
    assert code == 0
    metrics = _metrics(tmp_path / "meta")
    assert metrics["method_summary"]["gamma"] == 0.05
    assert max(metrics["lr_per_step"]) < 0.05

    schedule = tmp_path / "meta" / "schedule.safetensors"
    code = main(["train", "--task", "digits-cnn", "--schedule", str(schedule), "--epochs", "1", "--gamma", "0.02",
                 "--out", str(tmp_path / "transfer"), "--no-progress"])
    assert code == 0
    summary = _metrics(tmp_path / "transfer")["method_summary"]
    assert summary["gamma"] == 0.02
    assert summary["schedule_meta_trained_on"]["task"] == "digits-mlp"
    assert len(summary["schedule_fingerprint"]) == 64


def test_cli_budgets_print_one_json_document(capsys):
    assert main(["tasks", "--budgets"]) == 0
    budgets = json.loads(capsys.readouterr().out)
    assert budgets["mnist-cnn"]["cpu"]["t_val"] == 4
    assert budgets["ptb-lstm2"]["paper"]["max_grad_norm"] == 0.25


def test_cli_tasks_lists_status(tmp_path, shared_data_dir, capsys):
    assert main(["tasks", "--data-dir", str(shared_data_dir)]) == 0
    output = capsys.readouterr().out
    line = next(line for line in output.splitlines() if line.startswith("mnist-cnn "))
    assert "cpu: present" in line
    assert "paper: missing (mlrsnet download mnist-cnn --budget paper)" in line

    assert main(["tasks", "--data-dir", str(tmp_path)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("ptb-lstm2 "))
    assert "cpu: missing (mlrsnet download ptb-lstm2)" in line


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["train", "--task", "mnist-cnn"], "one of the arguments --schedule --baseline is required"),
        (["train", "--task", "mnist-cnn", "--baseline", "sgd"], "unknown baseline 'sgd'"),
        (["train", "--task", "nope", "--baseline", "fixed"], "unknown task 'nope'"),
        (["train", "--task", "digits-mlp", "--schedule", "missing.safetensors"], "--schedule missing.safetensors: file not found"),
        (["train", "--task", "digits-mlp", "--baseline", "fixed", "--corruption", "fog"], "--corruption and --severity go together"),
        (["train", "--task", "digits-mlp", "--baseline", "fixed", "--set", "epochs"], "expected FIELD=VALUE"),
        (["train", "--task", "digits-mlp", "--baseline", "fixed", "--set", "epoch=2"], "unknown budget field(s) epoch"),
        (["meta-train", "--task", "digits-mlp", "--budget", "gpu"], "invalid choice: 'gpu'"),
        (["download", "imagenet"], "unknown dataset or task 'imagenet'"),
        (["download", "mnist", "--mirror", "notaurl"], "expected an http://, https:// or file:// URL"),
        (["train", "--task", "digits-mlp", "--baseline", "fixed", "--gamma", "0.1"], "--gamma sets the schedule net's LR scale"),
        (["train", "--task", "digits-mlp", "--schedule", "."], "--schedule . is a folder"),
        (["train", "--task", "digits-mlp", "--baseline", "fixed", "--set", 'model_options={"bogus": 1}'], "invalid model_options"),
        (["train", "--task", "digits-cnn", "--baseline", "fixed", "--set", "batch_size=64.5"], "batch_size must be an integer"),
        (["train", "--task", "digits-cnn", "--baseline", "fixed", "--set", "train_limit=100.0"], "train_limit must be an integer"),
        (["train", "--task", "digits-cnn", "--baseline", "fixed", "--set", 'lr="a"'], "lr must be a positive finite number"),
        (["train", "--task", "digits-cnn", "--baseline", "fixed", "--set", "model_options=[1]"], "model_options must be a JSON object"),
        (["train", "--task", "digits-cnn", "--baseline", "fixed", "--set", 'split="x"'], "split must be one of standard, offline"),
        (["train", "--task", "digits-cnn", "--baseline", "fixed", "--set", 'split="offline"'], "digits has one fixed split"),
        (["train", "--task", "digits-mlp", "--baseline", "fixed", "--device", "gpu0"], "--device gpu0: invalid torch device"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path, arguments, expected):
    completed = subprocess.run(
        [sys.executable, "-m", "mlrsnet", *arguments, *(["--out", str(tmp_path / "run")] if arguments[0] != "download" else [])],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert expected in lines[0]
    assert not (tmp_path / "run").exists()
