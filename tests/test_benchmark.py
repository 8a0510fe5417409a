"""The benchmark: the quick suite end to end, resume, diverged runs, tables and the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from mlrsnet.cli import main
from mlrsnet.experiments.benchmark import (
    BenchmarkError,
    Suite,
    SuiteTask,
    get_suite,
    method_names,
    plan_runs,
    run_benchmark,
)
from mlrsnet.experiments.benchmark.results import summarize_row
from mlrsnet.experiments.benchmark.tables import task_table

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _cli(*arguments):
    return [sys.executable, "-c", "import sys; from mlrsnet.cli import main; sys.exit(main(sys.argv[1:]))", *arguments]


def _metrics_times(folder):
    return {path: path.stat().st_mtime_ns for path in sorted(folder.rglob("metrics.json"))}


def test_quick_suite_end_to_end(tmp_path, shared_data_dir):
    out = tmp_path / "quick"
    command = _cli("benchmark", "--suite", "quick", "--out", str(out), "--data-dir", str(shared_data_dir),
                   "--jobs", "2", "--no-progress")
    first = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr

    suite = get_suite("quick")
    plan = plan_runs(suite, 3)
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] is True
    assert results["seeds"] == 3
    assert {record["key"] for record in results["runs"]} == {run.key for run in plan}
    assert all(record["status"] in ("finished", "diverged") for record in results["runs"])
    finished = [record for record in results["runs"] if record["status"] == "finished"]
    # Most runs finish; a diverged one would show in the table, not stop the benchmark.
    assert len(finished) > 0.9 * len(plan)
    for record in finished:
        assert len(record["train_loss"]) == len(record["test_metric"]) == record["config"]["budget"]["epochs"]
        assert len(record["lr_per_step"]) == record["config"]["total_steps"]
        assert record["wall_time_s"] > 0

    tables = (out / "tables.md").read_text()
    for entry in suite.tasks:
        assert f"### {entry.task}" in tables
    for label in ("Ours (train)", "Ours (test)", "SGDM, MultiStep", "Adam, Val Strategy", "L4 (SGD), alpha=",
                  "HD (SGD), hyper_lr=", "RTHO (SGD), hyper_lr=", "Schedule-free SGD", "Prodigy",
                  "D-Adaptation SGD"):
        assert label in tables
    # One bold cell per column and task: best epoch and last epoch.
    assert tables.count("**") // 2 >= 2 * len(suite.tasks)
    for entry in suite.tasks:
        for figure in ("train-loss", "test-metric", "lr"):
            assert (out / "figures" / f"{entry.task}-{figure}.png").read_bytes()[:8] == PNG_SIGNATURE

    before = _metrics_times(out / "runs")
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"all {len(plan)} runs in {out} are done" in again.stdout
    assert _metrics_times(out / "runs") == before


def test_interrupted_benchmark_keeps_its_finished_runs(tmp_path, shared_data_dir):
    out = tmp_path / "cut"
    command = _cli("benchmark", "--suite", "quick", "--seeds", "1", "--out", str(out),
                   "--data-dir", str(shared_data_dir), "--no-progress", "--no-figures")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done_lines = []
    for line in process.stdout:
        done_lines.append(line)
        if len(done_lines) == 8:
            process.send_signal(signal.SIGINT)
            break
    process.communicate(timeout=120)
    assert process.returncode == 130
    finished_before = _metrics_times(out / "runs")
    assert len(finished_before) >= 8

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    reran = [line.split(":")[0] for line in resumed.stdout.splitlines() if line.endswith(("finished", "diverged"))]
    finished_keys = {line.split(":")[0] for line in done_lines}
    assert not finished_keys & set(reran)
    after = _metrics_times(out / "runs")
    for path, mtime in finished_before.items():
        status = json.loads(path.read_text())["status"]
        if status in ("finished", "diverged"):
            assert after[path] == mtime
    assert json.loads((out / "results.json").read_text())["complete"] is True


def test_diverged_run_recorded(tmp_path):
    # An LR of 1e6 makes plain SGD diverge at once, but Adam uses adam_lr and trains.
    suite = Suite(
        "diverging",
        "cpu",
        (
            SuiteTask("digits-mlp", "digits-cnn", {"epochs": 2, "lr": 1e6}),
            SuiteTask("digits-cnn", "digits-mlp", {"epochs": 2}),
        ),
        "a test suite",
        baselines=("sgd-fixed", "adam"),
    )
    outcome = run_benchmark(suite, tmp_path / "out", seeds=1, figures=False)

    assert outcome.statuses["digits-mlp/sgd-fixed/seed-0"] == "diverged"
    assert outcome.statuses["digits-mlp/adam/seed-0"] == "finished"
    assert outcome.statuses["digits-cnn/sgd-fixed/seed-0"] == "finished"
    tables = (tmp_path / "out" / "tables.md").read_text()
    assert "| SGD, Fixed | diverged (1 of 1) | diverged (1 of 1) |" in tables


def test_benchmark_rejects_foreign_folder(tmp_path):
    suite = Suite("tiny", "cpu", (SuiteTask("digits-mlp", "digits-cnn", {"epochs": 1}),
                                  SuiteTask("digits-cnn", "digits-mlp", {"epochs": 1})), "t", baselines=("adam",))
    run_benchmark(suite, tmp_path / "out", seeds=1, figures=False)
    other = Suite("tiny", "cpu", (SuiteTask("digits-mlp", "digits-cnn", {"epochs": 2}),
                                  SuiteTask("digits-cnn", "digits-mlp", {"epochs": 1})), "t", baselines=("adam",))
    with pytest.raises(BenchmarkError, match="tasks was"):
        run_benchmark(other, tmp_path / "out", seeds=1, figures=False)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(BenchmarkError, match="not empty"):
        run_benchmark(suite, tmp_path / "busy", seeds=1, figures=False)


def test_more_seeds_reuse_the_first_ones(tmp_path):
    suite = Suite("tiny", "cpu", (SuiteTask("digits-mlp", "digits-cnn", {"epochs": 1}),
                                  SuiteTask("digits-cnn", "digits-mlp", {"epochs": 1})), "t", baselines=("adam",))
    run_benchmark(suite, tmp_path, seeds=1, figures=False)
    outcome = run_benchmark(suite, tmp_path, seeds=2, figures=False)
    assert outcome.reused == 6
    assert outcome.total == 12


def test_plan_covers_every_method():
    cpu = get_suite("cpu")
    image = method_names(cpu, "mnist-cnn")
    language = method_names(cpu, "ptb-lstm2")
    assert image[:2] == ["ours-train", "ours-test"]
    assert [name for name in image if name.startswith("hd:")] == ["hd:0.001", "hd:0.0001", "hd:1e-05", "hd:1e-06",
                                                                    "hd:1e-07"]
    assert [name for name in language if name.startswith("rtho:")] == ["rtho:1", "rtho:0.5", "rtho:0.1", "rtho:0.05"]
    assert [name for name in image if name.startswith("l4:")] == ["l4:0.1", "l4:0.05", "l4:0.01", "l4:0.005"]
    assert len(image) == 2 + 8 + 1 + 2 + 4 + 5 + 5 + 3
    plan = plan_runs(cpu, 3)
    assert len(plan) == 3 * (2 * len(image) + len(language))
    # Meta-training runs come before the transfer runs that need their schedules.
    first_transfer = next(i for i, run in enumerate(plan) if run.method == "ours-test")
    assert all(run.method == "ours-train" for run in plan[:first_transfer])
    ptb = next(run for run in plan if run.task == "ptb-lstm2" and run.method == "ours-test")
    assert ptb.dependency().key == f"mnist-cnn/ours-train/seed-{ptb.seed}"
    assert {entry.task for entry in get_suite("paper").tasks} >= {"cifar10-resnet18", "ptb-lstm3-paper"}


def _record(method, seed, status, curve):
    return {"method": method, "row": method.partition(":")[0], "seed": seed, "status": status,
            "test_metric": curve, "wall_time_s": 1.0}


def test_grid_best_value_reported():
    records = [
        _record("hd:0.001", 0, "finished", [0.5, 0.9]),
        _record("hd:0.001", 1, "diverged", [0.5]),
        _record("hd:0.0001", 0, "finished", [0.8, 0.6]),
        _record("hd:0.0001", 1, "finished", [0.7, 0.7]),
    ]
    summary, values = summarize_row(records, higher_is_better=True)
    # hd:0.001 has the best mean but lost a seed, so the complete value is picked.
    assert summary.chosen == "0.0001"
    assert summary.last == pytest.approx((0.65, 0.0707107), rel=1e-5)
    assert summary.best == pytest.approx((0.75, 0.0707107), rel=1e-5)
    assert [value.diverged for value in values] == [1, 0]

    adam, _ = summarize_row([_record("adam", 0, "finished", [0.95, 0.85]), _record("adam", 1, "finished", [0.9, 0.9])],
                            higher_is_better=True)
    table = task_table("t", [summary, adam], metric="accuracy", higher_is_better=True, seeds=2, epochs=2,
                       grids={"hd": values})
    assert "| HD (SGD), hyper_lr=0.0001 (best of 2) | 75.00 ± 7.07 | 65.00 ± 7.07 | 1.0 |" in table
    assert "| Adam | **92.50 ± 3.54** | **87.50 ± 3.54** | 1.0 |" in table
    assert "0.001: 90.00 (1 diverged)" in table


def test_perplexity_tables_bold_the_lowest():
    low, _ = summarize_row([_record("adam", 0, "finished", [300.0, 200.0])], higher_is_better=False)
    high, _ = summarize_row([_record("prodigy", 0, "finished", [400.0, 250.0])], higher_is_better=False)
    table = task_table("ptb", [low, high], metric="perplexity", higher_is_better=False, seeds=1, epochs=2)
    assert "| Adam | **200.0** | **200.0** |" in table
    assert "test perplexity" in table


def test_tables_bold_ties_and_shorten_huge_values():
    first, _ = summarize_row([_record("sgdm-fixed", 0, "finished", [0.965])], higher_is_better=True)
    second, _ = summarize_row([_record("prodigy", 0, "finished", [0.965])], higher_is_better=True)
    table = task_table("digits", [first, second], metric="accuracy", higher_is_better=True, seeds=1, epochs=1)
    assert "| SGDM, Fixed | **96.50** | **96.50** |" in table
    assert "| Prodigy | **96.50** | **96.50** |" in table

    huge, values = summarize_row(
        [_record("rtho:0.1", 0, "finished", [8.05e226]), _record("rtho:0.05", 0, "finished", [700.0])],
        higher_is_better=False,
    )
    table = task_table("ptb", [huge], metric="perplexity", higher_is_better=False, seeds=1, epochs=1,
                       grids={"rtho": values})
    assert "0.1: 8.05e+226; 0.05: 700.0." in table


def test_grid_with_every_value_diverged_says_so():
    records = [
        _record("hd:1", 0, "diverged", [900.0]),
        _record("hd:1", 1, "finished", [650.0, 600.0]),
        _record("hd:0.5", 0, "diverged", []),
        _record("hd:0.5", 1, "diverged", []),
    ]
    summary, _ = summarize_row(records, higher_is_better=False)
    table = task_table("ptb", [summary], metric="perplexity", higher_is_better=False, seeds=2, epochs=2)
    assert summary.chosen == "1"
    assert "| HD (SGD), hyper_lr=1 (best of 2, none finished all seeds) | **600.0** (1 of 2 diverged)" in table


def test_cli_out_file_and_data_dir_spelling(tmp_path, shared_data_dir, capsys, monkeypatch):
    (tmp_path / "afile").write_text("x")
    assert main(["benchmark", "--suite", "quick", "--out", str(tmp_path / "afile"),
                 "--data-dir", str(shared_data_dir)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err

    suite = Suite("tiny", "cpu", (SuiteTask("digits-mlp", "digits-cnn", {"epochs": 1}),
                                  SuiteTask("digits-cnn", "digits-mlp", {"epochs": 1})), "t", baselines=("adam",))
    run_benchmark(suite, tmp_path / "out", seeds=1, data_dir=str(shared_data_dir), figures=False)
    monkeypatch.chdir(shared_data_dir)
    outcome = run_benchmark(suite, tmp_path / "out", seeds=1, data_dir=".", figures=False)
    assert outcome.reused == outcome.total


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["benchmark", "--suite", "huge"], "invalid choice: 'huge'"),
        (["benchmark", "--suite", "quick", "--seeds", "0"], "expected a positive integer"),
        (["benchmark", "--suite", "quick", "--jobs", "x"], "expected a positive integer"),
    ],
)
def test_cli_bad_benchmark_flags_exit_2(arguments, expected, capsys):
    assert main(arguments) == 2
    assert expected in capsys.readouterr().err


def test_cli_missing_data_names_the_download_command(tmp_path, capsys):
    code = main(["benchmark", "--suite", "cpu", "--out", str(tmp_path / "b"), "--data-dir", str(tmp_path)])
    assert code == 2
    assert "mlrsnet download mnist-cnn --budget cpu" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_cli_lists_the_planned_runs(capsys):
    assert main(["benchmark", "--suite", "cpu", "--seeds", "1", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "digits-cnn/ours-train/seed-0"
    assert "ptb-lstm2/hd:0.5/seed-0" in lines
    assert len(lines) == len(plan_runs(get_suite("cpu"), 1))
