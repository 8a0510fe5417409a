"""Argument checks shared by the meta-trainer and the scheduler."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import torch

from .gamma import check_num_classes


def check_positive_int(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is an integer >= 1 (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_positive_finite(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is a positive finite number."""
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def warn_if_adam_without_gamma(optimizer: torch.optim.Optimizer, gamma: float | None) -> None:
    """Warn the caller's caller that the released gamma rule is sized for SGD, not Adam."""
    if gamma is None and isinstance(optimizer, torch.optim.Adam):
        warnings.warn(
            "the released gamma rule is sized for SGD (LRs near 0.1-0.5); with Adam as the base optimizer "
            "pass an explicit gamma such as 2e-3",
            stacklevel=3,
        )


def check_gamma_settings(gamma: float | None, num_classes: int | None) -> None:
    """Raise ValueError unless gamma is positive and finite, or num_classes allows computing it."""
    if gamma is not None:
        check_positive_finite("gamma", gamma)
        return
    if num_classes is None:
        raise ValueError(
            "pass num_classes= (the number of classes, or the vocabulary size of a language model) "
            "so that gamma is computed with the released rule, or an explicit gamma="
        )
    check_num_classes(num_classes)


def check_resume_state(
    kind: str,
    state_dict: dict[str, Any],
    expected_keys: set[str],
    groups_key: str,
    optimizer: torch.optim.Optimizer,
    expected_lstm_shape: tuple[int, ...],
) -> torch.Tensor:
    """Check a saved state before it is loaded, and return its LSTM state as a tensor.

    ``state_dict[groups_key]`` is the saved number of param groups, or a list with one
    entry per group.

    Raises:
        ValueError: if keys are missing, or the state was saved for another number of param
            groups or for a schedule net of another size.
    """
    if not isinstance(state_dict, dict):
        raise TypeError(f"invalid {kind} state: expected a dict from its state_dict(), got {type(state_dict).__name__}")
    missing = sorted(expected_keys - set(state_dict))
    if missing:
        raise ValueError(f"invalid {kind} state: missing {missing}; pass a dict returned by its state_dict()")
    saved = state_dict[groups_key]
    saved_groups = len(saved) if isinstance(saved, (list, tuple)) else int(saved)
    if saved_groups != len(optimizer.param_groups):
        raise ValueError(
            f"this {kind} state was saved for {saved_groups} param groups, but the optimizer has "
            f"{len(optimizer.param_groups)}; rebuild the optimizer with the param groups of the saved run"
        )
    lstm_state = torch.as_tensor(state_dict["lstm_state"])
    if tuple(lstm_state.shape) != tuple(expected_lstm_shape):
        raise ValueError(
            f"invalid {kind} state: lstm_state has shape {tuple(lstm_state.shape)}, but the schedule net "
            f"needs {tuple(expected_lstm_shape)}; use a net of the saved size"
        )
    return lstm_state
