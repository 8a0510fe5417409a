"""MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks") in the
CIFAR form."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (expansion t, output channels c, repeats n, stride s) of each stage, as in the MobileNetV2
# paper, except that the second stage has stride 1 instead of 2 for small images.
STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
_STEM_CHANNELS = 32
_LAST_CHANNELS = 1280


def _round_channels(channels: float, divisor: int = 8) -> int:
    """Round ``channels`` to the nearest multiple of ``divisor``, losing at most 10%."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * channels:
        rounded += divisor
    return rounded


def _conv_bn_relu6(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(),
    )


class _InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise conv and a linear 1x1 projection.

    The input is added to the output only when the stride is 1 and the channels match.
    With an expansion of 1 the first 1x1 conv is left out.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(_conv_bn_relu6(in_channels, hidden, 1))
        layers += [
            _conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.layers = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)
        return x + out if self.use_residual else out


class MobileNetV2(nn.Module):
    """MobileNetV2 for small images: stride-1 stem and stride-1 second stage.

    A 32x32 input is downsampled 8x in total and reaches the last 1x1 conv at 4x4. Adaptive
    average pooling before the linear layer lets the same model take 28x28 or 8x8 inputs.
    The classifier is a plain linear layer, without the dropout of the ImageNet model.

    Args:
        num_classes: Number of output logits.
        in_channels: Channels of the input images.
        width_multiplier: Scales the channels of the stem and every stage, rounded to a
            multiple of 8. The last conv keeps 1280 channels for multipliers up to 1.0 and
            grows with larger ones, as in the ImageNet model.

    Raises:
        ValueError: If an argument is not positive.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, width_multiplier: float = 1.0) -> None:
        super().__init__()
        for arg_name, value in (
            ("num_classes", num_classes),
            ("in_channels", in_channels),
            ("width_multiplier", width_multiplier),
        ):
            if value <= 0:
                raise ValueError(f"{arg_name} must be positive, got {value}")

        channels = _round_channels(_STEM_CHANNELS * width_multiplier)
        blocks: list[nn.Module] = [_conv_bn_relu6(in_channels, channels, 3)]
        for expansion, stage_channels, repeats, stride in STAGES:
            out_channels = _round_channels(stage_channels * width_multiplier)
            for index in range(repeats):
                blocks.append(_InvertedResidual(channels, out_channels, stride if index == 0 else 1, expansion))
                channels = out_channels
        last_channels = _round_channels(_LAST_CHANNELS * max(1.0, width_multiplier))
        blocks.append(_conv_bn_relu6(channels, last_channels, 1))
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(last_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)
