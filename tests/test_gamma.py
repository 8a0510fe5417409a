"""The LR scale gamma: the released rule and the initial-loss measurement."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mlrsnet import mean_initial_loss, released_gamma, supervised_loss


def test_released_rule_by_hand():
    f0, classes = 2.3026, 10
    expected = abs(math.sqrt(f0) * math.log(f0 * classes) / classes**0.25 / 4)
    assert released_gamma(f0, classes) == pytest.approx(expected, rel=1e-15)
    assert released_gamma(2.3026, 10) == pytest.approx(0.6691318797919524, rel=1e-12)


def test_rule_is_absolute_below_one_over_classes():
    assert released_gamma(0.05, 10) > 0


@pytest.mark.parametrize(
    "initial_loss, num_classes, message",
    [
        (float("nan"), 10, "positive finite loss"),
        (float("inf"), 10, "positive finite loss"),
        (0.0, 10, "positive finite loss"),
        (-1.0, 10, "positive finite loss"),
        (2.3, 1, "num_classes"),
        (2.3, 2.5, "num_classes"),
        (2.3, True, "num_classes"),
        (0.1, 10, "gamma = 0"),
    ],
)
def test_invalid_inputs_raise(initial_loss, num_classes, message):
    with pytest.raises(ValueError, match=message):
        released_gamma(initial_loss, num_classes)


def test_mean_initial_loss_weights_batches_and_keeps_batchnorm():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    data = [(torch.randn(5, 4), torch.randint(0, 3, (5,))), (torch.randn(2, 4), torch.randint(0, 3, (2,)))]
    before = {name: buffer.clone() for name, buffer in model.named_buffers()}
    result = mean_initial_loss(model, data, supervised_loss(nn.functional.cross_entropy))
    for name, buffer in model.named_buffers():
        assert torch.equal(buffer, before[name]), name

    with torch.no_grad():
        summed = [nn.functional.cross_entropy(model(x), y, reduction="sum").item() for x, y in data]
    assert result == pytest.approx(sum(summed) / 7, rel=1e-6)


def test_mean_initial_loss_needs_batches():
    with pytest.raises(ValueError, match="no batches"):
        mean_initial_loss(nn.Linear(2, 2), [], supervised_loss(nn.functional.cross_entropy))


def test_rule_from_perplexity_for_language_models():
    loss = math.log(10000)
    perplexity = 10000.0
    expected = abs(math.sqrt(perplexity) * math.log(perplexity * 10000) / 10000**0.25 / 4)
    assert released_gamma(loss, 10000, from_perplexity=True) == pytest.approx(expected, rel=1e-12)
    assert released_gamma(loss, 10000, from_perplexity=True) == pytest.approx(46.05, rel=1e-3)
    with pytest.raises(ValueError, match="overflows"):
        released_gamma(800.0, 10000, from_perplexity=True)
