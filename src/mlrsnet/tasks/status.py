"""Whether a task's data is on disk, and which files are missing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlrsnet.tasks.image_data import MNIST_TEST_FILES
from mlrsnet.tasks.spec import Task


@dataclass(frozen=True)
class DataStatus:
    """Data status of one task at one budget.

    ``dataset`` is the catalog key to download (None for data that ships with a
    library), and ``missing`` lists the absent files relative to ``folder``.
    """

    dataset: str | None
    folder: Path | None
    missing: tuple[str, ...]

    @property
    def present(self) -> bool:
        return not self.missing


def data_status(task: Task, budget: str, data_dir: Path) -> DataStatus:
    """Return which files ``task`` needs at ``budget`` and which of them are missing."""
    from mlrsnet.data.catalog import dataset_folder, missing_files

    if task.dataset == "digits":
        return DataStatus(None, None, ())
    split = task.budget(budget).split
    if task.dataset == "mnist" and split == "offline":
        files: list[str] | None = list(MNIST_TEST_FILES)
    elif task.dataset == "ptb":
        splits = ("valid", "test") if split == "offline" else ("train", "valid", "test")
        files = [f"{name}.txt" for name in splits]
    else:
        files = None
    return DataStatus(task.dataset, dataset_folder(task.dataset, data_dir), tuple(missing_files(task.dataset, data_dir, files)))
