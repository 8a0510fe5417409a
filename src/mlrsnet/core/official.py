"""Conversion of the checkpoints released with the MLR-SNet paper (Shu et al.) into a schedule file.

The released files are PyTorch state dicts (pickles) of a net with hidden size 50 and one
layer. They are read with ``torch.load(..., weights_only=True)``, which loads tensors only
and runs no code from the file.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .schedule_file import Schedule, ScheduleFileError, equal_switch_points

# Released parameter name prefix -> this library's name prefix.
OFFICIAL_NAME_MAP = {
    "layer1.fc_i2h.": "cells.0.input_path.",
    "layer1.fc_h2h.": "cells.0.hidden_path.",
    "layer3.": "readout.",
}

OFFICIAL_META_TRAINED_ON = {
    "source": "checkpoints released with the MLR-SNet paper",
    "dataset": "CIFAR-10",
    "model": "ResNet-18",
    "epochs": 200,
}


def convert_official_state_dict(state_dict: dict[str, torch.Tensor], source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Rename the released parameter names to this library's ``MLRSNet`` names."""
    converted = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise ScheduleFileError(f"{source}: unexpected key {key!r}; the released MLR-SNet keys are strings")
        prefix = next((old for old in OFFICIAL_NAME_MAP if key.startswith(old)), None)
        if prefix is None:
            raise ScheduleFileError(
                f"{source}: unexpected key {key!r}; expected the released MLR-SNet keys "
                f"starting with {', '.join(OFFICIAL_NAME_MAP)}"
            )
        if not isinstance(value, torch.Tensor):
            raise ScheduleFileError(f"{source}: {key!r} is a {type(value).__name__}, not a tensor")
        converted[OFFICIAL_NAME_MAP[prefix] + key[len(prefix) :]] = value.detach().to(torch.float32).clone()
    return converted


def load_official_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read one released checkpoint (tensors only) and return it with this library's names."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        loaded: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for corrupt or unsafe files
        if "Weights only load failed" in str(error):
            reason = "it holds objects other than tensors, which weights_only=True rejects"
        else:
            reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else 'unreadable'}"
        raise ScheduleFileError(
            f"{path}: not a released MLR-SNet checkpoint ({reason}); pass the files `mlr_snet 1.pth`, "
            "`mlr_snet 100.pth` and `mlr_snet 200.pth` released with the paper"
        ) from error
    if not isinstance(loaded, dict):
        raise ScheduleFileError(f"{path}: expected a state dict, found a {type(loaded).__name__}")
    return convert_official_state_dict(loaded, source=str(path))


def _epoch_in_name(path: str | os.PathLike[str]) -> int | None:
    match = re.search(r"(\d+)\.pth$", Path(path).name)
    return int(match.group(1)) if match else None


def import_official(
    paths: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str] | None = None
) -> Schedule:
    """Convert released checkpoints, in the order they are used, into a :class:`Schedule`.

    The meta-test of the MLR-SNet paper (Shu et al.) uses the checkpoints saved after epochs
    1, 100 and 200 over the first, second and last third of a run. When ``output`` is given, the schedule is also
    written there.
    """
    if not paths:
        raise ValueError("pass at least one released checkpoint")
    epochs = [_epoch_in_name(path) for path in paths]
    if None not in epochs and any(later <= earlier for earlier, later in zip(epochs, epochs[1:])):
        warnings.warn(
            f"the checkpoints are not in epoch order ({', '.join(Path(path).name for path in paths)}); "
            "snapshot i is used in the i-th part of a run, so pass them in the order they were saved",
            stacklevel=2,
        )
    snapshots = [load_official_checkpoint(path) for path in paths]
    try:
        schedule = Schedule(
            snapshots=snapshots,
            hidden_size=50,
            num_layers=1,
            input_scale=1.0,
            switch_points=equal_switch_points(len(snapshots)),
            meta_trained_on={**OFFICIAL_META_TRAINED_ON, "files": [Path(path).name for path in paths]},
        )
    except ValueError as error:
        raise ScheduleFileError(f"the released checkpoints do not form a schedule: {error}") from error
    if output is not None:
        schedule.save(output)
    return schedule
