"""One training run of a model with any LR method: the loop, evaluation and its record.

Every method, hand-designed baseline or schedule net, plugs into :func:`train` through
the :class:`Method` interface, so all methods share the same loop.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .core import NonFiniteLossError
from .core.batches import model_device

logger = logging.getLogger(__name__)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

class Method(Protocol):
    """Interface between the training loop and an optimizer with the rule that sets its LR."""

    name: str
    optimizer: torch.optim.Optimizer

    def step(self, loss: torch.Tensor) -> None:
        """Perform the optimizer step, called after ``loss.backward()``.

        A method may raise :class:`mlrsnet.NonFiniteLossError`, and the loop then ends
        the run as diverged.
        """
        ...

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """Update the method after the evaluation of 0-based ``epoch``."""
        ...

    def get_last_lr(self) -> list[float]:
        """Return the LR of each param group as used by the last ``step``."""
        ...


@dataclass(frozen=True)
class EpochRecord:
    """Metrics of one finished epoch, as passed to ``on_epoch``."""

    epoch: int
    train_loss: float
    test_loss: float
    test_accuracy: float
    lr: float


@dataclass
class RunResult:
    """Record of one training run.

    ``lr_per_step`` and ``loss_per_step`` have one entry per completed optimizer step,
    and the per-epoch lists one entry per evaluated epoch, so an epoch cut short by
    divergence has no per-epoch entry. ``diverged_step`` is the 0-based index of the
    step whose training loss was not finite or whose ``method.step`` failed, or of the
    last step before a non-finite test loss. It is None for a run that did not diverge.
    """

    method: str
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    lr_per_step: list[float] = field(default_factory=list)
    loss_per_step: list[float] = field(default_factory=list)
    wall_time_s: float = 0.0
    diverged: bool = False
    diverged_step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict for ``json.dump``, with NaN and infinity as None."""
        return {name: _json_safe(value) for name, value in asdict(self).items()}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: LossFn = F.cross_entropy,
) -> tuple[float, float]:
    """Compute the mean loss and the accuracy of ``model`` over ``loader`` in eval mode.

    ``loss_fn`` must return the mean over the batch, and the batch means are weighted by
    batch size. The model's train or eval mode is restored afterwards.

    Raises:
        ValueError: If ``loader`` yields no samples.
    """
    was_training = model.training
    model.eval()
    device = model_device(model)
    loss_sum = 0.0
    correct = 0
    count = 0
    try:
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            logits = model(inputs)
            batch_size = targets.shape[0]
            loss_sum += loss_fn(logits, targets).item() * batch_size
            correct += (logits.argmax(dim=1) == targets).sum().item()
            count += batch_size
    finally:
        model.train(was_training)

    if count == 0:
        raise ValueError("the evaluation loader yielded no samples. Pass a non-empty loader")
    return loss_sum / count, correct / count


def train(
    model: nn.Module,
    method: Method,
    train_loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    test_loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    epochs: int,
    *,
    loss_fn: LossFn = F.cross_entropy,
    on_step: Callable[[int, float, float], None] | None = None,
    on_epoch: Callable[[int, EpochRecord], None] | None = None,
) -> RunResult:
    """Train ``model`` for ``epochs`` epochs with ``method`` and evaluate after each epoch.

    A non-finite training or test loss ends the run with ``diverged=True`` and a logged
    warning instead of an exception. So does a
    :class:`mlrsnet.NonFiniteLossError` from ``method.step``. Batches move to the device of the model's
    parameters. The loop prints nothing, and callers show progress through the callbacks.

    Args:
        model: The model to train in place.
        method: Optimizer and LR method, see :class:`Method`.
        train_loader: Yields ``(inputs, targets)`` batches, one pass per epoch.
        test_loader: Evaluated after every epoch, and its loss goes to ``method.end_epoch``.
        epochs: Number of passes over ``train_loader``.
        loss_fn: Returns the batch-mean loss of ``(logits, targets)``.
        on_step: Called as ``on_step(step, loss, lr)`` after each optimizer step, with the
            0-based global step index.
        on_epoch: Called as ``on_epoch(epoch, record)`` after each evaluated epoch.

    Raises:
        ValueError: If ``epochs`` is not positive or ``train_loader`` yields no batches.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")

    device = model_device(model)
    result = RunResult(method=method.name)
    start_time = time.perf_counter()
    step = 0

    for epoch in range(epochs):
        epoch_losses: list[float] = []
        for inputs, targets in train_loader:
            inputs, targets = inputs.to(device), targets.to(device)
            model.train()
            method.optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                _mark_diverged(result, step, f"training loss is {loss_value}")
                break

            loss.backward()
            try:
                method.step(loss)
            except NonFiniteLossError as error:
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
        test_loss, test_accuracy = evaluate(model, test_loader, loss_fn)
        record = EpochRecord(
            epoch=epoch,
            train_loss=sum(epoch_losses) / len(epoch_losses),
            test_loss=test_loss,
            test_accuracy=test_accuracy,
            lr=result.lr_per_step[-1],
        )
        result.train_loss.append(record.train_loss)
        result.test_loss.append(test_loss)
        result.test_accuracy.append(test_accuracy)
        if on_epoch is not None:
            on_epoch(epoch, record)
        if not math.isfinite(test_loss):
            _mark_diverged(result, step - 1, f"test loss after epoch {epoch} is {test_loss}")
            break
        method.end_epoch(epoch, test_loss)

    result.wall_time_s = time.perf_counter() - start_time
    return result


def _mark_diverged(result: RunResult, step: int, reason: str) -> None:
    logger.warning("run of %s diverged at step %d: %s", result.method, step, reason)
    result.diverged = True
    result.diverged_step = step
