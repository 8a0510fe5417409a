"""The plug-and-play scheduler (Algorithm 2): snapshots, gamma, optimizers, groups, resume, errors."""

from __future__ import annotations

import copy
import io
import warnings

import pytest
import torch
from torch import nn

from mlrsnet import MLRSNet, MLRSNetScheduler, NonFiniteLossError, Schedule, released_gamma


def _schedule(num_snapshots=3, hidden_size=6):
    snapshots = []
    for index in range(num_snapshots):
        torch.manual_seed(index)
        snapshots.append(MLRSNet(hidden_size=hidden_size).state_dict())
    return Schedule(snapshots=snapshots, hidden_size=hidden_size)


def _losses(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (2.3 * torch.exp(-torch.arange(n) / 10) + 0.05 * torch.rand(n, generator=generator)).tolist()


def _optimizer(kind="sgd"):
    torch.manual_seed(0)
    params = [nn.Parameter(torch.randn(3))]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.1)
    if kind == "momentum":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True)
    return torch.optim.Adam(params, lr=1e-3)


def _drive(scheduler, losses):
    lrs = []
    for loss in losses:
        scheduler.step(loss)
        lrs.append(scheduler.get_last_lr()[0])
    return lrs


def _expected_lrs(schedule, losses, total_steps, num_classes=None, gamma=None, window=50):
    """A plain re-statement of Algorithm 2 for the test: snapshot per third, state carried over."""
    nets = [schedule.build_net(i) for i in range(schedule.num_snapshots)]
    state, active, lrs, seen = None, None, [], []
    for step, loss in enumerate(losses):
        seen.append(loss)
        index = min(int(step * schedule.num_snapshots // total_steps), schedule.num_snapshots - 1)
        if index != active and num_classes is not None:
            recent = seen[-window:]
            gamma = released_gamma(sum(recent) / len(recent), num_classes)
        active = index
        with torch.no_grad():
            p, state = nets[index](loss, state)
        lrs.append(gamma * p.item())
    return lrs


def test_snapshot_per_third_with_carried_state():
    schedule = _schedule()
    losses = _losses(30)
    scheduler = MLRSNetScheduler(_optimizer(), schedule, total_steps=30, gamma=0.4)
    lrs = _drive(scheduler, losses)
    assert lrs == pytest.approx(_expected_lrs(schedule, losses, 30, gamma=0.4), rel=1e-6)
    assert scheduler.active_snapshot == 2


def test_switch_steps_follow_total_steps():
    schedule = _schedule()
    scheduler = MLRSNetScheduler(_optimizer(), schedule, total_steps=10, gamma=0.4)
    active = []
    for loss in _losses(10):
        scheduler.step(loss)
        active.append(scheduler.active_snapshot)
    assert active == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_gamma_reestimated_at_each_switch():
    schedule = _schedule()
    losses = _losses(30)
    scheduler = MLRSNetScheduler(_optimizer(), schedule, total_steps=30, num_classes=10, gamma_window=4)
    gammas = []
    for loss in losses:
        scheduler.step(loss)
        gammas.append(scheduler.gamma)
    assert gammas[0] == pytest.approx(released_gamma(losses[0], 10))
    assert gammas[10] == pytest.approx(released_gamma(sum(losses[7:11]) / 4, 10))
    assert gammas[20] == pytest.approx(released_gamma(sum(losses[17:21]) / 4, 10))
    assert len(set(gammas[:10])) == 1
    assert len(set(gammas)) == 3
    expected = _expected_lrs(schedule, losses, 30, num_classes=10, window=4)
    fresh = MLRSNetScheduler(_optimizer(), schedule, total_steps=30, num_classes=10, gamma_window=4)
    assert _drive(fresh, losses) == pytest.approx(expected, rel=1e-6)


def test_explicit_gamma_is_kept():
    scheduler = MLRSNetScheduler(_optimizer(), _schedule(), total_steps=9, gamma=0.05, num_classes=10)
    _drive(scheduler, _losses(9))
    assert scheduler.gamma == 0.05


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_sets_optimizer_lr_and_trains(kind):
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    inputs, targets = torch.randn(64, 4), torch.randint(0, 3, (64,))
    params = list(model.parameters())
    optimizer = {"sgd": torch.optim.SGD(params, lr=0.1),
                 "momentum": torch.optim.SGD(params, lr=0.1, momentum=0.9),
                 "adam": torch.optim.Adam(params, lr=1e-3)}[kind]
    gamma = 0.01 if kind == "adam" else None
    scheduler = MLRSNetScheduler(optimizer, _schedule(), total_steps=30, gamma=gamma, num_classes=3)
    first_loss = None
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        scheduler.step(loss)
        assert optimizer.param_groups[0]["lr"] == scheduler.get_last_lr()[0]
        optimizer.step()
        first_loss = first_loss if first_loss is not None else loss.item()
    assert loss.item() < first_loss


def test_adam_without_gamma_warns():
    with pytest.warns(UserWarning, match="explicit gamma"):
        MLRSNetScheduler(_optimizer("adam"), _schedule(), total_steps=10, num_classes=10)


def test_param_groups_keep_ratio_to_first():
    params = [nn.Parameter(torch.zeros(2)) for _ in range(3)]
    optimizer = torch.optim.SGD([{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": 0.01},
                                 {"params": [params[2]], "lr": 0.3}])
    scheduler = MLRSNetScheduler(optimizer, _schedule(), total_steps=6, gamma=0.5)
    for loss in _losses(6):
        scheduler.step(loss)
        first, second, third = (group["lr"] for group in optimizer.param_groups)
        assert second == pytest.approx(first * 0.1)
        assert third == pytest.approx(first * 3)


@pytest.mark.parametrize("stop_at", [1, 7, 10, 11, 25])
@pytest.mark.parametrize("gamma", [None, 0.3])
def test_resume_continues_with_same_lrs(stop_at, gamma):
    schedule = _schedule()
    losses = _losses(30)
    uninterrupted = _drive(MLRSNetScheduler(_optimizer(), schedule, total_steps=30, gamma=gamma, num_classes=10,
                                            gamma_window=5), losses)

    first = MLRSNetScheduler(_optimizer(), schedule, total_steps=30, gamma=gamma, num_classes=10, gamma_window=5)
    resumed = _drive(first, losses[:stop_at])
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    # A scheduler built with other settings takes the saved ones.
    second = MLRSNetScheduler(_optimizer(), schedule, total_steps=99, gamma=1.0, num_classes=3, gamma_window=2)
    second.load_state_dict(saved)
    resumed += _drive(second, losses[stop_at:])
    assert resumed == uninterrupted


def test_resume_with_other_schedule_raises():
    scheduler = MLRSNetScheduler(_optimizer(), _schedule(), total_steps=10, gamma=0.3)
    _drive(scheduler, _losses(3))
    other = _schedule()
    other.snapshots[1] = copy.deepcopy(other.snapshots[1])
    other.snapshots[1]["readout.bias"] += 1.0
    with pytest.raises(ValueError, match="different schedule"):
        MLRSNetScheduler(_optimizer(), other, total_steps=10, gamma=0.3).load_state_dict(scheduler.state_dict())


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), torch.tensor(float("-inf"))])
def test_non_finite_loss_changes_nothing(bad):
    optimizer = _optimizer()
    scheduler = MLRSNetScheduler(optimizer, _schedule(), total_steps=10, num_classes=10)
    _drive(scheduler, _losses(4))
    lr_before = optimizer.param_groups[0]["lr"]
    state_before = copy.deepcopy(scheduler.state_dict())
    with pytest.raises(NonFiniteLossError, match=r"step 4: the training loss is -?(nan|inf)"):
        scheduler.step(bad)
    assert optimizer.param_groups[0]["lr"] == lr_before
    after = scheduler.state_dict()
    assert torch.equal(after.pop("lstm_state"), state_before.pop("lstm_state"))
    assert after == state_before


def test_non_finite_loss_is_value_error():
    scheduler = MLRSNetScheduler(_optimizer(), _schedule(), total_steps=10, gamma=0.1)
    with pytest.raises(ValueError, match="step 0"):
        scheduler.step(float("nan"))


def test_past_total_steps_keeps_last_snapshot():
    scheduler = MLRSNetScheduler(_optimizer(), _schedule(), total_steps=3, gamma=0.1)
    _drive(scheduler, _losses(3))
    with pytest.warns(UserWarning, match="step 3 is past the last step of total_steps=3"):
        scheduler.step(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step(1.0)
    assert scheduler.active_snapshot == 2


def test_loads_schedule_from_path(tmp_path):
    schedule = _schedule()
    path = schedule.save(tmp_path / "s.safetensors")
    losses = _losses(12)
    from_path = _drive(MLRSNetScheduler(_optimizer(), str(path), total_steps=12, gamma=0.2), losses)
    from_object = _drive(MLRSNetScheduler(_optimizer(), schedule, total_steps=12, gamma=0.2), losses)
    assert from_path == from_object


def test_input_scale_override():
    schedule = _schedule()
    scaled = MLRSNetScheduler(_optimizer(), schedule, total_steps=5, gamma=0.2, input_scale=4.0)
    plain = MLRSNetScheduler(_optimizer(), schedule, total_steps=5, gamma=0.2)
    losses = _losses(5)
    assert _drive(scaled, losses) == pytest.approx(_drive(plain, [loss / 4.0 for loss in losses]), rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"total_steps": 0}, "total_steps"),
        ({"gamma": 0.0}, "gamma must be a positive finite number"),
        ({"gamma": float("inf")}, "gamma must be a positive finite number"),
        ({"gamma": float("nan")}, "gamma must be a positive finite number"),
        ({"gamma": None}, "num_classes"),
        ({"gamma": None, "num_classes": 1}, "num_classes"),
        ({"gamma_window": 0}, "gamma_window"),
        ({"input_scale": -1.0}, "input_scale"),
    ],
)
def test_invalid_settings_raise(kwargs, message):
    settings = {"total_steps": 10, "gamma": 0.1}
    settings.update(kwargs)
    with pytest.raises(ValueError, match=message):
        MLRSNetScheduler(_optimizer(), _schedule(), **settings)


def test_zero_first_group_lr_with_several_groups_raises():
    optimizer = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))], "lr": 0.0},
                                 {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.1}])
    with pytest.raises(ValueError, match="first group's LR must be positive"):
        MLRSNetScheduler(optimizer, _schedule(), total_steps=5, gamma=0.1)


def test_resume_into_other_group_count_raises():
    scheduler = MLRSNetScheduler(_optimizer(), _schedule(), total_steps=10, gamma=0.3)
    _drive(scheduler, _losses(2))
    two_groups = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))], "lr": 0.1},
                                  {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.01}])
    with pytest.raises(ValueError, match="saved for 1 param groups, but the optimizer has 2"):
        MLRSNetScheduler(two_groups, _schedule(), total_steps=10, gamma=0.3).load_state_dict(scheduler.state_dict())


def test_load_incomplete_state_raises():
    scheduler = MLRSNetScheduler(_optimizer(), _schedule(), total_steps=10, gamma=0.3)
    with pytest.raises(ValueError, match=r"invalid scheduler state: missing \[.*'schedule_fingerprint'"):
        scheduler.load_state_dict({"foo": 1})


@pytest.mark.parametrize("bad", ["1.0", None, [1.0]])
def test_non_numeric_loss_raises_type_error(bad):
    scheduler = MLRSNetScheduler(_optimizer(), _schedule(), total_steps=10, gamma=0.3)
    with pytest.raises(TypeError, match="step 0: expected the training loss as a tensor or a number"):
        scheduler.step(bad)
    assert scheduler.step_count == 0


def test_gamma_from_perplexity_uses_exp_of_losses():
    losses = [9.2, 9.1, 9.0, 8.0, 7.5, 7.0]
    scheduler = MLRSNetScheduler(_optimizer(), _schedule(), total_steps=6, num_classes=10000, gamma_window=2,
                                 gamma_from_perplexity=True, input_scale=9.21)
    gammas = []
    for loss in losses:
        scheduler.step(loss)
        gammas.append(scheduler.gamma)
    assert gammas[0] == pytest.approx(released_gamma(9.2, 10000, from_perplexity=True))
    assert gammas[2] == pytest.approx(released_gamma((9.1 + 9.0) / 2, 10000, from_perplexity=True))
    assert gammas[0] > 40


@pytest.mark.parametrize(
    "change, message",
    [
        ({"lstm_state": torch.zeros(3, 2, 1, 6)}, "lstm_state has shape"),
        ({"gamma": None, "gamma_given": True}, "gamma_given is set, but gamma is None"),
        ({"gamma": -2.0}, "gamma must be a positive finite number"),
        ({"active_snapshot": 7}, "active_snapshot 7 is out of range"),
        ({"total_steps": 0}, "total_steps"),
    ],
)
def test_invalid_state_values_change_nothing(change, message):
    scheduler = MLRSNetScheduler(_optimizer(), _schedule(), total_steps=10, gamma=0.3)
    _drive(scheduler, _losses(3))
    before = copy.deepcopy(scheduler.state_dict())
    bad = copy.deepcopy(before)
    bad.update(change)
    with pytest.raises(ValueError, match=message):
        scheduler.load_state_dict(bad)
    after = scheduler.state_dict()
    assert torch.equal(after.pop("lstm_state"), before.pop("lstm_state"))
    assert after == before


def test_load_non_dict_state_raises_type_error():
    scheduler = MLRSNetScheduler(_optimizer(), _schedule(), total_steps=10, gamma=0.3)
    with pytest.raises(TypeError, match="invalid scheduler state: expected a dict"):
        scheduler.load_state_dict([1, 2])
