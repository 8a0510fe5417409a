"""Meta-training (Algorithm 1): LR per step, look-ahead timing, state, snapshots, gamma, errors, resume."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from mlrsnet import MetaTrainer, MLRSNet, released_gamma

from models_for_tests import TinyBatchNormCNN, image_batch


def _setup(seed=0, optimizer="sgd", **kwargs):
    torch.manual_seed(seed)
    model = TinyBatchNormCNN()
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    meta_data = [image_batch(1000 + i) for i in range(3)]
    net = MLRSNet(hidden_size=8)
    settings = dict(total_steps=12, t_val=4, gamma=0.2, net=net)
    settings.update(kwargs)
    return model, opt, MetaTrainer(model, opt, meta_data, **settings)


def _run(model, optimizer, trainer, steps, start=0):
    lrs = []
    for i in range(start, start + steps):
        inputs, targets = image_batch(i)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        lrs.append(trainer.step(loss))
    return lrs


def _phi(net):
    return torch.cat([param.detach().reshape(-1).clone() for param in net.parameters()])


def test_lr_is_gamma_times_net_output():
    model, optimizer, trainer = _setup(t_val=1000)
    _run(model, optimizer, trainer, 1)  # step 0 runs the only look-ahead, so phi is fixed afterwards
    probe = copy.deepcopy(trainer.net)
    state = trainer.state
    for i in range(1, 5):
        inputs, targets = image_batch(i)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        lr = trainer.step(loss)
        with torch.no_grad():
            p, state = probe(loss.item(), state)
        assert lr == pytest.approx(0.2 * p.item(), rel=1e-6)
        assert optimizer.param_groups[0]["lr"] == lr
        assert trainer.get_last_lr() == [lr]


def test_lookahead_every_t_val_steps_across_epochs():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(25, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train = [image_batch(i) for i in range(5)]  # 5 steps per epoch, t_val 3: not aligned on purpose
    trainer = MetaTrainer(model, optimizer, [image_batch(99)], total_steps=15, t_val=3, gamma=0.2,
                          net=MLRSNet(hidden_size=4))
    changed_at = []
    previous = _phi(trainer.net)

    def on_step(step, loss, lr):
        nonlocal previous
        current = _phi(trainer.net)
        if not torch.equal(current, previous):
            changed_at.append(step - 1)
        previous = current

    trainer.fit(train, epochs=3, on_step=on_step)
    assert changed_at == [0, 3, 6, 9, 12]
    assert trainer.meta_batches_used == 5


def test_state_advances_once_per_step():
    # With meta_lr 0 phi never changes, so the state after n steps must equal the net run
    # over the n losses from zero, whether or not look-aheads happened in between.
    model, optimizer, trainer = _setup(t_val=1, meta_lr=0.0, meta_weight_decay=0.0)
    losses = []
    for i in range(6):
        inputs, targets = image_batch(i)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        losses.append(loss.item())
        trainer.step(loss)
    state = None
    with torch.no_grad():
        for value in losses:
            _, state = trainer.net(torch.tensor(value), state)
    for (h, c), (h2, c2) in zip(state, trainer.state):
        assert torch.allclose(h, h2, rtol=0, atol=1e-7)
        assert torch.allclose(c, c2, rtol=0, atol=1e-7)
    assert not trainer.state[0][0].requires_grad


def test_real_step_uses_updated_phi_from_same_state():
    model, optimizer, trainer = _setup(t_val=1, meta_lr=0.05)
    inputs, targets = image_batch(0)
    loss = nn.functional.cross_entropy(model(inputs), targets)
    loss.backward()
    state_before = trainer.state
    lr = trainer.step(loss)
    with torch.no_grad():
        p_after_update, state_after = trainer.net(loss.item(), state_before)
    assert lr == pytest.approx(0.2 * p_after_update.item(), rel=1e-6)
    assert torch.allclose(trainer.state[0][0], state_after[0][0])


def test_virtual_steps_leave_no_trace():
    # With meta_lr 0 the LR trajectory is fixed, so a run with a look-ahead every step must
    # produce the same model as a run whose look-aheads are few: the virtual steps leave no trace.
    model_a, optimizer_a, trainer_a = _setup(t_val=1, meta_lr=0.0, meta_weight_decay=0.0)
    model_b, optimizer_b, trainer_b = _setup(t_val=100, meta_lr=0.0, meta_weight_decay=0.0)
    lrs_a = _run(model_a, optimizer_a, trainer_a, 6)
    lrs_b = _run(model_b, optimizer_b, trainer_b, 6)
    assert lrs_a == lrs_b
    for (name, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(a, b), name
    for a, b in zip(optimizer_a.state.values(), optimizer_b.state.values()):
        assert torch.equal(a["momentum_buffer"], b["momentum_buffer"])


def test_snapshots_at_end_of_each_part():
    model, optimizer, trainer = _setup(total_steps=10, num_snapshots=3)
    assert trainer.snapshot_steps == [3, 7, 10]
    phis = {}
    for step in range(10):
        _run(model, optimizer, trainer, 1, start=step)
        phis[step + 1] = copy.deepcopy(trainer.net.state_dict())
    assert len(trainer.snapshots) == 3
    for snapshot, step in zip(trainer.snapshots, [3, 7, 10]):
        for name, value in snapshot.items():
            assert torch.equal(value, phis[step][name])
    assert not torch.equal(trainer.snapshots[0]["readout.bias"], trainer.snapshots[2]["readout.bias"])
    schedule = trainer.schedule({"task": "unit-test"})
    assert schedule.num_snapshots == 3
    assert schedule.meta_trained_on["task"] == "unit-test"
    assert schedule.switch_points == [0.0, 1 / 3, 2 / 3]


def test_number_of_snapshots_is_configurable():
    model, optimizer, trainer = _setup(total_steps=8, num_snapshots=4)
    _run(model, optimizer, trainer, 8)
    assert len(trainer.snapshots) == 4
    assert trainer.schedule().switch_points == [0.0, 0.25, 0.5, 0.75]


def test_schedule_before_last_snapshot_raises():
    model, optimizer, trainer = _setup(total_steps=10)
    _run(model, optimizer, trainer, 5)
    with pytest.raises(RuntimeError, match="1 of 3 snapshots"):
        trainer.schedule()


def test_explicit_gamma_is_never_reestimated():
    model, optimizer, trainer = _setup(gamma=0.123, num_classes=3)
    _run(model, optimizer, trainer, 12)
    assert trainer.gamma == 0.123


def test_gamma_from_initial_loss_and_first_loss():
    _, _, trainer = _setup(gamma=None, num_classes=10, initial_loss=2.3026)
    assert trainer.gamma == pytest.approx(released_gamma(2.3026, 10))
    model, optimizer, trainer = _setup(gamma=None, num_classes=3)
    inputs, targets = image_batch(0)
    loss = nn.functional.cross_entropy(model(inputs), targets)
    loss.backward()
    trainer.step(loss)
    assert trainer.gamma == pytest.approx(released_gamma(loss.item(), 3))


def test_fit_measures_initial_loss_for_gamma():
    model, optimizer, trainer = _setup(gamma=None, num_classes=3, total_steps=4)
    train = [image_batch(i) for i in range(4)]
    expected_f0 = sum(nn.functional.cross_entropy(model(x), y).item() for x, y in train) / 4
    trainer.fit(train, epochs=1)
    assert trainer.gamma == pytest.approx(released_gamma(expected_f0, 3), rel=1e-5)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_loss_raises_and_changes_nothing(bad):
    model, optimizer, trainer = _setup()
    _run(model, optimizer, trainer, 2)
    lr_before = optimizer.param_groups[0]["lr"]
    state_before = [t.clone() for pair in trainer.state for t in pair]
    phi_before = _phi(trainer.net)
    params_before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=rf"step 2: the training loss is {bad}"):
        trainer.step(torch.tensor(bad))
    assert optimizer.param_groups[0]["lr"] == lr_before
    assert all(torch.equal(a, b) for a, b in zip(state_before, [t for pair in trainer.state for t in pair]))
    assert torch.equal(phi_before, _phi(trainer.net))
    assert all(torch.equal(a, b.detach()) for a, b in zip(params_before, model.parameters()))
    assert trainer.step_count == 2


def test_max_grad_norm_clips_the_real_step():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(25, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = MetaTrainer(model, optimizer, [image_batch(9)], total_steps=3, t_val=1, gamma=0.5,
                          max_grad_norm=1e-3, net=MLRSNet(hidden_size=4))
    before = torch.cat([p.detach().reshape(-1).clone() for p in model.parameters()])
    inputs, targets = image_batch(0)
    loss = nn.functional.cross_entropy(model(inputs) * 100, targets)
    loss.backward()
    lr = trainer.step(loss)
    after = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    assert (after - before).norm().item() == pytest.approx(lr * 1e-3, rel=1e-4)


def test_adam_base_optimizer_trains():
    model, optimizer, trainer = _setup(optimizer="adam", gamma=1e-2)
    first = [p.detach().clone() for p in model.parameters()]
    lrs = _run(model, optimizer, trainer, 12)
    assert all(0 < lr < 1e-2 for lr in lrs)
    assert any(not torch.equal(a, b.detach()) for a, b in zip(first, model.parameters()))
    assert len(trainer.snapshots) == 3


def test_param_groups_keep_their_ratio():
    torch.manual_seed(0)
    model = TinyBatchNormCNN()
    optimizer = torch.optim.SGD(
        [{"params": model.conv.parameters(), "lr": 0.1}, {"params": list(model.norm.parameters()) + list(model.head.parameters()), "lr": 0.01}],
    )
    trainer = MetaTrainer(model, optimizer, [image_batch(9)], total_steps=4, t_val=2, gamma=0.3, net=MLRSNet(hidden_size=4))
    _run(model, optimizer, trainer, 4)
    first, second = trainer.get_last_lr()
    assert second == pytest.approx(first / 10)


def test_meta_gradient_lowers_too_large_lr():
    # A huge gamma makes the look-ahead overshoot, so the meta-gradient must push p down.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(25, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = MetaTrainer(model, optimizer, [image_batch(i) for i in range(50, 53)], total_steps=40, t_val=1,
                          gamma=50.0, meta_lr=1e-2, net=MLRSNet(hidden_size=8))
    with torch.no_grad():
        p_start, _ = trainer.net(1.0)
    inputs, targets = image_batch(0)
    for _ in range(20):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        trainer.step(loss.detach().clamp(max=50.0))
        with torch.no_grad():
            for param in model.parameters():  # keep the model fixed so only phi changes
                param.zero_()
    with torch.no_grad():
        p_end, _ = trainer.net(1.0)
    assert p_end.item() < p_start.item() - 0.05


def test_resume_continues_identically():
    model_a, optimizer_a, trainer_a = _setup(total_steps=12, t_val=2, meta_lr=0.01)
    lrs_a = _run(model_a, optimizer_a, trainer_a, 12)

    model_b, optimizer_b, trainer_b = _setup(total_steps=12, t_val=2, meta_lr=0.01)
    lrs_b = _run(model_b, optimizer_b, trainer_b, 5)
    saved = copy.deepcopy((model_b.state_dict(), optimizer_b.state_dict(), trainer_b.state_dict()))

    model_c, optimizer_c, trainer_c = _setup(seed=5, total_steps=12, t_val=2, meta_lr=0.01)
    model_c.load_state_dict(saved[0])
    optimizer_c.load_state_dict(saved[1])
    trainer_c.load_state_dict(saved[2])
    lrs_b += _run(model_c, optimizer_c, trainer_c, 7, start=5)
    assert lrs_b == lrs_a
    for a, c in zip(trainer_a.snapshots, trainer_c.snapshots):
        for name in a:
            assert torch.equal(a[name], c[name])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"total_steps": 0}, ValueError, "total_steps"),
        ({"t_val": 0}, ValueError, "t_val"),
        ({"num_snapshots": 20}, ValueError, "num_snapshots"),
        ({"gamma": -1.0}, ValueError, "gamma must be a positive finite number"),
        ({"gamma": None}, ValueError, "num_classes"),
        ({"gamma": None, "num_classes": 1}, ValueError, "num_classes"),
        ({"max_grad_norm": 0.0}, ValueError, "max_grad_norm"),
    ],
)
def test_invalid_settings_raise(kwargs, error, message):
    with pytest.raises(error, match=message):
        _setup(**kwargs)


def test_unsupported_optimizer_raises():
    model = TinyBatchNormCNN()
    with pytest.raises(TypeError, match="RMSprop"):
        MetaTrainer(model, torch.optim.RMSprop(model.parameters()), [image_batch(0)], total_steps=3, gamma=0.1)


def test_empty_meta_data_raises():
    model, optimizer, trainer = _setup()
    trainer.meta_data = []
    inputs, targets = image_batch(0)
    loss = nn.functional.cross_entropy(model(inputs), targets)
    loss.backward()
    with pytest.raises(ValueError, match="meta_data yielded no batches"):
        trainer.step(loss)


def test_state_carried_across_epochs_in_fit():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(25, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = MetaTrainer(model, optimizer, [image_batch(99)], total_steps=9, t_val=2, gamma=0.2,
                          net=MLRSNet(hidden_size=4), meta_lr=0.0, meta_weight_decay=0.0)
    losses = []
    trainer.fit([image_batch(i) for i in range(3)], epochs=3, on_step=lambda step, loss, lr: losses.append(loss))
    state = None
    with torch.no_grad():
        for value in losses:
            _, state = trainer.net(torch.tensor(value), state)
    assert len(losses) == 9
    assert torch.allclose(state[0][1], trainer.state[0][1], rtol=0, atol=1e-7)


def test_state_dict_loads_with_weights_only(tmp_path):
    model, optimizer, trainer = _setup(total_steps=12, t_val=2, meta_lr=0.01)
    _run(model, optimizer, trainer, 5)
    path = tmp_path / "trainer.pt"
    torch.save(trainer.state_dict(), path)
    restored = torch.load(path, weights_only=True)
    assert restored["step_count"] == 5
    assert len(restored["snapshots"]) == 1
    assert torch.equal(restored["lstm_state"], trainer.state_dict()["lstm_state"])


def test_adam_without_gamma_warns():
    model = TinyBatchNormCNN()
    with pytest.warns(UserWarning, match="explicit gamma"):
        MetaTrainer(model, torch.optim.Adam(model.parameters()), [image_batch(0)], total_steps=3, num_classes=3)


def test_load_incomplete_state_raises():
    _, _, trainer = _setup()
    with pytest.raises(ValueError, match=r"invalid meta-trainer state: missing \['gamma'"):
        trainer.load_state_dict({"net": {}})


def test_bfloat16_autocast_forward_trains():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(25, 16), nn.ReLU(), nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = MetaTrainer(model, optimizer, [image_batch(99)], total_steps=10, t_val=2, num_classes=3)
    inputs, targets = image_batch(0)
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        trainer.step(loss)
        losses.append(loss.item())
    assert trainer.last_meta_loss is not None
    assert len(trainer.snapshots) == 3
    assert losses[-1] < losses[0]


def test_gamma_from_perplexity_in_meta_training():
    _, _, trainer = _setup(gamma=None, num_classes=10000, initial_loss=9.21, gamma_from_perplexity=True)
    assert trainer.gamma == pytest.approx(released_gamma(9.21, 10000, from_perplexity=True))
    assert trainer.gamma > 40


def test_resume_into_other_group_count_raises():
    model, optimizer, trainer = _setup()
    _run(model, optimizer, trainer, 2)
    other = TinyBatchNormCNN()
    two_groups = torch.optim.SGD([{"params": other.conv.parameters()}, {"params": other.head.parameters()}], lr=0.1)
    fresh = MetaTrainer(other, two_groups, [image_batch(0)], total_steps=12, t_val=4, gamma=0.2,
                        net=MLRSNet(hidden_size=8))
    with pytest.raises(ValueError, match="saved for 1 param groups, but the optimizer has 2"):
        fresh.load_state_dict(trainer.state_dict())


def test_resume_with_other_net_size_raises():
    model, optimizer, trainer = _setup()
    _run(model, optimizer, trainer, 2)
    _, _, fresh = _setup(net=MLRSNet(hidden_size=5))
    with pytest.raises(ValueError, match=r"lstm_state has shape \(1, 2, 1, 8\)"):
        fresh.load_state_dict(trainer.state_dict())


def test_resume_takes_saved_run_length():
    model, optimizer, trainer = _setup(total_steps=12, num_snapshots=3)
    _run(model, optimizer, trainer, 5)
    _, _, fresh = _setup(total_steps=300, num_snapshots=4, t_val=7)
    fresh.load_state_dict(trainer.state_dict())
    assert (fresh.total_steps, fresh.num_snapshots, fresh.t_val) == (12, 3, 4)
    assert fresh.snapshot_steps == [4, 8, 12]


def test_input_scale_sets_net_input_scale():
    _, _, trainer = _setup(input_scale=9.21)
    assert trainer.net.input_scale == 9.21
    with pytest.raises(ValueError, match="input_scale"):
        _setup(input_scale=0.0)
