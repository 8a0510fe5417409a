"""Build the LR method of a task run: a baseline, a transferred schedule, or meta-training."""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mlrsnet.baselines import parse_baseline
from mlrsnet.core import MetaTrainer, MLRSNetScheduler, load_schedule, mean_initial_loss
from mlrsnet.core.batches import model_device, move_to_device
from mlrsnet.runs.baseline_methods import build_baseline
from mlrsnet.runs.loop import Method
from mlrsnet.runs.schedule_methods import MetaTrainingMethod, TransferredScheduleMethod
from mlrsnet.tasks.loaders import fixed_order
from mlrsnet.tasks.prepare import PreparedTask

# Batches of the untrained model's loss that estimate f0 for gamma; enough for a stable mean.
INITIAL_LOSS_BATCHES = 50
# Below this many look-aheads the schedule net barely leaves its nearly constant initial output.
MIN_LOOKAHEADS = 200

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MethodSpec:
    """LR method of a run: exactly one of a baseline name, a schedule file, or meta-training.

    ``gamma`` fixes the schedule net's LR scale instead of the released rule.
    """

    baseline: str | None = None
    schedule: Path | None = None
    meta_train: bool = False
    gamma: float | None = None

    def __post_init__(self) -> None:
        chosen = [self.baseline is not None, self.schedule is not None, self.meta_train]
        if sum(chosen) != 1:
            raise ValueError("choose exactly one method: a baseline name, a schedule file, or meta-training")
        if self.gamma is not None and self.baseline is not None:
            raise ValueError("gamma sets the schedule net's LR scale, so it applies to --schedule and meta-train runs only")
        if self.gamma is not None and not (math.isfinite(self.gamma) and self.gamma > 0):
            raise ValueError(f"gamma must be a positive finite number, got {self.gamma!r}")
        if self.baseline is not None:
            parse_baseline(self.baseline)

    @property
    def name(self) -> str:
        """Name of the method in records: the baseline, ``mlrsnet`` or ``mlrsnet-meta-train``."""
        if self.baseline is not None:
            return self.baseline
        return "mlrsnet" if self.schedule is not None else "mlrsnet-meta-train"

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "schedule": None if self.schedule is None else str(self.schedule),
            "meta_train": self.meta_train,
            "gamma": self.gamma,
        }


def build_method(spec: MethodSpec, model: nn.Module, prepared: PreparedTask) -> Method:
    """Return the training-loop method of ``spec`` for ``model`` on ``prepared``.

    The schedule net runs on SGD with the budget's momentum and weight decay. Its
    initial LR only sets the ratio between param groups, because the net sets the LR.

    Raises:
        ValueError: If the baseline is unknown or lacks its tuned value.
        ScheduleFileError: If the schedule file is invalid.
        FileNotFoundError: If the schedule file does not exist.
    """
    budget = prepared.budget
    if spec.baseline is not None:
        return build_baseline(spec.baseline, model, prepared)

    optimizer = torch.optim.SGD(model.parameters(), lr=budget.lr, momentum=budget.momentum, weight_decay=budget.weight_decay)
    if spec.schedule is not None:
        schedule = load_schedule(spec.schedule)
        scheduler = MLRSNetScheduler(optimizer, schedule, prepared.total_steps, spec.gamma, **prepared.schedule_settings)
        return TransferredScheduleMethod(scheduler, name=spec.name)

    lookaheads = math.ceil(prepared.total_steps / budget.t_val)
    if lookaheads < MIN_LOOKAHEADS:
        logger.warning(
            "meta-training makes only %d look-aheads (%d steps, t_val %d), so the schedule net will barely "
            "change; use more epochs or a smaller t_val",
            lookaheads, prepared.total_steps, budget.t_val,
        )
    initial_loss = None
    if spec.gamma is None:
        device = model_device(model)
        batches = [move_to_device(batch, device) for batch in _initial_loss_batches(prepared)]
        initial_loss = mean_initial_loss(model, batches, prepared.objective.meta_loss)
    trainer = MetaTrainer(
        model,
        optimizer,
        prepared.meta_loader,
        prepared.total_steps,
        batch_loss=prepared.objective.meta_loss,
        t_val=budget.t_val,
        gamma=spec.gamma,
        initial_loss=initial_loss,
        **prepared.schedule_settings,
    )
    return MetaTrainingMethod(trainer, name=spec.name)


def _initial_loss_batches(prepared: PreparedTask) -> list[Any]:
    return list(itertools.islice(fixed_order(prepared.train_loader), INITIAL_LOSS_BATCHES))


def method_summary(method: Method) -> dict[str, Any]:
    """Return what the schedule net ended with (gamma, snapshot, look-aheads), for ``metrics.json``."""
    if isinstance(method, MetaTrainingMethod):
        trainer = method.trainer
        return {"gamma": trainer.gamma, "lookaheads": math.ceil(trainer.step_count / trainer.t_val)}
    if isinstance(method, TransferredScheduleMethod):
        scheduler = method.scheduler
        return {
            "gamma": scheduler.gamma,
            "active_snapshot": scheduler.active_snapshot,
            "schedule_fingerprint": scheduler.schedule.fingerprint(),
            "schedule_meta_trained_on": scheduler.schedule.meta_trained_on,
        }
    return {}


def method_state(method: Method) -> dict[str, Any]:
    """Return the state of ``method`` and its optimizer, for a checkpoint."""
    if isinstance(method, MetaTrainingMethod):
        return {"optimizer": method.optimizer.state_dict(), "trainer": method.trainer.state_dict()}
    if isinstance(method, TransferredScheduleMethod):
        return {"optimizer": method.optimizer.state_dict(), "scheduler": method.scheduler.state_dict()}
    return {"baseline": method.state_dict()}


def load_method_state(method: Method, state: dict[str, Any]) -> None:
    """Restore a state saved by :func:`method_state` into a method built the same way."""
    if isinstance(method, MetaTrainingMethod):
        method.optimizer.load_state_dict(state["optimizer"])
        method.trainer.load_state_dict(state["trainer"])
    elif isinstance(method, TransferredScheduleMethod):
        method.optimizer.load_state_dict(state["optimizer"])
        method.scheduler.load_state_dict(state["scheduler"])
    else:
        method.load_state_dict(state["baseline"])
