"""Schedule files: the k snapshots of a meta-learned schedule net, in safetensors, plus JSON metadata.

Layout: tensors ``snapshot.{i}.{parameter name}`` for i = 0..k-1, and the safetensors header
metadata ``{"format": "mlrsnet-schedule", "mlrsnet": <JSON>}``. The JSON contains the
format version, the architecture, the input scale, the gamma rule, the switch points (the
fraction of a run at which each snapshot takes over), what the schedule was meta-trained on,
and the library version that wrote it. No pickle is involved in reading or writing.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .._version import __version__
from mlrsnet.atomic import write_atomic
from .gamma import RELEASED_GAMMA_RULE
from .net import MLRSNet

FORMAT_NAME = "mlrsnet-schedule"
FORMAT_VERSION = 1


class ScheduleFileError(ValueError):
    """A schedule file that cannot be read: corrupt, in another format, or with wrong shapes."""


def equal_switch_points(num_snapshots: int) -> list[float]:
    """Return the start of each of ``num_snapshots`` equal parts of a run, as fractions."""
    return [i / num_snapshots for i in range(num_snapshots)]


@dataclass
class Schedule:
    """A meta-learned schedule: k snapshots of the schedule net's parameters and their metadata.

    Snapshot i is used from ``switch_points[i]`` (a fraction of the run) until the next
    switch point. Meta-training saves the snapshots at the end of k equal parts of the run,
    so the default switch points are 0, 1/k, ..., (k-1)/k.
    """

    snapshots: list[dict[str, torch.Tensor]]
    hidden_size: int = 50
    num_layers: int = 1
    input_scale: float = 1.0
    switch_points: list[float] = field(default_factory=list)
    meta_trained_on: dict[str, Any] = field(default_factory=dict)
    gamma_rule: str = RELEASED_GAMMA_RULE
    library_version: str = __version__

    def __post_init__(self) -> None:
        if not self.snapshots:
            raise ValueError("a schedule needs at least one snapshot")
        if not self.switch_points:
            self.switch_points = equal_switch_points(len(self.snapshots))
        try:
            points = [float(point) for point in self.switch_points]
        except (TypeError, ValueError):
            raise ValueError(f"switch points must be a list of numbers, got {self.switch_points!r}") from None
        if len(points) != len(self.snapshots):
            raise ValueError(f"{len(points)} switch points given for {len(self.snapshots)} snapshots")
        increasing = all(a < b for a, b in zip(points, points[1:]))
        if not all(math.isfinite(point) for point in points) or points[0] != 0 or not increasing or points[-1] >= 1:
            raise ValueError(f"switch points must start at 0 and increase strictly below 1, got {points}")
        self.switch_points = points
        if not isinstance(self.meta_trained_on, dict):
            raise ValueError(f"meta_trained_on must be a dict, got {type(self.meta_trained_on).__name__}")
        # The meta device gives the expected shapes without allocating the weights.
        with torch.device("meta"):
            reference = MLRSNet(self.hidden_size, self.num_layers, self.input_scale).state_dict()
        for index, snapshot in enumerate(self.snapshots):
            _check_snapshot(index, snapshot, reference)

    @property
    def num_snapshots(self) -> int:
        return len(self.snapshots)

    def snapshot_index(self, fraction: float) -> int:
        """Return the snapshot in use at ``fraction`` of a run (the last one past the end)."""
        index = 0
        for i, point in enumerate(self.switch_points):
            if fraction >= point:
                index = i
        return index

    def build_net(self, index: int, dtype: torch.dtype = torch.float32) -> MLRSNet:
        """Return a schedule net holding snapshot ``index``."""
        net = MLRSNet(self.hidden_size, self.num_layers, self.input_scale).to(dtype)
        net.load_state_dict({name: value.to(dtype) for name, value in self.snapshots[index].items()})
        return net

    def fingerprint(self) -> str:
        """Return a SHA-256 of the snapshot weights, to check a resumed run uses the same schedule."""
        digest = hashlib.sha256()
        for index, snapshot in enumerate(self.snapshots):
            for name in sorted(snapshot):
                digest.update(f"{index}.{name}".encode())
                digest.update(snapshot[name].detach().to(torch.float64).cpu().numpy().tobytes())
        return digest.hexdigest()

    def metadata(self) -> dict[str, Any]:
        """Return the JSON metadata written with the tensors."""
        return {
            "format_version": FORMAT_VERSION,
            "architecture": {"name": "MLRSNet", "hidden_size": self.hidden_size, "num_layers": self.num_layers},
            "input_scale": self.input_scale,
            "gamma_rule": self.gamma_rule,
            "num_snapshots": self.num_snapshots,
            "switch_points": self.switch_points,
            "meta_trained_on": self.meta_trained_on,
            "library_version": self.library_version,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the schedule to ``path`` atomically (a temporary file, then a rename)."""
        path = Path(path)
        tensors = {
            f"snapshot.{index}.{name}": value.detach().cpu().contiguous().clone()
            for index, snapshot in enumerate(self.snapshots)
            for name, value in snapshot.items()
        }
        header = {"format": FORMAT_NAME, "mlrsnet": json.dumps(self.metadata(), sort_keys=True)}
        return write_atomic(path, lambda temporary: save_file(tensors, str(temporary), metadata=header))


def load_schedule(path: str | os.PathLike[str]) -> Schedule:
    """Read a schedule file written by :meth:`Schedule.save` or ``mlrsnet import-official``.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ScheduleFileError: if the file is corrupt, in another format, or has tensors whose
            names or shapes do not match its architecture. The message names the file.
    """
    path = Path(path)
    if path.is_dir():
        raise ScheduleFileError(f"{path} is a folder; pass the path of a schedule file (.safetensors) inside it")
    if not path.is_file():
        raise FileNotFoundError(f"schedule file not found: {path}")
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError) as error:
        hint = ""
        if _looks_like_torch_save(path):
            hint = "; it looks like a torch.save file: convert released checkpoints with `mlrsnet import-official`"
        raise ScheduleFileError(f"{path}: not a valid safetensors schedule file ({error}){hint}") from error

    if metadata.get("format") != FORMAT_NAME or "mlrsnet" not in metadata:
        raise ScheduleFileError(
            f"{path}: a safetensors file, but not an mlrsnet schedule (its metadata has no "
            f"format={FORMAT_NAME!r}); write schedules with MetaTrainer.schedule().save() or `mlrsnet import-official`"
        )
    try:
        meta = json.loads(metadata["mlrsnet"])
        version = _metadata_int(meta, "format_version", minimum=1)
        architecture = meta["architecture"]
        num_snapshots = _metadata_int(meta, "num_snapshots", minimum=1)
        hidden_size = _metadata_int(architecture, "hidden_size", minimum=1)
        num_layers = _metadata_int(architecture, "num_layers", minimum=1)
        input_scale = float(meta["input_scale"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ScheduleFileError(f"{path}: the schedule metadata is invalid or incomplete ({error!r})") from error
    if version > FORMAT_VERSION:
        raise ScheduleFileError(
            f"{path}: schedule format version {version} is newer than this mlrsnet ({__version__}) reads "
            f"(version {FORMAT_VERSION}); upgrade mlrsnet"
        )

    by_index: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        prefix, _, name = key.partition(".")
        index_text, _, name = name.partition(".")
        if prefix != "snapshot" or not index_text.isdigit() or int(index_text) >= num_snapshots:
            raise ScheduleFileError(
                f"{path}: unexpected tensor {key!r} for a schedule of {num_snapshots} snapshots"
            )
        by_index.setdefault(int(index_text), {})[name] = value
    if len(by_index) != num_snapshots or sorted(by_index) != list(range(num_snapshots)):
        raise ScheduleFileError(
            f"{path}: the metadata lists {num_snapshots} snapshots, but the file contains tensors for "
            f"snapshots {sorted(by_index)}"
        )
    snapshots = [by_index[index] for index in range(num_snapshots)]
    try:
        return Schedule(
            snapshots=snapshots,
            hidden_size=hidden_size,
            num_layers=num_layers,
            input_scale=input_scale,
            switch_points=meta.get("switch_points") or [],
            meta_trained_on=meta.get("meta_trained_on") or {},
            gamma_rule=str(meta.get("gamma_rule", RELEASED_GAMMA_RULE)),
            library_version=str(meta.get("library_version", "unknown")),
        )
    except (TypeError, ValueError) as error:
        raise ScheduleFileError(f"{path}: {error}") from error


def _metadata_int(section: Any, key: str, minimum: int) -> int:
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_snapshot(index: int, snapshot: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> None:
    missing = sorted(set(reference) - set(snapshot))
    unexpected = sorted(set(snapshot) - set(reference))
    if missing or unexpected:
        raise ValueError(f"snapshot {index} does not match the architecture: missing {missing}, unexpected {unexpected}")
    for name, expected in reference.items():
        value = snapshot[name]
        if tuple(value.shape) != tuple(expected.shape):
            raise ValueError(
                f"snapshot {index}: {name} has shape {tuple(value.shape)}, the architecture expects {tuple(expected.shape)}"
            )
        if not torch.isfinite(value).all():
            raise ValueError(f"snapshot {index}: {name} contains NaN or infinite values")


def _looks_like_torch_save(path: Path) -> bool:
    with open(path, "rb") as handle:
        start = handle.read(2)
    return start == b"PK" or start[:1] == b"\x80"

