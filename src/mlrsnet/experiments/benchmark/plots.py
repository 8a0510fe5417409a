"""The benchmark's PNG figures per task: train loss, test metric and LR, one line per method."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlrsnet.experiments.figures import _save

FIGURE_SUFFIXES = ("train-loss", "test-metric", "lr")
# Line styles cycle with the colors so that about 20 methods stay apart.
_STYLES = ("-", "--", ":", "-.")


def _mean_series(series: Sequence[Sequence[Any]]) -> list[float]:
    """Return the mean over runs at each index, over the runs that reach it."""
    length = max((len(values) for values in series), default=0)
    means = []
    for index in range(length):
        column = [v[index] for v in series if index < len(v) and v[index] is not None and math.isfinite(v[index])]
        means.append(statistics.fmean(column) if column else math.nan)
    return means


def plot_task(
    folder: Path,
    task: str,
    lines: Sequence[tuple[str, list[dict[str, Any]]]],
    *,
    metric: str,
) -> list[Path]:
    """Write ``TASK-train-loss.png``, ``TASK-test-metric.png`` and ``TASK-lr.png`` into ``folder``.

    Args:
        folder: Output folder, created if needed.
        task: Task name, used in the titles and file names.
        lines: One ``(label, records)`` pair per method, with the ``results.json`` records
            of its seeds. Each figure plots their mean; a diverged run counts until it stops.
        metric: ``accuracy`` or ``perplexity``.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    panels = [
        ("train-loss", "train_loss", "epoch", "mean training loss", True),
        ("test-metric", "test_metric", "epoch", "test accuracy (%)" if metric == "accuracy" else "test perplexity",
         metric != "accuracy"),
        ("lr", "lr_per_step", "iteration", "learning rate", True),
    ]
    paths = []
    for suffix, field, x_label, y_label, log_y in panels:
        figure = Figure(figsize=(9, 5.5))
        axes = figure.add_subplot()
        colormap = colormaps["tab20"]
        plotted: list[float] = []
        for index, (label, records) in enumerate(lines):
            values = _mean_series([record.get(field) or [] for record in records])
            if not values:
                continue
            if field == "test_metric" and metric == "accuracy":
                values = [value * 100 for value in values]
            start = 1 if x_label == "epoch" else 0
            plotted.extend(value for value in values if math.isfinite(value) and value > 0)
            axes.plot(
                range(start, start + len(values)),
                values,
                label=label,
                color=colormap(index % 20),
                linestyle=_STYLES[(index // 10) % len(_STYLES)],
                linewidth=1.2,
            )
        if log_y:
            axes.set_yscale("log")
            if len(plotted) > 100:
                # A few runaway values (RTHO's LR, a diverging perplexity) would squash the rest.
                plotted.sort()
                low, high = plotted[len(plotted) // 200], plotted[-1 - len(plotted) // 200]
                axes.set_ylim(low / 2, high * 2)
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        axes.set_title(f"{task}: {y_label}, mean over seeds")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        figure.tight_layout()
        paths.append(_save(figure, folder / f"{task}-{suffix}.png"))
    return paths
