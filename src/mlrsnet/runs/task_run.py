"""One run of a named task with one LR method and seed: ``metrics.json``, checkpoints and resume.

The output folder of a run holds:

- ``metrics.json``: the config, per-epoch train loss and test metric, the LR and loss of
  every step, wall time and status. It is rewritten after every epoch.
- ``checkpoint.pt``: the model, method, loader and RNG states after the last finished
  epoch, while the run is unfinished. ``resume=True`` continues from it exactly.
- ``model.safetensors``: the final weights.
- ``schedule.safetensors``: the meta-learned schedule, for meta-training runs.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_model

from mlrsnet._version import __version__
from mlrsnet.atomic import write_atomic, write_text_atomic
from mlrsnet.runs.loop import EpochRecord, RunResult, train
from mlrsnet.runs.methods import MethodSpec, build_method, load_method_state, method_state, method_summary
from mlrsnet.runs.metrics_file import metrics_payload, read_metrics, to_json
from mlrsnet.runs.schedule_methods import MetaTrainingMethod
from mlrsnet.tasks.dataset_files import DownloadSettings
from mlrsnet.tasks.prepare import PreparedTask, prepare_task

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
CHECKPOINT_FILE = "checkpoint.pt"
MODEL_FILE = "model.safetensors"
SCHEDULE_FILE = "schedule.safetensors"


@dataclass(frozen=True)
class RunConfig:
    """Settings of one task run; stored in ``metrics.json`` and compared on resume.

    ``overrides`` changes budget fields (for example ``{"epochs": 2}``), and
    ``device`` is a torch device string.
    """

    task: str
    method: MethodSpec
    budget: str = "cpu"
    seed: int = 0
    data_dir: str | None = None
    corruption: str | None = None
    severity: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        settings = asdict(self)
        settings["method"] = self.method.to_dict()
        return settings


class ResumeError(ValueError):
    """The output folder contains a run that cannot be continued with this config."""


class MetaTrainingDivergedError(RuntimeError):
    """Meta-training hit a non-finite loss, so no complete schedule exists."""


@dataclass
class TaskRunOutcome:
    """Outcome of a task run: its record, the prepared task and the written files."""

    result: RunResult
    prepared: PreparedTask
    files: dict[str, Path]
    resumed_from_epoch: int = 0


def run_task(
    config: RunConfig,
    out_dir: str | os.PathLike[str],
    *,
    download: DownloadSettings | None = None,
    resume: bool = False,
    on_start: Callable[[PreparedTask, int], None] | None = None,
    on_step: Callable[[int, float, float], None] | None = None,
    on_epoch: Callable[[int, EpochRecord], None] | None = None,
) -> TaskRunOutcome:
    """Train the model of ``config.task`` with ``config.method`` and write the run's files.

    Args:
        config: Task, method, budget, seed, data and device settings.
        out_dir: Folder of the run's files, created if needed.
        download: Whether missing datasets may be downloaded.
        resume: Continue the unfinished run in ``out_dir`` from its last checkpoint. The
            continued run matches an uninterrupted one step for step.
        on_start: Called as ``on_start(prepared, first_step)`` before training.
        on_step, on_epoch: Passed to :func:`mlrsnet.runs.train`.

    Raises:
        ResumeError: If ``out_dir`` already contains a run and ``resume`` is False, or the
            saved run has another config.
        DatasetNotFoundError: If the data is missing and downloads are not enabled.
        MetaTrainingDivergedError: If a meta-training run diverged, so that it has no schedule.
    """
    out_dir = Path(out_dir)
    checkpoint = _existing_checkpoint(out_dir, config, resume)

    prepared = prepare_task(
        config.task,
        config.budget,
        seed=config.seed,
        data_dir=config.data_dir,
        download=download,
        corruption=config.corruption,
        severity=config.severity,
        overrides=config.overrides,
    )
    model = prepared.build_model().to(config.device)
    method = build_method(config.method, model, prepared)

    previous: RunResult | None = None
    if checkpoint is not None:
        try:
            previous = _restore(checkpoint, model, method, prepared)
        except ValueError as error:
            # Such as a schedule file whose weights differ from the one the run started with.
            raise ResumeError(f"cannot resume the run in {out_dir}: {error}") from error
        logger.info("resuming %s from epoch %d", out_dir, len(previous.train_loss))
    first_step = 0 if previous is None else len(previous.lr_per_step)
    if on_start is not None:
        on_start(prepared, first_step)

    def save_progress(result: RunResult) -> None:
        # metrics.json after every epoch, so that a long run can be watched.
        status = "diverged" if result.diverged else "running"
        _write_metrics(out_dir, config, prepared, result, status=status, summary=method_summary(method))
        if not result.diverged and len(result.train_loss) < prepared.budget.epochs:
            _save_checkpoint(out_dir / CHECKPOINT_FILE, model, method, prepared, result)

    try:
        result = train(
            model,
            method,
            prepared.train_loader,
            prepared.test_loader,
            prepared.budget.epochs,
            objective=prepared.objective,
            max_grad_norm=prepared.budget.max_grad_norm,
            resume_from=previous,
            on_step=on_step,
            on_epoch=on_epoch,
            on_checkpoint=save_progress,
        )
    except KeyboardInterrupt:
        _mark_interrupted(out_dir / METRICS_FILE)
        raise

    files = {"metrics": out_dir / METRICS_FILE}
    if not result.diverged:
        # Schedule-free SGD evaluates at averaged weights, and those are the ones to keep.
        before_evaluation = getattr(method, "before_evaluation", None)
        if before_evaluation is not None:
            before_evaluation()
        # save_model stores tied weights once; load the file with safetensors.torch.load_model.
        files["model"] = write_atomic(out_dir / MODEL_FILE, lambda path: save_model(model, str(path)))
        if isinstance(method, MetaTrainingMethod):
            schedule = method.trainer.schedule(_meta_trained_on(config, prepared))
            files["schedule"] = schedule.save(out_dir / SCHEDULE_FILE)
    status = "diverged" if result.diverged else "finished"
    _write_metrics(out_dir, config, prepared, result, status=status, files=files, summary=method_summary(method))
    (out_dir / CHECKPOINT_FILE).unlink(missing_ok=True)
    if result.diverged and isinstance(method, MetaTrainingMethod):
        # The schedule net sets the LR itself, so the budget's lr would change nothing.
        raise MetaTrainingDivergedError(
            f"meta-training diverged at step {result.diverged_step}, so no schedule was written. "
            f"See {files['metrics']}. Lower the budget's weight_decay or momentum (--set), "
            "or pass a smaller --gamma"
        )
    resumed_from = 0 if previous is None else len(previous.train_loss)
    return TaskRunOutcome(result, prepared, files, resumed_from)


def _existing_checkpoint(out_dir: Path, config: RunConfig, resume: bool) -> dict[str, Any] | None:
    metrics_path = out_dir / METRICS_FILE
    checkpoint_path = out_dir / CHECKPOINT_FILE
    if not metrics_path.exists() and not checkpoint_path.exists():
        if resume:
            raise ResumeError(
                f"{out_dir} contains no run to resume. Check the output folder, or start a run without resuming"
            )
        return None
    saved = read_metrics(metrics_path) if metrics_path.exists() else {}
    if saved.get("status") in ("finished", "diverged"):
        raise ResumeError(f"the run in {out_dir} has already {saved['status']}; choose another output folder to run again")
    if not resume:
        raise ResumeError(
            f"{out_dir} already contains an unfinished run. Resume it (--resume, or resume=True), "
            "or choose another output folder"
        )

    saved_run = saved.get("config", {}).get("run", {})
    differences = _config_differences(saved_run, to_json(config.to_dict()))
    if differences:
        raise ResumeError(
            f"{out_dir} contains a run with another config ({'; '.join(differences)}). "
            "Resume with the same settings, or choose another output folder"
        )
    if not checkpoint_path.exists():
        raise ResumeError(
            f"{out_dir} has no {CHECKPOINT_FILE} to resume from, because its first epoch did not finish. "
            "Delete the folder and run again"
        )

    saved_threads = saved.get("config", {}).get("environment", {}).get("threads")
    if saved_threads is not None and saved_threads != torch.get_num_threads():
        logger.warning(
            "the run in %s was saved with --threads %s and resumes with --threads %s, so results may differ "
            "in the last digits",
            out_dir, saved_threads, torch.get_num_threads(),
        )
    try:
        return torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError) as error:
        raise ResumeError(
            f"{checkpoint_path} is unreadable ({error}). Delete the folder and run again"
        ) from error


def _config_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    return [
        f"{name}: saved {saved.get(name)!r}, now {current.get(name)!r}"
        for name in sorted(set(saved) | set(current))
        if saved.get(name) != current.get(name)
    ]


def _mark_interrupted(metrics_path: Path) -> None:
    # metrics.json exists once an epoch has finished; before that there is nothing to mark.
    if not metrics_path.exists():
        return
    payload = read_metrics(metrics_path)
    payload["status"] = "interrupted"
    write_text_atomic(metrics_path, json.dumps(payload, indent=2, allow_nan=False) + "\n")


def _save_checkpoint(
    path: Path, model: torch.nn.Module, method: Any, prepared: PreparedTask, result: RunResult
) -> None:
    state = {
        "model": model.state_dict(),
        "method": method_state(method),
        "train_loader": prepared.train_loader.state_dict(),
        "torch_rng": torch.get_rng_state(),
        # Dropout on a GPU draws from the CUDA generators.
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "result": result.to_dict(),
    }
    write_atomic(path, lambda temporary: torch.save(state, temporary))


def _restore(checkpoint: dict[str, Any], model: torch.nn.Module, method: Any, prepared: PreparedTask) -> RunResult:
    model.load_state_dict(checkpoint["model"])
    # The meta-data loader is left fresh: the meta-trainer replays it from its first batch.
    load_method_state(method, checkpoint["method"])
    prepared.train_loader.load_state_dict(checkpoint["train_loader"])
    torch.set_rng_state(checkpoint["torch_rng"])
    if checkpoint["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])
    return RunResult.from_dict(checkpoint["result"])


def _meta_trained_on(config: RunConfig, prepared: PreparedTask) -> dict[str, Any]:
    return {
        "task": config.task,
        "budget": config.budget,
        "dataset": prepared.task.dataset,
        "model": prepared.describe_model(),
        "epochs": prepared.budget.epochs,
        "seed": config.seed,
        "optimizer": f"SGD(momentum={prepared.budget.momentum}, weight_decay={prepared.budget.weight_decay})",
    }


def _write_metrics(
    out_dir: Path,
    config: RunConfig,
    prepared: PreparedTask,
    result: RunResult,
    *,
    status: str,
    files: dict[str, Path] | None = None,
    summary: dict[str, Any] | None = None,
) -> None:
    environment = {
        "library_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "threads": torch.get_num_threads(),
        "device": config.device,
    }
    payload = metrics_payload(
        config.to_dict(), prepared, result, status=status, environment=environment, files=files, method_summary=summary
    )
    write_text_atomic(out_dir / METRICS_FILE, payload)
