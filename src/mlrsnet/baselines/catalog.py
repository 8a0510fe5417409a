"""The names of the baselines, their table labels, and the grids of the tuned ones.

A baseline is named ``NAME`` or, for the three methods with a tuned hyperparameter,
``NAME:VALUE`` (``l4:0.05``, ``hd:1e-4``, ``rtho:1e-4``). The benchmark runs every value
of the grid and reports the best one, as the method's paper does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BaselineInfo:
    """One baseline: its name, the label of its table row, and what it tunes.

    ``tuned`` names the hyperparameter that ``NAME:VALUE`` sets, or is None.
    """

    name: str
    label: str
    tuned: str | None = None


_INFOS = [
    BaselineInfo("sgd-fixed", "SGD, Fixed"),
    BaselineInfo("sgd-multistep", "SGD, MultiStep"),
    BaselineInfo("sgd-exponential", "SGD, Exponential"),
    BaselineInfo("sgd-sgdr", "SGD, SGDR"),
    BaselineInfo("sgdm-fixed", "SGDM, Fixed"),
    BaselineInfo("sgdm-multistep", "SGDM, MultiStep"),
    BaselineInfo("sgdm-exponential", "SGDM, Exponential"),
    BaselineInfo("sgdm-sgdr", "SGDM, SGDR"),
    BaselineInfo("adam", "Adam"),
    BaselineInfo("sgd-val", "SGD, Val Strategy"),
    BaselineInfo("adam-val", "Adam, Val Strategy"),
    BaselineInfo("l4", "L4 (SGD)", tuned="alpha"),
    BaselineInfo("hd", "HD (SGD)", tuned="hyper_lr"),
    BaselineInfo("rtho", "RTHO (SGD)", tuned="hyper_lr"),
    BaselineInfo("schedulefree-sgd", "Schedule-free SGD"),
    BaselineInfo("prodigy", "Prodigy"),
    BaselineInfo("dadapt-sgd", "D-Adaptation SGD"),
    # The schedules of the first release, on SGD with the budget's momentum. The demo uses them.
    BaselineInfo("fixed", "Fixed (budget momentum)"),
    BaselineInfo("multistep", "MultiStep (budget momentum)"),
    BaselineInfo("exponential", "Exponential (budget momentum)"),
    BaselineInfo("sgdr", "SGDR, 3 cycles (budget momentum)"),
]
BASELINES: dict[str, BaselineInfo] = {info.name: info for info in _INFOS}

# The names the benchmark runs: every baseline except the first release's four schedules.
BENCHMARK_BASELINES = tuple(info.name for info in _INFOS[:17])

# The method's grids, by task kind ("image" or "language").
_HYPER_LR_GRIDS = {"image": (1e-3, 1e-4, 1e-5, 1e-6, 1e-7), "language": (1.0, 0.5, 0.1, 0.05)}
_L4_GRID = (0.1, 0.05, 0.01, 0.005)
GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "l4": {"image": _L4_GRID, "language": _L4_GRID},
    "hd": _HYPER_LR_GRIDS,
    "rtho": _HYPER_LR_GRIDS,
}


def parse_baseline(text: str) -> tuple[str, float | None]:
    """Split ``NAME`` or ``NAME:VALUE`` into the name and the tuned value.

    Raises:
        ValueError: If the name is unknown, a tuned baseline has no value, or the value
            is not a positive finite number. The message lists the valid names and grids.
    """
    name, _, value_text = text.partition(":")
    info = BASELINES.get(name)
    if info is None:
        raise ValueError(f"unknown baseline {name!r}. Valid baselines: {', '.join(BASELINES)}")
    if info.tuned is None:
        if value_text:
            raise ValueError(f"baseline {name!r} takes no value, got {text!r}. Pass {name!r} alone")
        return name, None
    grids = "; ".join(
        f"{kind} tasks {', '.join(f'{value:g}' for value in values)}" for kind, values in GRIDS[name].items()
    )
    hint = f"Pass {name}:VALUE, for example {name}:{GRIDS[name]['image'][0]:g} (the benchmark's grids: {grids})"
    if not value_text:
        raise ValueError(f"baseline {name!r} needs its {info.tuned}. {hint}")
    try:
        value = float(value_text)
    except ValueError:
        raise ValueError(f"the {info.tuned} of {name!r} must be a number, got {value_text!r}. {hint}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"the {info.tuned} of {name!r} must be a positive finite number, got {value_text!r}. {hint}")
    return name, value


def baseline_label(text: str) -> str:
    """Return the table label of ``NAME`` or ``NAME:VALUE``, such as ``HD (SGD), hyper_lr=0.001``."""
    name, value = parse_baseline(text)
    info = BASELINES[name]
    return info.label if value is None else f"{info.label}, {info.tuned}={value:g}"
