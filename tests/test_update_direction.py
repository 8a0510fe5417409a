"""The update direction d: w - lr * d must equal what the real optimizer step produces."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from mlrsnet.core.direction import update_direction

OPTIMIZERS = {
    "sgd": lambda params: torch.optim.SGD(params, lr=0.1),
    "sgd_weight_decay": lambda params: torch.optim.SGD(params, lr=0.1, weight_decay=5e-4),
    "sgd_momentum": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=5e-4),
    "sgd_dampening": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9, dampening=0.3),
    "sgd_nesterov": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "sgd_maximize": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.5, maximize=True),
    "adam": lambda params: torch.optim.Adam(params, lr=1e-2),
    "adam_l2": lambda params: torch.optim.Adam(params, lr=1e-2, weight_decay=1e-2),
    "adam_amsgrad": lambda params: torch.optim.Adam(params, lr=1e-2, amsgrad=True),
    "adam_maximize": lambda params: torch.optim.Adam(params, lr=1e-2, maximize=True),
    "adamw": lambda params: torch.optim.AdamW(params, lr=1e-2, weight_decay=0.1),
    "adamw_amsgrad": lambda params: torch.optim.AdamW(params, lr=1e-2, weight_decay=0.1, amsgrad=True),
}


def _model_and_data():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)).double()
    data = [(torch.randn(8, 5, dtype=torch.float64), torch.randint(0, 3, (8,))) for _ in range(4)]
    return model, data


def _backward(model, batch):
    model.zero_grad()
    nn.functional.cross_entropy(model(batch[0]), batch[1]).backward()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_direction_matches_real_step(name):
    model, data = _model_and_data()
    optimizer = OPTIMIZERS[name](model.parameters())
    lr = optimizer.param_groups[0]["lr"]
    for batch in data:  # several steps, so momentum buffers and Adam moments are non-trivial
        _backward(model, batch)
        directions = update_direction(optimizer)
        predicted = {param: param.detach() - lr * directions[param] for param in model.parameters()}
        optimizer.step()
        for param in model.parameters():
            assert torch.allclose(param.detach(), predicted[param], rtol=1e-12, atol=1e-14), name


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_direction_leaves_optimizer_state_untouched(name):
    model, data = _model_and_data()
    optimizer = OPTIMIZERS[name](model.parameters())
    _backward(model, data[0])
    optimizer.step()
    _backward(model, data[1])
    state_before = copy.deepcopy(optimizer.state_dict())
    params_before = [param.detach().clone() for param in model.parameters()]
    grads_before = [param.grad.clone() for param in model.parameters()]
    update_direction(optimizer)
    state_after = optimizer.state_dict()
    for key, values in state_before["state"].items():
        for field, value in values.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(state_after["state"][key][field])), field
    for before, param in zip(params_before, model.parameters()):
        assert torch.equal(before, param.detach())
    for before, param in zip(grads_before, model.parameters()):
        assert torch.equal(before, param.grad)


def test_direction_includes_gradient_clipping():
    model, data = _model_and_data()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for batch in data:
        _backward(model, batch)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.01)
        directions = update_direction(optimizer)
        predicted = {param: param.detach() - 0.5 * directions[param] for param in model.parameters()}
        optimizer.step()
        for param in model.parameters():
            assert torch.allclose(param.detach(), predicted[param], rtol=1e-12, atol=1e-14)


def test_group_scales_move_each_group_by_its_lr():
    model, data = _model_and_data()
    first, second = model[0], model[2]
    optimizer = torch.optim.SGD(
        [{"params": first.parameters(), "lr": 0.2}, {"params": second.parameters(), "lr": 0.05}], momentum=0.9
    )
    for batch in data:
        _backward(model, batch)
        directions = update_direction(optimizer, group_scales=[1.0, 0.25])
        predicted = {param: param.detach() - 0.2 * directions[param] for param in model.parameters()}
        optimizer.step()
        for param in model.parameters():
            assert torch.allclose(param.detach(), predicted[param], rtol=1e-12, atol=1e-14)


def test_parameters_without_gradient_are_skipped():
    model, data = _model_and_data()
    model[0].weight.requires_grad_(False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    _backward(model, data[0])
    directions = update_direction(optimizer)
    assert model[0].weight not in directions
    assert model[2].weight in directions


def test_unsupported_optimizer_raises():
    model, data = _model_and_data()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.1)
    _backward(model, data[0])
    with pytest.raises(TypeError, match="RMSprop"):
        update_direction(optimizer)


def test_wrong_number_of_group_scales_raises():
    model, data = _model_and_data()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    _backward(model, data[0])
    with pytest.raises(ValueError, match="2 group_scales"):
        update_direction(optimizer, group_scales=[1.0, 2.0])
