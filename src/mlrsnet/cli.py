"""The ``mlrsnet`` command line: the demo, tasks, training runs, checkpoint import and schedule inspection.

Misuse (an unknown command or flag, a missing or unreadable input file, an invalid value)
exits with status 2 and one line on stderr. Other failures raise as usual.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from ._version import __version__
from .baselines.catalog import BENCHMARK_BASELINES, parse_baseline
from .core import ScheduleFileError, import_official, load_schedule

EXIT_USAGE = 2


class UsageError(Exception):
    """Invalid command-line input; reported as one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _int_at_least(minimum: int, description: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {description} integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a {description} integer, got {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1, "positive")
_non_negative_int = _int_at_least(0, "non-negative")


def _budget_override(text: str) -> tuple[str, object]:
    field_name, separator, raw = text.partition("=")
    if not separator or not field_name:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(
            f"the value of {field_name} must be a JSON number, true, false, null or a quoted string, got {raw!r}"
        ) from None
    return field_name.strip(), value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _baseline(text: str) -> str:
    try:
        parse_baseline(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mlrsnet", description="Meta-learned, transferable learning-rate schedules (MLR-SNet).")
    parser.add_argument("--version", action="version", version=f"mlrsnet {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the library's progress messages")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    demo = commands.add_parser(
        "demo",
        help="meta-train a schedule on scikit-learn's digits and compare its transfer with baselines",
        description="Meta-train a schedule on an MLP, transfer it to a CNN, and compare it over seeds "
        "with SGD under the Fixed, MultiStep, Exponential and SGDR schedules and with Adam.",
    )
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default: runs/demo)")
    demo.add_argument("--seeds", type=_positive_int, default=None, help="number of seeds (default: 3)")
    demo.add_argument("--epochs", type=_positive_int, default=None, help="epochs of each compared run (default: 8)")
    demo.add_argument(
        "--meta-epochs", type=_positive_int, default=None, help="epochs of the meta-training run (default: 30)"
    )
    demo.add_argument("--t-val", type=_positive_int, default=None, help="steps between look-aheads (default: 2)")
    demo.add_argument(
        "--sgd-lr",
        type=_positive_float,
        default=None,
        help="initial LR of the SGD baselines (default: 0.1); the transferred schedule sets its own",
    )
    demo.add_argument("--threads", type=_positive_int, default=None, help="torch CPU threads (default: 1)")
    demo.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test that finishes in seconds: 2 seeds, 2 epochs, a CNN of width 4 and a short meta-training",
    )
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bars")

    convert = commands.add_parser(
        "import-official",
        help="convert the checkpoints released with the MLR-SNet paper into a schedule file",
        description="Convert released MLR-SNet checkpoints (PyTorch state dicts, read with weights_only=True) "
        "into one schedule file. Give them in the order they are used: epochs 1, 100 and 200.",
    )
    convert.add_argument("checkpoints", nargs="+", type=Path, help="released .pth files, in order of use")
    convert.add_argument("-o", "--output", type=Path, required=True, help="schedule file to write (.safetensors)")
    convert.add_argument("--force", action="store_true", help="overwrite the output file if it exists")

    info = commands.add_parser("info", help="print the metadata of a schedule file as JSON")
    info.add_argument("schedule", type=Path, help="a schedule file")

    _add_task_commands(commands)
    _add_benchmark_command(commands)
    return parser


def _add_task_commands(commands: argparse._SubParsersAction) -> None:
    tasks = commands.add_parser("tasks", help="list the tasks and whether their data is on disk")
    _add_data_dir(tasks)
    tasks.add_argument("--budgets", action="store_true", help="print every task's budget settings as one JSON document instead")

    download = commands.add_parser(
        "download",
        help="download a dataset from its official source and check its md5",
        description="Download a dataset into DATA_DIR/NAME and check every file's md5.",
    )
    download.add_argument(
        "dataset",
        help="dataset name (mnist, cifar10, cifar100, svhn, tinyimagenet, ptb, cifar10c, cifar100c), or a "
        "task name from `mlrsnet tasks` to fetch only the files that task needs at --budget",
    )
    download.add_argument(
        "--budget", choices=("cpu", "paper"), default="cpu", help="budget of a task name (default: cpu)"
    )
    _add_data_dir(download)
    _add_mirror(download)

    train = commands.add_parser(
        "train",
        help="train a task's model with a schedule file or a baseline",
        description="Train one model of a task with a meta-learned schedule, used as a fixed plug-in "
        "scheduler, or with a baseline. Writes metrics.json and model.safetensors to --out.",
    )
    method = train.add_mutually_exclusive_group(required=True)
    method.add_argument("--schedule", type=Path, help="schedule file (.safetensors) that sets the LR")
    method.add_argument(
        "--baseline",
        type=_baseline,
        metavar="NAME[:VALUE]",
        help="a baseline: " + ", ".join(BENCHMARK_BASELINES) + ". L4, HD and RTHO need their tuned "
        "value, such as hd:1e-4. The first release's fixed, multistep, exponential and sgdr also work "
        "(see docs/benchmarks.md)",
    )
    _add_run_options(train)

    meta_train = commands.add_parser(
        "meta-train",
        help="meta-train a schedule on a task and write it to --out/schedule.safetensors",
        description="Train a task's model while meta-learning its LR schedule with one-step look-aheads "
        "on held-out meta-data. Writes schedule.safetensors, metrics.json and model.safetensors to --out.",
    )
    _add_run_options(meta_train)
    meta_train.add_argument(
        "--t-val", type=_positive_int, default=None, help="optimizer steps between look-aheads (default: the budget's)"
    )


def _add_benchmark_command(commands: argparse._SubParsersAction) -> None:
    """Add the ``benchmark`` subcommand to ``commands``."""
    parser = commands.add_parser(
        "benchmark",
        help="run every method on every task of a suite and write tables and figures",
        description="Run MLR-SNet meta-trained on each task (Ours (train)), transferred from another task "
        "(Ours (test)), and every baseline, on every task of a suite for each seed. Writes results.json, "
        "tables.md and figures/ to --out. Rerun the same command to resume: finished runs are kept.",
    )
    parser.add_argument("--suite", choices=("quick", "cpu", "paper"), required=True, help="suite to run")
    parser.add_argument("--seeds", type=_positive_int, default=3, help="number of seeds, 0 to N-1 (default: 3)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: benchmark-SUITE)")
    parser.add_argument(
        "--jobs", type=_positive_int, default=1, help="runs at the same time, one process each (default: 1)"
    )
    parser.add_argument("--threads", type=_positive_int, default=1, help="torch threads per run (default: 1)")
    parser.add_argument("--device", default="cpu", help="torch device of every run, such as cuda (default: cpu)")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    parser.add_argument("--no-progress", action="store_true", help="print one line per run instead of a progress bar")
    parser.add_argument("--list", action="store_true", help="print the planned runs and exit")
    _add_data_dir(parser)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder with one subfolder per dataset (default: $MLRSNET_DATA, then ~/.cache/mlrsnet)",
    )


def _mirror_url(text: str) -> str:
    if not text.startswith(("http://", "https://", "file://")):
        raise argparse.ArgumentTypeError(f"expected an http://, https:// or file:// URL, got {text!r}")
    return text


def _add_mirror(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mirror",
        type=_mirror_url,
        default=None,
        metavar="URL",
        help="download from this folder URL instead of the official source; file names and md5 checks stay the same",
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="task name, as listed by `mlrsnet tasks`")
    parser.add_argument("--budget", choices=("cpu", "paper"), default="cpu", help="run size (default: cpu)")
    parser.add_argument("--seed", type=_non_negative_int, default=0, help="seed of the model and batch order (default: 0)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: runs/TASK-METHOD-BUDGET-seedN)")

    # Data
    _add_data_dir(parser)
    parser.add_argument("--download", action="store_true", help="download missing data from its official source")
    _add_mirror(parser)
    parser.add_argument("--corruption", default=None, help="CIFAR-C corruption of the train and test images, such as gaussian_noise")
    parser.add_argument("--severity", type=int, choices=range(1, 6), default=None, metavar="{1..5}", help="corruption severity")

    # Budget and method settings
    parser.add_argument("--epochs", type=_positive_int, default=None, help="epochs (default: the budget's)")
    parser.add_argument(
        "--gamma",
        type=_positive_float,
        default=None,
        help="fixed LR scale of the schedule net (default: the released rule from the initial loss and classes)",
    )
    parser.add_argument(
        "--set",
        dest="budget_overrides",
        type=_budget_override,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change one budget field, such as train_limit=2000 or lr=0.05; values are JSON, so strings need "
        "quotes (split='\"offline\"'); repeatable (see `mlrsnet tasks --budgets`)",
    )

    # Execution
    parser.add_argument("--threads", type=_positive_int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--device", default="cpu", help="torch device, such as cpu or cuda (default: cpu)")
    parser.add_argument("--resume", action="store_true", help="continue the unfinished run in --out from its checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
        return _dispatch(args)
    except UsageError as error:
        print(f"mlrsnet: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader of stdout (such as `head`) closed early. Point stdout at /dev/null so
        # that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    try:
        if args.command == "import-official":
            return _import_official(args)
        if args.command == "info":
            print(json.dumps(load_schedule(args.schedule).metadata(), indent=2, sort_keys=True))
            return 0
    except (FileNotFoundError, ScheduleFileError) as error:
        raise UsageError(str(error).replace("\n", " ")) from error
    if args.command == "demo":
        return _run_demo(args)
    if args.command in ("tasks", "download", "train", "meta-train", "benchmark"):
        return _run_task_command(args)
    raise UsageError(f"unknown command {args.command!r}")


def _import_official(args: argparse.Namespace) -> int:
    output = args.output
    if output.is_dir():
        raise UsageError(f"-o {output} is a folder; pass the path of the schedule file to write")
    if output.suffix.lower() != ".safetensors":
        raise UsageError(f"-o {output}: schedule files are safetensors; name the output *.safetensors")
    if output.exists() and not args.force:
        raise UsageError(f"-o {output} exists; pass --force to overwrite it, or choose another output path")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"-o {output}: cannot create its folder ({error.strerror}); pass a writable path") from error
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            schedule = import_official(args.checkpoints, output)
        except FileNotFoundError:
            raise  # a missing checkpoint: reported by the caller
        except OSError as error:
            raise UsageError(f"-o {output}: cannot write the schedule file ({error.strerror})") from error
    for warning in caught:
        print(f"mlrsnet: warning: {warning.message}", file=sys.stderr)
    count = schedule.num_snapshots
    print(f"wrote {output} ({count} snapshot{'s' if count != 1 else ''}, switch points {schedule.switch_points})")
    return 0


def _run_task_command(args: argparse.Namespace) -> int:
    from . import cli_tasks

    handlers = {
        "tasks": cli_tasks.list_tasks,
        "download": cli_tasks.download,
        "train": cli_tasks.train_command,
        "meta-train": cli_tasks.train_command,
    }
    if args.command == "benchmark":
        from .cli_benchmark import benchmark_command

        handlers["benchmark"] = benchmark_command
    try:
        return handlers[args.command](args)
    except cli_tasks.TaskCommandError as error:
        raise UsageError(str(error)) from error


def _run_demo(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder; pass a folder path")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {args.out}: cannot create the folder ({error.strerror}); pass a writable folder path") from error
    # The demo loads scikit-learn and matplotlib, which the other commands do not need.
    from .experiments.demo import DemoConfig, run_demo

    config = DemoConfig.quick() if args.quick else DemoConfig()
    overrides = {
        "seeds": None if args.seeds is None else tuple(range(args.seeds)),
        "epochs": args.epochs,
        "meta_epochs": args.meta_epochs,
        "t_val": args.t_val,
        "sgd_lr": args.sgd_lr,
        "threads": args.threads,
    }
    try:
        config = dataclasses.replace(config, **{name: value for name, value in overrides.items() if value is not None})
    except ValueError as error:
        raise UsageError(str(error)) from error
    run_demo(config, args.out, progress=not args.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
