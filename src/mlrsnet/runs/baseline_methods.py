"""Build a baseline by name for a model on a prepared task, with the budget's settings."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import nn

from mlrsnet.baselines import (
    HypergradientSGD,
    L4SGD,
    RealTimeHyperSGD,
    ValStrategy,
    make_baseline,
    make_lr_free,
    parse_baseline,
    schedule_optimizer,
)
from mlrsnet.baselines.lr_free import LR_FREE_NAMES
from mlrsnet.runs.loop import Method
from mlrsnet.tasks.loaders import fixed_order
from mlrsnet.tasks.prepare import PreparedTask

# The momentum of the SGDM baselines.
SGDM_MOMENTUM = 0.9
# Training batches that re-estimate batch-norm statistics at schedule-free SGD's evaluation weights.
BATCH_NORM_REFRESH_BATCHES = 20
# The schedules of the first release's names and of the sgd-/sgdm- families.
_SCHEDULES = ("fixed", "multistep", "exponential", "sgdr")


def build_baseline(text: str, model: nn.Module, prepared: PreparedTask) -> Method:
    """Return the baseline ``NAME`` or ``NAME:VALUE`` for ``model`` on ``prepared``.

    Every baseline uses the budget's weight decay. The SGD baselines start from the
    budget's LR, and the Adam ones from its ``adam_lr``. SGDM uses momentum 0.9 with
    the budget's LR, except on budgets without momentum (the language models), where
    its LR is divided by 10 so that its effective step ``lr / (1 - momentum)`` stays
    the budget's. L4, HD and RTHO run on plain SGD.

    Raises:
        ValueError: If ``text`` names no baseline or lacks its tuned value.
    """
    name, value = parse_baseline(text)
    budget = prepared.budget
    params = list(model.parameters())
    schedule_args = {"epochs": budget.epochs, "steps_per_epoch": prepared.steps_per_epoch}

    if name in _SCHEDULES or name == "adam":
        is_adam = name == "adam"
        return make_baseline(
            name,
            params,
            lr=budget.adam_lr if is_adam else budget.lr,
            momentum=0.0 if is_adam else budget.momentum,
            weight_decay=budget.weight_decay,
            **schedule_args,
        )
    family, _, schedule = name.partition("-")
    if family in ("sgd", "sgdm") and schedule in _SCHEDULES:
        momentum = SGDM_MOMENTUM if family == "sgdm" else 0.0
        lr = budget.lr if family == "sgd" or budget.momentum > 0 else budget.lr * (1 - SGDM_MOMENTUM)
        sgd = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=budget.weight_decay)
        return schedule_optimizer(text, sgd, schedule, **schedule_args)
    if name in ("sgd-val", "adam-val"):
        if name == "sgd-val":
            optimizer = torch.optim.SGD(params, lr=budget.lr, weight_decay=budget.weight_decay)
        else:
            optimizer = torch.optim.Adam(params, lr=budget.adam_lr, weight_decay=budget.weight_decay)
        return ValStrategy(optimizer, validation_loss=_validation_loss(model, prepared), name=text)
    if name == "l4":
        return L4SGD(params, alpha=value, weight_decay=budget.weight_decay, name=text)
    if name == "hd":
        return HypergradientSGD(params, lr=budget.lr, hyper_lr=value, weight_decay=budget.weight_decay, name=text)
    if name == "rtho":
        return RealTimeHyperSGD(params, lr=budget.lr, hyper_lr=value, weight_decay=budget.weight_decay, name=text)
    if name in LR_FREE_NAMES:
        return make_lr_free(
            name,
            params,
            total_steps=prepared.total_steps,
            weight_decay=budget.weight_decay,
            sgd_lr=budget.lr,
            sgd_momentum=budget.momentum,
            refresh_batch_norm=_batch_norm_refresher(model, prepared),
        )
    raise AssertionError(f"baseline {name!r} is in the catalog but has no builder")


def _validation_loss(model: nn.Module, prepared: PreparedTask) -> Callable[[], float]:
    """Return a function that computes the model's loss on the meta-data (validation) split."""
    loader = fixed_order(prepared.meta_loader)

    def validation_loss() -> float:
        return prepared.objective.evaluate(model, loader)[0]

    return validation_loss


def _batch_norm_refresher(model: nn.Module, prepared: PreparedTask) -> Callable[[], None] | None:
    """Return a function that re-estimates batch-norm statistics, or None without batch norm.

    Schedule-free SGD evaluates at weights it never trained at, so the running statistics
    gathered during training do not fit them. The function resets them and averages them
    over the first training batches, in fixed order.
    """
    norms = [module for module in model.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return None
    loader = fixed_order(prepared.train_loader)

    @torch.no_grad()
    def refresh() -> None:
        was_training = model.training
        momenta = [norm.momentum for norm in norms]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a cumulative average over the refresh batches
        model.train()
        device = next(model.parameters()).device
        for inputs, _ in itertools.islice(loader, BATCH_NORM_REFRESH_BATCHES):
            model(inputs.to(device))
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        model.train(was_training)

    return refresh
