"""The demo's PNG figures: LR per step, and train loss and test accuracy per epoch.

matplotlib is imported inside each function, so importing this module stays cheap. The
figures are drawn on ``matplotlib.figure.Figure`` objects and saved with the Agg
backend, without pyplot, so they neither open windows nor change the caller's backend.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mlrsnet.atomic import write_atomic
from mlrsnet.experiments.report import RunRecord
from mlrsnet.runs import RunResult

FIGURE_DPI = 120


def _save(figure, path: str | os.PathLike[str]) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    return write_atomic(path, lambda temporary: figure.savefig(temporary, format="png", dpi=FIGURE_DPI))


def plot_lr(
    path: str | os.PathLike[str],
    meta_run: RunResult,
    records: Sequence[RunRecord],
    *,
    meta_title: str = "meta-training",
    transfer_title: str = "transfer",
) -> Path:
    """Plot the LR per step of meta-training (left panel) and of every run in ``records`` (right).

    The transfer panel has a log y-axis. The meta-training panel has one only when its LR
    spans more than a factor of 10. Pass the runs of one seed, so that each method has one line.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4), layout="constrained")
    meta_axes, transfer_axes = figure.subplots(1, 2)

    meta_axes.plot(range(len(meta_run.lr_per_step)), meta_run.lr_per_step, color="black", linewidth=1)
    meta_axes.set_title(meta_title)
    for record in records:
        lrs = record.result.lr_per_step
        transfer_axes.plot(range(len(lrs)), lrs, label=record.method, linewidth=1)
    transfer_axes.set_title(transfer_title)
    transfer_axes.legend(fontsize="small")

    transfer_axes.set_yscale("log")
    meta_lrs = [lr for lr in meta_run.lr_per_step if lr > 0]
    if meta_lrs and max(meta_lrs) > 10 * min(meta_lrs):
        meta_axes.set_yscale("log")
    for axes in (meta_axes, transfer_axes):
        axes.set_xlabel("optimizer step")
        axes.set_ylabel("learning rate")
        axes.grid(True, which="both", alpha=0.3)
    return _save(figure, path)


def _mean_per_epoch(series: Sequence[Sequence[float]]) -> list[float]:
    # A diverged run has fewer epochs, so each epoch averages the runs that reached it.
    length = max((len(values) for values in series), default=0)
    means = []
    for epoch in range(length):
        reached = [values[epoch] for values in series if len(values) > epoch]
        means.append(sum(reached) / len(reached))
    return means


def plot_epoch_metric(
    path: str | os.PathLike[str],
    records: Sequence[RunRecord],
    metric: str,
    *,
    ylabel: str,
    title: str = "",
    log_y: bool = False,
) -> Path:
    """Plot ``metric``, a per-epoch list field of :class:`RunResult`, averaged over seeds per method.

    Epochs are numbered from 1. Each epoch's mean covers the runs that reached it, so a
    method's line after a diverged run averages fewer seeds.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 4.5), layout="constrained")
    axes = figure.subplots()
    methods = list(dict.fromkeys(record.method for record in records))
    for method in methods:
        series = [getattr(record.result, metric) for record in records if record.method == method]
        means = _mean_per_epoch(series)
        axes.plot(range(1, len(means) + 1), means, marker="o", markersize=3, label=method)

    if log_y:
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    return _save(figure, path)
