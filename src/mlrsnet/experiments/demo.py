"""The demo: meta-train a schedule on digits with an MLP, transfer it to a CNN, compare it with baselines.

Usage::

    from mlrsnet.experiments import DemoConfig, run_demo

    result = run_demo(DemoConfig(), "runs/demo")

The schedule is saved, then reloaded from its file for every transfer run, so the runs
test the file a user would ship.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from mlrsnet import MetaTrainer, MLRSNetScheduler, Schedule, load_schedule, mean_initial_loss, supervised_loss
from mlrsnet._version import __version__
from mlrsnet.baselines import make_baseline
from mlrsnet.data import DatasetSplits, load_digits_splits
from mlrsnet.experiments.demo_config import MLRSNET_METHOD, DemoConfig
from mlrsnet.experiments.figures import plot_epoch_metric, plot_lr
from mlrsnet.experiments.report import (
    MethodSummary,
    RunRecord,
    format_table,
    summarize,
    write_json,
    write_runs_csv,
    write_summary_csv,
)
from mlrsnet.models import MLP, SmallCNN
from mlrsnet.runs import MetaTrainingMethod, TransferredScheduleMethod
from mlrsnet.runs import Method, RunResult, train

__all__ = ["DemoConfig", "DemoResult", "run_demo"]

SCHEDULE_FILE = "schedule.safetensors"


@dataclass
class MetaTrainingOutcome:
    """The meta-training run and the schedule it produced."""

    run: RunResult
    initial_loss: float
    gamma: float
    schedule: Schedule
    schedule_path: Path


@dataclass
class DemoResult:
    """Everything :func:`run_demo` measured and wrote.

    ``files`` maps each output's role (``results_json``, ``lr_png``, ...) to its path.
    """

    config: DemoConfig
    out_dir: Path
    meta_training: MetaTrainingOutcome
    records: list[RunRecord]
    summaries: list[MethodSummary]
    table: str
    wall_time_s: float
    files: dict[str, Path] = field(default_factory=dict)


def _loader(dataset, batch_size: int, seed: int | None) -> DataLoader:
    # A seeded generator per loader fixes the batch order regardless of the global RNG.
    if seed is None:
        return DataLoader(dataset, batch_size=batch_size, shuffle=False)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))


def _splits(config: DemoConfig, seed: int) -> DatasetSplits:
    return load_digits_splits(seed, meta_size=config.meta_size, test_size=config.test_size)


def meta_train(config: DemoConfig, out_dir: Path, *, progress: bool = True) -> MetaTrainingOutcome:
    """Meta-train a schedule on an MLP with SGD and save it to ``out_dir / schedule.safetensors``.

    Gamma comes from the released rule with f0, the untrained model's mean loss over the
    training set.

    Raises:
        RuntimeError: If meta-training diverged, so that no complete schedule exists.
    """
    seed = config.meta_seed
    splits = _splits(config, seed)
    train_loader = _loader(splits.train, config.train_batch_size, seed)
    meta_loader = _loader(splits.meta, config.meta_batch_size, seed)
    test_loader = _loader(splits.test, config.test_batch_size, None)

    torch.manual_seed(seed)
    model = MLP(splits.input_shape, splits.num_classes, hidden_sizes=config.mlp_hidden_sizes)
    batch_loss = supervised_loss(F.cross_entropy)
    # Measure f0 on an unshuffled loader so the shuffled loader's generator stays untouched.
    initial_loss = mean_initial_loss(model, _loader(splits.train, config.test_batch_size, None), batch_loss)

    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.sgd_lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    total_steps = config.meta_epochs * len(train_loader)
    trainer = MetaTrainer(
        model,
        optimizer,
        meta_loader,
        total_steps,
        batch_loss=batch_loss,
        t_val=config.t_val,
        num_classes=splits.num_classes,
        initial_loss=initial_loss,
        num_snapshots=config.num_snapshots,
    )

    with tqdm(total=total_steps, desc="meta-training", unit="step", disable=not progress) as bar:
        run = train(
            model,
            MetaTrainingMethod(trainer, name="mlrsnet meta-training"),
            train_loader,
            test_loader,
            config.meta_epochs,
            on_step=lambda step, loss, lr: bar.update(1),
            on_epoch=lambda epoch, record: bar.set_postfix(loss=f"{record.train_loss:.3f}", lr=f"{record.lr:.3g}"),
        )
    if run.diverged:
        raise RuntimeError(
            f"meta-training diverged at step {run.diverged_step}, so the schedule is incomplete. "
            "Lower sgd_lr or raise t_val and run the demo again"
        )

    schedule = trainer.schedule(
        {
            "dataset": splits.name,
            "model": f"MLP(hidden_sizes={list(config.mlp_hidden_sizes)})",
            "epochs": config.meta_epochs,
            "t_val": config.t_val,
            "optimizer": f"SGD(lr={config.sgd_lr}, momentum={config.momentum}, weight_decay={config.weight_decay})",
            "seed": seed,
        }
    )
    schedule_path = schedule.save(out_dir / SCHEDULE_FILE)
    return MetaTrainingOutcome(run, initial_loss, trainer.gamma, schedule, schedule_path)


def _transfer_method(
    name: str,
    model: torch.nn.Module,
    config: DemoConfig,
    schedule: Schedule,
    steps_per_epoch: int,
    num_classes: int,
) -> Method:
    if name != MLRSNET_METHOD:
        lr = config.adam_lr if name == "adam" else config.sgd_lr
        momentum = 0.0 if name == "adam" else config.momentum
        return make_baseline(
            name,
            model.parameters(),
            epochs=config.epochs,
            steps_per_epoch=steps_per_epoch,
            lr=lr,
            momentum=momentum,
            weight_decay=config.weight_decay,
        )

    # The schedule overwrites the LR at every step, so the optimizer's initial LR only
    # matters as the reference for param group ratios.
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.sgd_lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    total_steps = config.epochs * steps_per_epoch
    scheduler = MLRSNetScheduler(optimizer, schedule, total_steps=total_steps, num_classes=num_classes)
    return TransferredScheduleMethod(scheduler, name=MLRSNET_METHOD)


def transfer_runs(config: DemoConfig, schedule_path: Path, *, progress: bool = True) -> list[RunRecord]:
    """Train a SmallCNN with each method of ``config.methods`` for every seed, all for the same epochs."""
    schedule = load_schedule(schedule_path)
    records = []
    total_runs = len(config.seeds) * len(config.methods)
    with tqdm(total=total_runs, desc="transfer runs", unit="run", disable=not progress) as bar:
        for seed in config.seeds:
            splits = _splits(config, seed)
            test_loader = _loader(splits.test, config.test_batch_size, None)
            for name in config.methods:
                bar.set_postfix(method=name, seed=seed)
                # Every method of a seed starts from the same weights and gets the same batch order.
                train_loader = _loader(splits.train, config.train_batch_size, seed)
                torch.manual_seed(seed)
                in_channels = splits.input_shape[0]
                model = SmallCNN(in_channels, splits.num_classes, width=config.cnn_width)
                method = _transfer_method(name, model, config, schedule, len(train_loader), splits.num_classes)
                result = train(model, method, train_loader, test_loader, config.epochs)
                records.append(RunRecord(name, seed, result))
                bar.update(1)
    return records


def _write_figures(
    config: DemoConfig, out_dir: Path, outcome: MetaTrainingOutcome, records: list[RunRecord]
) -> dict[str, Path]:
    first_seed = config.seeds[0]
    return {
        "lr_png": plot_lr(
            out_dir / "lr.png",
            outcome.run,
            [record for record in records if record.seed == first_seed],
            meta_title=f"meta-training: MLP, seed {config.meta_seed}",
            transfer_title=f"transfer: SmallCNN, seed {first_seed}",
        ),
        "train_loss_png": plot_epoch_metric(
            out_dir / "train_loss.png",
            records,
            "train_loss",
            ylabel="train loss (epoch mean)",
            title=f"SmallCNN on digits, mean over {len(config.seeds)} seeds",
            log_y=True,
        ),
        "test_accuracy_png": plot_epoch_metric(
            out_dir / "test_accuracy.png",
            records,
            "test_metric",
            ylabel="test accuracy",
            title=f"SmallCNN on digits, mean over {len(config.seeds)} seeds",
        ),
    }


def run_demo(
    config: DemoConfig,
    out_dir: str | os.PathLike[str],
    progress: bool = True,
    report: Callable[[str], None] | None = print,
) -> DemoResult:
    """Run the demo and write its results, schedule file and figures under ``out_dir``.

    The steps are: meta-train a schedule on an MLP (:func:`meta_train`), train a SmallCNN
    with the reloaded schedule and with each baseline for every seed
    (:func:`transfer_runs`), then write ``results.json``, ``results.csv``,
    ``summary.csv``, ``lr.png``, ``train_loss.png`` and ``test_accuracy.png``. The
    accuracy table goes to ``report`` (pass None to only return it in
    :attr:`DemoResult.table`).

    torch runs with ``config.threads`` intra-op threads, and the previous thread count is
    restored on return.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start_time = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        outcome = meta_train(config, out_dir, progress=progress)
        records = transfer_runs(config, outcome.schedule_path, progress=progress)
    finally:
        torch.set_num_threads(previous_threads)

    summaries = summarize(records)
    files = {"schedule": outcome.schedule_path}
    files.update(_write_figures(config, out_dir, outcome, records))
    wall_time_s = time.perf_counter() - start_time

    payload = {
        "library_version": __version__,
        "torch_version": torch.__version__,
        "wall_time_s": wall_time_s,
        "config": config.to_dict(),
        "meta_training": {
            "initial_loss": outcome.initial_loss,
            "gamma": outcome.gamma,
            "schedule_file": outcome.schedule_path.name,
            "meta_trained_on": outcome.schedule.meta_trained_on,
            "run": outcome.run.to_dict(),
        },
        "runs": [
            {"method": record.method, "seed": record.seed, "result": record.result.to_dict()} for record in records
        ],
        "summary": [asdict(summary) for summary in summaries],
    }
    files["results_json"] = write_json(out_dir / "results.json", payload)
    files["results_csv"] = write_runs_csv(out_dir / "results.csv", records)
    files["summary_csv"] = write_summary_csv(out_dir / "summary.csv", summaries)

    seeds = ", ".join(str(seed) for seed in config.seeds)
    caption = (
        f"Test accuracy of a SmallCNN (width {config.cnn_width}) on digits after {config.epochs} epochs, "
        f"mean ± std over seeds {seeds}. The mlrsnet schedule was meta-trained on an MLP for "
        f"{config.meta_epochs} epochs."
    )
    table = format_table(summaries, caption) + f"\nwall time {wall_time_s:.1f} s. Outputs in {out_dir}\n"
    if report is not None:
        report(table)
    return DemoResult(config, out_dir, outcome, records, summaries, table, wall_time_s, files)
