"""Classifiers and the language model as plain PyTorch modules, usable without the method."""

from mlrsnet.models.cnn import SmallCNN
from mlrsnet.models.language_model import LSTMLanguageModel
from mlrsnet.models.mlp import MLP
from mlrsnet.models.mobilenet import MobileNetV2
from mlrsnet.models.registry import IMAGE_MODELS, build_image_model, build_language_model
from mlrsnet.models.resnet import ResNet, resnet18, resnet34, resnet50
from mlrsnet.models.shufflenet import ShuffleNetV2
from mlrsnet.models.wide_resnet import WideResNet, wide_resnet28_10

__all__ = [
    "IMAGE_MODELS",
    "LSTMLanguageModel",
    "MLP",
    "MobileNetV2",
    "ResNet",
    "ShuffleNetV2",
    "SmallCNN",
    "WideResNet",
    "build_image_model",
    "build_language_model",
    "resnet18",
    "resnet34",
    "resnet50",
    "wide_resnet28_10",
]
