"""What a task is: its data, model, metric and the two budgets it runs at."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

BUDGET_NAMES = ("cpu", "paper")
TaskKind = Literal["image", "language"]


@dataclass(frozen=True)
class Budget:
    """Size and optimizer settings of a task's runs.

    Attributes:
        epochs: Passes over the training split.
        batch_size: Training batch size (sequences per batch for language models).
        lr: Initial LR of SGD, which the hand-designed baselines keep or decay. A
            schedule net sets its own LR and uses this one only as the reference for
            param-group ratios.
        adam_lr: LR of the Adam baseline.
        momentum: SGD momentum.
        weight_decay: L2 penalty coefficient of every optimizer.
        t_val: Optimizer steps between look-aheads when meta-training.
        max_grad_norm: Gradient-norm clipping before each step, or None.
        model_options: Keyword options of the model, such as ``width`` or ``size``.
        split: ``standard`` reads the official files: the training set less 1,000
            held-out images as meta-data (the validation text for language models) and
            the official test set. ``offline`` carves all three splits out of the files
            that ship offline: the MNIST test set (8,000/1,000/1,000), or PTB's
            ``valid.txt`` (train, less its last 10% as meta-data) and ``test.txt``.
        train_limit: Use only the first this many training images (tokens for language
            models) after the meta-data split, or all of them when None.
        test_limit: Evaluate on only the first this many test images (tokens for language
            models), or on all of them when None. For quick checks.
        meta_batch_size: Batch size of the meta-data loader.
        eval_batch_size: Batch size of the test loader (sequences for language models).
        bptt: Tokens per truncated backpropagation window (language models only).
        augment: Random-crop (and for natural images, horizontal-flip) augmentation of
            training batches.
        note: What this budget changes from the method's setting, shown by ``mlrsnet tasks``.
    """

    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    t_val: int
    adam_lr: float = 1e-3
    max_grad_norm: float | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    split: str = "standard"
    train_limit: int | None = None
    test_limit: int | None = None
    meta_batch_size: int = 100
    eval_batch_size: int = 500
    bptt: int = 35
    augment: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "t_val", "meta_batch_size", "eval_batch_size", "bptt"):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("train_limit", "test_limit"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), minimum=1)
        for name in ("lr", "adam_lr"):
            _check_number(name, getattr(self, name), positive=True)
        for name in ("momentum", "weight_decay"):
            _check_number(name, getattr(self, name), positive=False)
        if self.max_grad_norm is not None:
            _check_number("max_grad_norm", self.max_grad_norm, positive=True)
        if not isinstance(self.model_options, dict):
            raise ValueError(f"budget field model_options must be a JSON object such as {{\"width\": 8}}, got {self.model_options!r}")
        if self.split not in SPLITS:
            raise ValueError(f"budget field split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if not isinstance(self.augment, bool):
            raise ValueError(f"budget field augment must be true or false, got {self.augment!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        return asdict(self)


SPLITS = ("standard", "offline")


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"budget field {name} must be an integer of at least {minimum}, got {value!r}")


def _check_number(name: str, value: Any, *, positive: bool) -> None:
    valid = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not valid or value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        raise ValueError(f"budget field {name} must be {kind} finite number, got {value!r} of type {type(value).__name__}")


@dataclass(frozen=True)
class Task:
    """A named experiment setting: dataset, model, metric, meta-data split and budgets.

    Attributes:
        name: Name used on the command line, such as ``mnist-cnn``.
        dataset: Key of the dataset: ``digits``, ``mnist``, ``cifar10``, ``cifar100``,
            ``svhn``, ``tinyimagenet`` or ``ptb``.
        model: Name of the model in :mod:`mlrsnet.models.registry`, or ``lstm`` for the
            language model.
        kind: ``image`` (classification, accuracy) or ``language`` (perplexity).
        budgets: The ``cpu`` and ``paper`` budgets.
        description: One line for ``mlrsnet tasks``.
        offline: Whether the ``cpu`` budget runs on the files in the shared data folder
            or ships with a library, so that it needs no download.
    """

    name: str
    dataset: str
    model: str
    kind: TaskKind
    budgets: dict[str, Budget]
    description: str
    offline: bool = False

    @property
    def metric(self) -> str:
        """``accuracy`` for image tasks, ``perplexity`` for language tasks."""
        return "accuracy" if self.kind == "image" else "perplexity"

    def budget(self, name: str) -> Budget:
        """Return the budget called ``name``.

        Raises:
            ValueError: If ``name`` is not ``cpu`` or ``paper``.
        """
        if name not in self.budgets:
            raise ValueError(f"unknown budget {name!r} for task {self.name!r}. Valid budgets: {', '.join(self.budgets)}")
        return self.budgets[name]
