"""The ``mlrsnet benchmark`` command: run a suite with a progress bar and print the output paths."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm.auto import tqdm

from mlrsnet.cli_tasks import EXIT_INTERRUPTED, TaskCommandError, check_device
from mlrsnet.data.paths import resolve_data_dir
from mlrsnet.experiments.benchmark import BenchmarkError, PlannedRun, get_suite, plan_runs, run_benchmark
from mlrsnet.tasks.registry import get_task
from mlrsnet.tasks.status import data_status


def benchmark_command(args: argparse.Namespace) -> int:
    """Run ``mlrsnet benchmark``."""
    suite = get_suite(args.suite)
    out_dir = args.out if args.out is not None else Path(f"benchmark-{suite.name}")
    if args.list:
        for run in plan_runs(suite, args.seeds):
            print(run.key)
        return 0
    check_device(args.device)
    data_dir = resolve_data_dir(args.data_dir)
    _check_data(suite, data_dir)

    bar: tqdm | None = None

    def on_start(total: int, reused: int) -> None:
        nonlocal bar
        if reused == total:
            print(f"all {total} runs in {out_dir} are done; rewriting its tables and figures")
        elif reused:
            print(f"resuming {out_dir}: {reused} of {total} runs already done")
        bar = tqdm(total=total, initial=reused, desc=f"benchmark {suite.name}", unit="run", disable=args.no_progress)

    def on_run(run: PlannedRun, status: str) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{run.key}: {status}")
        if args.no_progress:
            print(f"{run.key}: {status}", flush=True)

    try:
        outcome = run_benchmark(
            suite,
            out_dir,
            seeds=args.seeds,
            data_dir=str(data_dir),
            jobs=args.jobs,
            threads=args.threads,
            device=args.device,
            figures=not args.no_figures,
            on_run=on_run,
            on_start=on_start,
        )
    except BenchmarkError as error:
        raise TaskCommandError(str(error)) from error
    except KeyboardInterrupt:
        print(f"\nmlrsnet: interrupted. Rerun the same command to resume the benchmark in {out_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if bar is not None:
            bar.close()
    counts = ", ".join(
        f"{outcome.count(status)} {status}" for status in ("finished", "diverged", "skipped") if outcome.count(status)
    )
    print(f"{outcome.total} runs ({counts}; {outcome.reused} reused from an earlier call)")
    for role in ("tables", "results"):
        print(f"  {role}: {outcome.files[role]}")
    figures = [path for role, path in outcome.files.items() if role not in ("tables", "results")]
    if figures:
        print(f"  figures: {len(figures)} PNG files in {figures[0].parent}")
    return 0


def _check_data(suite, data_dir: Path) -> None:
    for entry in suite.tasks:
        status = data_status(get_task(entry.task), suite.budget, data_dir)
        if not status.present:
            raise TaskCommandError(
                f"task {entry.task} needs {', '.join(status.missing)} in {status.folder}. Pass --data-dir, or fetch "
                f"the data first with `mlrsnet download {entry.task} --budget {suite.budget}`"
            )
