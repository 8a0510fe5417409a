"""A fully connected classifier."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """Classifier that flattens the input and applies Linear + ReLU layers, then a linear output.

    Args:
        input_shape: Shape of one input without the batch dimension, e.g. ``(1, 8, 8)``.
        num_classes: Number of output logits.
        hidden_sizes: Width of each hidden layer. An empty sequence gives a linear model.

    Raises:
        ValueError: If a dimension, ``num_classes`` or a hidden size is not positive.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        hidden_sizes: Sequence[int] = (128, 64),
    ) -> None:
        super().__init__()
        input_shape = tuple(input_shape)
        if not input_shape or any(dim <= 0 for dim in input_shape):
            raise ValueError(f"input_shape must be non-empty with positive dimensions, got {input_shape}")
        if num_classes <= 0:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        if any(size <= 0 for size in hidden_sizes):
            raise ValueError(f"hidden_sizes must all be positive, got {tuple(hidden_sizes)}")

        layers: list[nn.Module] = [nn.Flatten()]
        in_features = math.prod(input_shape)
        for size in hidden_sizes:
            layers += [nn.Linear(in_features, size), nn.ReLU()]
            in_features = size
        layers.append(nn.Linear(in_features, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
