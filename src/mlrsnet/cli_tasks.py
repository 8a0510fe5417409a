"""The task commands of the ``mlrsnet`` command line: ``tasks``, ``download``, ``train`` and ``meta-train``.

They load torch models and datasets, so :mod:`mlrsnet.cli` imports this module's
handlers only when one of these commands runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from mlrsnet.core import ScheduleFileError
from mlrsnet.data.catalog import DATASET_SOURCES, fetch_dataset, missing_files
from mlrsnet.data.download import DownloadError
from mlrsnet.data.paths import DatasetFormatError, DatasetNotFoundError, resolve_data_dir
from mlrsnet.runs.methods import MethodSpec
from mlrsnet.runs.task_run import (
    CHECKPOINT_FILE,
    MetaTrainingDivergedError,
    ResumeError,
    RunConfig,
    TaskRunOutcome,
    run_task,
)
from mlrsnet.tasks.dataset_files import DownloadSettings
from mlrsnet.tasks.registry import TASKS
from mlrsnet.tasks.status import data_status

# Failed downloads, corrupt files and diverged runs (whose metrics.json still records them).
EXIT_FAILURE = 1
# The shell's status for a command stopped by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


class TaskCommandError(Exception):
    """Invalid input to a task command; the front reports it as a usage error."""


def list_tasks(args: argparse.Namespace) -> int:
    """Print every task with its metric and the data status of each budget."""
    data_dir = resolve_data_dir(args.data_dir)
    if args.budgets:
        budgets = {task.name: {name: budget.to_dict() for name, budget in task.budgets.items()} for task in TASKS.values()}
        print(json.dumps(budgets, indent=2))
        return 0
    print(f"data folder: {data_dir}")
    rows = []
    for task in TASKS.values():
        statuses = []
        for budget in task.budgets:
            status = data_status(task, budget, data_dir)
            if status.present:
                statuses.append(f"{budget}: present")
            else:
                fetch = f"mlrsnet download {task.name}" + ("" if budget == "cpu" else f" --budget {budget}")
                statuses.append(f"{budget}: missing ({fetch})")
        cpu_note = task.budgets["cpu"].note
        description = f"{task.description} (cpu budget: {cpu_note})" if cpu_note else task.description
        rows.append((task.name, task.metric, "; ".join(statuses), description))

    name_width = max(len(row[0]) for row in rows)
    for name, metric, status, description in rows:
        print(f"{name:<{name_width}}  {metric:<10}  {status}")
        print(f"{'':<{name_width}}  {description}")
    return 0


def download(args: argparse.Namespace) -> int:
    """Download a dataset, or the files one task needs, from the official source with md5 checks."""
    data_dir = resolve_data_dir(args.data_dir)
    if args.dataset in TASKS:
        status = data_status(TASKS[args.dataset], args.budget, data_dir)
        if status.dataset is None:
            print(f"{args.dataset} needs no download: its data ships with scikit-learn")
            return 0
        dataset, files = status.dataset, list(status.missing)
    elif args.dataset in DATASET_SOURCES:
        dataset, files = args.dataset, missing_files(args.dataset, data_dir)
    else:
        raise TaskCommandError(
            f"unknown dataset or task {args.dataset!r}. Datasets: {', '.join(DATASET_SOURCES)}; "
            "tasks: see `mlrsnet tasks`"
        )
    if not files:
        print(f"{args.dataset} is already present in {data_dir}")
        return 0
    try:
        folder = fetch_dataset(dataset, data_dir, progress_factory=_download_bar, base_url=args.mirror, files=files)
    except (DownloadError, DatasetFormatError) as error:
        print(f"\nmlrsnet: error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{args.dataset}: {', '.join(files)} downloaded into {folder}")
    return 0


def train_command(args: argparse.Namespace) -> int:
    """Run ``mlrsnet train`` or ``mlrsnet meta-train`` and print the final test metric."""
    if args.gamma is not None and args.command == "train" and args.baseline is not None:
        raise TaskCommandError("--gamma sets the schedule net's LR scale, so it applies to --schedule and meta-train runs")
    if args.command == "meta-train":
        spec = MethodSpec(meta_train=True, gamma=args.gamma)
    elif args.schedule is not None:
        if args.schedule.is_dir():
            raise TaskCommandError(f"--schedule {args.schedule} is a folder; pass a schedule file (.safetensors)")
        if not args.schedule.is_file():
            raise TaskCommandError(f"--schedule {args.schedule}: file not found; pass a schedule file (.safetensors)")
        # The absolute path, so that a resume from another folder or spelling finds the same run.
        spec = MethodSpec(schedule=args.schedule.resolve(), gamma=args.gamma)
    else:
        spec = MethodSpec(baseline=args.baseline)

    check_device(args.device)
    if (args.corruption is None) != (args.severity is None):
        raise TaskCommandError("--corruption and --severity go together; pass both (for example --corruption gaussian_noise --severity 3)")
    overrides = dict(args.budget_overrides)
    for name, value in (("epochs", args.epochs), ("t_val", getattr(args, "t_val", None))):
        if value is not None:
            overrides[name] = value
    config = RunConfig(
        task=args.task,
        method=spec,
        budget=args.budget,
        seed=args.seed,
        # The resolved folder, so that a resume through MLRSNET_DATA matches one through --data-dir.
        data_dir=str(resolve_data_dir(args.data_dir)),
        corruption=args.corruption,
        severity=args.severity,
        overrides=overrides,
        device=args.device,
    )
    method_label = spec.name if spec.schedule is None else f"{spec.name}-{args.schedule.stem}"
    # hd:1e-4 becomes hd=1e-4, because some file systems and tools reject ':' in names.
    method_label = method_label.replace(":", "=")
    out_dir = args.out if args.out is not None else Path("runs") / f"{args.task}-{method_label}-{args.budget}-seed{args.seed}"
    if out_dir.exists() and not out_dir.is_dir():
        raise TaskCommandError(f"--out {out_dir} exists and is not a folder; pass a folder path")

    torch.set_num_threads(args.threads)
    if args.mirror is not None and not args.download:
        raise TaskCommandError("--mirror needs --download; pass both to fetch missing data from the mirror")
    settings = DownloadSettings(enabled=args.download, base_url=args.mirror, progress_factory=_download_bar)
    try:
        outcome = _run_with_progress(config, out_dir, settings, resume=args.resume, show=not args.no_progress)
    except (DatasetNotFoundError, ResumeError, ScheduleFileError, FileNotFoundError, ValueError) as error:
        raise TaskCommandError(str(error).replace("\n", " ")) from error
    except (DownloadError, DatasetFormatError, MetaTrainingDivergedError) as error:
        # Failed downloads, corrupt files and a diverged meta-training run. The newline ends
        # a progress bar's line.
        print(f"\nmlrsnet: error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        if (out_dir / CHECKPOINT_FILE).exists():
            hint = f"rerun the same command with --resume to continue from the last finished epoch in {out_dir}"
        else:
            hint = "no epoch had finished, so run the command again without --resume"
        print(f"mlrsnet: interrupted; {hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    _print_summary(outcome)
    return EXIT_FAILURE if outcome.result.diverged else 0


def check_device(name: str) -> None:
    """Raise TaskCommandError unless ``name`` is a torch device that this machine has."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TaskCommandError(f"--device {name}: invalid torch device; pass cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TaskCommandError(f"--device {name}: CUDA is not available on this machine; pass --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise TaskCommandError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")


def _run_with_progress(
    config: RunConfig, out_dir: Path, download: DownloadSettings, *, resume: bool, show: bool
) -> TaskRunOutcome:
    bar: tqdm | None = None
    metric_format = "{:.4f}"

    def on_start(prepared: Any, first_step: int) -> None:
        nonlocal bar, metric_format
        metric_format = "{:.2%}" if prepared.task.metric == "accuracy" else "{:.1f}"
        description = f"{config.method.name} on {config.task}"
        bar = tqdm(total=prepared.total_steps, initial=first_step, desc=description, unit="step", disable=not show)

    def on_epoch(epoch: int, record: Any) -> None:
        if bar is not None:
            bar.set_postfix(
                epoch=epoch + 1, loss=f"{record.train_loss:.3f}", test=metric_format.format(record.test_metric), lr=f"{record.lr:.3g}"
            )

    try:
        return run_task(
            config,
            out_dir,
            download=download,
            resume=resume,
            on_start=on_start,
            on_step=lambda step, loss, lr: bar.update(1) if bar is not None else None,
            on_epoch=on_epoch,
        )
    finally:
        if bar is not None:
            bar.close()


def _print_summary(outcome: TaskRunOutcome) -> None:
    result = outcome.result
    epochs = len(result.train_loss)
    if result.test_metric:
        last = result.test_metric[-1]
        formatted = f"{last:.2%}" if result.metric == "accuracy" else f"{last:.2f}"
        metric_text = f"test {result.metric} {formatted}"
    else:
        metric_text = "no evaluated epoch"
    state = f"diverged at step {result.diverged_step}" if result.diverged else "finished"
    epochs_text = "1 epoch" if epochs == 1 else f"{epochs} epochs"
    print(f"{outcome.prepared.task.name} with {result.method}: {state} after {epochs_text}, {metric_text}, {result.wall_time_s:.1f} s")
    for role, path in outcome.files.items():
        print(f"  {role}: {path}")


def _download_bar(filename: str) -> Callable[[int, int | None], None]:
    bar = tqdm(desc=filename, unit="B", unit_scale=True, unit_divisor=1024, leave=False)

    def progress(received: int, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(received - bar.n)
        if total is not None and received >= total:
            bar.close()

    return progress
