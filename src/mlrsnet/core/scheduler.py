"""The plug-and-play scheduler (Algorithm 2 of MLR-SNet): a meta-learned schedule on a new task."""

from __future__ import annotations

import logging
import os
import warnings
from collections import deque
from typing import Any

import torch

from .gamma import released_gamma
from .net import stack_state, unstack_state
from .param_groups import group_scales, loss_value, set_group_lrs
from .schedule_file import Schedule, load_schedule
from .validation import (
    check_gamma_settings,
    check_positive_finite,
    check_positive_int,
    check_resume_state,
    warn_if_adam_without_gamma,
)

logger = logging.getLogger(__name__)


class MLRSNetScheduler:
    """Set the LR of any SGD or Adam optimizer from a meta-learned schedule, with nothing to tune.

    Snapshot i of the schedule's k snapshots runs during the i-th of k equal parts of
    ``total_steps`` (by the schedule's switch points). The schedule net reads each step's
    training loss and the LR becomes ``gamma * p``; its LSTM state is carried across steps,
    epochs and snapshot switches.

    Gamma: when ``gamma`` is given it is used as given for the whole run. Otherwise it is
    computed with the released rule ``|sqrt(f) * ln(f * C) / C**(1/4) / 4|`` at the start
    and again at every snapshot switch. Here ``f`` is the mean of the last ``gamma_window``
    training losses passed to :meth:`step`, the current one included. At the start that is
    the first loss alone. With ``gamma_from_perplexity``, ``f`` is ``exp`` of that mean.
    ``C`` is ``num_classes``. The rule is sized for SGD, so with Adam pass an explicit gamma.

    Call :meth:`step` with the loss of the current mini-batch after ``loss.backward()``
    and before ``optimizer.step()``, so that each step's LR comes from that step's loss as
    in the method. (Called after ``optimizer.step()`` instead, it still works, one step late.)

    Example::

        scheduler = MLRSNetScheduler(optimizer, "schedule.safetensors", total_steps=epochs * len(loader), num_classes=10)
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), targets)
            loss.backward()
            scheduler.step(loss)
            optimizer.step()

    Args:
        optimizer: the wrapped optimizer. With several param groups, each keeps its ratio
            to the first group's initial LR.
        schedule: a :class:`Schedule` or the path of a schedule file.
        total_steps: length of the run in optimizer steps.
        gamma: the LR scale; when None it is re-estimated at each switch (see above).
        num_classes: classes of the task (the vocabulary size V for a language model);
            needed when ``gamma`` is None.
        input_scale: divides the loss before it enters the net; the schedule's own value
            when None. The released language-model code uses ln(V).
        gamma_window: how many recent losses the gamma estimate averages.
        gamma_from_perplexity: apply the gamma rule to ``exp(f)``, the perplexity, as the
            released language-model code does (with ``num_classes`` = the vocabulary size).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        schedule: Schedule | str | os.PathLike[str],
        total_steps: int,
        gamma: float | None = None,
        *,
        num_classes: int | None = None,
        input_scale: float | None = None,
        gamma_window: int = 50,
        gamma_from_perplexity: bool = False,
    ) -> None:
        check_positive_int("total_steps", total_steps)
        check_gamma_settings(gamma, num_classes)
        check_positive_int("gamma_window", gamma_window)
        warn_if_adam_without_gamma(optimizer, gamma)

        self.optimizer = optimizer
        self.schedule = schedule if isinstance(schedule, Schedule) else load_schedule(schedule)
        self.nets = [self.schedule.build_net(i) for i in range(self.schedule.num_snapshots)]
        self.input_scale = self.schedule.input_scale if input_scale is None else float(input_scale)
        check_positive_finite("input_scale", self.input_scale)
        for net in self.nets:
            net.input_scale = self.input_scale
        self.total_steps = int(total_steps)
        self.gamma = None if gamma is None else float(gamma)
        self.gamma_given = gamma is not None
        self.num_classes = num_classes
        self.gamma_window = int(gamma_window)
        self.gamma_from_perplexity = bool(gamma_from_perplexity)
        self.group_scales = group_scales(optimizer)

        self.step_count = 0
        self.active_snapshot: int | None = None
        self.state = self.nets[0].initial_state()
        self.recent_losses: deque[float] = deque(maxlen=self.gamma_window)
        self.last_lr: list[float] = [float(group["lr"]) for group in optimizer.param_groups]
        self.last_net_input: float | None = None
        self._warned_past_end = False

    def step(self, loss: torch.Tensor | float) -> None:
        """Set the LR of this step from its training loss.

        Raises:
            ValueError: for a NaN or infinite loss, naming the step and the value. The
                optimizer's LR, the net's state and the step count are left unchanged.
        """
        value = loss_value(loss, self.step_count)
        index = self.schedule.snapshot_index(self.step_count / self.total_steps)

        # Everything below is computed into locals first, so a failure changes nothing.
        gamma = self.gamma
        if index != self.active_snapshot and not self.gamma_given:
            recent = [*self.recent_losses, value][-self.gamma_window :]
            mean_loss = sum(recent) / len(recent)
            gamma = released_gamma(mean_loss, self.num_classes, from_perplexity=self.gamma_from_perplexity)
            logger.info("step %d: snapshot %d, gamma = %.6g", self.step_count, index, gamma)
        p, new_state = self.nets[index].predict(value, self.state)
        lr = gamma * p

        self.gamma = gamma
        self.active_snapshot = index
        self.state = new_state
        self.recent_losses.append(value)
        self.last_net_input = value / self.input_scale
        self.last_lr = set_group_lrs(self.optimizer, lr, self.group_scales)
        self.step_count += 1
        if self.step_count > self.total_steps and not self._warned_past_end:
            self._warned_past_end = True
            warnings.warn(
                f"step {self.step_count - 1} is past the last step of total_steps={self.total_steps} (steps count "
                "from 0); the last snapshot stays in use. Pass the run's real length as total_steps",
                stacklevel=2,
            )

    def get_last_lr(self) -> list[float]:
        """Return the LR of each param group set by the last :meth:`step`."""
        return list(self.last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Return the scheduler's state: step count, LSTM state, gamma, active snapshot and losses.

        The snapshot weights are not included (they live in the schedule file); a
        fingerprint of them is, so that resuming with another schedule is caught.
        """
        return {
            "step_count": self.step_count,
            "total_steps": self.total_steps,
            "gamma": self.gamma,
            "gamma_given": self.gamma_given,
            "num_classes": self.num_classes,
            "input_scale": self.input_scale,
            "gamma_window": self.gamma_window,
            "gamma_from_perplexity": self.gamma_from_perplexity,
            "group_scales": list(self.group_scales),
            "active_snapshot": self.active_snapshot,
            "recent_losses": list(self.recent_losses),
            "lstm_state": stack_state(self.state).clone(),
            "last_lr": list(self.last_lr),
            "schedule_fingerprint": self.schedule.fingerprint(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`, so the run continues with the LRs it would have had.

        Settings saved in the state (total steps, gamma, input scale, ...) replace those
        this scheduler was built with, as in ``torch.optim.lr_scheduler``.

        Raises:
            ValueError: if keys are missing, or the state was saved with a different schedule
                or for an optimizer with another number of param groups.
        """
        expected_keys = set(self.state_dict())
        lstm_shape = tuple(stack_state(self.state).shape)
        lstm_state = check_resume_state("scheduler", state_dict, expected_keys, "group_scales", self.optimizer, lstm_shape)
        if state_dict["schedule_fingerprint"] != self.schedule.fingerprint():
            raise ValueError(
                "this scheduler state was saved with a different schedule (the snapshot weights differ); "
                "build the scheduler with the schedule file the run started with"
            )
        # Every value is checked before any is assigned, so a bad state changes nothing.
        step_count = int(state_dict["step_count"])
        total_steps = int(state_dict["total_steps"])
        check_positive_int("total_steps", total_steps)
        gamma = state_dict["gamma"]
        gamma_given = bool(state_dict["gamma_given"])
        if gamma_given and gamma is None:
            raise ValueError("invalid scheduler state: gamma_given is set, but gamma is None")
        if gamma is not None:
            check_gamma_settings(gamma, None)
        if not gamma_given:
            check_gamma_settings(None, state_dict["num_classes"])
        input_scale = float(state_dict["input_scale"])
        gamma_window = int(state_dict["gamma_window"])
        check_positive_int("gamma_window", gamma_window)
        active_snapshot = state_dict["active_snapshot"]
        if active_snapshot is not None and not 0 <= int(active_snapshot) < self.schedule.num_snapshots:
            raise ValueError(f"invalid scheduler state: active_snapshot {active_snapshot} is out of range")

        self.step_count = step_count
        self.total_steps = total_steps
        self.gamma = gamma
        self.gamma_given = gamma_given
        self.num_classes = state_dict["num_classes"]
        self.input_scale = input_scale
        for net in self.nets:
            net.input_scale = input_scale
        self.gamma_window = gamma_window
        self.gamma_from_perplexity = bool(state_dict["gamma_from_perplexity"])
        self.group_scales = [float(scale) for scale in state_dict["group_scales"]]
        self.active_snapshot = active_snapshot
        self.recent_losses = deque((float(x) for x in state_dict["recent_losses"]), maxlen=gamma_window)
        self.state = unstack_state(lstm_state.to(self.state[0][0]))
        self.last_lr = [float(lr) for lr in state_dict["last_lr"]]
        self._warned_past_end = step_count > total_steps
