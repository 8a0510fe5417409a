"""The runs of a benchmark: every method on every task of a suite, for each seed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlrsnet.baselines import BASELINES, GRIDS, baseline_label
from mlrsnet.experiments.benchmark.suites import Suite
from mlrsnet.tasks import get_task

OURS_TRAIN = "ours-train"
OURS_TEST = "ours-test"
OURS_LABELS = {OURS_TRAIN: "Ours (train)", OURS_TEST: "Ours (test)"}


@dataclass(frozen=True)
class PlannedRun:
    """One run of the benchmark.

    Attributes:
        task: Task name.
        seed: Seed of the run.
        method: ``ours-train``, ``ours-test``, or a baseline as ``NAME`` or ``NAME:VALUE``.
        row: Row of the method in the tables: the method without a grid value.
        label: Label of the method, with its grid value if any.
        source: For ``ours-test``, the task whose schedule (same seed) the run uses.
    """

    task: str
    seed: int
    method: str
    row: str
    label: str
    source: str | None = None

    @property
    def folder(self) -> Path:
        """Folder of the run under the benchmark's ``runs`` folder."""
        return Path(self.task) / self.method.replace(":", "=") / f"seed-{self.seed}"

    @property
    def key(self) -> str:
        """Identifier of the run in ``results.json``: ``task/method/seed-N``."""
        return f"{self.task}/{self.method}/seed-{self.seed}"

    def dependency(self) -> PlannedRun | None:
        """Return the meta-training run whose schedule this run needs, or None."""
        if self.source is None:
            return None
        return PlannedRun(self.source, self.seed, OURS_TRAIN, OURS_TRAIN, OURS_LABELS[OURS_TRAIN])


def method_names(suite: Suite, task: str) -> list[str]:
    """Return the methods run on ``task``: the schedule net's two, then every baseline.

    Baselines with a tuned value appear once per grid value, such as ``hd:0.001``.
    """
    kind = get_task(task).kind
    names = [OURS_TRAIN, OURS_TEST]
    for baseline in suite.baselines:
        # A tuned baseline without a value runs its whole grid.
        if ":" not in baseline and BASELINES[baseline].tuned is not None:
            names.extend(f"{baseline}:{value:g}" for value in GRIDS[baseline][kind])
        else:
            names.append(baseline)
    return names


def row_of(method: str) -> str:
    """Return the table row of ``method``: the method name without its grid value."""
    return method.partition(":")[0]


def row_label(row: str) -> str:
    """Return the table label of a row."""
    return OURS_LABELS.get(row) or BASELINES[row].label


def plan_runs(suite: Suite, seeds: int) -> list[PlannedRun]:
    """Return every run of ``suite`` for seeds ``0 .. seeds - 1``, meta-training runs first.

    The transfer runs come after all meta-training runs, and the baselines follow, so
    a run never comes before the meta-training run whose schedule it needs.

    Raises:
        ValueError: If ``seeds`` is not positive.
    """
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive int, got {seeds!r}")
    meta, transfers, baselines = [], [], []
    for seed in range(seeds):
        for entry in suite.tasks:
            for method in method_names(suite, entry.task):
                if method == OURS_TRAIN:
                    meta.append(PlannedRun(entry.task, seed, method, method, OURS_LABELS[method]))
                elif method == OURS_TEST:
                    transfers.append(PlannedRun(entry.task, seed, method, method, OURS_LABELS[method], entry.source))
                else:
                    baselines.append(PlannedRun(entry.task, seed, method, row_of(method), baseline_label(method)))
    return meta + transfers + baselines
