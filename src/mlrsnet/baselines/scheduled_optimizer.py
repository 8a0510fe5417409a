"""A torch optimizer and an optional torch LR scheduler, driven as a training-loop method."""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler


class ScheduledOptimizer:
    """Torch optimizer and optional LR scheduler, stepped per iteration or per epoch.

    It has the ``name``, ``optimizer``, ``step``, ``end_epoch`` and ``get_last_lr``
    members that ``mlrsnet.runs.train`` calls.

    Args:
        name: Name of the method in run records.
        optimizer: The wrapped optimizer.
        scheduler: LR scheduler of ``optimizer``, or None for a constant LR.
        per_iteration: Call ``scheduler.step()`` after every optimizer step if True,
            otherwise once at the end of every epoch.
    """

    def __init__(
        self,
        name: str,
        optimizer: torch.optim.Optimizer,
        scheduler: LRScheduler | None = None,
        *,
        per_iteration: bool = False,
    ) -> None:
        if scheduler is not None and scheduler.optimizer is not optimizer:
            raise ValueError(f"the scheduler of method {name!r} must wrap the optimizer passed with it")
        self.name = name
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.per_iteration = per_iteration
        self._last_lr = self._current_lr()

    def _current_lr(self) -> list[float]:
        return [float(group["lr"]) for group in self.optimizer.param_groups]

    def step(self, loss: torch.Tensor) -> None:
        """Perform the optimizer step, then advance a per-iteration scheduler.

        ``loss`` is unused because these schedules do not depend on it.
        """
        # Record the LRs before the scheduler changes them for the next step.
        self._last_lr = self._current_lr()
        self.optimizer.step()
        if self.scheduler is not None and self.per_iteration:
            self.scheduler.step()

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """Advance a per-epoch scheduler by one epoch. ``val_loss`` is unused."""
        if self.scheduler is not None and not self.per_iteration:
            self.scheduler.step()

    def get_last_lr(self) -> list[float]:
        """Return the LR of each param group used by the last step.

        Before the first step, return the LRs that the first step will use.
        """
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer and scheduler states and the last LRs, for resuming."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "last_lr": list(self._last_lr),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the states saved by :meth:`state_dict` of the same kind of method."""
        if (state_dict["scheduler"] is None) != (self.scheduler is None):
            raise ValueError(
                f"invalid state dict for method {self.name!r}, because only one of them has a "
                "scheduler. Load a state dict saved by the same baseline"
            )
        self.optimizer.load_state_dict(state_dict["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state_dict["scheduler"])
        self._last_lr = list(state_dict["last_lr"])
