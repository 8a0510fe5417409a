"""Plain SGD for the methods that set its LR themselves (L4, HD, RTHO), and their shared arithmetic."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch


def check_non_negative(name: str, value: float) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is a finite number >= 0."""
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def plain_sgd(
    params: Iterable[torch.Tensor] | Iterable[dict[str, Any]], *, lr: float, weight_decay: float, owner: str
) -> torch.optim.SGD:
    """Build SGD without momentum, with ``lr`` in every param group.

    Raises:
        ValueError: If ``lr`` or ``weight_decay`` is not a finite number >= 0, or a param
            group sets momentum. ``owner`` names the method in the message.
    """
    check_non_negative("lr", lr)
    check_non_negative("weight_decay", weight_decay)
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0, weight_decay=weight_decay)
    for index, group in enumerate(optimizer.param_groups):
        if group["momentum"] != 0:
            raise ValueError(
                f"param group {index} sets momentum {group['momentum']!r}, but {owner} runs plain SGD. "
                "Remove momentum from the group"
            )
        group["lr"] = float(lr)
    return optimizer


def sgd_directions(optimizer: torch.optim.Optimizer) -> list[torch.Tensor | None]:
    """Return detached copies of SGD's direction ``grad + weight_decay * w`` for every parameter.

    The list follows the order of the param groups, with None where a gradient is missing.
    """
    directions: list[torch.Tensor | None] = []
    for group in optimizer.param_groups:
        for param in group["params"]:
            if param.grad is None:
                directions.append(None)
                continue
            direction = param.grad.detach().clone()
            if group["weight_decay"] != 0:
                direction.add_(param.detach(), alpha=group["weight_decay"])
            directions.append(direction)
    return directions


def dot(first: Iterable[torch.Tensor | None], second: Iterable[torch.Tensor | None]) -> float:
    """Return the inner product of two lists of tensors, in float64, skipping pairs with a None."""
    terms = [(a * b).sum(dtype=torch.float64) for a, b in zip(first, second) if a is not None and b is not None]
    if not terms:
        return 0.0
    # One device-to-host copy for all parameters.
    device = terms[0].device
    return float(torch.stack([term.to(device) for term in terms]).sum())
