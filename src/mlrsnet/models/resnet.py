"""ResNet classifiers in the CIFAR form (He et al., "Deep Residual Learning for Image Recognition")."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _projection_shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Return the identity, or a 1x1 conv + BatchNorm when the block changes the shape."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class BasicBlock(nn.Module):
    """Two 3x3 conv + BatchNorm layers with a shortcut, as in ResNet-18 and ResNet-34.

    Args:
        in_channels: Channels of the block's input.
        planes: Channels of both convolutions. The output has ``planes * expansion`` channels.
        stride: Stride of the first convolution and of the shortcut.
    """

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _projection_shortcut(in_channels, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """A 1x1, 3x3, 1x1 conv + BatchNorm stack with a shortcut, as in ResNet-50.

    Args:
        in_channels: Channels of the block's input.
        planes: Channels of the two inner convolutions. The output has ``planes * 4`` channels.
        stride: Stride of the 3x3 convolution and of the shortcut.
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = _projection_shortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet for small images: a 3x3 stride-1 stem without max-pooling, then four stages.

    The stages have ``base_width * (1, 2, 4, 8)`` planes and strides 1, 2, 2, 2, so a 32x32
    input reaches the last stage at 4x4. Adaptive average pooling before the linear layer lets
    the same model take 28x28 or 8x8 inputs.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        blocks_per_stage: Number of blocks in each of the four stages, e.g. ``(2, 2, 2, 2)``.
        num_classes: Number of output logits.
        in_channels: Channels of the input images.
        base_width: Planes of the first stage; 64 gives the standard model.

    Raises:
        ValueError: If ``blocks_per_stage`` does not have four positive entries, or another
            argument is not positive.
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        blocks_per_stage: Sequence[int],
        num_classes: int,
        in_channels: int = 3,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        blocks_per_stage = tuple(blocks_per_stage)
        if len(blocks_per_stage) != 4 or any(count <= 0 for count in blocks_per_stage):
            raise ValueError(f"blocks_per_stage must have four positive entries, got {blocks_per_stage}")
        for arg_name, value in (("num_classes", num_classes), ("in_channels", in_channels), ("base_width", base_width)):
            if value <= 0:
                raise ValueError(f"{arg_name} must be positive, got {value}")

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, base_width, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(base_width),
            nn.ReLU(),
        )
        stages = []
        channels = base_width
        for stage_index, (count, stride) in enumerate(zip(blocks_per_stage, (1, 2, 2, 2))):
            planes = base_width * 2**stage_index
            blocks = []
            for block_index in range(count):
                blocks.append(block(channels, planes, stride if block_index == 0 else 1))
                channels = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


def resnet18(num_classes: int, in_channels: int = 3, base_width: int = 64) -> ResNet:
    """Build ResNet-18: basic blocks, (2, 2, 2, 2) per stage."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, base_width)


def resnet34(num_classes: int, in_channels: int = 3, base_width: int = 64) -> ResNet:
    """Build ResNet-34: basic blocks, (3, 4, 6, 3) per stage."""
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, base_width)


def resnet50(num_classes: int, in_channels: int = 3, base_width: int = 64) -> ResNet:
    """Build ResNet-50: bottleneck blocks, (3, 4, 6, 3) per stage."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, base_width)
