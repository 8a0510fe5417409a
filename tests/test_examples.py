"""The example scripts run end to end as a user would run them."""

from __future__ import annotations

import subprocess
import sys

from mlrsnet import load_schedule

from conftest import REPO_ROOT


def _run(*args: str) -> str:
    completed = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_meta_train_then_transfer(tmp_path):
    schedule_path = tmp_path / "digits.safetensors"
    output = _run("examples/meta_train.py", "--out", str(schedule_path), "--epochs", "3", "--t-val", "5")
    assert f"saved {schedule_path}" in output
    assert load_schedule(schedule_path).meta_trained_on["epochs"] == 3

    output = _run("examples/transfer.py", str(schedule_path), "--epochs", "2")
    lines = output.strip().splitlines()
    assert len(lines) == 2
    assert lines[-1].startswith("epoch 2: lr ")
    accuracy = float(lines[-1].rsplit(" ", 1)[1])
    assert 0.0 <= accuracy <= 1.0


def test_language_model_meta_train_then_transfer(ptb_valid_path, tmp_path):
    schedule_path = tmp_path / "lm.safetensors"
    output = _run("examples/language_model.py", str(ptb_valid_path), "--out", str(schedule_path),
                  "--tokens", "8000", "--epochs", "1")
    assert f"saved {schedule_path}" in output
    assert load_schedule(schedule_path).meta_trained_on["gamma_from_perplexity"] is True

    output = _run("examples/language_model.py", str(ptb_valid_path), "--schedule", str(schedule_path),
                  "--tokens", "8000", "--epochs", "2")
    lines = output.strip().splitlines()
    assert len(lines) == 2
    first, last = (float(line.rsplit(" ", 1)[1]) for line in lines)
    assert last < first
