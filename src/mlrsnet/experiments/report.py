"""Per-run records, their summary over seeds, the accuracy table and the CSV and JSON files."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlrsnet.atomic import write_text_atomic
from mlrsnet.runs import RunResult

RUN_CSV_COLUMNS = ("method", "seed", "final_acc", "best_acc", "final_train_loss", "diverged", "wall_time_s")
SUMMARY_CSV_COLUMNS = (
    "method",
    "runs",
    "diverged",
    "final_acc_mean",
    "final_acc_std",
    "best_acc_mean",
    "best_acc_std",
    "final_train_loss_mean",
    "final_train_loss_std",
)


@dataclass(frozen=True)
class RunRecord:
    """One training run of one method with one seed."""

    method: str
    seed: int
    result: RunResult

    @property
    def final_accuracy(self) -> float | None:
        """Test accuracy after the last epoch, or None for a diverged run, which has no final model."""
        if self.result.diverged or not self.result.test_metric:
            return None
        return self.result.test_metric[-1]

    @property
    def best_accuracy(self) -> float | None:
        """Highest test accuracy over the evaluated epochs, or None for a diverged run."""
        if self.result.diverged or not self.result.test_metric:
            return None
        return max(self.result.test_metric)

    @property
    def final_train_loss(self) -> float | None:
        """Mean training loss of the last epoch, or None for a diverged run."""
        if self.result.diverged or not self.result.train_loss:
            return None
        return self.result.train_loss[-1]


@dataclass(frozen=True)
class MethodSummary:
    """Means and standard deviations of one method's runs over seeds.

    The statistics cover the runs that did not diverge and are None when every run
    diverged. The standard deviation is the sample one (n - 1 in the denominator), and
    0.0 for a single run.
    """

    method: str
    runs: int
    diverged: int
    final_acc_mean: float | None
    final_acc_std: float | None
    best_acc_mean: float | None
    best_acc_std: float | None
    final_train_loss_mean: float | None
    final_train_loss_std: float | None


def _mean_and_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], 0.0
    return statistics.mean(values), statistics.stdev(values)


def summarize(records: Sequence[RunRecord]) -> list[MethodSummary]:
    """Summarize ``records`` per method, in the order in which each method first appears."""
    methods = list(dict.fromkeys(record.method for record in records))
    summaries = []
    for method in methods:
        runs = [record for record in records if record.method == method]
        finished = [record for record in runs if not record.result.diverged]
        final_mean, final_std = _mean_and_std([record.final_accuracy for record in finished])
        best_mean, best_std = _mean_and_std([record.best_accuracy for record in finished])
        loss_mean, loss_std = _mean_and_std([record.final_train_loss for record in finished])
        summaries.append(
            MethodSummary(
                method=method,
                runs=len(runs),
                diverged=len(runs) - len(finished),
                final_acc_mean=final_mean,
                final_acc_std=final_std,
                best_acc_mean=best_mean,
                best_acc_std=best_std,
                final_train_loss_mean=loss_mean,
                final_train_loss_std=loss_std,
            )
        )
    return summaries


def _percent(mean: float | None, std: float | None) -> str:
    if mean is None or std is None:
        return "n/a"
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def format_table(summaries: Sequence[MethodSummary], caption: str = "") -> str:
    """Format the final and best test accuracy of each method as an aligned Markdown table.

    Accuracies are percentages, mean ± std over seeds. The ``diverged`` column counts the
    diverged runs of each method, and a method with any is marked with ``*``.
    """
    header = ("method", "final acc (%)", "best acc (%)", "diverged")
    rows = [
        (
            summary.method + (" *" if summary.diverged else ""),
            _percent(summary.final_acc_mean, summary.final_acc_std),
            _percent(summary.best_acc_mean, summary.best_acc_std),
            f"{summary.diverged}/{summary.runs}",
        )
        for summary in summaries
    ]
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"

    lines = [caption, ""] if caption else []
    lines.append(line(header))
    lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    lines.extend(line(row) for row in rows)
    if any(summary.diverged for summary in summaries):
        lines.append("")
        lines.append("* some runs diverged. Their method's statistics cover the other runs only.")
    return "\n".join(lines) + "\n"


def _csv_text(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return buffer.getvalue()


def write_runs_csv(path: str | os.PathLike[str], records: Sequence[RunRecord]) -> Path:
    """Write one row per run. Accuracies are fractions in [0, 1], and empty for a diverged run."""
    rows = [
        {
            "method": record.method,
            "seed": record.seed,
            "final_acc": record.final_accuracy,
            "best_acc": record.best_accuracy,
            "final_train_loss": record.final_train_loss,
            "diverged": record.result.diverged,
            "wall_time_s": record.result.wall_time_s,
        }
        for record in records
    ]
    return write_text_atomic(path, _csv_text(RUN_CSV_COLUMNS, rows))


def write_summary_csv(path: str | os.PathLike[str], summaries: Sequence[MethodSummary]) -> Path:
    """Write one row per method with the fields of :class:`MethodSummary`."""
    return write_text_atomic(path, _csv_text(SUMMARY_CSV_COLUMNS, [asdict(summary) for summary in summaries]))


def _replace_non_finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _replace_non_finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_non_finite(item) for item in value]
    return value


def write_json(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Write ``payload`` as indented JSON, with NaN and infinity as null so that strict parsers read it."""
    text = json.dumps(_replace_non_finite(payload), indent=2, allow_nan=False)
    return write_text_atomic(path, text + "\n")
