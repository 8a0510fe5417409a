"""Write a benchmark's ``results.json``, ``tables.md`` and figures from its run folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlrsnet.atomic import write_text_atomic
from mlrsnet.experiments.benchmark.plan import PlannedRun
from mlrsnet.experiments.benchmark.plots import FIGURE_SUFFIXES, plot_task
from mlrsnet.experiments.benchmark.results import RowSummary, run_record, summarize_row
from mlrsnet.experiments.benchmark.suites import Suite
from mlrsnet.experiments.benchmark.tables import method_label, task_table
from mlrsnet.runs.metrics_file import to_json
from mlrsnet.tasks import get_task

RESULTS_FILE = "results.json"
TABLES_FILE = "tables.md"
FIGURES_DIR = "figures"


def write_outputs(
    out_dir: Path,
    suite: Suite,
    plan: list[PlannedRun],
    seeds: int,
    machine: dict[str, Any],
    *,
    figures: bool = True,
) -> dict[str, Path]:
    """Write ``results.json``, ``tables.md`` and the PNGs, and return their paths.

    With ``figures`` False, the PNGs of earlier calls are deleted instead.

    Runs that have not finished yet appear as "not run", so the files can be written
    while a benchmark is still going.
    """
    runs_dir = out_dir / "runs"
    records = [run_record(run, runs_dir) for run in plan]
    complete = all(record["status"] in ("finished", "diverged", "skipped") for record in records)
    payload = {"suite": suite.name, "budget": suite.budget, "seeds": seeds, "complete": complete,
               "machine": machine, "runs": records}
    files = {"results": write_text_atomic(out_dir / RESULTS_FILE, json.dumps(to_json(payload), indent=1) + "\n")}

    sections = [f"# Benchmark: {suite.name} suite\n", f"{suite.description}.\n"]
    if not complete:
        sections.append("The benchmark has not finished: some runs are missing.\n")
    for entry in suite.tasks:
        task = get_task(entry.task)
        task_records = [record for record in records if record["task"] == entry.task]
        higher = task.kind == "image"
        metric = "accuracy" if higher else "perplexity"
        rows: list[RowSummary] = []
        grids: dict[str, list[RowSummary]] = {}
        lines = []
        for row in dict.fromkeys(record["row"] for record in task_records):
            row_records = [record for record in task_records if record["row"] == row]
            summary, values = summarize_row(row_records, higher)
            rows.append(summary)
            if len(values) > 1:
                grids[row] = values
            chosen = [r for r in row_records if summary.chosen is None or r["method"].endswith(f":{summary.chosen}")]
            lines.append((method_label(summary), chosen))
        epochs = {len(record.get("train_loss") or []) for record in task_records if record["status"] == "finished"}
        sections.append(
            task_table(entry.task, rows, metric=metric, higher_is_better=higher, seeds=seeds,
                       epochs=max(epochs, default=0), grids=grids)
        )
        if figures:
            for path in plot_task(out_dir / FIGURES_DIR, entry.task, lines, metric=metric):
                files[path.stem] = path
        else:
            # Figures of an earlier call would no longer match the tables.
            for suffix in FIGURE_SUFFIXES:
                (out_dir / FIGURES_DIR / f"{entry.task}-{suffix}.png").unlink(missing_ok=True)
    files["tables"] = write_text_atomic(out_dir / TABLES_FILE, "\n".join(sections))
    return files
