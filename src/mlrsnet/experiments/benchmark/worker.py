"""One benchmark run in a worker: start it, resume it, or find it finished."""

from __future__ import annotations

import logging
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mlrsnet.runs import MethodSpec, RunConfig, run_task
from mlrsnet.runs.metrics_file import read_metrics
from mlrsnet.runs.task_run import CHECKPOINT_FILE, METRICS_FILE, SCHEDULE_FILE, MetaTrainingDivergedError
from mlrsnet.experiments.benchmark.plan import OURS_TEST, OURS_TRAIN, PlannedRun

# Statuses of a run that the benchmark never starts again.
DONE_STATUSES = ("finished", "diverged", "skipped")
SKIPPED_FILE = "skipped.json"


@dataclass(frozen=True)
class RunJob:
    """Everything a worker needs to carry out one planned run."""

    run: PlannedRun
    runs_dir: Path
    budget: str
    overrides: dict[str, Any]
    data_dir: str | None
    threads: int
    device: str = "cpu"

    @property
    def out_dir(self) -> Path:
        return self.runs_dir / self.run.folder

    @property
    def source_schedule(self) -> Path | None:
        dependency = self.run.dependency()
        return None if dependency is None else self.runs_dir / dependency.folder / SCHEDULE_FILE


def init_pool_worker(threads: int) -> None:
    """Set up a worker process: torch threads, and Ctrl-C ignored between runs.

    A Ctrl-C reaches every process of the terminal. An idle worker ignores it, so that
    it exits without a traceback, and :func:`execute_in_pool` listens to it during a run.
    """
    torch.set_num_threads(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def execute_in_pool(job: RunJob) -> tuple[str, str]:
    """Carry out ``job`` in a worker process, returning status ``interrupted`` on Ctrl-C.

    The interrupted run keeps its last checkpoint, so the next call resumes it.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return execute(job)
    except KeyboardInterrupt:
        return job.run.key, "interrupted"
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_status(out_dir: Path) -> str | None:
    """Return the status of the run in ``out_dir``: None when it never started."""
    if (out_dir / SKIPPED_FILE).exists():
        return "skipped"
    metrics = out_dir / METRICS_FILE
    if not metrics.exists():
        return None
    return read_metrics(metrics).get("status")


def execute(job: RunJob) -> tuple[str, str]:
    """Carry out ``job`` and return its run's key and final status.

    A finished or diverged run is left as it is. An unfinished one resumes from its
    checkpoint, and one without a checkpoint starts again. A transfer run whose source
    schedule does not exist (its meta-training diverged) is recorded as skipped.
    """
    torch.set_num_threads(job.threads)
    out_dir = job.out_dir
    status = run_status(out_dir)
    if status in DONE_STATUSES:
        return job.run.key, status
    resume = (out_dir / CHECKPOINT_FILE).exists()
    if status is not None and not resume:
        # Stopped during its first epoch, before any checkpoint: nothing to keep.
        shutil.rmtree(out_dir)

    if job.run.method == OURS_TRAIN:
        spec = MethodSpec(meta_train=True)
    elif job.run.method == OURS_TEST:
        schedule = job.source_schedule
        if not schedule.exists():
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / SKIPPED_FILE).write_text(
                f'{{"reason": "no schedule from {job.run.source}: its meta-training diverged"}}\n', encoding="utf-8"
            )
            return job.run.key, "skipped"
        spec = MethodSpec(schedule=schedule.resolve())
    else:
        spec = MethodSpec(baseline=job.run.method)

    config = RunConfig(
        task=job.run.task,
        method=spec,
        budget=job.budget,
        seed=job.run.seed,
        data_dir=job.data_dir,
        overrides=job.overrides,
        device=job.device,
    )
    # The runs' warnings (a diverged run, few look-aheads) would bury the progress bar;
    # the table reports diverged runs.
    library_logger = logging.getLogger("mlrsnet")
    level = library_logger.level
    library_logger.setLevel(logging.ERROR)
    try:
        outcome = run_task(config, out_dir, resume=resume)
    except MetaTrainingDivergedError:
        return job.run.key, "diverged"
    finally:
        library_logger.setLevel(level)
    return job.run.key, "diverged" if outcome.result.diverged else "finished"
