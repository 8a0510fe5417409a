"""The command line: import-official, info, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlrsnet import load_schedule
from mlrsnet.cli import main


def test_import_official_writes_loadable_schedule(official_files, tmp_path, capsys):
    output = tmp_path / "official.safetensors"
    assert main(["import-official", *map(str, official_files), "-o", str(output)]) == 0
    assert "3 snapshots" in capsys.readouterr().out
    schedule = load_schedule(output)
    assert schedule.meta_trained_on["files"] == ["mlr_snet 1.pth", "mlr_snet 100.pth", "mlr_snet 200.pth"]


def test_info_prints_metadata(official_files, tmp_path, capsys):
    output = tmp_path / "official.safetensors"
    main(["import-official", *map(str, official_files), "-o", str(output)])
    capsys.readouterr()
    assert main(["info", str(output)]) == 0
    metadata = json.loads(capsys.readouterr().out)
    assert metadata["architecture"]["hidden_size"] == 50
    assert metadata["meta_trained_on"]["dataset"] == "CIFAR-10"


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the following arguments are required: COMMAND"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["demo", "--epochs", "0"], "expected a positive integer, got '0'"),
        (["demo", "--seeds", "many"], "expected a positive integer, got 'many'"),
        (["demo", "--bogus-flag"], "unrecognized arguments: --bogus-flag"),
        (["demo", "--sgd-lr", "nan"], "expected a positive number, got 'nan'"),
        (["demo", "--sgd-lr", "-0.1"], "expected a positive number, got '-0.1'"),
        (["import-official", "missing.pth", "-o", "x.safetensors"], "checkpoint not found: missing.pth"),
        (["import-official", "a.pth"], "the following arguments are required: -o/--output"),
        (["info", "absent.safetensors"], "schedule file not found: absent.safetensors"),
        (["info", "."], "is a folder; pass the path of a schedule file"),
        (["import-official", "a.pth", "-o", "out.pth"], "name the output *.safetensors"),
        (["import-official", "a.pth", "-o", "."], "-o . is a folder"),
        (["demo", "--out", "/proc/mlrsnet-demo"], "cannot create the folder"),
    ],
)
def test_misuse_exits_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("mlrsnet: error: ")
    assert message in lines[0]


def test_corrupt_schedule_file_is_usage_error(tmp_path, capsys):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x00" * 40)
    assert main(["info", str(path)]) == 2
    error = capsys.readouterr().err
    assert "broken.safetensors" in error
    assert len(error.strip().splitlines()) == 1


def test_demo_output_path_that_is_a_file(tmp_path, capsys):
    existing_file = tmp_path / "file"
    existing_file.write_text("x")
    assert main(["demo", "--quick", "--out", str(existing_file)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_module_entry_point_runs():
    completed = subprocess.run([sys.executable, "-m", "mlrsnet", "--version"], capture_output=True, text=True,
                               check=False)
    assert completed.returncode == 0
    assert completed.stdout.startswith("mlrsnet ")
    completed = subprocess.run([sys.executable, "-m", "mlrsnet", "info"], capture_output=True, text=True, check=False)
    assert completed.returncode == 2
    assert len(completed.stderr.strip().splitlines()) == 1


def test_core_import_loads_no_tasks_experiments_or_plotting():
    code = (
        "import sys, mlrsnet\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'matplotlib')"
        " or m.startswith(('mlrsnet.data', 'mlrsnet.models', 'mlrsnet.baselines', 'mlrsnet.experiments',"
        " 'mlrsnet.runs', 'mlrsnet.tasks', 'mlrsnet.cli'))]\n"
        "print(','.join(heavy))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == ""


def test_demo_help_shows_config_defaults(capsys):
    from mlrsnet.experiments import DemoConfig

    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    defaults = DemoConfig()
    assert f"(default: {len(defaults.seeds)})" in help_text
    assert f"compared run (default: {defaults.epochs})" in help_text
    assert f"meta-training run (default: {defaults.meta_epochs})" in help_text
    assert f"look-aheads (default: {defaults.t_val})" in help_text
    assert f"threads (default: {defaults.threads})" in help_text
    assert f"SGD baselines (default: {defaults.sgd_lr})" in help_text


def test_demo_quick_writes_outputs(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--seeds", "2", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "±" in printed
    for name in ["results.json", "results.csv", "summary.csv", "schedule.safetensors", "lr.png",
                 "train_loss.png", "test_accuracy.png"]:
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "results.json").read_text())["config"]["seeds"] == [0, 1]


def test_import_official_rejects_text_file_clearly(official_files, tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("# not a checkpoint\n")
    assert main(["import-official", str(official_files[0]), str(text), "-o", str(tmp_path / "x.safetensors")]) == 2
    error = capsys.readouterr().err
    assert "notes.txt: not a released MLR-SNet checkpoint" in error
    assert "weights_only set to False" not in error
    assert len(error.strip().splitlines()) == 1
    assert not (tmp_path / "x.safetensors").exists()


def test_import_official_warns_on_reversed_order(official_files, tmp_path, capsys):
    assert main(["import-official", *map(str, reversed(official_files)), "-o", str(tmp_path / "r.SAFETENSORS")]) == 0
    error = capsys.readouterr().err
    assert error.startswith("mlrsnet: warning: the checkpoints are not in epoch order")
    assert len(error.strip().splitlines()) == 1


def test_import_official_unwritable_output(official_files, capsys):
    assert main(["import-official", str(official_files[0]), "-o", "/proc/mlrsnet/x.safetensors"]) == 2
    error = capsys.readouterr().err
    assert "-o /proc/mlrsnet/x.safetensors: cannot create its folder" in error
    assert len(error.strip().splitlines()) == 1
