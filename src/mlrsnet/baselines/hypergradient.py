"""Hypergradient descent on the LR of plain SGD, an online LR adaptation baseline."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from mlrsnet.baselines.plain_sgd import check_non_negative, dot, plain_sgd, sgd_directions


class HypergradientSGD:
    """SGD whose LR follows hypergradient descent, the SGD-HD of Baydin et al.

    The method comes from Baydin et al., "Online Learning Rate Adaptation with
    Hypergradient Descent", ICLR 2018 (arXiv:1703.04782).

    With the SGD direction ``d_t = grad_t + weight_decay * w_t`` over all parameters,
    the derivative of the loss at step t with respect to the previous LR is
    ``-d_t . d_{t-1}``, so every step first updates the LR by gradient descent on it::

        lr_t = lr_{t-1} + hyper_lr * (d_t . d_{t-1})

    with ``d_{-1} = 0``, so the first step uses ``lr``. The objective is the training
    loss of the next mini-batch. One LR is shared by all param groups, and nothing keeps
    it positive.

    Args:
        params: Parameters or param groups to optimize. A group must not set momentum.
        lr: LR of the first step, a finite number >= 0.
        hyper_lr: Step size of the LR update (the paper's beta), a finite number >= 0.
            0 gives SGD with a constant LR.
        weight_decay: L2 penalty coefficient, passed to the SGD optimizer.
        name: Name of the method in run records.

    Raises:
        ValueError: If a hyperparameter is NaN or outside its range, or a param group
            sets momentum.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        *,
        lr: float,
        hyper_lr: float,
        weight_decay: float = 0.0,
        name: str = "hd",
    ) -> None:
        check_non_negative("hyper_lr", hyper_lr)
        self.name = name
        self.optimizer = plain_sgd(params, lr=lr, weight_decay=weight_decay, owner="HypergradientSGD")
        self.hyper_lr = float(hyper_lr)
        self.lr = float(lr)
        self._params = [param for group in self.optimizer.param_groups for param in group["params"]]
        # d_{t-1} per parameter, in the order of self._params. None means a zero direction,
        # as before the first step or for a parameter that had no gradient.
        self._previous_direction: list[torch.Tensor | None] = [None] * len(self._params)
        self._last_lr = [self.lr] * len(self.optimizer.param_groups)

    def step(self, loss: torch.Tensor | float) -> None:
        """Update the LR by its hypergradient, then perform the SGD step. ``loss`` is unused.

        Raises:
            FloatingPointError: If the new LR is not finite, which happens when a gradient
                or the tangent overflows. The training loop records the run as diverged.
                Nothing is changed then.
        """
        directions = sgd_directions(self.optimizer)
        product = dot(directions, self._previous_direction)
        lr = self.lr + self.hyper_lr * product
        if not math.isfinite(lr):
            raise FloatingPointError(
                f"the hypergradient LR update gave a non-finite LR ({lr}) from d_t . d_(t-1) = {product}. "
                "Check the gradients for NaN or infinite values"
            )

        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.lr = lr
        self._previous_direction = directions
        self._last_lr = [lr] * len(self.optimizer.param_groups)

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """Do nothing, because the LR adapts at every step."""

    def get_last_lr(self) -> list[float]:
        """Return the LR of each param group used by the last step, or ``lr`` before the first step."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer state, the LR and the previous direction, for resuming."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "lr": self.lr,
            "previous_direction": [
                None if direction is None else direction.clone() for direction in self._previous_direction
            ],
            "last_lr": list(self._last_lr),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict` of a ``HypergradientSGD`` on the same parameters.

        Raises:
            ValueError: If the saved directions do not match the parameters in number or shape.
        """
        saved_directions = state_dict["previous_direction"]
        if len(saved_directions) != len(self._params):
            raise ValueError(
                f"invalid state dict: it contains directions for a parameter count of {len(saved_directions)}, "
                f"but this method optimizes {len(self._params)}. Load a state dict saved on the same parameters"
            )
        directions: list[torch.Tensor | None] = []
        for index, (param, saved) in enumerate(zip(self._params, saved_directions)):
            if saved is None:
                directions.append(None)
                continue
            if saved.shape != param.shape:
                raise ValueError(
                    f"invalid state dict: the direction of parameter {index} has shape {tuple(saved.shape)}, "
                    f"but the parameter has shape {tuple(param.shape)}"
                )
            directions.append(saved.detach().to(device=param.device, dtype=param.dtype, copy=True))

        self.optimizer.load_state_dict(state_dict["optimizer"])
        self.lr = float(state_dict["lr"])
        self._previous_direction = directions
        self._last_lr = [float(lr) for lr in state_dict["last_lr"]]
