"""The look-ahead: meta-gradient correctness, cost, and that the real model is left untouched."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from mlrsnet import MetaTrainer, MLRSNet, supervised_loss
from mlrsnet.core.direction import update_direction
from mlrsnet.core.lookahead import lookahead_lr_gradient, lookahead_reference

from models_for_tests import TiedLSTMLanguageModel, TinyBatchNormCNN, image_batch, language_model_loss, token_batch

cross_entropy_loss = supervised_loss(nn.functional.cross_entropy)


def _mlp(dtype=torch.float64):
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(25, 6), nn.Tanh(), nn.Linear(6, 3)).to(dtype)


def _train_steps(model, optimizer, batch_loss, batches):
    """Take real steps so that momentum buffers and BatchNorm statistics are non-trivial."""
    for batch in batches:
        optimizer.zero_grad()
        batch_loss(model, batch).backward()
        optimizer.step()
    optimizer.zero_grad()
    batch_loss(model, batches[0]).backward()


CASES = {
    "mlp": (_mlp, cross_entropy_loss, lambda i: image_batch(i, dtype=torch.float64)),
    "batchnorm_cnn": (lambda: TinyBatchNormCNN().double(), cross_entropy_loss, lambda i: image_batch(i, dtype=torch.float64)),
    "tied_dropout_lstm": (lambda: TiedLSTMLanguageModel().double(), language_model_loss, token_batch),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_matches_reference(case):
    make_model, batch_loss, make_batch = CASES[case]
    torch.manual_seed(1)
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    _train_steps(model, optimizer, batch_loss, [make_batch(i) for i in range(3)])
    directions = update_direction(optimizer)
    meta_batch = make_batch(100)

    # The same seed before each call gives both the same dropout masks.
    torch.manual_seed(7)
    meta_loss, lr_gradient = lookahead_lr_gradient(model, batch_loss, meta_batch, directions, 0.05)
    torch.manual_seed(7)
    lr = torch.tensor(0.05, dtype=torch.float64, requires_grad=True)
    reference_loss = lookahead_reference(model, batch_loss, meta_batch, directions, lr)
    (reference_gradient,) = torch.autograd.grad(reference_loss, lr)

    assert torch.allclose(meta_loss, reference_loss.detach(), rtol=1e-12)
    assert torch.allclose(lr_gradient, reference_gradient, rtol=1e-9, atol=1e-12)
    assert lr_gradient.item() != 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_virtual_step_leaves_model_bitwise_unchanged(case):
    make_model, batch_loss, make_batch = CASES[case]
    torch.manual_seed(1)
    model = make_model().float()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    batches = [tuple(t.float() if t.is_floating_point() else t for t in make_batch(i)) for i in range(3)]
    _train_steps(model, optimizer, batch_loss, batches)

    params = {name: value.detach().clone() for name, value in model.named_parameters()}
    grads = {name: value.grad.clone() for name, value in model.named_parameters()}
    buffers = {name: value.clone() for name, value in model.named_buffers()}
    optimizer_state = copy.deepcopy(optimizer.state_dict())

    directions = update_direction(optimizer)
    lookahead_lr_gradient(model, batch_loss, batches[1], directions, 0.3)

    for name, value in model.named_parameters():
        assert torch.equal(value.detach(), params[name]), name
        assert torch.equal(value.grad, grads[name]), name
    for name, value in model.named_buffers():
        assert torch.equal(value, buffers[name]), name
    after = optimizer.state_dict()
    for key, entry in optimizer_state["state"].items():
        assert torch.equal(entry["momentum_buffer"], after["state"][key]["momentum_buffer"])
    if case == "batchnorm_cnn":
        assert int(buffers["norm.num_batches_tracked"]) == 4


def test_lookahead_runs_one_forward_pass():
    model = TinyBatchNormCNN()
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    _train_steps(model, optimizer, cross_entropy_loss, [image_batch(0)])
    calls.clear()
    lookahead_lr_gradient(model, cross_entropy_loss, image_batch(1), update_direction(optimizer), 0.1)
    assert len(calls) == 1


def test_meta_gradient_matches_finite_differences():
    torch.manual_seed(3)
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    _train_steps(model, optimizer, cross_entropy_loss, [image_batch(i, dtype=torch.float64) for i in range(3)])
    net = MLRSNet(hidden_size=4).double()
    meta_batch = image_batch(50, dtype=torch.float64)
    trainer = MetaTrainer(
        model, optimizer, [meta_batch], total_steps=10, t_val=1, gamma=0.5, net=net,
        meta_lr=0.0, meta_weight_decay=0.0,
    )
    _, state = net(1.7)  # a non-zero state, as in the middle of a run
    trainer.state = tuple((h.detach(), c.detach()) for h, c in state)
    loss = torch.tensor(1.2, dtype=torch.float64)

    # The meta step reads the direction before the real step and the state before this step.
    directions = {param: d.clone() for param, d in update_direction(optimizer).items()}
    state = trainer.state

    def meta_loss_at(phi_net):
        with torch.no_grad():
            p, _ = phi_net(loss, state)
            return lookahead_reference(model, cross_entropy_loss, meta_batch, directions, 0.5 * p).item()

    reference_model = copy.deepcopy(model)
    trainer.step(loss)  # the meta step leaves d L_val / d phi in the net's .grad (meta_lr is 0)
    analytic = torch.cat([param.grad.reshape(-1) for param in net.parameters()])
    model.load_state_dict(reference_model.state_dict())  # undo the real step for the finite differences

    numeric = []
    epsilon = 1e-6
    for param in net.parameters():
        flat = param.data.view(-1)
        for i in range(flat.numel()):
            original = flat[i].item()
            flat[i] = original + epsilon
            plus = meta_loss_at(net)
            flat[i] = original - epsilon
            minus = meta_loss_at(net)
            flat[i] = original
            numeric.append((plus - minus) / (2 * epsilon))
    numeric = torch.tensor(numeric, dtype=torch.float64)
    relative_error = (analytic - numeric).norm() / numeric.norm()
    assert numeric.norm() > 0
    assert relative_error < 1e-5, relative_error.item()


def test_scalar_meta_loss_required():
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    _train_steps(model, optimizer, cross_entropy_loss, [image_batch(0, dtype=torch.float64)])

    def unreduced(forward, batch):
        return nn.functional.cross_entropy(forward(batch[0]), batch[1], reduction="none")

    with pytest.raises(ValueError, match="scalar"):
        lookahead_lr_gradient(model, unreduced, image_batch(1, dtype=torch.float64), update_direction(optimizer), 0.1)
