"""Argument checks shared by the meta-trainer and the scheduler."""

from __future__ import annotations

import math
import numbers
from typing import Any

from .gamma import check_num_classes


def check_positive_int(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is an integer >= 1 (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_gamma_settings(gamma: float | None, num_classes: int | None) -> None:
    """Raise ValueError unless gamma is positive and finite, or num_classes allows computing it."""
    if gamma is not None:
        if not (math.isfinite(float(gamma)) and float(gamma) > 0):
            raise ValueError(f"gamma must be a positive finite number, got {gamma!r}")
        return
    if num_classes is None:
        raise ValueError(
            "pass num_classes= (the number of classes, or the vocabulary size of a language model) "
            "so that gamma is computed with the released rule, or an explicit gamma="
        )
    check_num_classes(num_classes)
