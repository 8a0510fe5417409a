"""Settings of the demo: meta-train a schedule on digits, then compare it with baselines."""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Any

from mlrsnet.baselines import BASELINE_NAMES

# Name of the transferred MLR-SNet schedule in tables, CSV files and figures.
MLRSNET_METHOD = "mlrsnet"


@dataclass(frozen=True)
class DemoConfig:
    """Settings of :func:`mlrsnet.experiments.run_demo`.

    The defaults meta-train a schedule on an MLP for ``meta_epochs`` epochs, then train a
    SmallCNN for ``epochs`` epochs with it and with each baseline, once per seed.

    The defaults are sized so that the methods do not all reach the ceiling. With torch 2.13
    on CPU, the final test accuracies over seeds 0-2 spread from about 83% (MultiStep,
    whose first drop comes after 30% of the epochs) to about 98%. With 10 epochs and a
    CNN width of 16 instead, every method ends between 97.7% and 98.8%.

    Attributes:
        seeds: Seeds of the transfer runs. Each seed sets the data split, the model
            initialization and the order of the training batches, the same for every method.
        epochs: Epochs of each transfer run.
        meta_seed: Seed of the meta-training run, in the same roles.
        meta_epochs: Epochs of meta-training.
        t_val: Optimizer steps between look-aheads during meta-training.
        num_snapshots: Snapshots in the schedule file.
        meta_size: Images of the meta set (digits has 1,797 images in all).
        test_size: Images of the test set.
        train_batch_size: Batch size of the training loader.
        meta_batch_size: Batch size of the meta-data loader.
        test_batch_size: Batch size of the test loader, and of the pass that measures the
            initial training loss.
        mlp_hidden_sizes: Hidden layer widths of the meta-training MLP.
        cnn_width: Channels of the first block of the transfer SmallCNN.
        sgd_lr: Initial LR of SGD in meta-training and in the SGD baselines.
        adam_lr: LR of the Adam baseline.
        momentum: SGD momentum in meta-training, transfer and the SGD baselines.
        weight_decay: L2 penalty coefficient of every optimizer.
        baselines: Baselines to compare with, names accepted by ``make_baseline``.
        threads: torch intra-op threads during the demo, restored afterwards. One thread
            is fastest for these tiny models, because with more threads OpenMP's waiting
            threads compete with other processes for the cores.
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 8
    meta_seed: int = 0
    meta_epochs: int = 30
    t_val: int = 2
    num_snapshots: int = 3
    meta_size: int = 200
    test_size: int = 400
    train_batch_size: int = 64
    meta_batch_size: int = 100
    test_batch_size: int = 500
    mlp_hidden_sizes: tuple[int, ...] = (128, 64)
    cnn_width: int = 8
    sgd_lr: float = 0.1
    adam_lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 5e-4
    baselines: tuple[str, ...] = BASELINE_NAMES
    threads: int = 1

    def __post_init__(self) -> None:
        # Accept lists from callers and JSON, but store tuples so the config stays hashable.
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "mlp_hidden_sizes", tuple(self.mlp_hidden_sizes))
        object.__setattr__(self, "baselines", tuple(self.baselines))

        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {self.seeds}")
        for seed in (*self.seeds, self.meta_seed):
            _check_int("seed", seed, minimum=0)
        for name in (
            "epochs",
            "meta_epochs",
            "t_val",
            "num_snapshots",
            "meta_size",
            "test_size",
            "train_batch_size",
            "meta_batch_size",
            "test_batch_size",
            "cnn_width",
            "threads",
        ):
            _check_int(name, getattr(self, name), minimum=1)
        for size in self.mlp_hidden_sizes:
            _check_int("mlp_hidden_sizes item", size, minimum=1)
        for name in ("sgd_lr", "adam_lr"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("momentum", "weight_decay"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)!r}")
        unknown = [name for name in self.baselines if name not in BASELINE_NAMES]
        if unknown:
            raise ValueError(f"unknown baselines {unknown}. Valid names: {', '.join(BASELINE_NAMES)}")
        if len(set(self.baselines)) != len(self.baselines):
            raise ValueError(f"baselines must be distinct, got {self.baselines}")

    @classmethod
    def quick(cls) -> DemoConfig:
        """Return tiny settings that run in seconds, for tests and smoke checks.

        Its runs are too short for the accuracies to compare the methods.
        """
        return cls(
            seeds=(0, 1),
            epochs=2,
            meta_epochs=2,
            t_val=5,
            meta_size=100,
            test_size=200,
            train_batch_size=128,
            meta_batch_size=50,
            test_batch_size=200,
            mlp_hidden_sizes=(16,),
            cnn_width=4,
        )

    @property
    def methods(self) -> tuple[str, ...]:
        """Methods of the comparison, the transferred schedule first."""
        return (MLRSNET_METHOD, *self.baselines)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict, with tuples as lists."""
        return {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(self).items()}


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
