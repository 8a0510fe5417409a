"""Gather the benchmark's runs into ``results.json`` and summarize each method over seeds."""

from __future__ import annotations

import math
import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mlrsnet._version import __version__
from mlrsnet.experiments.benchmark.plan import PlannedRun, row_label
from mlrsnet.experiments.benchmark.worker import run_status
from mlrsnet.runs.metrics_file import read_metrics
from mlrsnet.runs.task_run import METRICS_FILE


def machine_info(threads: int, jobs: int) -> dict[str, Any]:
    """Return the machine and software a benchmark ran on."""
    return {
        "cpu_cores": os.cpu_count(),
        "jobs": jobs,
        "threads_per_run": threads,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "library_version": __version__,
    }


def run_record(run: PlannedRun, runs_dir: Path) -> dict[str, Any]:
    """Return the record of ``run`` in ``results.json``, from its ``metrics.json``.

    A run that never started has status None and no metrics.
    """
    record: dict[str, Any] = {
        "key": run.key,
        "task": run.task,
        "seed": run.seed,
        "method": run.method,
        "row": run.row,
        "label": run.label,
        "source": run.source,
        "status": run_status(runs_dir / run.folder),
    }
    metrics_path = runs_dir / run.folder / METRICS_FILE
    if record["status"] in (None, "skipped") or not metrics_path.exists():
        return record
    metrics = read_metrics(metrics_path)
    record.update(
        {
            "metric": metrics["metric"],
            "train_loss": [epoch["train_loss"] for epoch in metrics["epochs"]],
            "test_metric": [epoch["test_metric"] for epoch in metrics["epochs"]],
            "lr_per_step": metrics["lr_per_step"],
            "wall_time_s": metrics["wall_time_s"],
            "diverged_step": metrics["final"]["diverged_step"],
            "config": metrics["config"],
        }
    )
    return record


@dataclass(frozen=True)
class RowSummary:
    """One method (table row) on one task, over seeds.

    ``best`` and ``last`` are (mean, std) of the best-epoch and last-epoch test metric
    over the seeds that finished, and None when none did. ``chosen`` is the grid value
    picked for a tuned method.
    """

    row: str
    label: str
    runs: int
    finished: int
    diverged: int
    skipped: int
    best: tuple[float, float] | None
    last: tuple[float, float] | None
    wall_time_s: float | None
    chosen: str | None = None
    grid_size: int = 1
    complete: bool = True


def _mean_std(values: list[float]) -> tuple[float, float] | None:
    if not values:
        return None
    if not all(math.isfinite(value) for value in values):
        return math.inf, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize_method(records: list[dict[str, Any]], higher_is_better: bool) -> RowSummary:
    """Summarize the runs of one method (one grid value) of one task over seeds."""
    finished = [r for r in records if r["status"] == "finished" and r.get("test_metric")]
    pick = max if higher_is_better else min
    # results.json stores an overflowed perplexity (a loss above about 709) as null.
    curves = [[math.inf if v is None else v for v in r["test_metric"]] for r in finished]
    best = [pick(curve) for curve in curves]
    last = [curve[-1] for curve in curves]
    times = [r["wall_time_s"] for r in finished]
    first = records[0]
    return RowSummary(
        row=first["row"],
        label=row_label(first["row"]),
        runs=len(records),
        finished=len(finished),
        diverged=sum(r["status"] == "diverged" for r in records),
        skipped=sum(r["status"] == "skipped" for r in records),
        best=_mean_std(best),
        last=_mean_std(last),
        wall_time_s=statistics.fmean(times) if times else None,
        chosen=first["method"].partition(":")[2] or None,
    )


def summarize_row(records: list[dict[str, Any]], higher_is_better: bool) -> tuple[RowSummary, list[RowSummary]]:
    """Summarize one table row, picking the best grid value of a tuned method.

    The grid value with the best mean last-epoch metric among those where no seed
    diverged is reported. When every value lost a seed, the one with the most finished
    seeds is reported, and ``complete`` is False. Returns the row's summary and the summary of every grid value.
    """
    by_method: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_method.setdefault(record["method"], []).append(record)
    values = [summarize_method(group, higher_is_better) for group in by_method.values()]
    if len(values) == 1:
        return values[0], values
    pick = max if higher_is_better else min
    complete = [value for value in values if value.last is not None and value.finished == value.runs]
    if complete:
        chosen = pick(complete, key=lambda value: value.last[0])
    else:
        # No value finished every seed: report the one with the most finished seeds.
        partial = [value for value in values if value.last is not None]
        max_finished = max((value.finished for value in partial), default=0)
        candidates = [value for value in partial if value.finished == max_finished]
        chosen = pick(candidates, key=lambda value: value.last[0]) if candidates else values[0]
    return RowSummary(**{**chosen.__dict__, "grid_size": len(values), "complete": bool(complete)}), values
