"""LR-free optimizers from their packages: schedule-free SGD, Prodigy and D-Adaptation SGD.

These methods set their own step size, so they run with a constant LR and no schedule.
Schedule-free SGD trains at one point and evaluates at an average of its iterates, so
the training loop calls :meth:`LRFreeMethod.before_evaluation` and
:meth:`LRFreeMethod.after_evaluation` around every evaluation.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable
from typing import Any

import torch

LR_FREE_NAMES = ("schedulefree-sgd", "prodigy", "dadapt-sgd")
# Schedule-free SGD's interpolation constant: the package's default, which plays the role
# of momentum 0.9.
SCHEDULE_FREE_MOMENTUM = 0.9
# Fraction of the steps over which schedule-free SGD warms its LR up from 0.
SCHEDULE_FREE_WARMUP = 0.05


def make_lr_free(
    name: str,
    params: Iterable[torch.Tensor],
    *,
    total_steps: int,
    weight_decay: float,
    sgd_lr: float,
    sgd_momentum: float,
    refresh_batch_norm: Callable[[], None] | None = None,
) -> LRFreeMethod:
    """Build one LR-free method with its package's defaults.

    - ``schedulefree-sgd``: ``schedulefree.SGDScheduleFree`` with momentum 0.9, a warmup
      over the first 5% of ``total_steps``, and the LR that gives the same effective step
      as the budget's SGD: ``sgd_lr * (1 - 0.9) / (1 - sgd_momentum)``.
    - ``prodigy``: ``prodigyopt.Prodigy`` with LR 1 and its default decoupled weight decay.
    - ``dadapt-sgd``: ``dadaptation.DAdaptSGD`` with LR 1 and momentum 0.9.

    Args:
        name: One of :data:`LR_FREE_NAMES`.
        params: Parameters to optimize.
        total_steps: Optimizer steps of the run, for the warmup.
        weight_decay: Weight decay passed to the optimizer.
        sgd_lr, sgd_momentum: LR and momentum of the budget's SGD.
        refresh_batch_norm: Recomputes batch-norm statistics at the evaluation weights of
            schedule-free SGD. None for models without batch norm.

    Raises:
        ValueError: If ``name`` is unknown.
        ImportError: If the optimizer's package is not installed.
    """
    if name == "schedulefree-sgd":
        import schedulefree

        lr = sgd_lr * (1 - SCHEDULE_FREE_MOMENTUM) / (1 - sgd_momentum)
        optimizer = schedulefree.SGDScheduleFree(
            params,
            lr=lr,
            momentum=SCHEDULE_FREE_MOMENTUM,
            weight_decay=weight_decay,
            warmup_steps=round(total_steps * SCHEDULE_FREE_WARMUP),
        )
        return LRFreeMethod(name, optimizer, switches_weights=True, refresh_batch_norm=refresh_batch_norm)
    if name == "prodigy":
        import prodigyopt

        # Prodigy prints "Using decoupled weight decay" to stdout, which would break the
        # progress bars. The docstring above states it instead.
        with contextlib.redirect_stdout(io.StringIO()):
            optimizer = prodigyopt.Prodigy(params, lr=1.0, weight_decay=weight_decay)
        return LRFreeMethod(name, optimizer)
    if name == "dadapt-sgd":
        import dadaptation

        return LRFreeMethod(name, dadaptation.DAdaptSGD(params, lr=1.0, momentum=0.9, weight_decay=weight_decay))
    raise ValueError(f"unknown LR-free method {name!r}. Valid names: {', '.join(LR_FREE_NAMES)}")


class LRFreeMethod:
    """An LR-free optimizer as a training-loop method.

    ``get_last_lr`` reports the step size the optimizer used: ``d * lr`` for Prodigy and
    D-Adaptation, whose ``d`` is the distance estimate, and the warmed-up LR for
    schedule-free SGD.

    Args:
        name: Name of the method in run records.
        optimizer: The package's optimizer.
        switches_weights: True for schedule-free optimizers, which have ``train()`` and
            ``eval()`` to move the weights between the training and evaluation points.
        refresh_batch_norm: Called after ``optimizer.eval()`` to recompute batch-norm
            statistics at the evaluation weights.
    """

    def __init__(
        self,
        name: str,
        optimizer: torch.optim.Optimizer,
        *,
        switches_weights: bool = False,
        refresh_batch_norm: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.optimizer = optimizer
        self.switches_weights = switches_weights
        self.refresh_batch_norm = refresh_batch_norm
        if switches_weights:
            optimizer.train()
        self._last_lr = self._step_sizes()

    def _step_sizes(self) -> list[float]:
        sizes = []
        for group in self.optimizer.param_groups:
            if self.switches_weights:
                # schedule-free SGD stores the warmed-up LR of the last step as scheduled_lr.
                sizes.append(float(group.get("scheduled_lr", 0.0) or 0.0))
            else:
                sizes.append(float(group.get("d", 1.0)) * float(group["lr"]))
        return sizes

    def step(self, loss: torch.Tensor) -> None:
        """Perform the optimizer step. ``loss`` is unused."""
        self.optimizer.step()
        self._last_lr = self._step_sizes()

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """Do nothing: these optimizers need no schedule."""

    def get_last_lr(self) -> list[float]:
        """Return the step size of each param group used by the last step."""
        return list(self._last_lr)

    def before_evaluation(self) -> None:
        """Move schedule-free weights to the evaluation point and refresh batch norm there."""
        if self.switches_weights and self._in_train_mode():
            self.optimizer.eval()
            if self.refresh_batch_norm is not None:
                self.refresh_batch_norm()

    def after_evaluation(self) -> None:
        """Move schedule-free weights back to the training point."""
        if self.switches_weights and not self._in_train_mode():
            self.optimizer.train()

    def _in_train_mode(self) -> bool:
        return bool(self.optimizer.param_groups[0]["train_mode"])

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer state and the last step sizes, for resuming."""
        return {"optimizer": self.optimizer.state_dict(), "last_lr": list(self._last_lr)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` of the same method."""
        self.optimizer.load_state_dict(state_dict["optimizer"])
        self._last_lr = list(state_dict["last_lr"])
