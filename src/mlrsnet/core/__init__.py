"""The method itself: schedule net, LR scale, look-ahead, meta-training, scheduler and schedule files.

Imports torch and safetensors only.
"""

from .direction import update_direction
from .gamma import mean_initial_loss, released_gamma
from .lookahead import lookahead_lr_gradient, lookahead_reference
from .meta_trainer import MetaTrainer, supervised_loss
from .net import MLRSNet
from .official import import_official
from .param_groups import NonFiniteLossError
from .schedule_file import Schedule, ScheduleFileError, load_schedule
from .scheduler import MLRSNetScheduler

__all__ = [
    "MLRSNet",
    "MLRSNetScheduler",
    "MetaTrainer",
    "NonFiniteLossError",
    "Schedule",
    "ScheduleFileError",
    "import_official",
    "load_schedule",
    "lookahead_lr_gradient",
    "lookahead_reference",
    "mean_initial_loss",
    "released_gamma",
    "supervised_loss",
    "update_direction",
]
