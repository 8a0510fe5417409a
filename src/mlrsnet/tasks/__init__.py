"""Tasks by name: data, model, loss, metric, meta-data split and budgets.

    from mlrsnet.tasks import prepare_task

    prepared = prepare_task("mnist-cnn", "cpu", seed=0, data_dir="../shared/data")
    model = prepared.build_model()
"""

from mlrsnet.tasks.dataset_files import DownloadSettings
from mlrsnet.tasks.objectives import ClassificationObjective, LanguageModelObjective, Objective
from mlrsnet.tasks.prepare import PreparedTask, prepare_task
from mlrsnet.tasks.registry import TASKS, get_task
from mlrsnet.tasks.spec import BUDGET_NAMES, Budget, Task

__all__ = [
    "BUDGET_NAMES",
    "Budget",
    "ClassificationObjective",
    "DownloadSettings",
    "LanguageModelObjective",
    "Objective",
    "PreparedTask",
    "TASKS",
    "Task",
    "get_task",
    "prepare_task",
]
