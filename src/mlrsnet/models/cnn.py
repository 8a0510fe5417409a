"""A small convolutional classifier for any input size."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


class SmallCNN(nn.Module):
    """Three conv(3x3) + BatchNorm + ReLU blocks, global average pooling and a linear layer.

    The blocks have ``width``, ``2 * width`` and ``2 * width`` channels. After each of the
    first two blocks, a 2x2 max-pooling halves the spatial size when both sides are at
    least 2, so one class serves 8x8 digits (8 -> 4 -> 2) and 28x28 MNIST (28 -> 14 -> 7).

    Args:
        in_channels: Channels of the input images.
        num_classes: Number of output logits.
        width: Channels of the first block.

    Raises:
        ValueError: If an argument is not positive.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        for arg_name, value in (("in_channels", in_channels), ("num_classes", num_classes), ("width", width)):
            if value <= 0:
                raise ValueError(f"{arg_name} must be positive, got {value}")

        self.blocks = nn.ModuleList(
            [
                _conv_block(in_channels, width),
                _conv_block(width, 2 * width),
                _conv_block(2 * width, 2 * width),
            ]
        )
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last_block = len(self.blocks) - 1
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index < last_block and min(x.shape[-2:]) >= 2:
                x = F.max_pool2d(x, kernel_size=2)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)
