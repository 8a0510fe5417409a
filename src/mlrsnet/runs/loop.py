"""One training run of a model with any LR method: the loop, evaluation and its record.

Every method, hand-designed baseline or schedule net, plugs into :func:`train` through
the :class:`Method` interface, so all methods share the same loop.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from mlrsnet.core import NonFiniteLossError
from mlrsnet.core.batches import model_device
from mlrsnet.tasks.objectives import ClassificationObjective, Objective

logger = logging.getLogger(__name__)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

class Method(Protocol):
    """Interface between the training loop and an optimizer with the rule that sets its LR."""

    name: str
    optimizer: torch.optim.Optimizer

    def step(self, loss: torch.Tensor) -> None:
        """Perform the optimizer step, called after ``loss.backward()``.

        A method may raise :class:`mlrsnet.NonFiniteLossError` or ``FloatingPointError``
        (a non-finite LR or hypergradient), and the loop then ends the run as diverged.
        """
        ...

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """Update the method after the evaluation of 0-based ``epoch``."""
        ...

    def get_last_lr(self) -> list[float]:
        """Return the LR of each param group as used by the last ``step``."""
        ...


# A method may also define these, and the loop calls them when present:
# - ``backward(loss)``: compute the gradients instead of ``loss.backward()``, for methods
#   that need the gradient's graph (RTHO's Hessian-vector products);
# - ``before_evaluation()`` and ``after_evaluation()``: called around every evaluation,
#   for optimizers that evaluate at other weights than they train (schedule-free SGD).


@dataclass(frozen=True)
class EpochRecord:
    """Metrics of one finished epoch, as passed to ``on_epoch``."""

    epoch: int
    train_loss: float
    test_loss: float
    test_metric: float
    lr: float


@dataclass
class RunResult:
    """Record of one training run.

    ``lr_per_step`` and ``loss_per_step`` have one entry per completed optimizer step,
    and the per-epoch lists one entry per evaluated epoch, so an epoch cut short by
    divergence has no per-epoch entry. ``test_metric`` contains the objective's ``metric``
    (accuracy as a fraction, or perplexity). ``diverged_step`` is the 0-based index of the
    step whose training loss was not finite or whose ``method.step`` failed, or of the
    last step before a non-finite test loss. It is None for a run that did not diverge.
    """

    method: str
    metric: str = "accuracy"
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_metric: list[float] = field(default_factory=list)
    lr_per_step: list[float] = field(default_factory=list)
    loss_per_step: list[float] = field(default_factory=list)
    wall_time_s: float = 0.0
    diverged: bool = False
    diverged_step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict for ``json.dump``, with NaN and infinity as None."""
        return {name: _json_safe(value) for name, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> RunResult:
        """Rebuild a record from :meth:`to_dict`. A None in a float list becomes NaN."""
        restored = dict(fields)
        for name, value in fields.items():
            if isinstance(value, list):
                restored[name] = [math.nan if item is None else item for item in value]
        return cls(**restored)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def evaluate(
    model: nn.Module,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: LossFn = F.cross_entropy,
) -> tuple[float, float]:
    """Compute the mean loss and the accuracy of a classifier over ``loader`` in eval mode.

    ``loss_fn`` must return the mean over the batch, and the batch means are weighted by
    batch size. The model's train or eval mode is restored afterwards.

    Raises:
        ValueError: If ``loader`` yields no samples.
    """
    return ClassificationObjective(loss_fn).evaluate(model, loader)


def train(
    model: nn.Module,
    method: Method,
    train_loader: Iterable[Any],
    test_loader: Iterable[Any],
    epochs: int,
    *,
    objective: Objective | None = None,
    loss_fn: LossFn = F.cross_entropy,
    max_grad_norm: float | None = None,
    resume_from: RunResult | None = None,
    on_step: Callable[[int, float, float], None] | None = None,
    on_epoch: Callable[[int, EpochRecord], None] | None = None,
    on_checkpoint: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Train ``model`` for ``epochs`` epochs with ``method`` and evaluate after each epoch.

    A non-finite training or test loss ends the run with ``diverged=True`` and a logged
    warning instead of an exception. So does a
    :class:`mlrsnet.NonFiniteLossError` from ``method.step``. Batches move to the device of the model's
    parameters. The loop prints nothing, and callers show progress through the callbacks.

    Args:
        model: The model to train in place.
        method: Optimizer and LR method, see :class:`Method`.
        train_loader: Yields batches, one pass per epoch.
        test_loader: Evaluated after every epoch, and its loss goes to ``method.end_epoch``.
        epochs: Total number of passes over ``train_loader``, counting resumed ones.
        objective: Turns a batch into a loss and the model into a test metric. The default
            is a classifier trained with ``loss_fn`` and scored by accuracy.
        loss_fn: Batch-mean criterion of the default objective, ignored when
            ``objective`` is given.
        max_grad_norm: Clip the gradient norm of ``model``'s parameters to this before each
            ``method.step``, if set. Methods that look ahead then use the clipped gradient.
        resume_from: Record of the epochs already trained. Training continues after its
            last epoch, and the result extends a copy of it. The caller restores the
            model, the method and the loaders' random state.
        on_step: Called as ``on_step(step, loss, lr)`` after each optimizer step, with the
            0-based global step index.
        on_epoch: Called as ``on_epoch(epoch, record)`` after each evaluated epoch, once
            ``method.end_epoch`` has run.
        on_checkpoint: Called with the run record so far after ``on_epoch``, when the
            model, the method and the loaders are at an epoch boundary, so that a
            checkpoint saved there resumes exactly.

    Raises:
        ValueError: If ``epochs`` is not positive, ``train_loader`` yields no batches,
            ``max_grad_norm`` is not positive, or ``resume_from`` has diverged or already
            has ``epochs`` epochs.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if max_grad_norm is not None and not (math.isfinite(max_grad_norm) and max_grad_norm > 0):
        raise ValueError(f"max_grad_norm must be a positive number or None, got {max_grad_norm!r}")
    if objective is None:
        objective = ClassificationObjective(loss_fn)
    result = _start_result(method, objective, epochs, resume_from)

    device = model_device(model)
    start_time = time.perf_counter() - result.wall_time_s
    step = len(result.lr_per_step)

    for epoch in range(len(result.train_loss), epochs):
        epoch_losses: list[float] = []
        objective.start_epoch()
        for batch in train_loader:
            batch = tuple(part.to(device) for part in batch)
            model.train()
            method.optimizer.zero_grad()
            loss = objective.train_loss(model, batch)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                _mark_diverged(result, step, f"training loss is {loss_value}")
                break

            backward = getattr(method, "backward", None)
            if backward is None:
                loss.backward()
            else:
                backward(loss)
            if max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            try:
                method.step(loss)
            except (NonFiniteLossError, FloatingPointError) as error:
                _mark_diverged(result, step, f"{method.name}.step raised {error}")
                break

            lr = method.get_last_lr()[0]
            result.lr_per_step.append(lr)
            result.loss_per_step.append(loss_value)
            epoch_losses.append(loss_value)
            if on_step is not None:
                on_step(step, loss_value, lr)
            step += 1

        if result.diverged:
            break
        if not epoch_losses:
            raise ValueError("train_loader yielded no batches. Pass a non-empty loader")

        # Evaluate before end_epoch, because plateau-style methods take the test loss.
        test_loss, test_metric = evaluate_with(method, objective, model, test_loader)
        record = EpochRecord(
            epoch=epoch,
            train_loss=sum(epoch_losses) / len(epoch_losses),
            test_loss=test_loss,
            test_metric=test_metric,
            lr=result.lr_per_step[-1],
        )
        result.train_loss.append(record.train_loss)
        result.test_loss.append(test_loss)
        result.test_metric.append(test_metric)
        if not math.isfinite(test_loss):
            _mark_diverged(result, step - 1, f"test loss after epoch {epoch} is {test_loss}")
        else:
            method.end_epoch(epoch, test_loss)
        result.wall_time_s = time.perf_counter() - start_time
        if on_epoch is not None:
            on_epoch(epoch, record)
        if on_checkpoint is not None:
            on_checkpoint(result)
        if result.diverged:
            break

    result.wall_time_s = time.perf_counter() - start_time
    return result


def evaluate_with(method: Method, objective: Objective, model: nn.Module, loader: Iterable[Any]) -> tuple[float, float]:
    """Return ``objective.evaluate(model, loader)``, inside the method's evaluation hooks."""
    before = getattr(method, "before_evaluation", None)
    if before is not None:
        before()
    try:
        return objective.evaluate(model, loader)
    finally:
        after = getattr(method, "after_evaluation", None)
        if after is not None:
            after()


def _start_result(method: Method, objective: Objective, epochs: int, resume_from: RunResult | None) -> RunResult:
    if resume_from is None:
        return RunResult(method=method.name, metric=objective.metric)
    if resume_from.diverged:
        raise ValueError(f"cannot resume run of {resume_from.method!r}: it diverged at step {resume_from.diverged_step}")
    if len(resume_from.train_loss) >= epochs:
        raise ValueError(
            f"cannot resume run of {resume_from.method!r}: it already has {len(resume_from.train_loss)} "
            f"of {epochs} epochs. Pass more epochs or use the finished result"
        )
    return copy.deepcopy(resume_from)


def _mark_diverged(result: RunResult, step: int, reason: str) -> None:
    logger.warning("run of %s diverged at step %d: %s", result.method, step, reason)
    result.diverged = True
    result.diverged_step = step
