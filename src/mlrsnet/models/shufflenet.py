"""ShuffleNetV2 (Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design")
in the CIFAR form."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Output channels of the three stages and of the last 1x1 conv for each width multiplier,
# as the ShuffleNetV2 paper gives them for its 0.5x, 1x, 1.5x and 2x models.
STAGE_WIDTHS: dict[float, tuple[int, int, int, int]] = {
    0.5: (48, 96, 192, 1024),
    1.0: (116, 232, 464, 1024),
    1.5: (176, 352, 704, 1024),
    2.0: (244, 488, 976, 2048),
}
_UNITS_PER_STAGE = (4, 8, 4)
_STEM_CHANNELS = 24


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups, e.g. [a1 a2 b1 b2] -> [a1 b1 a2 b2]."""
    batch, channels, height, width = x.shape
    x = x.view(batch, groups, channels // groups, height, width)
    return x.transpose(1, 2).reshape(batch, channels, height, width)


def _conv_bn(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, relu: bool = True
) -> nn.Sequential:
    """Return conv + BatchNorm (+ ReLU). A 3x3 kernel is depthwise, a 1x1 kernel is pointwise."""
    groups = in_channels if kernel_size == 3 else 1
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class _ShuffleUnit(nn.Module):
    """One ShuffleNetV2 unit with ``out_channels`` outputs.

    With stride 1 the input is split in half: one half passes unchanged and the other goes
    through 1x1 conv, 3x3 depthwise conv and 1x1 conv. With stride 2 both branches see the
    whole input and each gives half of the outputs. The two halves are concatenated and
    their channels shuffled, so the next unit's split mixes both branches.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        branch_channels = out_channels // 2
        if stride == 1:
            self.shortcut_branch: nn.Module | None = None
            main_in = in_channels // 2
        else:
            self.shortcut_branch = nn.Sequential(
                _conv_bn(in_channels, in_channels, 3, stride, relu=False),
                _conv_bn(in_channels, branch_channels, 1),
            )
            main_in = in_channels
        self.main_branch = nn.Sequential(
            _conv_bn(main_in, branch_channels, 1),
            _conv_bn(branch_channels, branch_channels, 3, stride, relu=False),
            _conv_bn(branch_channels, branch_channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut_branch is None:
            passthrough, branch_input = x.chunk(2, dim=1)
            out = torch.cat((passthrough, self.main_branch(branch_input)), dim=1)
        else:
            out = torch.cat((self.shortcut_branch(x), self.main_branch(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """ShuffleNetV2 for small images: a 3x3 stride-1 stem of 24 channels without max-pooling.

    Three stages of 4, 8 and 4 units each start with a stride-2 unit, so a 32x32 input
    reaches the last 1x1 conv at 4x4. Adaptive average pooling before the linear layer lets
    the same model take 28x28 or 8x8 inputs.

    Args:
        num_classes: Number of output logits.
        in_channels: Channels of the input images.
        width_multiplier: One of 0.5, 1.0, 1.5 or 2.0; it selects the stage widths in
            ``STAGE_WIDTHS``.

    Raises:
        ValueError: If ``width_multiplier`` is not one of the four values, or another
            argument is not positive.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, width_multiplier: float = 1.0) -> None:
        super().__init__()
        if width_multiplier not in STAGE_WIDTHS:
            raise ValueError(
                f"width_multiplier must be one of {sorted(STAGE_WIDTHS)} for ShuffleNetV2, got {width_multiplier}"
            )
        for arg_name, value in (("num_classes", num_classes), ("in_channels", in_channels)):
            if value <= 0:
                raise ValueError(f"{arg_name} must be positive, got {value}")

        *stage_widths, last_channels = STAGE_WIDTHS[width_multiplier]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, _STEM_CHANNELS, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(_STEM_CHANNELS),
            nn.ReLU(),
        )
        stages = []
        channels = _STEM_CHANNELS
        for units, stage_width in zip(_UNITS_PER_STAGE, stage_widths):
            stage = [_ShuffleUnit(channels, stage_width, stride=2)]
            stage += [_ShuffleUnit(stage_width, stage_width, stride=1) for _ in range(units - 1)]
            stages.append(nn.Sequential(*stage))
            channels = stage_width
        self.stages = nn.Sequential(*stages)
        self.last_conv = _conv_bn(channels, last_channels, 1)
        self.head = nn.Linear(last_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.last_conv(self.stages(self.stem(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)
