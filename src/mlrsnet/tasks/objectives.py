"""Objectives: the loss of a batch and the test metric of a model, for each kind of task.

The training loop and the look-ahead only see an :class:`Objective`, so one loop serves
image classifiers (accuracy) and language models (perplexity, with the LSTM state carried
between batches for truncated backpropagation through time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

Batch = tuple[torch.Tensor, torch.Tensor]


class Objective(Protocol):
    """Loss and metric of a task.

    ``metric`` is ``"accuracy"`` or ``"perplexity"``, and ``higher_is_better`` is True when a
    higher metric is better.
    """

    metric: str
    higher_is_better: bool

    def start_epoch(self) -> None:
        """Reset any state carried from one training batch to the next."""
        ...

    def train_loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """Return the batch-mean training loss of ``model`` on ``batch``."""
        ...

    def meta_loss(self, forward: Callable[..., Any], batch: Batch) -> torch.Tensor:
        """Return the loss of one meta-data batch, with the ``batch_loss`` signature of ``MetaTrainer``."""
        ...

    def evaluate(self, model: nn.Module, loader: Iterable[Batch]) -> tuple[float, float]:
        """Return the mean loss and the metric of ``model`` over ``loader``."""
        ...


def _device_of(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


class ClassificationObjective:
    """Cross-entropy (or another batch-mean criterion) on ``(inputs, labels)``, scored by accuracy."""

    metric = "accuracy"
    higher_is_better = True

    def __init__(self, criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy) -> None:
        self.criterion = criterion

    def start_epoch(self) -> None:
        """Do nothing: classification batches are independent."""

    def train_loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        inputs, targets = batch
        return self.criterion(model(inputs), targets)

    def meta_loss(self, forward: Callable[..., Any], batch: Batch) -> torch.Tensor:
        inputs, targets = batch
        return self.criterion(forward(inputs), targets)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, loader: Iterable[Batch]) -> tuple[float, float]:
        """Return the mean loss and accuracy in eval mode, weighting batches by size.

        Raises:
            ValueError: If ``loader`` yields no samples.
        """
        device = _device_of(model)
        loss_sum = 0.0
        correct = 0
        count = 0
        with _eval_mode(model):
            for inputs, targets in loader:
                inputs, targets = inputs.to(device), targets.to(device)
                logits = model(inputs)
                batch_size = targets.shape[0]
                loss_sum += self.criterion(logits, targets).item() * batch_size
                correct += (logits.argmax(dim=1) == targets).sum().item()
                count += batch_size
        if count == 0:
            raise ValueError("the evaluation loader yielded no samples. Pass a non-empty loader")
        return loss_sum / count, correct / count


class LanguageModelObjective:
    """Next-token cross-entropy of a recurrent language model, scored by perplexity.

    The model is called as ``model(tokens, hidden) -> (logits, hidden)``. During training
    the hidden state of one batch starts the next, detached from its graph (truncated
    backpropagation through time), and :meth:`start_epoch` resets it. Evaluation carries
    the state through the whole loader from zeros. Meta-data batches start from zeros,
    because the look-ahead evaluates one batch at new weights.
    """

    metric = "perplexity"
    higher_is_better = False

    def __init__(self) -> None:
        self._hidden: Any = None

    def start_epoch(self) -> None:
        self._hidden = None

    def train_loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        inputs, targets = batch
        logits, hidden = model(inputs, self._hidden)
        self._hidden = _detach(hidden)
        return _token_loss(logits, targets)

    def meta_loss(self, forward: Callable[..., Any], batch: Batch) -> torch.Tensor:
        inputs, targets = batch
        logits, _ = forward(inputs)
        return _token_loss(logits, targets)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, loader: Iterable[Batch]) -> tuple[float, float]:
        """Return the mean loss per token and the perplexity ``exp(loss)`` in eval mode.

        Raises:
            ValueError: If ``loader`` yields no tokens.
        """
        device = _device_of(model)
        loss_sum = 0.0
        count = 0
        hidden = None
        with _eval_mode(model):
            for inputs, targets in loader:
                inputs, targets = inputs.to(device), targets.to(device)
                logits, hidden = model(inputs, hidden)
                tokens = targets.numel()
                loss_sum += _token_loss(logits, targets).item() * tokens
                count += tokens
        if count == 0:
            raise ValueError("the evaluation loader yielded no tokens. Pass a non-empty loader")
        mean_loss = loss_sum / count
        # exp overflows above about 709; such a loss is a diverged run, reported as infinity.
        return mean_loss, math.exp(mean_loss) if mean_loss < 709 else math.inf


def _token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def _detach(hidden: Any) -> Any:
    if isinstance(hidden, torch.Tensor):
        return hidden.detach()
    return type(hidden)(_detach(part) for part in hidden)


class _eval_mode:
    """Context manager that puts a model in eval mode and restores its previous mode."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.was_training = model.training

    def __enter__(self) -> None:
        self.model.eval()

    def __exit__(self, *exc_info: object) -> None:
        self.model.train(self.was_training)
