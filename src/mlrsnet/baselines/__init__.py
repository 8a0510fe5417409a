"""Hand-designed LR schedules and optimizers that the schedule net is compared with."""

from mlrsnet.baselines.scheduled_optimizer import ScheduledOptimizer
from mlrsnet.baselines.schedules import (
    BASELINE_NAMES,
    make_baseline,
    multistep_milestones,
    sgdr_first_cycle_steps,
)

__all__ = [
    "BASELINE_NAMES",
    "ScheduledOptimizer",
    "make_baseline",
    "multistep_milestones",
    "sgdr_first_cycle_steps",
]
