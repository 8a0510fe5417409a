"""``tables.md``: one table per task in the layout of the method's tables."""

from __future__ import annotations

import math
from collections.abc import Sequence

from mlrsnet.baselines import BASELINES
from mlrsnet.experiments.benchmark.results import RowSummary


def _scale(metric: str) -> tuple[float, int, str]:
    # Accuracy is shown in percent with 2 decimals, perplexity as it is with 1.
    return (100.0, 2, "test accuracy (%)") if metric == "accuracy" else (1.0, 1, "test perplexity")


def _cell(summary: RowSummary, column: str, metric: str, bold: bool) -> str:
    stats = getattr(summary, column)
    if stats is None:
        if summary.skipped:
            return "skipped (no source schedule)"
        if summary.diverged:
            return f"diverged ({summary.diverged} of {summary.runs})"
        return "not run"
    factor, digits, _ = _scale(metric)
    if math.isinf(stats[0]):
        text = "overflow"
    else:
        text = f"{stats[0] * factor:.{digits}f} ± {stats[1] * factor:.{digits}f}"
    if bold:
        text = f"**{text}**"
    if summary.diverged:
        text += f" ({summary.diverged} of {summary.runs} diverged)"
    return text


def method_label(summary: RowSummary) -> str:
    """Return the label of a row, with the chosen grid value of a tuned method."""
    if summary.chosen is None:
        return summary.label
    text = f"{summary.label}, {BASELINES[summary.row].tuned}={summary.chosen}"
    return text if summary.grid_size == 1 else f"{text} (best of {summary.grid_size})"


def _best_index(rows: Sequence[RowSummary], column: str, higher_is_better: bool) -> int | None:
    scored = [(i, getattr(row, column)[0]) for i, row in enumerate(rows) if getattr(row, column) is not None]
    if not scored:
        return None
    pick = max if higher_is_better else min
    return pick(scored, key=lambda item: item[1])[0]


def task_table(
    task: str,
    rows: Sequence[RowSummary],
    *,
    metric: str,
    higher_is_better: bool,
    seeds: int,
    epochs: int,
    grids: dict[str, list[RowSummary]] | None = None,
) -> str:
    """Return the Markdown table of one task.

    Each row shows the best-epoch and last-epoch test metric as mean ± std over the
    seeds that finished, and the mean wall time of a run. The best mean of each column
    is in bold. A tuned method shows its chosen value, and ``grids`` adds a line per
    tuned method with the last-epoch mean of every grid value.
    """
    _, _, metric_name = _scale(metric)
    best_row = _best_index(rows, "best", higher_is_better)
    last_row = _best_index(rows, "last", higher_is_better)
    lines = [
        f"### {task}",
        "",
        f"{metric_name}, mean ± std over {seeds} seed{'s' if seeds != 1 else ''}, {epochs} epochs.",
        "",
        "| Method | Best epoch | Last epoch | Time per run (s) |",
        "|---|---|---|---|",
    ]
    for index, row in enumerate(rows):
        time = "" if row.wall_time_s is None else f"{row.wall_time_s:.1f}"
        lines.append(
            f"| {method_label(row)} | {_cell(row, 'best', metric, index == best_row)} | "
            f"{_cell(row, 'last', metric, index == last_row)} | {time} |"
        )
    factor, digits, _ = _scale(metric)
    for row, values in (grids or {}).items():
        parts = []
        for value in values:
            result = "diverged" if value.last is None else f"{value.last[0] * factor:.{digits}f}"
            if value.last is not None and value.diverged:
                result += f" ({value.diverged} diverged)"
            parts.append(f"{value.chosen}: {result}")
        lines += ["", f"{rows_label(rows, row)} grid, last-epoch mean: " + "; ".join(parts) + "."]
    return "\n".join(lines) + "\n"


def rows_label(rows: Sequence[RowSummary], row: str) -> str:
    """Return the label of ``row`` among ``rows``."""
    return next((summary.label for summary in rows if summary.row == row), row)
