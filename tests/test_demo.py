import csv
import json
import math

import pytest
import torch

import mlrsnet
from mlrsnet.data import load_digits_splits
from mlrsnet.experiments import DemoConfig, DemoResult, run_demo
from mlrsnet.experiments.report import RunRecord, format_table, summarize
from mlrsnet.runs import RunResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OUTPUT_FILES = (
    "results.json",
    "results.csv",
    "summary.csv",
    "schedule.safetensors",
    "lr.png",
    "train_loss.png",
    "test_accuracy.png",
)
PNG_FILES = ("lr.png", "train_loss.png", "test_accuracy.png")


@pytest.fixture(scope="module")
def quick_config():
    return DemoConfig.quick()


@pytest.fixture(scope="module")
def demo(quick_config, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("demo")
    reports = []
    result = run_demo(quick_config, out_dir, progress=False, report=reports.append)
    return result, out_dir, reports


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_demo_writes_every_output_file(demo):
    _, out_dir, _ = demo
    for name in OUTPUT_FILES:
        path = out_dir / name
        assert path.is_file(), f"{name} is missing"
        assert path.stat().st_size > 0, f"{name} is empty"


def test_demo_leaves_no_temporary_files(demo):
    _, out_dir, _ = demo
    assert sorted(path.name for path in out_dir.iterdir()) == sorted(OUTPUT_FILES)


def test_results_json_has_every_method_and_seed(demo, quick_config):
    _, out_dir, _ = demo
    payload = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))

    pairs = sorted((run["method"], run["seed"]) for run in payload["runs"])
    expected = sorted((method, seed) for method in quick_config.methods for seed in quick_config.seeds)
    assert pairs == expected
    assert payload["library_version"] == mlrsnet.__version__
    assert payload["torch_version"] == torch.__version__
    assert payload["wall_time_s"] > 0
    assert payload["config"] == quick_config.to_dict()
    assert [summary["method"] for summary in payload["summary"]] == list(quick_config.methods)


def test_results_json_records_meta_training(demo, quick_config):
    _, out_dir, _ = demo
    payload = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    meta = payload["meta_training"]

    splits = load_digits_splits(
        quick_config.meta_seed, meta_size=quick_config.meta_size, test_size=quick_config.test_size
    )
    steps_per_epoch = math.ceil(len(splits.train) / quick_config.train_batch_size)
    assert len(meta["run"]["lr_per_step"]) == quick_config.meta_epochs * steps_per_epoch
    assert len(meta["run"]["test_metric"]) == quick_config.meta_epochs
    assert meta["schedule_file"] == "schedule.safetensors"
    assert meta["gamma"] == pytest.approx(mlrsnet.released_gamma(meta["initial_loss"], 10))


def test_transfer_runs_have_full_length(demo, quick_config):
    result, _, _ = demo
    for record in result.records:
        assert not record.result.diverged, f"{record.method} seed {record.seed} diverged"
        assert len(record.result.test_metric) == quick_config.epochs
        assert len(record.result.lr_per_step) > 0
        assert all(lr > 0 for lr in record.result.lr_per_step)


def test_results_csv_has_one_row_per_run(demo, quick_config):
    _, out_dir, _ = demo
    rows = _read_csv(out_dir / "results.csv")

    assert list(rows[0]) == ["method", "seed", "final_acc", "best_acc", "final_train_loss", "diverged", "wall_time_s"]
    pairs = sorted((row["method"], int(row["seed"])) for row in rows)
    assert pairs == sorted((method, seed) for method in quick_config.methods for seed in quick_config.seeds)
    for row in rows:
        assert row["diverged"] == "False"
        assert float(row["best_acc"]) >= float(row["final_acc"])
        assert float(row["final_train_loss"]) > 0
        assert float(row["wall_time_s"]) > 0


def test_summary_csv_has_one_row_per_method(demo, quick_config):
    _, out_dir, _ = demo
    rows = _read_csv(out_dir / "summary.csv")

    assert [row["method"] for row in rows] == list(quick_config.methods)
    for row in rows:
        assert int(row["runs"]) == len(quick_config.seeds)
        assert int(row["diverged"]) == 0
        assert float(row["final_acc_std"]) >= 0


def test_accuracies_lie_in_unit_interval(demo):
    result, out_dir, _ = demo
    for record in result.records:
        for accuracy in record.result.test_metric:
            assert 0.0 <= accuracy <= 1.0, f"{record.method} seed {record.seed}: accuracy {accuracy}"
    for row in _read_csv(out_dir / "results.csv"):
        assert 0.0 <= float(row["final_acc"]) <= 1.0
        assert 0.0 <= float(row["best_acc"]) <= 1.0
    for row in _read_csv(out_dir / "summary.csv"):
        assert 0.0 <= float(row["final_acc_mean"]) <= 1.0
        assert 0.0 <= float(row["best_acc_mean"]) <= 1.0


@pytest.mark.parametrize("name", PNG_FILES)
def test_figures_are_valid_png(demo, name):
    import matplotlib.image

    _, out_dir, _ = demo
    path = out_dir / name
    assert path.read_bytes()[:8] == PNG_SIGNATURE

    image = matplotlib.image.imread(path)
    assert image.ndim == 3
    assert image.shape[0] > 100
    assert image.shape[1] > 100


def test_schedule_file_loads_with_three_snapshots(demo, quick_config):
    _, out_dir, _ = demo
    schedule = mlrsnet.load_schedule(out_dir / "schedule.safetensors")

    assert schedule.num_snapshots == 3
    trained_on = schedule.meta_trained_on
    assert trained_on["dataset"] == "digits"
    assert trained_on["model"].startswith("MLP")
    assert trained_on["epochs"] == quick_config.meta_epochs
    assert trained_on["t_val"] == quick_config.t_val
    assert trained_on["seed"] == quick_config.meta_seed
    assert "SGD" in trained_on["optimizer"]


def test_table_names_every_method(demo, quick_config):
    result, _, reports = demo
    assert reports == [result.table]
    assert "±" in result.table
    for method in quick_config.methods:
        assert method in result.table


def test_demo_restores_thread_count(quick_config, tmp_path):
    before = torch.get_num_threads()
    config = DemoConfig(**{**quick_config.to_dict(), "seeds": [0], "baselines": ["fixed"], "threads": 1})

    run_demo(config, tmp_path, progress=False, report=None)

    assert torch.get_num_threads() == before


def test_rerun_gives_same_accuracies(demo, quick_config, tmp_path):
    first, _, _ = demo
    second = run_demo(quick_config, tmp_path, progress=False, report=None)

    assert isinstance(second, DemoResult)
    for record_a, record_b in zip(first.records, second.records, strict=True):
        assert (record_a.method, record_a.seed) == (record_b.method, record_b.seed)
        assert record_a.result.test_metric == record_b.result.test_metric
        assert record_a.result.lr_per_step == record_b.result.lr_per_step
    assert first.meta_training.run.lr_per_step == second.meta_training.run.lr_per_step


def test_summary_skips_diverged_runs():
    finished = RunResult(method="fixed", train_loss=[1.0, 0.5], test_metric=[0.6, 0.8])
    diverged = RunResult(method="fixed", train_loss=[1.0], test_metric=[0.7], diverged=True, diverged_step=30)
    records = [RunRecord("fixed", 0, finished), RunRecord("fixed", 1, diverged)]

    (summary,) = summarize(records)
    table = format_table([summary])

    assert summary.runs == 2
    assert summary.diverged == 1
    assert summary.final_acc_mean == pytest.approx(0.8)
    assert summary.final_acc_std == 0.0
    assert summary.best_acc_mean == pytest.approx(0.8)
    assert records[1].final_accuracy is None
    assert "fixed *" in table
    assert "1/2" in table


def test_summary_of_all_diverged_runs_is_empty():
    diverged = RunResult(method="adam", diverged=True, diverged_step=0)

    (summary,) = summarize([RunRecord("adam", 0, diverged)])

    assert summary.final_acc_mean is None
    assert summary.best_acc_std is None
    assert "n/a" in format_table([summary])


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"seeds": ()}, ValueError),
        ({"seeds": (0, 0)}, ValueError),
        ({"epochs": 0}, ValueError),
        ({"t_val": 1.5}, TypeError),
        ({"threads": True}, TypeError),
        ({"baselines": ("fixed", "cosine")}, ValueError),
        ({"sgd_lr": 0.0}, ValueError),
        ({"weight_decay": -1e-4}, ValueError),
    ],
)
def test_config_rejects_invalid_settings(changes, error):
    with pytest.raises(error):
        DemoConfig(**changes)
