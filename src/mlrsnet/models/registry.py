"""Build models by name, with one ``width`` option that scales every image model."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from torch import nn

from mlrsnet.models.cnn import SmallCNN
from mlrsnet.models.language_model import LSTMLanguageModel
from mlrsnet.models.mlp import MLP
from mlrsnet.models.mobilenet import MobileNetV2
from mlrsnet.models.resnet import resnet18, resnet34, resnet50
from mlrsnet.models.shufflenet import ShuffleNetV2
from mlrsnet.models.wide_resnet import WideResNet

IMAGE_MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLP,
    "cnn": SmallCNN,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    # WideResNet with the depth fixed, so that ``widen_factor`` stays a free option.
    "wrn28-10": functools.partial(WideResNet, 28),
    "shufflenetv2": ShuffleNetV2,
    "mobilenetv2": MobileNetV2,
}

# The constructor argument that the generic ``width`` option sets, per model. The MLP has no
# single width argument, so there ``width`` sets ``hidden_sizes`` to (width, width // 2).
_WIDTH_ARGUMENT: dict[str, str] = {
    "mlp": "hidden_sizes",
    "cnn": "width",
    "resnet18": "base_width",
    "resnet34": "base_width",
    "resnet50": "base_width",
    "wrn28-10": "widen_factor",
    "shufflenetv2": "width_multiplier",
    "mobilenetv2": "width_multiplier",
}

# Options that pass through unchanged, besides the width argument.
_EXTRA_OPTIONS: dict[str, tuple[str, ...]] = {"wrn28-10": ("dropout",)}


def _valid_options(name: str) -> list[str]:
    options = ["width"]
    if _WIDTH_ARGUMENT[name] != "width":
        options.append(_WIDTH_ARGUMENT[name])
    return [*options, *_EXTRA_OPTIONS.get(name, ())]


def build_image_model(name: str, num_classes: int, input_shape: tuple[int, int, int], **options: Any) -> nn.Module:
    """Build the image classifier ``name`` for inputs of ``input_shape``.

    Args:
        name: A key of ``IMAGE_MODELS``.
        num_classes: Number of output logits.
        input_shape: ``(channels, height, width)`` of one input image.
        **options: ``width`` scales the model through its own width argument: ``width`` of
            SmallCNN, ``base_width`` of ResNet, ``widen_factor`` of WRN and
            ``width_multiplier`` of ShuffleNetV2 and MobileNetV2. For the MLP it sets
            ``hidden_sizes`` to ``(width, width // 2)``. The model's own width argument
            may be passed instead, and ``dropout`` passes through to WRN.

    Returns:
        The model, in training mode.

    Raises:
        ValueError: If ``name`` is unknown or ``input_shape`` is not three positive sizes.
        TypeError: If an option does not apply to the model, or both ``width`` and the
            model's own width argument are given.
    """
    if name not in IMAGE_MODELS:
        raise ValueError(f"unknown image model {name!r}. Valid names are {', '.join(sorted(IMAGE_MODELS))}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or any(size <= 0 for size in input_shape):
        raise ValueError(f"input_shape must be (channels, height, width) with positive sizes, got {input_shape}")

    valid = _valid_options(name)
    for option in options:
        if option not in valid:
            raise TypeError(f"{name} does not take option {option!r}. Valid options are {', '.join(valid)}")

    width_argument = _WIDTH_ARGUMENT[name]
    if "width" in options and width_argument != "width":
        if width_argument in options:
            raise TypeError(f"pass either width or {width_argument} to {name}, not both")
        width = options.pop("width")
        if name == "mlp":
            options[width_argument] = (width, max(1, width // 2))
        else:
            options[width_argument] = width

    constructor = IMAGE_MODELS[name]
    if name == "mlp":
        return constructor(input_shape, num_classes, **options)
    return constructor(num_classes=num_classes, in_channels=input_shape[0], **options)


def build_language_model(vocab_size: int, size: int, num_layers: int, dropout: float = 0.5) -> LSTMLanguageModel:
    """Build an ``LSTMLanguageModel`` with tied embedding and decoder weights."""
    return LSTMLanguageModel(vocab_size, size, num_layers, dropout)
