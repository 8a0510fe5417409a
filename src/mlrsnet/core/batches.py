"""Devices: where a model lives, and moving a batch of tuples, lists and dicts there."""

from __future__ import annotations

from typing import Any

import torch


def model_device(model: torch.nn.Module) -> torch.device:
    """Return the device of the model's first parameter (the CPU for a model without any)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def move_to_device(batch: Any, device: torch.device) -> Any:
    """Return ``batch`` with every tensor in it on ``device``; other values are kept as they are."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, tuple):
        items = [move_to_device(item, device) for item in batch]
        return type(batch)(*items) if hasattr(batch, "_fields") else tuple(items)
    if isinstance(batch, list):
        return [move_to_device(item, device) for item in batch]
    if isinstance(batch, dict):
        return {key: move_to_device(value, device) for key, value in batch.items()}
    return batch
