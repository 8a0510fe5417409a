"""Wide residual networks (Zagoruyko and Komodakis, "Wide Residual Networks") for small images."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _PreActivationBlock(nn.Module):
    """BN-ReLU-conv3x3, BN-ReLU-dropout-conv3x3, plus a shortcut.

    When the shape changes, the shortcut is a 1x1 conv applied to the pre-activated input,
    so the first BN-ReLU is shared by both paths.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = F.relu(self.bn1(x))
        out = self.conv1(activated)
        out = self.conv2(self.dropout(F.relu(self.bn2(out))))
        residual = x if self.shortcut is None else self.shortcut(activated)
        return out + residual


class WideResNet(nn.Module):
    """Pre-activation wide ResNet WRN-depth-k with a 16-channel 3x3 stem.

    Three stages of ``(depth - 4) / 6`` blocks have ``16 * k``, ``32 * k`` and ``64 * k``
    channels and strides 1, 2, 2. A final BN-ReLU, adaptive average pooling and a linear
    layer follow, so 32x32, 28x28 and 8x8 inputs all work.

    Args:
        depth: Total depth; must be ``6 * n + 4`` with ``n >= 1`` (10, 16, 22, 28, ...).
        widen_factor: Width multiplier ``k`` of the stages.
        num_classes: Number of output logits.
        in_channels: Channels of the input images.
        dropout: Dropout probability between the two convolutions of each block.

    Raises:
        ValueError: If ``depth`` is not of the form ``6 * n + 4``, ``dropout`` is outside
            [0, 1), or another argument is not positive.
    """

    def __init__(
        self,
        depth: int = 28,
        widen_factor: int = 10,
        num_classes: int = 10,
        in_channels: int = 3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if depth < 10 or (depth - 4) % 6 != 0:
            raise ValueError(f"depth must be 6 * n + 4 with n >= 1 (10, 16, 22, 28, ...), got {depth}")
        for arg_name, value in (
            ("widen_factor", widen_factor),
            ("num_classes", num_classes),
            ("in_channels", in_channels),
        ):
            if value <= 0:
                raise ValueError(f"{arg_name} must be positive, got {value}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")

        blocks_per_stage = (depth - 4) // 6
        self.stem = nn.Conv2d(in_channels, 16, kernel_size=3, padding=1, bias=False)
        stages = []
        channels = 16
        for stage_width, stride in ((16 * widen_factor, 1), (32 * widen_factor, 2), (64 * widen_factor, 2)):
            blocks = []
            for block_index in range(blocks_per_stage):
                blocks.append(_PreActivationBlock(channels, stage_width, stride if block_index == 0 else 1, dropout))
                channels = stage_width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.final_bn = nn.BatchNorm2d(channels)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        x = F.relu(self.final_bn(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


def wide_resnet28_10(num_classes: int, in_channels: int = 3, dropout: float = 0.0) -> WideResNet:
    """Build WRN-28-10: depth 28, widen factor 10."""
    return WideResNet(28, 10, num_classes, in_channels, dropout)
