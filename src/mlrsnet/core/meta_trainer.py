"""Meta-training (Algorithm 1 of MLR-SNet): train a model and its schedule net together."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .direction import update_direction
from .gamma import mean_initial_loss, released_gamma
from .lookahead import BatchLoss, lookahead_lr_gradient
from .net import MLRSNet, detach_state, stack_state, unstack_state
from .param_groups import NonFiniteLossError, group_scales, loss_value, set_group_lrs
from .schedule_file import Schedule, equal_switch_points
from .validation import (
    check_gamma_settings,
    check_positive_finite,
    check_positive_int,
    check_resume_state,
    warn_if_adam_without_gamma,
)
from .batches import model_device, move_to_device

logger = logging.getLogger(__name__)


def supervised_loss(criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> BatchLoss:
    """Build a ``batch_loss`` for ``(inputs, targets)`` batches from a criterion such as cross-entropy."""

    def batch_loss(forward: Callable[..., Any], batch: Any) -> torch.Tensor:
        inputs, targets = batch
        return criterion(forward(inputs), targets)

    return batch_loss


class MetaTrainer:
    """Train a model with SGD or Adam while meta-learning its LR schedule (Algorithm 1).

    At every step the schedule net reads the training loss and sets the base optimizer's
    LR to ``gamma * p``. Every ``t_val`` steps, counted over the whole run from step 0, it
    first takes a virtual step ``w' = w - lr(phi) * d``, where ``d`` is the update direction
    of the real step. It evaluates the loss on one meta-data batch at ``w'`` and updates phi
    with Adam, and the real step then uses the updated net. The net's LSTM state
    advances once per step and is never reset between epochs. A snapshot of phi is kept
    at the end of each of ``num_snapshots`` equal parts of ``total_steps``.

    Call :meth:`step` after ``loss.backward()`` (and after any gradient clipping of your
    own), in place of ``optimizer.step()``::

        trainer = MetaTrainer(model, optimizer, meta_loader, total_steps=epochs * len(loader), num_classes=10)
        for epoch in range(epochs):
            for inputs, targets in loader:
                optimizer.zero_grad()
                loss = F.cross_entropy(model(inputs), targets)
                loss.backward()
                trainer.step(loss)
        trainer.schedule().save("my_schedule.safetensors")

    or let :meth:`fit` run the epochs.

    Args:
        model: the model being trained; any ``nn.Module``.
        optimizer: its base optimizer: ``torch.optim.SGD``, ``Adam`` or ``AdamW``. With
            several param groups, each keeps its ratio to the first group's initial LR.
        meta_data: an iterable of meta-data batches (a DataLoader, say), cycled as needed.
            Batches are moved to the model's device.
        total_steps: length of the run in optimizer steps; sets the snapshot points.
        criterion: ``criterion(outputs, targets)`` for ``(inputs, targets)`` batches.
        batch_loss: ``batch_loss(forward, batch) -> loss`` for other batch layouts
            (language models with hidden states, say); overrides ``criterion``.
        t_val: steps between look-aheads.
        gamma: the LR scale. Used as given when set; otherwise computed with the released
            rule from ``initial_loss`` and ``num_classes``.
        num_classes: classes of the task (the vocabulary size for a language model).
        initial_loss: the model's mean training loss before training. When None, :meth:`fit`
            measures it on the training data and :meth:`step` uses the first batch's loss.
        net: the schedule net; a fresh ``MLRSNet()`` on the CPU when None.
        meta_lr, meta_weight_decay: Adam settings for phi.
        num_snapshots: ``k``, the number of snapshots (and parts of the run).
        max_grad_norm: clip the model's gradient norm to this before each step, if set.
        gamma_from_perplexity: apply the gamma rule to the perplexity ``exp(loss)``, as the
            released language-model code does (with ``num_classes`` = the vocabulary size).
        input_scale: divides the loss before the net reads it (``math.log(V)`` in the released
            language-model code); replaces the net's own ``input_scale`` when given.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        meta_data: Iterable[Any],
        total_steps: int,
        *,
        criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
        batch_loss: BatchLoss | None = None,
        t_val: int = 100,
        gamma: float | None = None,
        num_classes: int | None = None,
        initial_loss: float | None = None,
        net: MLRSNet | None = None,
        meta_lr: float = 1e-3,
        meta_weight_decay: float = 1e-4,
        num_snapshots: int = 3,
        max_grad_norm: float | None = None,
        gamma_from_perplexity: bool = False,
        input_scale: float | None = None,
    ) -> None:
        check_positive_int("total_steps", total_steps)
        check_positive_int("t_val", t_val)
        check_positive_int("num_snapshots", num_snapshots)
        if num_snapshots > total_steps:
            raise ValueError(f"num_snapshots ({num_snapshots}) cannot exceed total_steps ({total_steps})")
        check_gamma_settings(gamma, num_classes)
        if max_grad_norm is not None and not float(max_grad_norm) > 0:
            raise ValueError(f"max_grad_norm must be positive or None, got {max_grad_norm!r}")
        if not isinstance(optimizer, (torch.optim.SGD, torch.optim.Adam)):
            raise TypeError(
                f"MetaTrainer supports torch.optim.SGD, Adam and AdamW as the base optimizer, "
                f"got {type(optimizer).__name__}"
            )

        warn_if_adam_without_gamma(optimizer, gamma)

        self.model = model
        self.optimizer = optimizer
        self.meta_data = meta_data
        self.total_steps = int(total_steps)
        self.batch_loss = batch_loss if batch_loss is not None else supervised_loss(criterion)
        self.t_val = int(t_val)
        self.gamma = None if gamma is None else float(gamma)
        self.num_classes = num_classes
        self.gamma_from_perplexity = bool(gamma_from_perplexity)
        if self.gamma is None and initial_loss is not None:
            self.gamma = self._released_gamma(initial_loss)
        self.net = net if net is not None else MLRSNet()
        if input_scale is not None:
            check_positive_finite("input_scale", input_scale)
            self.net.input_scale = float(input_scale)
        self.meta_optimizer = torch.optim.Adam(self.net.parameters(), lr=meta_lr, weight_decay=meta_weight_decay)
        self.num_snapshots = int(num_snapshots)
        self.max_grad_norm = max_grad_norm
        self.group_scales = group_scales(optimizer)

        self.snapshot_steps = _part_ends(self.total_steps, self.num_snapshots)
        self.snapshots: list[dict[str, torch.Tensor]] = []
        self.state = self.net.initial_state()
        self.step_count = 0
        self.meta_batches_used = 0
        self.last_lr: list[float] = [float(group["lr"]) for group in optimizer.param_groups]
        self.last_meta_loss: float | None = None
        self.last_loss: float | None = None
        self.last_net_input: float | None = None
        self._meta_iterator: Iterator[Any] | None = None
        self._warned_past_end = False

    # ----------------------------------------------------------------- one step

    def step(self, loss: torch.Tensor | float) -> float:
        """Set the LR from ``loss``, run the look-ahead if due, and take the optimizer step.

        Returns the LR of the first param group.

        Raises:
            NonFiniteLossError: (a ValueError) for a NaN or infinite training loss, before
                anything changes. For a non-finite meta-data loss after the virtual step it is
                raised before phi, the LR, the optimizer and the LSTM state change, but after
                gradient clipping (``max_grad_norm``) and after one meta-data batch was drawn.
        """
        value = loss_value(loss, self.step_count)
        if self.gamma is None:
            self.gamma = self._released_gamma(value)
            logger.info("gamma = %.6g from the first training loss %.6g", self.gamma, value)
        if self.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self._trained_parameters(), self.max_grad_norm)
        if self.step_count % self.t_val == 0:
            self._meta_step(torch.tensor(value))

        # The real step: the same state as the look-ahead, with the (possibly updated) phi.
        p, new_state = self.net.predict(value, self.state)
        lr = self.gamma * p
        self.last_lr = set_group_lrs(self.optimizer, lr, self.group_scales)
        self.optimizer.step()

        self.state = detach_state(new_state)
        self.last_loss = value
        self.last_net_input = value / self.net.input_scale
        self.step_count += 1
        self._take_snapshot_if_due()
        return lr

    def _released_gamma(self, loss: float) -> float:
        return released_gamma(loss, self.num_classes, from_perplexity=self.gamma_from_perplexity)

    def _meta_step(self, net_input: torch.Tensor) -> None:
        directions = update_direction(self.optimizer, self.group_scales)
        meta_batch = move_to_device(self._next_meta_batch(), model_device(self.model))
        p, _ = self.net(net_input, self.state)
        lr = self.gamma * p
        meta_loss, lr_gradient = lookahead_lr_gradient(
            self.model, self.batch_loss, meta_batch, directions, lr.detach()
        )
        if not (torch.isfinite(meta_loss) and torch.isfinite(lr_gradient)):
            raise NonFiniteLossError(
                f"step {self.step_count}: the meta-data loss after the virtual step is {float(meta_loss)} "
                f"with meta-gradient {float(lr_gradient)} (non-finite) "
                f"at LR {lr.item():.6g}; phi was not updated. Lower gamma, or check the meta-data"
            )
        self.meta_optimizer.zero_grad()
        lr.backward(lr_gradient.to(dtype=lr.dtype, device=lr.device))
        self.meta_optimizer.step()
        self.last_meta_loss = float(meta_loss)

    def _next_meta_batch(self) -> Any:
        if self._meta_iterator is None:
            self._meta_iterator = iter(self.meta_data)
        try:
            batch = next(self._meta_iterator)
        except StopIteration:
            self._meta_iterator = iter(self.meta_data)
            try:
                batch = next(self._meta_iterator)
            except StopIteration:
                raise ValueError("meta_data yielded no batches; pass a non-empty meta-data loader") from None
        self.meta_batches_used += 1
        return batch

    def _take_snapshot_if_due(self) -> None:
        if len(self.snapshots) < self.num_snapshots and self.step_count == self.snapshot_steps[len(self.snapshots)]:
            self.snapshots.append(copy.deepcopy(self.net.state_dict()))
            logger.info("snapshot %d of %d at step %d", len(self.snapshots), self.num_snapshots, self.step_count)
        elif self.step_count > self.total_steps and not self._warned_past_end:
            self._warned_past_end = True
            logger.warning(
                "step %d is past the last step of total_steps=%d (steps count from 0): training goes on, "
                "but every snapshot has been taken",
                self.step_count - 1,
                self.total_steps,
            )

    def _trained_parameters(self) -> list[torch.Tensor]:
        return [param for group in self.optimizer.param_groups for param in group["params"]]

    def get_last_lr(self) -> list[float]:
        """Return the LR of each param group used by the last step."""
        return list(self.last_lr)

    # ----------------------------------------------------------------- whole runs

    def fit(
        self,
        train_data: Iterable[Any],
        epochs: int,
        *,
        on_step: Callable[[int, float, float], None] | None = None,
    ) -> list[float]:
        """Train for ``epochs`` passes over ``train_data`` and return each epoch's mean loss.

        When neither gamma nor the initial loss was given, the model's mean loss over
        ``train_data`` is measured first (one pass without gradients). ``on_step(step,
        loss, lr)`` is called after every step, to drive a progress bar.
        """
        check_positive_int("epochs", epochs)
        device = model_device(self.model)
        if self.gamma is None:
            f0 = mean_initial_loss(
                self.model, (move_to_device(batch, device) for batch in train_data), self.batch_loss
            )
            self.gamma = self._released_gamma(f0)
            logger.info("gamma = %.6g from the initial mean training loss %.6g", self.gamma, f0)

        epoch_losses = []
        for _ in range(int(epochs)):
            self.model.train()
            total, count = 0.0, 0
            for batch in train_data:
                batch = move_to_device(batch, device)
                self.optimizer.zero_grad()
                loss = self.batch_loss(self.model, batch)
                loss.backward()
                lr = self.step(loss)
                total += self.last_loss
                count += 1
                if on_step is not None:
                    on_step(self.step_count, self.last_loss, lr)
            epoch_losses.append(total / max(count, 1))
        return epoch_losses

    def schedule(self, meta_trained_on: dict[str, Any] | None = None) -> Schedule:
        """Return the meta-learned schedule: the snapshots, the net's architecture and metadata.

        Raises:
            RuntimeError: before the last snapshot has been taken (at step ``total_steps``).
        """
        if len(self.snapshots) < self.num_snapshots:
            raise RuntimeError(
                f"only {len(self.snapshots)} of {self.num_snapshots} snapshots have been taken by step "
                f"{self.step_count}; train to step {self.total_steps} first"
            )
        trained_on = {
            "steps": self.total_steps,
            "t_val": self.t_val,
            "gamma": self.gamma,
            "gamma_from_perplexity": self.gamma_from_perplexity,
        }
        trained_on.update(meta_trained_on or {})
        return Schedule(
            snapshots=[dict(snapshot) for snapshot in self.snapshots],
            hidden_size=self.net.hidden_size,
            num_layers=self.net.num_layers,
            input_scale=self.net.input_scale,
            switch_points=equal_switch_points(self.num_snapshots),
            meta_trained_on=trained_on,
        )

    # ----------------------------------------------------------------- resume

    def state_dict(self) -> dict[str, Any]:
        """Return everything needed to resume meta-training, except the model and base optimizer."""
        return {
            "step_count": self.step_count,
            "total_steps": self.total_steps,
            "t_val": self.t_val,
            "num_snapshots": self.num_snapshots,
            "num_param_groups": len(self.optimizer.param_groups),
            "gamma_from_perplexity": self.gamma_from_perplexity,
            "gamma": self.gamma,
            "net": copy.deepcopy(self.net.state_dict()),
            "meta_optimizer": copy.deepcopy(self.meta_optimizer.state_dict()),
            "lstm_state": stack_state(self.state).clone(),
            "snapshots": copy.deepcopy(self.snapshots),
            "meta_batches_used": self.meta_batches_used,
            "last_lr": list(self.last_lr),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`, so meta-training continues as it would have.

        The run's length, ``t_val``, snapshot count and gamma mode saved in the state replace
        those this trainer was built with. The meta-data iterator is replayed to the same
        number of batches.
        NOTE: with a shuffling DataLoader the replayed batches match only if its
        generator is restored too (seed it, or save and restore its state).

        Raises:
            ValueError: if keys are missing, or the state was saved for an optimizer with
                another number of param groups or for a net of another size.
        """
        expected_keys = set(self.state_dict())
        lstm_shape = tuple(stack_state(self.state).shape)
        lstm_state = check_resume_state(
            "meta-trainer", state_dict, expected_keys, "num_param_groups", self.optimizer, lstm_shape
        )
        total_steps, num_snapshots = int(state_dict["total_steps"]), int(state_dict["num_snapshots"])
        check_positive_int("total_steps", total_steps)
        check_positive_int("t_val", int(state_dict["t_val"]))
        check_positive_int("num_snapshots", num_snapshots)

        self.net.load_state_dict(state_dict["net"])
        self.meta_optimizer.load_state_dict(state_dict["meta_optimizer"])
        self.state = unstack_state(lstm_state)
        self.total_steps = total_steps
        self.t_val = int(state_dict["t_val"])
        self.num_snapshots = num_snapshots
        self.snapshot_steps = _part_ends(total_steps, num_snapshots)
        self.gamma_from_perplexity = bool(state_dict["gamma_from_perplexity"])
        self.step_count = int(state_dict["step_count"])
        self.gamma = state_dict["gamma"]
        self.snapshots = copy.deepcopy(state_dict["snapshots"])
        self.last_lr = list(state_dict["last_lr"])
        self._meta_iterator = None
        used = int(state_dict["meta_batches_used"])
        self.meta_batches_used = 0
        for _ in range(used):
            self._next_meta_batch()


def _part_ends(total_steps: int, num_parts: int) -> list[int]:
    """Return the step count at the end of each of ``num_parts`` equal parts of a run."""
    return [round(total_steps * (i + 1) / num_parts) for i in range(num_parts)]
