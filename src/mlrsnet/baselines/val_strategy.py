"""The validation strategy: cut the LR whenever the validation loss stops improving."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau


class ValStrategy:
    """Optimizer whose LR is multiplied by ``factor`` after every epoch without a new best validation loss.

    It drives ``torch.optim.lr_scheduler.ReduceLROnPlateau`` with ``patience=0`` and
    ``threshold=0``, so an epoch whose loss is not strictly below the best loss so far
    cuts the LR at once. With the default factor of 0.25 the LR is divided by 4.

    The loss of an epoch comes from ``validation_loss()`` if given, otherwise from the
    ``val_loss`` that the training loop passes to :meth:`end_epoch`, which is the test
    loss in ``mlrsnet.runs.train``. Pass ``validation_loss`` that evaluates a held-out
    validation split, so that the test set does not choose the LR.

    Args:
        optimizer: The wrapped optimizer, for example SGD or Adam.
        factor: Multiplier of the LR at every cut, in (0, 1).
        validation_loss: Callable with no arguments that returns the validation loss,
            or None to use the loss passed to :meth:`end_epoch`.
        name: Name of the method in run records.

    Raises:
        TypeError: If ``optimizer`` is not a torch optimizer or ``validation_loss`` is
            not callable.
        ValueError: If ``factor`` is NaN or outside (0, 1).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        factor: float = 0.25,
        validation_loss: Callable[[], float] | None = None,
        name: str = "val",
    ) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor!r}")
        if validation_loss is not None and not callable(validation_loss):
            raise TypeError(
                f"validation_loss must be a callable that returns the validation loss, or None, "
                f"got {type(validation_loss).__name__}"
            )

        self.name = name
        self.optimizer = optimizer
        self.validation_loss = validation_loss
        self.scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=factor, patience=0, threshold=0.0)
        self._last_lr = self._current_lr()

    def _current_lr(self) -> list[float]:
        return [float(group["lr"]) for group in self.optimizer.param_groups]

    def step(self, loss: torch.Tensor | float) -> None:
        """Perform the optimizer step. ``loss`` is unused, because the LR changes only per epoch."""
        self._last_lr = self._current_lr()
        self.optimizer.step()

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """Cut the LR if the validation loss of this epoch is not a new best.

        Raises:
            ValueError: If no loss is available (``val_loss`` is None and no
                ``validation_loss`` was given) or the loss is NaN or infinite. Nothing is
                changed then.
        """
        if self.validation_loss is not None:
            loss = self.validation_loss()
        elif val_loss is None:
            raise ValueError(
                f"epoch {epoch}: the validation strategy needs a validation loss, got None. Pass val_loss "
                "to end_epoch or a validation_loss callable to ValStrategy"
            )
        else:
            loss = val_loss
        loss = float(loss)
        if not math.isfinite(loss):
            raise ValueError(f"epoch {epoch}: the validation loss must be finite, got {loss}")
        self.scheduler.step(loss)

    def get_last_lr(self) -> list[float]:
        """Return the LR of each param group used by the last step.

        Before the first step, return the LRs that the first step will use.
        """
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer and scheduler states and the last LRs, for resuming."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "last_lr": list(self._last_lr),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the states saved by :meth:`state_dict` of a ``ValStrategy``."""
        self.optimizer.load_state_dict(state_dict["optimizer"])
        self.scheduler.load_state_dict(state_dict["scheduler"])
        self._last_lr = [float(lr) for lr in state_dict["last_lr"]]
