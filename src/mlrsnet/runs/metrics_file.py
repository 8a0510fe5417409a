"""The ``metrics.json`` record of a task run: its layout, writing and reading."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mlrsnet.runs.loop import RunResult
from mlrsnet.tasks.prepare import PreparedTask


def to_json(value: Any) -> Any:
    """Return ``value`` as plain JSON types: paths and tuples become strings and lists,
    and NaN and infinity become None, so that strict parsers read the file."""
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metrics_payload(
    run_config: dict[str, Any],
    prepared: PreparedTask,
    result: RunResult,
    *,
    status: str,
    environment: dict[str, Any],
    files: dict[str, Path] | None = None,
    method_summary: dict[str, Any] | None = None,
) -> str:
    """Return the text of ``metrics.json``.

    ``status`` is ``running``, ``finished`` or ``diverged``. ``final.test_metric`` is
    the metric after the last evaluated epoch and ``final.best_test_metric`` the best
    over epochs (highest accuracy or lowest perplexity). ``method_summary`` contains what a
    schedule net ended with, such as its gamma.
    """
    metrics = [value for value in result.test_metric if math.isfinite(value)]
    pick_best = max if prepared.objective.higher_is_better else min
    steps_per_epoch = prepared.steps_per_epoch
    epochs = []
    for index, (train_loss, test_loss, test_metric) in enumerate(
        zip(result.train_loss, result.test_loss, result.test_metric)
    ):
        # The LR of the epoch's last step; a resumed run has every step of its evaluated epochs.
        last_step = min((index + 1) * steps_per_epoch, len(result.lr_per_step)) - 1
        epochs.append(
            {
                "epoch": index,
                "train_loss": train_loss,
                "test_loss": test_loss,
                "test_metric": test_metric,
                "lr": result.lr_per_step[last_step],
            }
        )
    payload = {
        "status": status,
        "task": prepared.task.name,
        "budget": prepared.budget_name,
        "seed": prepared.seed,
        "method": result.method,
        "metric": result.metric,
        "final": {
            "test_metric": result.test_metric[-1] if result.test_metric else None,
            "best_test_metric": pick_best(metrics) if metrics else None,
            "epochs_completed": len(result.train_loss),
            "diverged": result.diverged,
            "diverged_step": result.diverged_step,
        },
        "epochs": epochs,
        "method_summary": method_summary or {},
        "wall_time_s": result.wall_time_s,
        "lr_per_step": result.lr_per_step,
        "loss_per_step": result.loss_per_step,
        "config": {
            "run": run_config,
            "budget": prepared.budget.to_dict(),
            "model": prepared.describe_model(),
            "data": prepared.data_info,
            "steps_per_epoch": prepared.steps_per_epoch,
            "total_steps": prepared.total_steps,
            "schedule_settings": prepared.schedule_settings,
            "environment": environment,
        },
        "files": {role: path.name for role, path in (files or {}).items()},
    }
    return json.dumps(to_json(payload), indent=2, allow_nan=False) + "\n"


def read_metrics(path: str | Path) -> dict[str, Any]:
    """Read a ``metrics.json`` file.

    Raises:
        ValueError: If the file is not valid JSON; the message names the file.
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}). Delete it or choose another --out folder") from error
