"""The learning-rate scale gamma: the schedule net outputs p in (0, 1) and the LR is gamma * p."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import torch

# The rule of the code released with the MLR-SNet paper (Shu et al.). The paper prints
# log|f0 - C|, but the code uses ln(f0 * C), which this library follows.
RELEASED_GAMMA_RULE = "|sqrt(f0) * ln(f0 * C) / C**(1/4) / 4|"


def released_gamma(initial_loss: float, num_classes: int, *, from_perplexity: bool = False) -> float:
    """Compute gamma with the rule of the released MLR-SNet code.

    ``gamma = |sqrt(f0) * ln(f0 * C) / C**(1/4) / 4|`` where ``C`` is the number of
    classes and ``f0`` the model's mean training loss before training. The released
    language-model code uses the vocabulary size V as ``C`` and the training perplexity
    ``exp(loss)`` as ``f0``: pass ``from_perplexity=True`` for that.

    Args:
        initial_loss: a positive finite mean cross-entropy loss.
        num_classes: ``C``, an integer >= 2.
        from_perplexity: use ``f0 = exp(initial_loss)``.

    Raises:
        ValueError: for a non-finite or non-positive loss, a class count below 2, or a
            loss for which the rule gives gamma = 0 (``f0 * C == 1``).
    """
    f0 = float(initial_loss)
    if from_perplexity:
        if f0 > 700:
            raise ValueError(f"the perplexity exp({f0}) overflows; pass an explicit gamma instead")
        f0 = math.exp(f0)
    if not math.isfinite(f0) or f0 <= 0:
        raise ValueError(
            f"the gamma rule needs a positive finite loss, got {initial_loss!r}; pass an explicit gamma instead"
        )
    check_num_classes(num_classes)
    gamma = abs(math.sqrt(f0) * math.log(f0 * num_classes) / num_classes**0.25 / 4)
    if gamma == 0:
        raise ValueError(
            f"the released gamma rule gives gamma = 0 for initial_loss={f0} and num_classes={num_classes} "
            "(f0 * C == 1); pass an explicit gamma instead"
        )
    return gamma


def check_num_classes(num_classes: Any) -> None:
    """Raise ValueError unless ``num_classes`` is an integer >= 2."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 2:
        raise ValueError(
            f"num_classes must be an integer >= 2 (the vocabulary size for a language model), got {num_classes!r}"
        )


@torch.no_grad()
def mean_initial_loss(
    model: torch.nn.Module,
    batches: Iterable[Any],
    batch_loss: Callable[[Callable[..., Any], Any], torch.Tensor],
) -> float:
    """Return the model's mean loss over ``batches``, weighted by batch size.

    This is ``f0`` of the released gamma rule when ``batches`` is the training set and
    the model is untrained. The model's train/eval mode is kept, but BatchNorm running
    statistics are restored afterwards so the measurement leaves the model unchanged.
    """
    saved_buffers = {name: buffer.clone() for name, buffer in model.named_buffers()}
    total, count = 0.0, 0
    try:
        for batch in batches:
            loss = batch_loss(model, batch)
            size = _batch_size(batch)
            total += float(loss) * size
            count += size
    finally:
        for name, buffer in model.named_buffers():
            buffer.copy_(saved_buffers[name])
    if count == 0:
        raise ValueError("cannot compute the initial loss: the training data yielded no batches")
    return total / count


def _batch_size(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else 1
