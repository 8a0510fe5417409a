"""L4 stepsize adaptation on plain SGD, a loss-driven LR baseline."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from mlrsnet.baselines.plain_sgd import dot, plain_sgd, sgd_directions


class L4SGD:
    """SGD whose LR is set every step by the L4 rule.

    L4 comes from Rolinek & Martius, "L4: Practical loss-based stepsize adaptation for
    deep learning", NeurIPS 2018 (arXiv:1802.05074).

    L4 linearizes the loss along the update direction ``d = grad + weight_decay * w``
    and takes the step that would lower the loss ``L`` to ``min_loss_factor * L_min``,
    scaled by ``alpha``::

        lr = alpha * (L - min_loss_factor * L_min) / (d . d + eps)

    ``L_min``, stored as ``min_loss``, estimates the lowest reachable loss. It starts at
    ``init_factor`` times the first loss, follows every lower loss, and is multiplied by
    ``1 + 1 / forget_time`` after every step, so that an old minimum is forgotten.
    ``alpha``, ``min_loss_factor`` and ``forget_time`` are alpha, gamma and tau in the
    paper's notation.
    One LR is shared by all param groups, and ``d . d`` sums over every parameter that
    has a gradient. The loss must be non-negative, as L4 assumes.

    Args:
        params: Parameters or param groups to optimize. A group must not set momentum.
        alpha: Fraction of the linearized step to take, a positive number.
        weight_decay: L2 penalty coefficient, passed to the SGD optimizer.
        min_loss_factor: Fraction of ``L_min`` that the step aims for, in [0, 1).
        init_factor: ``L_min`` as a fraction of the first loss, in (0, 1].
        forget_time: Steps over which ``L_min`` grows by a factor of about e, positive.
            ``math.inf`` keeps ``L_min`` fixed between new minima.
        eps: Positive term added to ``d . d`` so that a zero gradient gives a finite LR.
        name: Name of the method in run records.

    Raises:
        ValueError: If a hyperparameter is NaN or outside its range, or a param group
            sets momentum.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        *,
        alpha: float,
        weight_decay: float = 0.0,
        min_loss_factor: float = 0.9,
        init_factor: float = 0.75,
        forget_time: float = 1000.0,
        eps: float = 1e-12,
        name: str = "l4",
    ) -> None:
        if not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")
        if not 0 <= min_loss_factor < 1:
            raise ValueError(f"min_loss_factor must be in [0, 1), got {min_loss_factor!r}")
        if not 0 < init_factor <= 1:
            raise ValueError(f"init_factor must be in (0, 1], got {init_factor!r}")
        if not forget_time > 0:
            raise ValueError(f"forget_time must be positive (math.inf disables forgetting), got {forget_time!r}")
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be a positive finite number, got {eps!r}")

        self.name = name
        self.optimizer = plain_sgd(params, lr=0.0, weight_decay=weight_decay, owner="L4SGD")
        self.alpha = float(alpha)
        self.min_loss_factor = float(min_loss_factor)
        self.init_factor = float(init_factor)
        self.forget_time = float(forget_time)
        self.eps = float(eps)
        # L_min in the notation of Rolinek & Martius. None until the first step sets it from the first loss.
        self.min_loss: float | None = None
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]

    def step(self, loss: torch.Tensor | float) -> None:
        """Set the LR by the L4 rule from ``loss`` and the gradients, then perform the SGD step.

        Raises:
            ValueError: If ``loss`` is NaN, infinite or negative. Nothing is changed then.
        """
        loss_value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
        if not math.isfinite(loss_value):
            raise ValueError(f"L4 needs a finite training loss, got {loss_value}")
        if loss_value < 0:
            raise ValueError(f"L4 needs a training loss >= 0, got {loss_value}. Add a constant to the loss")

        if self.min_loss is None:
            min_loss = self.init_factor * loss_value
        else:
            min_loss = min(self.min_loss, loss_value)
        directions = sgd_directions(self.optimizer)
        squared_norm = dot(directions, directions)
        lr = self.alpha * (loss_value - self.min_loss_factor * min_loss) / (squared_norm + self.eps)

        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.min_loss = min_loss * (1 + 1 / self.forget_time)
        self._last_lr = [lr] * len(self.optimizer.param_groups)

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """Do nothing, because L4 sets the LR from the training loss alone."""

    def get_last_lr(self) -> list[float]:
        """Return the LR of each param group used by the last step.

        Before the first step, return the optimizer's initial LR of 0, because the first
        LR depends on the first loss.
        """
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer state, ``L_min`` and the last LRs, for resuming."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "min_loss": self.min_loss,
            "last_lr": list(self._last_lr),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict` of an ``L4SGD``."""
        self.optimizer.load_state_dict(state_dict["optimizer"])
        min_loss = state_dict["min_loss"]
        self.min_loss = None if min_loss is None else float(min_loss)
        self._last_lr = [float(lr) for lr in state_dict["last_lr"]]
