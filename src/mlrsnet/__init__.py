"""mlrsnet: meta-learned, transferable learning-rate schedules (MLR-SNet) for PyTorch.

``import mlrsnet`` loads the method only (torch and safetensors); tasks, baselines,
experiments and the command line load on demand.
"""

from ._version import __version__
from .core import (
    MetaTrainer,
    MLRSNet,
    MLRSNetScheduler,
    NonFiniteLossError,
    Schedule,
    ScheduleFileError,
    import_official,
    load_schedule,
    mean_initial_loss,
    released_gamma,
    supervised_loss,
)

__all__ = [
    "MLRSNet",
    "MLRSNetScheduler",
    "MetaTrainer",
    "NonFiniteLossError",
    "Schedule",
    "ScheduleFileError",
    "__version__",
    "import_official",
    "load_schedule",
    "mean_initial_loss",
    "released_gamma",
    "supervised_loss",
]
