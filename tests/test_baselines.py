import math

import pytest
import torch
from torch.utils.data import DataLoader

from mlrsnet.baselines import (
    BASELINE_NAMES,
    ScheduledOptimizer,
    make_baseline,
    multistep_milestones,
    schedule_optimizer,
    sgdr_first_cycle_steps,
    sgdr_paper_first_cycle_steps,
)
from mlrsnet.data import load_digits_splits
from mlrsnet.models import MLP
from mlrsnet.runs import train


def _quadratic_params():
    return [torch.nn.Parameter(torch.tensor([1.0, -2.0]))]


def _lr_trajectory(method, params, epochs, steps_per_epoch, start_epoch=0):
    """Drive ``method`` as the training loop does and return the LR of every step."""
    lrs = []
    for epoch in range(start_epoch, epochs):
        for _ in range(steps_per_epoch):
            method.optimizer.zero_grad()
            loss = sum((p**2).sum() for p in params)
            loss.backward()
            method.step(loss)
            lrs.append(method.get_last_lr()[0])
        method.end_epoch(epoch, val_loss=1.0)
    return lrs


def _sgdr_lr(step, first_cycle, base_lr=0.1, eta_min=1e-5):
    cycle_length = first_cycle
    step_in_cycle = step
    while step_in_cycle >= cycle_length:
        step_in_cycle -= cycle_length
        cycle_length *= 2
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * step_in_cycle / cycle_length)) / 2


def test_baseline_names():
    assert BASELINE_NAMES == ("fixed", "multistep", "exponential", "sgdr", "adam")


def test_unknown_baseline_lists_valid_names():
    with pytest.raises(ValueError, match="unknown baseline 'cosine'. Valid names: fixed, multistep, exponential, sgdr, adam"):
        make_baseline("cosine", _quadratic_params(), epochs=1, steps_per_epoch=1)


@pytest.mark.parametrize(
    ("epochs", "milestones"),
    [(200, [60, 120, 180]), (10, [3, 6, 9]), (5, [2, 3, 4]), (2, [1, 2]), (1, [1])],
)
def test_multistep_milestones_scale_with_epochs(epochs, milestones):
    assert multistep_milestones(epochs) == milestones


def test_fixed_lr_is_constant():
    params = _quadratic_params()
    method = make_baseline("fixed", params, epochs=3, steps_per_epoch=4, lr=0.05)

    lrs = _lr_trajectory(method, params, epochs=3, steps_per_epoch=4)

    assert lrs == [0.05] * 12
    assert isinstance(method.optimizer, torch.optim.SGD)


def test_multistep_lr_drops_tenfold_at_milestones():
    params = _quadratic_params()
    method = make_baseline("multistep", params, epochs=10, steps_per_epoch=2)

    lrs = _lr_trajectory(method, params, epochs=10, steps_per_epoch=2)

    for step, lr in enumerate(lrs):
        epoch = step // 2
        drops = sum(epoch >= milestone for milestone in (3, 6, 9))
        assert lr == pytest.approx(0.1 * 0.1**drops), f"step {step}"


def test_exponential_lr_decays_per_epoch():
    params = _quadratic_params()
    method = make_baseline("exponential", params, epochs=4, steps_per_epoch=3)

    lrs = _lr_trajectory(method, params, epochs=4, steps_per_epoch=3)

    assert lrs == pytest.approx([0.1 * 0.95 ** (step // 3) for step in range(12)])


def test_sgdr_follows_cosine_with_doubling_cycles():
    params = _quadratic_params()
    method = make_baseline("sgdr", params, epochs=5, steps_per_epoch=7)

    lrs = _lr_trajectory(method, params, epochs=5, steps_per_epoch=7)

    first_cycle = sgdr_first_cycle_steps(35)
    assert first_cycle == 5
    assert lrs == pytest.approx([_sgdr_lr(step, first_cycle) for step in range(35)])
    assert lrs[first_cycle] == pytest.approx(0.1)
    assert lrs[3 * first_cycle] == pytest.approx(0.1)
    assert lrs[-1] < 0.01


def test_sgdr_matches_torch_scheduler_stepped_per_iteration():
    params = _quadratic_params()
    method = make_baseline("sgdr", params, epochs=3, steps_per_epoch=10)
    reference_params = _quadratic_params()
    reference_optimizer = torch.optim.SGD(reference_params, lr=0.1, weight_decay=5e-4)
    reference = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        reference_optimizer, T_0=sgdr_first_cycle_steps(30), T_mult=2, eta_min=1e-5
    )

    reference_lrs = []
    for _ in range(30):
        reference_lrs.append(reference_optimizer.param_groups[0]["lr"])
        reference_optimizer.step()
        reference.step()

    assert _lr_trajectory(method, params, epochs=3, steps_per_epoch=10) == pytest.approx(reference_lrs)


def test_sgdr_restarts_fall_inside_budget():
    for total_steps in range(7, 400):
        first_cycle = sgdr_first_cycle_steps(total_steps)

        assert 3 * first_cycle < total_steps, f"total_steps={total_steps}"
        assert 0 <= 7 * first_cycle - total_steps <= 6, f"total_steps={total_steps}"


def test_adam_defaults_and_momentum_check():
    method = make_baseline("adam", _quadratic_params(), epochs=2, steps_per_epoch=2)

    assert isinstance(method.optimizer, torch.optim.Adam)
    assert method.get_last_lr() == [1e-3]
    assert make_baseline("adam", _quadratic_params(), epochs=2, steps_per_epoch=2, lr=0.01).get_last_lr() == [0.01]
    with pytest.raises(ValueError, match="momentum=0.9 is invalid for adam"):
        make_baseline("adam", _quadratic_params(), epochs=2, steps_per_epoch=2, momentum=0.9)


def test_sgd_options_reach_optimizer():
    method = make_baseline("fixed", _quadratic_params(), epochs=1, steps_per_epoch=1, momentum=0.9, weight_decay=1e-3)
    group = method.optimizer.param_groups[0]

    assert group["momentum"] == 0.9
    assert group["weight_decay"] == 1e-3


def test_param_groups_keep_their_own_lrs():
    first, second = _quadratic_params(), _quadratic_params()
    groups = [{"params": first}, {"params": second, "lr": 0.02}]
    method = make_baseline("exponential", groups, epochs=2, steps_per_epoch=1, lr=0.1)

    _lr_trajectory(method, first + second, epochs=2, steps_per_epoch=1)

    assert method.get_last_lr() == pytest.approx([0.1 * 0.95, 0.02 * 0.95])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"epochs": 0, "steps_per_epoch": 1}, ValueError, "epochs must be positive"),
        ({"epochs": 1, "steps_per_epoch": -1}, ValueError, "steps_per_epoch must be positive"),
        ({"epochs": 2.0, "steps_per_epoch": 1}, TypeError, "epochs must be an int"),
    ],
)
def test_invalid_budget_raises(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_baseline("multistep", _quadratic_params(), **kwargs)


@pytest.mark.parametrize("name", ["multistep", "sgdr"])
def test_resume_continues_lr_trajectory(name):
    params = _quadratic_params()
    uninterrupted = make_baseline(name, params, epochs=6, steps_per_epoch=3)
    expected = _lr_trajectory(uninterrupted, params, epochs=6, steps_per_epoch=3)

    first_params = _quadratic_params()
    first = make_baseline(name, first_params, epochs=6, steps_per_epoch=3)
    before = _lr_trajectory(first, first_params, epochs=2, steps_per_epoch=3)
    resumed_params = [torch.nn.Parameter(p.detach().clone()) for p in first_params]
    resumed = make_baseline(name, resumed_params, epochs=6, steps_per_epoch=3, lr=0.5)
    resumed.load_state_dict(first.state_dict())
    after = _lr_trajectory(resumed, resumed_params, epochs=6, steps_per_epoch=3, start_epoch=2)

    assert before + after == pytest.approx(expected)


def test_state_dict_of_other_kind_is_rejected():
    fixed = make_baseline("fixed", _quadratic_params(), epochs=2, steps_per_epoch=1)
    exponential = make_baseline("exponential", _quadratic_params(), epochs=2, steps_per_epoch=1)

    with pytest.raises(ValueError, match="invalid state dict for method 'exponential'"):
        exponential.load_state_dict(fixed.state_dict())


def test_scheduler_must_wrap_the_optimizer():
    optimizer = torch.optim.SGD(_quadratic_params(), lr=0.1)
    other = torch.optim.SGD(_quadratic_params(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(other, gamma=0.9)

    with pytest.raises(ValueError, match="must wrap the optimizer"):
        ScheduledOptimizer("exponential", optimizer, scheduler)


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_each_baseline_trains_digits(name):
    splits = load_digits_splits(seed=0)
    train_loader = DataLoader(splits.train, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
    test_loader = DataLoader(splits.test, batch_size=200)
    torch.manual_seed(0)
    model = MLP(splits.input_shape, splits.num_classes, hidden_sizes=(32,))
    method = make_baseline(name, model.parameters(), epochs=2, steps_per_epoch=len(train_loader))

    result = train(model, method, train_loader, test_loader, epochs=2)

    assert not result.diverged
    assert result.loss_per_step[-1] < result.loss_per_step[0]
    assert result.test_metric[-1] > 0.5


def test_paper_sgdr_restart_points():
    params = _quadratic_params()
    sgd = torch.optim.SGD(params, lr=0.1)
    method = schedule_optimizer("sgd-sgdr", sgd, "sgdr", epochs=200, steps_per_epoch=10)

    assert sgdr_paper_first_cycle_steps(2000) == 100
    lrs = []
    for _ in range(2000):
        lrs.append(method.optimizer.param_groups[0]["lr"])
        method.step(torch.tensor(0.0))
    restarts = [step for step in range(1, 2000) if lrs[step] > lrs[step - 1]]
    assert restarts == [100, 300, 700, 1500]
    assert lrs[99] == pytest.approx(1e-5, abs=1e-4)
    assert max(lrs) == pytest.approx(0.1)
