"""Hand-designed LR schedules built from torch.optim and torch.optim.lr_scheduler."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts, ExponentialLR, MultiStepLR

from mlrsnet.baselines.scheduled_optimizer import ScheduledOptimizer

BASELINE_NAMES = ("fixed", "multistep", "exponential", "sgdr", "adam")

SGD_DEFAULT_LR = 0.1
ADAM_DEFAULT_LR = 1e-3
# MultiStep divides the LR by 10 at 30%, 60% and 90% of the budget: epochs 60, 120
# and 180 of a 200-epoch budget.
MULTISTEP_FRACTIONS = (0.3, 0.6, 0.9)
MULTISTEP_GAMMA = 0.1
EXPONENTIAL_GAMMA = 0.95
SGDR_T_MULT = 2
SGDR_ETA_MIN = 1e-5
# With T_mult = 2 the first three cycles last T_0, 2 * T_0 and 4 * T_0 steps.
SGDR_CYCLES = 3
# The method's SGDR: T_0 = 10 of 200 epochs, so restarts after 5%, 15%, 35% and 75% of the budget.
SGDR_PAPER_FIRST_CYCLE = 10 / 200


def multistep_milestones(epochs: int) -> list[int]:
    """Return the epochs after which MultiStep divides the LR, scaled to ``epochs``.

    Each milestone is ``round(epochs * fraction)`` with Python's round. Duplicates and
    zeros are dropped, so short budgets get fewer milestones.
    """
    _check_positive_int("epochs", epochs)
    return sorted({round(epochs * fraction) for fraction in MULTISTEP_FRACTIONS} - {0})


def sgdr_first_cycle_steps(total_steps: int) -> int:
    """Return SGDR's T_0 in optimizer steps, so that three cycles span ``total_steps``.

    T_0 is ``ceil(total_steps / 7)``, so the restarts after T_0 and 3 * T_0 steps fall
    inside the budget. The third cycle ends at ``7 * T_0``, at most 6 steps after the
    budget, so the run ends near ``eta_min`` and never just after a restart.
    """
    _check_positive_int("total_steps", total_steps)
    return math.ceil(total_steps / (2**SGDR_CYCLES - 1))


def sgdr_paper_first_cycle_steps(total_steps: int) -> int:
    """Return the method's SGDR T_0 in optimizer steps: 10 of 200 epochs, scaled to the budget."""
    _check_positive_int("total_steps", total_steps)
    return max(1, math.ceil(total_steps * SGDR_PAPER_FIRST_CYCLE))


def schedule_optimizer(
    name: str,
    optimizer: torch.optim.Optimizer,
    schedule: str,
    *,
    epochs: int,
    steps_per_epoch: int,
    sgdr_first_cycle_steps: int | None = None,
) -> ScheduledOptimizer:
    """Attach one of the schedules ``fixed``, ``multistep``, ``exponential`` or ``sgdr`` to ``optimizer``.

    SGDR's first cycle defaults to :func:`sgdr_paper_first_cycle_steps` of the budget.

    Raises:
        ValueError: If ``schedule`` is unknown or a count is not positive.
    """
    _check_positive_int("epochs", epochs)
    _check_positive_int("steps_per_epoch", steps_per_epoch)
    if schedule == "fixed":
        return ScheduledOptimizer(name, optimizer)
    if schedule == "multistep":
        return ScheduledOptimizer(name, optimizer, MultiStepLR(optimizer, multistep_milestones(epochs), MULTISTEP_GAMMA))
    if schedule == "exponential":
        return ScheduledOptimizer(name, optimizer, ExponentialLR(optimizer, gamma=EXPONENTIAL_GAMMA))
    if schedule != "sgdr":
        raise ValueError(f"unknown schedule {schedule!r}. Valid schedules: fixed, multistep, exponential, sgdr")
    total_steps = epochs * steps_per_epoch
    first_cycle = sgdr_paper_first_cycle_steps(total_steps) if sgdr_first_cycle_steps is None else sgdr_first_cycle_steps
    # T_0 counts optimizer steps because the scheduler steps once per iteration.
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=first_cycle, T_mult=SGDR_T_MULT, eta_min=SGDR_ETA_MIN)
    return ScheduledOptimizer(name, optimizer, scheduler, per_iteration=True)


def make_baseline(
    name: str,
    params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
    *,
    epochs: int,
    steps_per_epoch: int,
    lr: float | None = None,
    momentum: float = 0.0,
    weight_decay: float = 5e-4,
) -> ScheduledOptimizer:
    """Build one hand-designed baseline for a run of ``epochs * steps_per_epoch`` steps.

    The baselines are:

    - ``fixed``: SGD with a constant LR.
    - ``multistep``: SGD, LR divided by 10 after each epoch in :func:`multistep_milestones`.
    - ``exponential``: SGD, LR multiplied by 0.95 after every epoch.
    - ``sgdr``: SGD with ``CosineAnnealingWarmRestarts`` (T_mult 2, eta_min 1e-5), stepped
      after every optimizer step with T_0 from :func:`sgdr_first_cycle_steps`.
    - ``adam``: Adam with a constant LR.

    Args:
        name: One of :data:`BASELINE_NAMES`.
        params: Parameters or param groups to optimize.
        epochs: Number of epochs of the run.
        steps_per_epoch: Number of optimizer steps per epoch, usually ``len(train_loader)``.
        lr: Initial LR. None means 0.1 for the SGD baselines and 1e-3 for Adam.
        momentum: SGD momentum. It must be 0 for ``adam``, which uses its default betas.
        weight_decay: L2 penalty coefficient, passed to the optimizer.

    Raises:
        ValueError: If ``name`` is unknown, a count is not positive, or ``momentum`` is
            set for ``adam``. Torch raises ValueError for an invalid ``lr``,
            ``momentum`` or ``weight_decay``.
    """
    if name not in BASELINE_NAMES:
        raise ValueError(f"unknown baseline {name!r}. Valid names: {', '.join(BASELINE_NAMES)}")
    _check_positive_int("epochs", epochs)
    _check_positive_int("steps_per_epoch", steps_per_epoch)

    if name == "adam":
        if momentum != 0.0:
            raise ValueError(
                f"momentum={momentum} is invalid for adam because momentum applies to the SGD "
                "baselines only. Pass momentum=0, and Adam uses its default betas"
            )
        adam = torch.optim.Adam(params, lr=ADAM_DEFAULT_LR if lr is None else lr, weight_decay=weight_decay)
        return ScheduledOptimizer(name, adam)

    sgd = torch.optim.SGD(
        params,
        lr=SGD_DEFAULT_LR if lr is None else lr,
        momentum=momentum,
        weight_decay=weight_decay,
    )
    first_cycle = sgdr_first_cycle_steps(epochs * steps_per_epoch) if name == "sgdr" else None
    return schedule_optimizer(
        name, sgd, name, epochs=epochs, steps_per_epoch=steps_per_epoch, sgdr_first_cycle_steps=first_cycle
    )


def _check_positive_int(arg_name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{arg_name} must be an int, got {value!r} of type {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{arg_name} must be positive, got {value}")
