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
    elif summary.finished == 1:
        text = _number(stats[0] * factor, digits)
    else:
        text = f"{_number(stats[0] * factor, digits)} ± {_number(stats[1] * factor, digits)}"
    if bold:
        text = f"**{text}**"
    if summary.diverged:
        text += f" ({summary.diverged} of {summary.runs} diverged)"
    return text


def _number(value: float, digits: int) -> str:
    # A perplexity in the millions or beyond (a run that went astray) in scientific notation.
    return f"{value:.3g}" if abs(value) >= 1e6 else f"{value:.{digits}f}"


def method_label(summary: RowSummary) -> str:
    """Return the label of a row, with the chosen grid value of a tuned method."""
    if summary.chosen is None:
        return summary.label
    text = f"{summary.label}, {BASELINES[summary.row].tuned}={summary.chosen}"
    if summary.grid_size == 1:
        return text
    if not summary.complete:
        return f"{text} (best of {summary.grid_size}, none finished all seeds)"
    return f"{text} (best of {summary.grid_size})"


def _best_indices(rows: Sequence[RowSummary], column: str, higher_is_better: bool) -> set[int]:
    """Return the rows whose mean in ``column`` is the best, ties included."""
    scored = [(i, getattr(row, column)[0]) for i, row in enumerate(rows) if getattr(row, column) is not None]
    scored = [(i, value) for i, value in scored if math.isfinite(value)]
    if not scored:
        return set()
    pick = max if higher_is_better else min
    best = pick(value for _, value in scored)
    return {i for i, value in scored if math.isclose(value, best, rel_tol=1e-12)}


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
    is in bold, and so are means that tie with it. A tuned method shows its chosen value, and ``grids`` adds a line per
    tuned method with the last-epoch mean of every grid value.
    """
    _, _, metric_name = _scale(metric)
    best_rows = _best_indices(rows, "best", higher_is_better)
    last_rows = _best_indices(rows, "last", higher_is_better)
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
            f"| {method_label(row)} | {_cell(row, 'best', metric, index in best_rows)} | "
            f"{_cell(row, 'last', metric, index in last_rows)} | {time} |"
        )
    factor, digits, _ = _scale(metric)
    for row, values in (grids or {}).items():
        parts = []
        for value in values:
            result = "diverged" if value.last is None else _number(value.last[0] * factor, digits)
            if value.last is not None and value.diverged:
                result += f" ({value.diverged} diverged)"
            parts.append(f"{value.chosen}: {result}")
        lines += ["", f"{rows_label(rows, row)} grid, last-epoch mean: " + "; ".join(parts) + "."]
    return "\n".join(lines) + "\n"


def rows_label(rows: Sequence[RowSummary], row: str) -> str:
    """Return the label of ``row`` among ``rows``."""
    return next((summary.label for summary in rows if summary.row == row), row)
