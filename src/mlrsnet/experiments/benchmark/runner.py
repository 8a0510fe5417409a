"""Run a benchmark suite: every planned run once, in worker processes, resumable."""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mlrsnet.atomic import write_text_atomic
from mlrsnet.experiments.benchmark.outputs import write_outputs
from mlrsnet.experiments.benchmark.plan import PlannedRun, plan_runs
from mlrsnet.experiments.benchmark.results import machine_info
from mlrsnet.experiments.benchmark.suites import Suite
from mlrsnet.experiments.benchmark.worker import (
    DONE_STATUSES,
    RunJob,
    execute,
    execute_in_pool,
    init_pool_worker,
    run_status,
)

SETTINGS_FILE = "benchmark.json"


class BenchmarkError(ValueError):
    """The output folder contains another benchmark, or a setting is invalid."""


@dataclass
class BenchmarkOutcome:
    """Result of one benchmark call: the status of every run and the files written."""

    total: int
    reused: int
    statuses: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(value == status for value in self.statuses.values())


def _settings(suite: Suite, data_dir: str | None) -> dict[str, object]:
    # The settings that must match for a resumed benchmark to reuse the folder's runs. The
    # seed count may grow, because the runs of the first seeds stay the same.
    return {
        "suite": suite.name,
        "budget": suite.budget,
        "tasks": [{"task": e.task, "source": e.source, "overrides": e.overrides} for e in suite.tasks],
        "baselines": list(suite.baselines),
        "data_dir": data_dir,
    }


def _check_folder(out_dir: Path, settings: dict[str, object]) -> None:
    path = out_dir / SETTINGS_FILE
    if path.exists():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise BenchmarkError(f"{path} is not valid JSON ({error}). Delete it or choose another --out folder") from error
        current = json.loads(json.dumps(settings))
        changed = [key for key in current if saved.get(key) != current[key]]
        if changed:
            differences = "; ".join(f"{key} was {saved.get(key)!r}, now {current[key]!r}" for key in changed)
            raise BenchmarkError(
                f"{out_dir} contains a benchmark with other settings ({differences}). "
                "Rerun its own command to resume it, or choose another --out folder"
            )
    elif out_dir.exists() and not out_dir.is_dir():
        raise BenchmarkError(f"{out_dir} exists and is not a folder. Pass a folder path as --out")
    elif out_dir.exists() and any(out_dir.iterdir()):
        raise BenchmarkError(f"{out_dir} is not empty and contains no benchmark. Choose an empty or new --out folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BenchmarkError(f"cannot create {out_dir} ({error.strerror}). Pass a writable folder path as --out") from error
    write_text_atomic(path, json.dumps(settings, indent=2) + "\n")


def run_benchmark(
    suite: Suite,
    out_dir: str | os.PathLike[str],
    *,
    seeds: int = 3,
    data_dir: str | None = None,
    jobs: int = 1,
    threads: int = 1,
    device: str = "cpu",
    figures: bool = True,
    on_run: Callable[[PlannedRun, str], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> BenchmarkOutcome:
    """Run every method of ``suite`` on each of its tasks for seeds ``0 .. seeds - 1``.

    Each run writes its own folder under ``out_dir/runs``. Called again on the same
    folder, the benchmark keeps every finished or diverged run, resumes unfinished ones
    from their last epoch, and runs the rest. Finally it writes ``results.json``,
    ``tables.md`` and the figures.

    Args:
        suite: The suite to run.
        out_dir: Output folder; empty or new, or holding the same suite.
        seeds: Number of seeds.
        data_dir: Folder of the datasets, or None for the library's default.
        jobs: Runs carried out at the same time, each in its own process.
        threads: Torch threads of each run.
        device: Torch device of every run, such as ``cuda``.
        figures: Whether to draw the PNG figures.
        on_run: Called as ``on_run(run, status)`` when a run of this call ends.
        on_start: Called as ``on_start(total, already_done)`` before the first run starts.

    Raises:
        BenchmarkError: If ``out_dir`` contains another benchmark, or a count is not positive.
        DatasetNotFoundError: If a task's data is missing.
    """
    for name, value in (("seeds", seeds), ("jobs", jobs), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BenchmarkError(f"{name} must be a positive integer, got {value!r}")
    out_dir = Path(out_dir)
    if data_dir is not None:
        # The absolute path, so that a resume from another folder or spelling matches.
        data_dir = str(Path(data_dir).resolve())
    _check_folder(out_dir, _settings(suite, data_dir))
    plan = plan_runs(suite, seeds)
    runs_dir = out_dir / "runs"
    jobs_by_key = {
        run.key: RunJob(run, runs_dir, suite.budget, suite.entry(run.task).overrides, data_dir, threads, device)
        for run in plan
    }

    outcome = BenchmarkOutcome(total=len(plan), reused=0)
    pending = []
    for run in plan:
        status = run_status(runs_dir / run.folder)
        if status in DONE_STATUSES:
            outcome.statuses[run.key] = status
            outcome.reused += 1
        else:
            pending.append(run)
    if on_start is not None:
        on_start(len(plan), outcome.reused)

    def finish(run: PlannedRun, status: str) -> None:
        outcome.statuses[run.key] = status
        if on_run is not None:
            on_run(run, status)

    if jobs == 1:
        torch.set_num_threads(threads)
        for run in pending:
            finish(run, execute(jobs_by_key[run.key])[1])
    else:
        _run_in_pool(pending, jobs_by_key, jobs, threads, outcome.statuses, finish)

    outcome.files = write_outputs(out_dir, suite, plan, seeds, machine_info(threads, jobs), figures=figures)
    return outcome


def _run_in_pool(
    pending: list[PlannedRun],
    jobs_by_key: dict[str, RunJob],
    jobs: int,
    threads: int,
    statuses: dict[str, str],
    finish: Callable[[PlannedRun, str], None],
) -> None:
    """Carry out ``pending`` with ``jobs`` worker processes, each run after the one it depends on.

    On Ctrl-C or an error, the workers are terminated. A run cut that way keeps the
    checkpoint of its last finished epoch, so the next call resumes it.
    """
    waiting = list(pending)
    running: dict[str, PlannedRun] = {}
    # Results arrive here from the pool's callbacks: (run key, status) or an exception.
    results: queue.Queue[tuple[str, str] | BaseException] = queue.Queue()
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=init_pool_worker, initargs=(threads,))
    try:
        while waiting or running:
            for run in list(waiting):
                if len(running) >= jobs:
                    break
                dependency = run.dependency()
                if dependency is None or dependency.key in statuses:
                    waiting.remove(run)
                    running[run.key] = run
                    pool.apply_async(
                        execute_in_pool, (jobs_by_key[run.key],), callback=results.put, error_callback=results.put
                    )
            if not running:
                missing = sorted({run.dependency().key for run in waiting})
                raise BenchmarkError(f"runs wait for meta-training runs that are not planned: {', '.join(missing)}")
            result = results.get()
            if isinstance(result, BaseException):
                raise result
            key, status = result
            if status == "interrupted":
                # The worker caught the Ctrl-C first. Stop here, as the main process is about to.
                raise KeyboardInterrupt
            finish(running.pop(key), status)
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()
