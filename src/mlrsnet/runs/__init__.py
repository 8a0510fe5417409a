"""Training runs: the one loop every method shares, task runs with metrics.json and resume."""

from mlrsnet.runs.loop import EpochRecord, Method, RunResult, evaluate, train
from mlrsnet.runs.methods import MethodSpec, build_method
from mlrsnet.runs.schedule_methods import MetaTrainingMethod, TransferredScheduleMethod
from mlrsnet.runs.task_run import ResumeError, RunConfig, TaskRunOutcome, run_task

__all__ = [
    "EpochRecord",
    "MetaTrainingMethod",
    "Method",
    "MethodSpec",
    "ResumeError",
    "RunConfig",
    "RunResult",
    "TaskRunOutcome",
    "TransferredScheduleMethod",
    "build_method",
    "evaluate",
    "run_task",
    "train",
]
