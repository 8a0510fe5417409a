"""Every baseline as a task run: it trains, records its LR, resumes exactly, and checks its name."""

from __future__ import annotations

import json
import math

import pytest
import torch

from mlrsnet.baselines import BENCHMARK_BASELINES, GRIDS, baseline_label, parse_baseline
from mlrsnet.cli import main
from mlrsnet.runs.methods import MethodSpec
from mlrsnet.runs.task_run import RunConfig, run_task

DIGITS = {"epochs": 2}
TUNED_VALUES = {"l4": "l4:0.05", "hd": "hd:0.001", "rtho": "rtho:0.001"}


class Interrupt(KeyboardInterrupt):
    """Stands in for a Ctrl-C after an epoch."""


def _stop_after(epoch_to_stop):
    def on_epoch(epoch, record):
        if epoch == epoch_to_stop:
            raise Interrupt

    return on_epoch


def _names():
    return [TUNED_VALUES.get(name, name) for name in BENCHMARK_BASELINES]


@pytest.mark.parametrize("baseline", _names())
def test_every_baseline_trains_and_records_its_lr(tmp_path, baseline):
    config = RunConfig("digits-cnn", MethodSpec(baseline=baseline), overrides=DIGITS)
    outcome = run_task(config, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())

    assert metrics["status"] == "finished"
    assert metrics["method"] == baseline
    assert len(metrics["lr_per_step"]) == outcome.prepared.total_steps
    assert all(lr is not None and math.isfinite(lr) and lr >= 0 for lr in metrics["lr_per_step"])
    # Two epochs on digits lift every method well above the 10% of chance.
    assert metrics["final"]["test_metric"] > 0.3


@pytest.mark.parametrize("baseline", ["l4:0.05", "hd:0.001", "rtho:0.001", "sgd-val", "adam-val",
                                      "schedulefree-sgd", "prodigy", "dadapt-sgd", "sgdm-sgdr"])
def test_baseline_resume_matches_uninterrupted_run(tmp_path, baseline):
    config = RunConfig("digits-cnn", MethodSpec(baseline=baseline), overrides={"epochs": 3})
    whole = run_task(config, tmp_path / "whole")
    with pytest.raises(Interrupt):
        run_task(config, tmp_path / "cut", on_epoch=_stop_after(1))
    resumed = run_task(config, tmp_path / "cut", resume=True)

    assert resumed.resumed_from_epoch == 1
    assert resumed.result.lr_per_step == whole.result.lr_per_step
    assert resumed.result.loss_per_step == whole.result.loss_per_step
    assert resumed.result.test_metric == whole.result.test_metric


def test_language_model_baselines_use_the_language_grid(tmp_path, shared_data_dir):
    overrides = {"epochs": 1, "train_limit": 2000, "test_limit": 1000, "model_options": {"size": 16, "num_layers": 2}}
    config = RunConfig("ptb-lstm2", MethodSpec(baseline="rtho:0.05"), data_dir=str(shared_data_dir), overrides=overrides)
    run_task(config, tmp_path / "rtho")
    metrics = json.loads((tmp_path / "rtho" / "metrics.json").read_text())
    assert metrics["status"] in ("finished", "diverged")
    assert GRIDS["hd"]["language"] == (1.0, 0.5, 0.1, 0.05)

    sgdm = run_task(RunConfig("ptb-lstm2", MethodSpec(baseline="sgdm-fixed"), data_dir=str(shared_data_dir),
                              overrides=overrides), tmp_path / "sgdm")
    # The language budget has no momentum, so SGDM's LR is the budget's divided by 10.
    assert sgdm.result.lr_per_step[0] == pytest.approx(2.0)


def test_schedule_free_saves_its_averaged_weights(tmp_path):
    from safetensors.torch import load_file

    config = RunConfig("digits-mlp", MethodSpec(baseline="schedulefree-sgd"), overrides={"epochs": 2})
    outcome = run_task(config, tmp_path)
    saved = load_file(str(tmp_path / "model.safetensors"))
    model = outcome.prepared.build_model()
    model.load_state_dict(saved)
    loss, accuracy = outcome.prepared.objective.evaluate(model, outcome.prepared.test_loader)
    # The saved weights are the evaluated ones, so they give the recorded test accuracy.
    assert accuracy == pytest.approx(outcome.result.test_metric[-1])


def test_val_strategy_quarters_lr(tmp_path):
    # A tiny LR stalls the validation loss quickly enough to see several cuts in 6 epochs.
    config = RunConfig("digits-mlp", MethodSpec(baseline="adam-val"), overrides={"epochs": 6, "adam_lr": 0.5})
    outcome = run_task(config, tmp_path)
    lrs = sorted(set(outcome.result.lr_per_step), reverse=True)
    assert lrs[0] == pytest.approx(0.5)
    for higher, lower in zip(lrs, lrs[1:]):
        assert lower == pytest.approx(higher / 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hd", "needs its hyper_lr"),
        ("hd:abc", "must be a number"),
        ("l4:-1", "positive finite"),
        ("adam:0.1", "takes no value"),
        ("sgd-cosine", "unknown baseline"),
    ],
)
def test_bad_baseline_names_are_explained(text, message):
    with pytest.raises(ValueError, match=message):
        parse_baseline(text)


def test_cli_rejects_a_baseline_without_its_value(tmp_path, capsys):
    assert main(["train", "--task", "digits-mlp", "--baseline", "l4", "--out", str(tmp_path)]) == 2
    assert "needs its alpha" in capsys.readouterr().err


def test_labels_name_the_tuned_value():
    assert baseline_label("hd:0.0001") == "HD (SGD), hyper_lr=0.0001"
    assert baseline_label("sgdm-multistep") == "SGDM, MultiStep"


def test_rtho_records_a_changing_lr(tmp_path):
    config = RunConfig("digits-mlp", MethodSpec(baseline="rtho:0.001"), overrides={"epochs": 2})
    outcome = run_task(config, tmp_path)
    lrs = torch.tensor(outcome.result.lr_per_step)
    assert lrs[0] == pytest.approx(0.1)
    assert (lrs[1:] != lrs[0]).any()


def test_val_strategy_reads_the_meta_split():
    from mlrsnet.runs.baseline_methods import build_baseline
    from mlrsnet.tasks import prepare_task

    prepared = prepare_task("digits-mlp", "cpu", seed=0, overrides={"epochs": 1})
    model = prepared.build_model()
    method = build_baseline("sgd-val", model, prepared)
    meta_loss, _ = prepared.objective.evaluate(model, prepared.meta_loader)
    test_loss, _ = prepared.objective.evaluate(model, prepared.test_loader)

    assert method.validation_loss() == pytest.approx(meta_loss)
    assert method.validation_loss() != pytest.approx(test_loss)
