"""The benchmark suites: which tasks run, at which budget, and where "Ours (test)" comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlrsnet.baselines import BENCHMARK_BASELINES
from mlrsnet.tasks import get_task


@dataclass(frozen=True)
class SuiteTask:
    """One task of a suite.

    Attributes:
        task: Task name from ``mlrsnet tasks``.
        source: Task of the same suite whose meta-trained schedule (same seed) is
            transferred to this one for "Ours (test)".
        overrides: Budget fields changed for every run of this task, so that all
            methods train for the same epochs.
    """

    task: str
    source: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    """A set of tasks that the benchmark runs with every method and seed."""

    name: str
    budget: str
    tasks: tuple[SuiteTask, ...]
    description: str
    baselines: tuple[str, ...] = BENCHMARK_BASELINES

    def __post_init__(self) -> None:
        names = [entry.task for entry in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"suite {self.name!r} lists a task twice: {names}")
        for entry in self.tasks:
            get_task(entry.task)
            if entry.source not in names or entry.source == entry.task:
                raise ValueError(
                    f"the source of {entry.task!r} in suite {self.name!r} must be another task of the suite, "
                    f"got {entry.source!r}"
                )

    def entry(self, task: str) -> SuiteTask:
        """Return the entry of ``task``."""
        for entry in self.tasks:
            if entry.task == task:
                return entry
        raise KeyError(task)


# Tiny runs of every method on three offline tasks, for CI: about 3 minutes on 2 cores.
_QUICK_DIGITS = {"epochs": 4, "t_val": 1}
_QUICK_PTB = {
    "epochs": 2,
    "train_limit": 3000,
    "test_limit": 2000,
    "batch_size": 10,
    "t_val": 1,
    "model_options": {"size": 32, "num_layers": 2},
}
QUICK = Suite(
    "quick",
    "cpu",
    (
        SuiteTask("digits-mlp", "digits-cnn", _QUICK_DIGITS),
        SuiteTask("digits-cnn", "digits-mlp", _QUICK_DIGITS),
        SuiteTask("ptb-lstm2", "digits-cnn", _QUICK_PTB),
    ),
    "every method for a few epochs on digits and on a small PTB model; a smoke test of the pipeline",
)

# The offline tasks at sizes where every method and 3 seeds fit in 90 minutes on 2 cores.
CPU = Suite(
    "cpu",
    "cpu",
    (
        SuiteTask("digits-cnn", "mnist-cnn"),
        SuiteTask("mnist-cnn", "digits-cnn", {"epochs": 12, "t_val": 2}),
        SuiteTask(
            "ptb-lstm2",
            "mnist-cnn",
            {"epochs": 5, "batch_size": 10, "train_limit": 15000, "test_limit": 10000, "t_val": 1},
        ),
    ),
    "digits-cnn (30 epochs), mnist-cnn (12 epochs) and ptb-lstm2 (5 epochs on 15,000 tokens); "
    "ptb-lstm2 takes the schedule meta-trained on MNIST images",
)

# The method's paper-scale tasks, for machines with a GPU. "Ours (test)" transfers the
# schedule meta-trained on CIFAR-10 with ResNet-18 to the other datasets, architectures and
# the language models, and CIFAR-10 takes the one from CIFAR-100.
PAPER = Suite(
    "paper",
    "paper",
    (
        SuiteTask("cifar10-resnet18", "cifar100-wrn28-10"),
        SuiteTask("cifar100-wrn28-10", "cifar10-resnet18"),
        SuiteTask("svhn-resnet18", "cifar10-resnet18"),
        SuiteTask("tinyimagenet-resnet18", "cifar10-resnet18"),
        SuiteTask("cifar10-shufflenetv2", "cifar10-resnet18"),
        SuiteTask("cifar10-mobilenetv2", "cifar10-resnet18"),
        SuiteTask("ptb-lstm2-paper", "cifar10-resnet18"),
        SuiteTask("ptb-lstm3-paper", "cifar10-resnet18"),
    ),
    "the method's datasets and models at its budgets (200 epochs for images, 150 for PTB); needs a GPU",
)

SUITES: dict[str, Suite] = {suite.name: suite for suite in (QUICK, CPU, PAPER)}


def get_suite(name: str) -> Suite:
    """Return the suite called ``name``.

    Raises:
        ValueError: If there is no such suite; the message lists the suites.
    """
    try:
        return SUITES[name]
    except KeyError:
        raise ValueError(f"unknown suite {name!r}. Valid suites: {', '.join(SUITES)}") from None
