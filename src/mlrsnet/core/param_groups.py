"""Helpers shared by the meta-trainer and the scheduler: loss checks and per-group LRs."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch


class NonFiniteLossError(ValueError):
    """A NaN or infinite loss reached the schedule net; nothing was changed when it was raised."""


def loss_value(loss: torch.Tensor | float, step: int) -> float:
    """Convert a training loss to a float, raising NonFiniteLossError if it is not finite.

    The error names the step and the value, and nothing has been changed when it is raised.
    """
    if isinstance(loss, torch.Tensor):
        if loss.numel() != 1:
            raise ValueError(f"step {step}: expected a scalar training loss, got a tensor of shape {tuple(loss.shape)}")
        value = float(loss.detach())
    elif isinstance(loss, numbers.Real):
        value = float(loss)
    else:
        raise TypeError(f"step {step}: expected the training loss as a tensor or a number, got {type(loss).__name__}")
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"step {step}: the training loss is {value}; the schedule net needs a finite loss. "
            "The LR and the schedule net's state were left unchanged; lower the LR scale (gamma) "
            "or check the model and data for the cause of the divergence"
        )
    return value


def group_scales(optimizer: torch.optim.Optimizer) -> list[float]:
    """Return each param group's initial LR divided by the first group's initial LR."""
    lrs = [float(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]
    if len(lrs) == 1:
        return [1.0]
    if lrs[0] <= 0:
        raise ValueError(
            f"with several param groups each group keeps its ratio to the first group's LR, "
            f"so the first group's LR must be positive, got {lrs[0]}"
        )
    return [lr / lrs[0] for lr in lrs]


def set_group_lrs(optimizer: torch.optim.Optimizer, lr: float, scales: Sequence[float]) -> list[float]:
    """Set every param group's LR to ``lr`` times its scale and return the new LRs."""
    lrs = [lr * scale for scale in scales]
    for group, group_lr in zip(optimizer.param_groups, lrs):
        group["lr"] = group_lr
    return lrs
