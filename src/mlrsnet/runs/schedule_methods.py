"""The schedule net as training-loop methods: meta-training it, or running a transferred schedule."""

from __future__ import annotations

import torch

from mlrsnet.core import MetaTrainer, MLRSNetScheduler


class MetaTrainingMethod:
    """Meta-train a schedule net while training the model (Algorithm 1), as a ``training.Method``."""

    def __init__(self, trainer: MetaTrainer, name: str = "MLR-SNet (meta-train)") -> None:
        self.name = name
        self.trainer = trainer
        self.optimizer = trainer.optimizer

    def step(self, loss: torch.Tensor) -> None:
        self.trainer.step(loss)

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """Do nothing: the schedule net reacts to training losses, not to evaluations."""

    def get_last_lr(self) -> list[float]:
        return self.trainer.get_last_lr()


class TransferredScheduleMethod:
    """Run a meta-learned schedule on a new task (Algorithm 2), as a ``training.Method``."""

    def __init__(self, scheduler: MLRSNetScheduler, name: str = "MLR-SNet (transferred)") -> None:
        self.name = name
        self.scheduler = scheduler
        self.optimizer = scheduler.optimizer

    def step(self, loss: torch.Tensor) -> None:
        # The schedule net sets this step's LR from this step's loss, then the optimizer steps.
        self.scheduler.step(loss)
        self.optimizer.step()

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """Do nothing: the schedule net reacts to training losses, not to evaluations."""

    def get_last_lr(self) -> list[float]:
        return self.scheduler.get_last_lr()
