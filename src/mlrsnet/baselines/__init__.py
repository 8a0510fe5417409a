"""The methods the schedule net is compared with: schedules, adaptive and LR-free optimizers."""

from mlrsnet.baselines.catalog import (
    BASELINES,
    BENCHMARK_BASELINES,
    GRIDS,
    BaselineInfo,
    baseline_label,
    parse_baseline,
)
from mlrsnet.baselines.hypergradient import HypergradientSGD
from mlrsnet.baselines.l4 import L4SGD
from mlrsnet.baselines.lr_free import LR_FREE_NAMES, LRFreeMethod, make_lr_free
from mlrsnet.baselines.rtho import RealTimeHyperSGD
from mlrsnet.baselines.scheduled_optimizer import ScheduledOptimizer
from mlrsnet.baselines.schedules import (
    BASELINE_NAMES,
    make_baseline,
    multistep_milestones,
    schedule_optimizer,
    sgdr_first_cycle_steps,
    sgdr_paper_first_cycle_steps,
)
from mlrsnet.baselines.val_strategy import ValStrategy

__all__ = [
    "BASELINES",
    "BASELINE_NAMES",
    "BENCHMARK_BASELINES",
    "GRIDS",
    "LR_FREE_NAMES",
    "BaselineInfo",
    "HypergradientSGD",
    "L4SGD",
    "LRFreeMethod",
    "RealTimeHyperSGD",
    "ScheduledOptimizer",
    "ValStrategy",
    "baseline_label",
    "make_baseline",
    "make_lr_free",
    "multistep_milestones",
    "parse_baseline",
    "schedule_optimizer",
    "sgdr_first_cycle_steps",
    "sgdr_paper_first_cycle_steps",
]
