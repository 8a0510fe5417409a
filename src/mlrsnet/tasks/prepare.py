"""Turn a task name, a budget and a seed into loaders, an objective and a model factory."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import torch
from torch import nn

from mlrsnet.data.paths import resolve_data_dir
from mlrsnet.tasks.dataset_files import DownloadSettings
from mlrsnet.tasks.loaders import TensorBatches, TokenBatches
from mlrsnet.tasks.objectives import ClassificationObjective, LanguageModelObjective, Objective
from mlrsnet.tasks.registry import get_task
from mlrsnet.tasks.spec import Budget, Task

Loader = Union[TensorBatches, TokenBatches]

# Datasets of natural images, which horizontal flips keep valid (digits and house numbers are not).
FLIP_DATASETS = ("cifar10", "cifar100", "tinyimagenet")


@dataclass
class PreparedTask:
    """Everything a run of one task at one budget and seed needs.

    Attributes:
        task: The task definition.
        budget_name: ``cpu`` or ``paper``.
        budget: The budget after any overrides.
        seed: Seed of the model initialization and of the batch order.
        objective: Loss and metric of the task.
        train_loader, meta_loader, test_loader: Batches of each split.
        num_classes: ``C`` of the schedule net's gamma rule: the classes, or the
            vocabulary size of a language model.
        schedule_settings: Keyword arguments for ``MetaTrainer`` and
            ``MLRSNetScheduler`` that adapt the schedule net to the task. Language models
            use the released language-model settings: loss / ln(V) as the net's input
            and gamma from the perplexity.
        data_info: Where the splits came from, with their sizes.
    """

    task: Task
    budget_name: str
    budget: Budget
    seed: int
    objective: Objective
    train_loader: Loader
    meta_loader: Loader
    test_loader: Loader
    num_classes: int
    schedule_settings: dict[str, Any]
    data_info: dict[str, Any] = field(default_factory=dict)
    _model_options: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one pass over the training split."""
        return len(self.train_loader)

    @property
    def total_steps(self) -> int:
        """Optimizer steps of the whole run."""
        return self.budget.epochs * self.steps_per_epoch

    def build_model(self) -> nn.Module:
        """Build the task's model, initialized from ``torch.manual_seed(seed)``.

        Raises:
            ValueError: If the budget's ``model_options`` do not fit the model.
        """
        from mlrsnet.models.registry import build_image_model, build_language_model

        torch.manual_seed(self.seed)
        options = dict(self._model_options)
        try:
            if self.task.kind == "language":
                return build_language_model(self.num_classes, **options)
            input_shape = tuple(self.data_info["input_shape"])
            return build_image_model(self.task.model, self.num_classes, input_shape, **options)
        except TypeError as error:
            # Unknown or mistyped options from the budget's model_options (set with --set).
            raise ValueError(f"invalid model_options {options} for model {self.task.model!r}: {error}") from error

    def describe_model(self) -> str:
        """Return the model name with its options, for records and schedule metadata."""
        options = ", ".join(f"{name}={value}" for name, value in sorted(self._model_options.items()))
        return f"{self.task.model}({options})"


def prepare_task(
    task: str | Task,
    budget: str = "cpu",
    *,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    download: DownloadSettings | None = None,
    corruption: str | None = None,
    severity: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> PreparedTask:
    """Read the data of ``task`` and build its loaders for ``budget`` and ``seed``.

    Args:
        task: A task name from ``mlrsnet tasks``, or a :class:`Task`.
        budget: ``cpu`` or ``paper``.
        seed: Seed of the model initialization, the batch order and the augmentation.
        data_dir: Folder that contains one subfolder per dataset (default: ``$MLRSNET_DATA``,
            then ``~/.cache/mlrsnet``).
        download: Whether missing files may be downloaded (never by default).
        corruption, severity: Corrupt the train and test images with one of the 15
            CIFAR-C corruptions at severity 1 to 5 (image tasks only).
        overrides: Budget fields to change, such as ``{"epochs": 2}``.

    Raises:
        ValueError: For an unknown task, budget, budget field or corruption, or a
            corruption on a language task.
        DatasetNotFoundError: If the data is missing and downloads are not enabled.
    """
    task = get_task(task) if isinstance(task, str) else task
    chosen = task.budget(budget)
    if overrides:
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(Budget)})
        if unknown:
            raise ValueError(f"unknown budget field(s) {', '.join(unknown)}. Valid fields: {', '.join(f.name for f in dataclasses.fields(Budget))}")
        chosen = dataclasses.replace(chosen, **overrides)
    folder = resolve_data_dir(data_dir)

    if task.kind == "language":
        if corruption is not None:
            raise ValueError(f"--corruption applies to image tasks, and {task.name} is a language task")
        return _prepare_language(task, budget, chosen, seed, folder, download)
    return _prepare_image(task, budget, chosen, seed, folder, download, corruption, severity)


def _prepare_image(
    task: Task,
    budget_name: str,
    budget: Budget,
    seed: int,
    data_dir: Path,
    download: DownloadSettings | None,
    corruption: str | None,
    severity: int | None,
) -> PreparedTask:
    from mlrsnet.tasks.image_data import load_image_splits

    splits = load_image_splits(task.dataset, budget, data_dir, download=download, corruption=corruption, severity=severity)
    info = dict(splits.info, input_shape=list(splits.input_shape), num_classes=splits.num_classes)
    augment_flip = task.dataset in FLIP_DATASETS
    # Separate generators, so that the meta-data order does not shift the training order.
    train_loader = TensorBatches(*splits.train, budget.batch_size, seed=seed, augment=budget.augment, flip=augment_flip)
    meta_loader = TensorBatches(*splits.meta, budget.meta_batch_size, seed=seed + 1_000_003)
    test_loader = TensorBatches(*splits.test, budget.eval_batch_size)
    return PreparedTask(
        task=task,
        budget_name=budget_name,
        budget=budget,
        seed=seed,
        objective=ClassificationObjective(),
        train_loader=train_loader,
        meta_loader=meta_loader,
        test_loader=test_loader,
        num_classes=splits.num_classes,
        schedule_settings={"num_classes": splits.num_classes},
        data_info=info,
        _model_options=dict(budget.model_options),
    )


def _prepare_language(
    task: Task, budget_name: str, budget: Budget, seed: int, data_dir: Path, download: DownloadSettings | None
) -> PreparedTask:
    from mlrsnet.tasks.text_data import load_text_splits

    splits = load_text_splits(budget, data_dir, download=download)
    vocab_size = splits.vocab_size
    model_options = {"size": 200, "num_layers": 2, **budget.model_options}
    return PreparedTask(
        task=task,
        budget_name=budget_name,
        budget=budget,
        seed=seed,
        objective=LanguageModelObjective(),
        train_loader=TokenBatches(splits.train, budget.batch_size, budget.bptt),
        meta_loader=TokenBatches(splits.meta, budget.meta_batch_size, budget.bptt),
        test_loader=TokenBatches(splits.test, budget.eval_batch_size, budget.bptt),
        num_classes=vocab_size,
        schedule_settings={"num_classes": vocab_size, "input_scale": math.log(vocab_size), "gamma_from_perplexity": True},
        data_info=dict(splits.info),
        _model_options=model_options,
    )
