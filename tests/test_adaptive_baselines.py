"""L4, hypergradient descent, RTHO and the validation strategy: hand-computed steps, resume, errors.

The hand computations use the quadratic f(w) = 0.5 * w^T A w with A = diag(2, 1), so
grad f(w) = (2 * w1, w2). With weight decay wd, the SGD direction is
d = grad + wd * w = ((2 + wd) * w1, (1 + wd) * w2).
"""

from __future__ import annotations

import io
import math

import pytest
import torch

from mlrsnet.baselines import L4SGD, HypergradientSGD, RealTimeHyperSGD, ValStrategy

A_DIAG = torch.tensor([2.0, 1.0], dtype=torch.float64)
REL_TOL = 1e-12


def _weights(*values):
    return torch.nn.Parameter(torch.tensor(values, dtype=torch.float64))


def _quadratic(weights):
    return 0.5 * (A_DIAG * weights**2).sum()


def _backward(method, loss):
    """Take the gradients the way the training loop does for this method."""
    if isinstance(method, RealTimeHyperSGD):
        method.backward(loss)
    else:
        loss.backward()


def _quadratic_step(method, weights, loss_offset=0.0):
    method.optimizer.zero_grad()
    loss = _quadratic(weights) + loss_offset
    _backward(method, loss)
    method.step(loss)


def _values(tensor):
    return tensor.detach().tolist()


# L4


def test_l4_first_two_steps_by_hand():
    weights = _weights(2.0, 4.0)
    method = L4SGD([weights], alpha=0.48, min_loss_factor=0.5, init_factor=0.75, forget_time=10.0)
    assert method.get_last_lr() == [0.0]

    # Step 1: L = f(2, 4) + 4 = 0.5 * (2 * 4 + 16) + 4 = 16, first step so L_min = 0.75 * 16 = 12.
    # d = (4, 4), d . d = 32, lr = 0.48 * (16 - 0.5 * 12) / 32 = 0.48 * 10 / 32 = 0.15.
    # w = (2 - 0.15 * 4, 4 - 0.15 * 4) = (1.4, 3.4). Then L_min = 12 * (1 + 1 / 10) = 13.2.
    _quadratic_step(method, weights, loss_offset=4.0)
    assert method.get_last_lr() == [pytest.approx(0.15, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([1.4, 3.4], rel=REL_TOL)
    assert method.min_loss == pytest.approx(13.2, rel=REL_TOL)

    # Step 2: L = 0.5 * (2 * 1.96 + 11.56) + 4 = 11.74, L_min = min(13.2, 11.74) = 11.74.
    # d = (2.8, 3.4), d . d = 7.84 + 11.56 = 19.4,
    # lr = 0.48 * (11.74 - 0.5 * 11.74) / 19.4 = 2.8176 / 19.4 = 0.145237113402061...
    # w = (1.4 - lr * 2.8, 3.4 - lr * 3.4) = (0.993336082474226..., 2.906193814432989...).
    # Then L_min = 11.74 * 1.1 = 12.914.
    _quadratic_step(method, weights, loss_offset=4.0)
    assert method.get_last_lr() == [pytest.approx(0.145237113402061, rel=1e-12)]
    assert _values(weights) == pytest.approx([0.993336082474226, 2.906193814432989], rel=1e-12)
    assert method.min_loss == pytest.approx(12.914, rel=REL_TOL)


def test_l4_sums_direction_over_param_groups():
    # The same first step as above with w1 and w2 in separate groups: d . d = 4^2 + 4^2 = 32.
    first = _weights(2.0)
    second = _weights(4.0)
    method = L4SGD([{"params": [first]}, {"params": [second]}], alpha=0.48, min_loss_factor=0.5)

    method.optimizer.zero_grad()
    loss = 0.5 * (2 * first**2 + second**2).sum() + 4.0
    loss.backward()
    method.step(loss)

    assert method.get_last_lr() == [pytest.approx(0.15, rel=REL_TOL)] * 2
    assert first.item() == pytest.approx(1.4, rel=REL_TOL)
    assert second.item() == pytest.approx(3.4, rel=REL_TOL)


def test_l4_direction_includes_weight_decay():
    weights = _weights(2.0, 4.0)
    method = L4SGD([weights], alpha=0.5, weight_decay=0.5, min_loss_factor=0.5)

    # L = 16 as above, L_min = 12. d = (2.5 * 2, 1.5 * 4) = (5, 6), d . d = 61.
    # lr = 0.5 * (16 - 6) / 61 = 5 / 61. w = (2 - 25 / 61, 4 - 30 / 61) = (97 / 61, 214 / 61).
    _quadratic_step(method, weights, loss_offset=4.0)

    assert method.get_last_lr() == [pytest.approx(5 / 61, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([97 / 61, 214 / 61], rel=REL_TOL)


@pytest.mark.parametrize("loss", [math.nan, math.inf, -1.0])
def test_l4_rejects_invalid_loss(loss):
    weights = _weights(2.0, 4.0)
    method = L4SGD([weights], alpha=0.1)
    _quadratic(weights).backward()

    with pytest.raises(ValueError, match="L4 needs a"):
        method.step(torch.tensor(loss))

    assert method.min_loss is None
    assert _values(weights) == [2.0, 4.0]


# Hypergradient descent


def test_hd_first_two_steps_by_hand():
    weights = _weights(1.0, 2.0)
    method = HypergradientSGD([weights], lr=0.1, hyper_lr=0.01)
    assert method.get_last_lr() == [0.1]

    # Step 1: d_0 = (2, 2), d_{-1} = 0 so lr = 0.1. w = (1 - 0.2, 2 - 0.2) = (0.8, 1.8).
    _quadratic_step(method, weights)
    assert method.get_last_lr() == [pytest.approx(0.1, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.8, 1.8], rel=REL_TOL)

    # Step 2: d_1 = (1.6, 1.8), d_1 . d_0 = 3.2 + 3.6 = 6.8, lr = 0.1 + 0.01 * 6.8 = 0.168.
    # w = (0.8 - 0.168 * 1.6, 1.8 - 0.168 * 1.8) = (0.8 - 0.2688, 1.8 - 0.3024) = (0.5312, 1.4976).
    _quadratic_step(method, weights)
    assert method.get_last_lr() == [pytest.approx(0.168, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.5312, 1.4976], rel=REL_TOL)


def test_hd_first_two_steps_with_weight_decay():
    weights = _weights(1.0, 2.0)
    method = HypergradientSGD([weights], lr=0.1, hyper_lr=0.01, weight_decay=0.5)

    # Step 1: d_0 = (2.5 * 1, 1.5 * 2) = (2.5, 3), lr = 0.1. w = (1 - 0.25, 2 - 0.3) = (0.75, 1.7).
    _quadratic_step(method, weights)
    assert method.get_last_lr() == [pytest.approx(0.1, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.75, 1.7], rel=REL_TOL)

    # Step 2: d_1 = (2.5 * 0.75, 1.5 * 1.7) = (1.875, 2.55), d_1 . d_0 = 4.6875 + 7.65 = 12.3375.
    # lr = 0.1 + 0.01 * 12.3375 = 0.223375.
    # w = (0.75 - 0.223375 * 1.875, 1.7 - 0.223375 * 2.55) = (0.75 - 0.418828125, 1.7 - 0.56960625)
    #   = (0.331171875, 1.13039375).
    _quadratic_step(method, weights)
    assert method.get_last_lr() == [pytest.approx(0.223375, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.331171875, 1.13039375], rel=REL_TOL)


def test_hd_non_finite_gradient_changes_nothing():
    weights = _weights(1.0, 2.0)
    method = HypergradientSGD([weights], lr=0.1, hyper_lr=0.01)
    _quadratic_step(method, weights)
    weights_before = _values(weights)

    method.optimizer.zero_grad()
    weights.grad = torch.tensor([math.inf, 1.0], dtype=torch.float64)
    with pytest.raises(FloatingPointError, match="non-finite LR"):
        method.step(torch.tensor(1.0))

    assert method.lr == pytest.approx(0.1, rel=REL_TOL)
    assert _values(weights) == weights_before


# RTHO


def test_rtho_first_two_steps_by_hand():
    weights = _weights(1.0, 2.0)
    method = RealTimeHyperSGD([weights], lr=0.1, hyper_lr=0.01)
    assert method.get_last_lr() == [0.1]

    # Step 1: Z_0 = 0 so h = 0 and lr = 0.1. d_0 = (2, 2), w = (0.8, 1.8).
    # Z_1 = Z_0 - 0.1 * A Z_0 - d_0 = (-2, -2).
    _quadratic_step(method, weights)
    assert method.get_last_lr() == [pytest.approx(0.1, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.8, 1.8], rel=REL_TOL)
    assert _values(method.tangent[0]) == pytest.approx([-2.0, -2.0], rel=REL_TOL)

    # Step 2: d_1 = (1.6, 1.8), h = d_1 . Z_1 = -3.2 - 3.6 = -6.8, lr = 0.1 - 0.01 * (-6.8) = 0.168.
    # w = (0.8 - 0.168 * 1.6, 1.8 - 0.168 * 1.8) = (0.5312, 1.4976).
    # A Z_1 = (-4, -2), Z_2 = Z_1 - 0.168 * A Z_1 - d_1 = (-2 + 0.672 - 1.6, -2 + 0.336 - 1.8)
    #     = (-2.928, -3.464).
    _quadratic_step(method, weights)
    assert method.get_last_lr() == [pytest.approx(0.168, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.5312, 1.4976], rel=REL_TOL)
    assert _values(method.tangent[0]) == pytest.approx([-2.928, -3.464], rel=REL_TOL)


def test_rtho_first_two_steps_with_weight_decay():
    weights = _weights(1.0, 2.0)
    method = RealTimeHyperSGD([weights], lr=0.1, hyper_lr=0.01, weight_decay=0.5)

    # Step 1: d_0 = (2.5, 3), lr = 0.1, w = (0.75, 1.7), Z_1 = -d_0 = (-2.5, -3).
    _quadratic_step(method, weights)
    assert method.get_last_lr() == [pytest.approx(0.1, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.75, 1.7], rel=REL_TOL)
    assert _values(method.tangent[0]) == pytest.approx([-2.5, -3.0], rel=REL_TOL)

    # Step 2: d_1 = (1.875, 2.55), h = d_1 . Z_1 = -4.6875 - 7.65 = -12.3375, lr = 0.223375.
    # w = (0.331171875, 1.13039375) as for HD with weight decay.
    # (A + 0.5 I) Z_1 = (2.5 * -2.5, 1.5 * -3) = (-6.25, -4.5).
    # Z_2 = Z_1 - 0.223375 * (-6.25, -4.5) - d_1
    #     = (-2.5 + 1.39609375 - 1.875, -3 + 1.0051875 - 2.55) = (-2.97890625, -4.5448125).
    _quadratic_step(method, weights)
    assert method.get_last_lr() == [pytest.approx(0.223375, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.331171875, 1.13039375], rel=REL_TOL)
    assert _values(method.tangent[0]) == pytest.approx([-2.97890625, -4.5448125], rel=REL_TOL)


def test_rtho_hessian_tangent_product_is_a_times_z():
    generator = torch.Generator().manual_seed(0)
    factor = torch.randn(3, 3, generator=generator, dtype=torch.float64)
    matrix = factor @ factor.T + torch.eye(3, dtype=torch.float64)
    offset = torch.randn(3, generator=generator, dtype=torch.float64)
    weights = torch.nn.Parameter(torch.randn(3, generator=generator, dtype=torch.float64))
    weight_decay = 0.1
    method = RealTimeHyperSGD([weights], lr=0.05, hyper_lr=1e-3, weight_decay=weight_decay)

    for _ in range(4):
        method.optimizer.zero_grad()
        method.backward(0.5 * weights @ matrix @ weights - offset @ weights)
        direction = weights.grad + weight_decay * weights.detach()
        tangent = method.tangent[0].clone()
        method.step(torch.tensor(0.0))

        # Z_{t+1} = Z_t - lr_t * (H Z_t + wd * Z_t) - d_t, solved for H Z_t.
        lr = method.get_last_lr()[0]
        hessian_tangent = (tangent - direction - method.tangent[0]) / lr - weight_decay * tangent
        assert _values(hessian_tangent) == pytest.approx(_values(matrix @ tangent), rel=1e-9, abs=1e-12)


def test_rtho_tangent_matches_finite_difference():
    # With hyper_lr = 0 the LR is constant, so Z_T is d w_T / d lr of plain SGD.
    def sgd_weights(lr, steps=6):
        weights = torch.tensor([0.7, -1.2], dtype=torch.float64)
        for _ in range(steps):
            weights = weights - lr * (2 * A_DIAG * weights + weights**3)
        return weights

    weights = _weights(0.7, -1.2)
    method = RealTimeHyperSGD([weights], lr=0.1, hyper_lr=0.0)
    for _ in range(6):
        method.optimizer.zero_grad()
        method.backward((A_DIAG * weights**2).sum() + 0.25 * (weights**4).sum())
        method.step(torch.tensor(0.0))

    delta = 1e-6
    central_difference = (sgd_weights(0.1 + delta) - sgd_weights(0.1 - delta)) / (2 * delta)
    assert _values(weights) == pytest.approx(_values(sgd_weights(0.1)), rel=1e-12)
    assert _values(method.tangent[0]) == pytest.approx(_values(central_difference), rel=1e-6)


def test_rtho_tangent_follows_gradient_clipping():
    # Clipping to norm 0.5 is active at every step, so Z_T is d w_T / d lr of clipped SGD.
    max_norm = 0.5

    def gradient(weights):
        return 2 * A_DIAG * weights + weights**3

    def clipped_sgd_weights(lr, steps=6):
        weights = torch.tensor([0.7, -1.2], dtype=torch.float64)
        for _ in range(steps):
            grad = gradient(weights)
            # clip_grad_norm_ divides by the norm plus 1e-6.
            weights = weights - lr * grad * min(1.0, max_norm / (float(grad.norm()) + 1e-6))
        return weights

    weights = _weights(0.7, -1.2)
    method = RealTimeHyperSGD([weights], lr=0.1, hyper_lr=0.0)
    for _ in range(6):
        method.optimizer.zero_grad()
        method.backward((A_DIAG * weights**2).sum() + 0.25 * (weights**4).sum())
        assert float(weights.grad.norm()) > max_norm
        torch.nn.utils.clip_grad_norm_([weights], max_norm)
        method.step(torch.tensor(0.0))

    delta = 1e-6
    central_difference = (clipped_sgd_weights(0.1 + delta) - clipped_sgd_weights(0.1 - delta)) / (2 * delta)
    assert _values(weights) == pytest.approx(_values(clipped_sgd_weights(0.1)), rel=1e-12)
    # The tangent treats the clip factor as max_norm / norm, so the 1e-6 shifts it slightly.
    assert _values(method.tangent[0]) == pytest.approx(_values(central_difference), rel=1e-5)


def test_rtho_uses_clipped_gradient():
    weights = _weights(1.0, 2.0)
    method = RealTimeHyperSGD([weights], lr=0.1, hyper_lr=0.01)

    method.backward(_quadratic(weights))
    assert _values(weights.grad) == [2.0, 2.0]
    weights.grad.mul_(0.5)
    method.step(torch.tensor(0.0))

    # d_0 = 0.5 * (2, 2) = (1, 1), so w = (0.9, 1.9) and Z_1 = (-1, -1).
    assert _values(weights) == pytest.approx([0.9, 1.9], rel=REL_TOL)
    assert _values(method.tangent[0]) == pytest.approx([-1.0, -1.0], rel=REL_TOL)


def test_rtho_unused_parameter_gets_zero_gradient():
    used = _weights(1.0, 2.0)
    unused = _weights(3.0)
    method = RealTimeHyperSGD([used, unused], lr=0.1, hyper_lr=0.01)

    for _ in range(2):
        method.optimizer.zero_grad()
        method.backward(_quadratic(used))
        method.step(torch.tensor(0.0))

    assert _values(unused.grad) == [0.0]
    assert _values(unused) == [3.0]
    assert _values(method.tangent[1]) == [0.0]
    assert _values(used) == pytest.approx([0.5312, 1.4976], rel=REL_TOL)


def test_rtho_step_without_backward_raises():
    weights = _weights(1.0, 2.0)
    method = RealTimeHyperSGD([weights], lr=0.1, hyper_lr=0.01)
    loss = _quadratic(weights)
    loss.backward()

    with pytest.raises(RuntimeError, match=r"Call method.backward\(loss\) in place of loss.backward\(\)"):
        method.step(loss)

    assert _values(weights) == [1.0, 2.0]


def test_rtho_second_step_needs_new_backward():
    weights = _weights(1.0, 2.0)
    method = RealTimeHyperSGD([weights], lr=0.1, hyper_lr=0.01)
    _quadratic_step(method, weights)

    with pytest.raises(RuntimeError, match="needs the gradient graph"):
        method.step(torch.tensor(0.0))


# Validation strategy


def test_val_strategy_two_epochs_by_hand():
    weights = _weights(1.0, 2.0)
    method = ValStrategy(torch.optim.SGD([weights], lr=0.1))
    assert method.get_last_lr() == [0.1]

    # Epoch 0: lr = 0.1, d = (2, 2), w = (0.8, 1.8). Loss 5 beats the initial best (inf), so the LR stays 0.1.
    _quadratic_step(method, weights)
    method.end_epoch(0, val_loss=5.0)
    assert method.get_last_lr() == [pytest.approx(0.1, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.8, 1.8], rel=REL_TOL)
    assert method.optimizer.param_groups[0]["lr"] == pytest.approx(0.1, rel=REL_TOL)

    # Epoch 1: lr = 0.1, d = (1.6, 1.8), w = (0.8 - 0.16, 1.8 - 0.18) = (0.64, 1.62).
    # Loss 6 does not beat 5, so the LR becomes 0.1 * 0.25 = 0.025.
    _quadratic_step(method, weights)
    method.end_epoch(1, val_loss=6.0)
    assert method.get_last_lr() == [pytest.approx(0.1, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.64, 1.62], rel=REL_TOL)
    assert method.optimizer.param_groups[0]["lr"] == pytest.approx(0.025, rel=REL_TOL)

    # Epoch 2 steps with the cut LR: d = (1.28, 1.62), w = (0.64 - 0.032, 1.62 - 0.0405) = (0.608, 1.5795).
    _quadratic_step(method, weights)
    assert method.get_last_lr() == [pytest.approx(0.025, rel=REL_TOL)]
    assert _values(weights) == pytest.approx([0.608, 1.5795], rel=REL_TOL)


def test_val_strategy_cuts_lr_on_equal_loss():
    weights = _weights(1.0, 2.0)
    method = ValStrategy(torch.optim.Adam([weights], lr=1e-3))

    method.end_epoch(0, val_loss=2.0)
    method.end_epoch(1, val_loss=2.0)

    assert method.optimizer.param_groups[0]["lr"] == pytest.approx(2.5e-4, rel=REL_TOL)


def test_val_strategy_prefers_validation_callable():
    weights = _weights(1.0, 2.0)
    validation_losses = [1.0, 0.5, 0.7]
    method = ValStrategy(
        torch.optim.SGD([weights], lr=0.1),
        factor=0.5,
        validation_loss=lambda: validation_losses.pop(0),
    )

    # The passed test losses rise, but the validation losses fall, so the LR stays.
    method.end_epoch(0, val_loss=1.0)
    method.end_epoch(1, val_loss=9.0)
    assert method.optimizer.param_groups[0]["lr"] == pytest.approx(0.1, rel=REL_TOL)

    # Without val_loss the callable still supplies the loss, and 0.7 does not beat 0.5.
    method.end_epoch(2, val_loss=None)
    assert method.optimizer.param_groups[0]["lr"] == pytest.approx(0.05, rel=REL_TOL)


@pytest.mark.parametrize(
    ("val_loss", "match"),
    [(None, "needs a validation loss, got None"), (math.nan, "must be finite, got nan"), (math.inf, "got inf")],
)
def test_val_strategy_rejects_missing_or_non_finite_loss(val_loss, match):
    method = ValStrategy(torch.optim.SGD([_weights(1.0)], lr=0.1))
    method.end_epoch(0, val_loss=1.0)

    with pytest.raises(ValueError, match=match):
        method.end_epoch(1, val_loss=val_loss)

    assert method.optimizer.param_groups[0]["lr"] == 0.1


# Resume, shared by the four methods


def _nonlinear_loss(weights):
    # Positive, so that L4 accepts it, and not quadratic, so that RTHO's Hessian changes.
    return _quadratic(weights) + 0.25 * (weights**4).sum() + 1.0


# Validation losses per epoch: the rises at epochs 2 and 4 cut the LR of ValStrategy.
VALIDATION_LOSSES = [5.0, 4.0, 4.5, 3.0, 3.5]

METHOD_FACTORIES = {
    "l4": lambda params: L4SGD(params, alpha=0.15, weight_decay=0.01),
    "hd": lambda params: HypergradientSGD(params, lr=0.05, hyper_lr=0.01, weight_decay=0.01),
    "rtho": lambda params: RealTimeHyperSGD(params, lr=0.05, hyper_lr=0.01, weight_decay=0.01),
    "val-sgd": lambda params: ValStrategy(torch.optim.SGD(params, lr=0.1)),
    "val-adam": lambda params: ValStrategy(torch.optim.Adam(params, lr=0.1)),
}


def _run_steps(method, weights, first_step, last_step):
    """Run steps first_step..last_step - 1, one per epoch, and return the LRs they used."""
    lrs = []
    for step in range(first_step, last_step):
        method.optimizer.zero_grad()
        loss = _nonlinear_loss(weights)
        _backward(method, loss)
        method.step(loss)
        lrs.append(method.get_last_lr()[0])
        method.end_epoch(step, VALIDATION_LOSSES[step])
    return lrs


@pytest.mark.parametrize("kind", sorted(METHOD_FACTORIES))
def test_resume_continues_identically(kind):
    make_method = METHOD_FACTORIES[kind]
    weights = _weights(1.0, -2.0)
    uninterrupted = make_method([weights])
    expected_lrs = _run_steps(uninterrupted, weights, 0, 5)

    first_weights = _weights(1.0, -2.0)
    first = make_method([first_weights])
    lrs = _run_steps(first, first_weights, 0, 3)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)

    resumed_weights = torch.nn.Parameter(first_weights.detach().clone())
    resumed = make_method([resumed_weights])
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    assert resumed.get_last_lr() == first.get_last_lr()
    lrs += _run_steps(resumed, resumed_weights, 3, 5)

    assert lrs == expected_lrs
    assert _values(resumed_weights) == _values(weights)


def test_resume_driver_cuts_val_lr():
    # The resume test above must cover an LR cut, or it would not test the scheduler state.
    weights = _weights(1.0, -2.0)
    method = METHOD_FACTORIES["val-sgd"]([weights])

    lrs = _run_steps(method, weights, 0, 5)

    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.025, 0.025], rel=REL_TOL)


@pytest.mark.parametrize("kind", ["hd", "rtho"])
def test_load_state_dict_rejects_other_parameters(kind):
    weights = _weights(1.0, -2.0)
    method = METHOD_FACTORIES[kind]([weights])
    _run_steps(method, weights, 0, 1)
    state = method.state_dict()

    with pytest.raises(ValueError, match="has shape"):
        METHOD_FACTORIES[kind]([_weights(1.0, -2.0, 3.0)]).load_state_dict(state)
    with pytest.raises(ValueError, match="for a parameter count of 1, but this method optimizes 2"):
        METHOD_FACTORIES[kind]([_weights(1.0, -2.0), _weights(3.0)]).load_state_dict(state)


# Input checks


@pytest.mark.parametrize(
    ("make_method", "match"),
    [
        (lambda p: L4SGD(p, alpha=0.0), "alpha must be a positive finite number, got 0.0"),
        (lambda p: L4SGD(p, alpha=-0.1), "alpha must be a positive finite number, got -0.1"),
        (lambda p: L4SGD(p, alpha=math.nan), "alpha must be a positive finite number, got nan"),
        (lambda p: L4SGD(p, alpha=0.1, weight_decay=-1e-4), r"weight_decay must be a finite number >= 0"),
        (lambda p: L4SGD(p, alpha=0.1, min_loss_factor=1.0), r"min_loss_factor must be in \[0, 1\), got 1.0"),
        (lambda p: L4SGD(p, alpha=0.1, min_loss_factor=math.nan), r"min_loss_factor must be in \[0, 1\)"),
        (lambda p: L4SGD(p, alpha=0.1, init_factor=0.0), r"init_factor must be in \(0, 1\], got 0.0"),
        (lambda p: L4SGD(p, alpha=0.1, init_factor=1.5), r"init_factor must be in \(0, 1\], got 1.5"),
        (lambda p: L4SGD(p, alpha=0.1, forget_time=0.0), "forget_time must be positive"),
        (lambda p: L4SGD(p, alpha=0.1, forget_time=math.nan), "forget_time must be positive"),
        (lambda p: L4SGD(p, alpha=0.1, eps=0.0), "eps must be a positive finite number, got 0.0"),
        (lambda p: HypergradientSGD(p, lr=-0.1, hyper_lr=0.01), "lr must be a finite number >= 0, got -0.1"),
        (lambda p: HypergradientSGD(p, lr=math.inf, hyper_lr=0.01), "lr must be a finite number >= 0, got inf"),
        (lambda p: HypergradientSGD(p, lr=0.1, hyper_lr=-0.01), "hyper_lr must be a finite number >= 0, got -0.01"),
        (lambda p: HypergradientSGD(p, lr=0.1, hyper_lr=math.nan), "hyper_lr must be a finite number >= 0, got nan"),
        (lambda p: HypergradientSGD(p, lr=0.1, hyper_lr=0.01, weight_decay=math.nan), "weight_decay must be"),
        (lambda p: RealTimeHyperSGD(p, lr=math.nan, hyper_lr=0.01), "lr must be a finite number >= 0, got nan"),
        (lambda p: RealTimeHyperSGD(p, lr=0.1, hyper_lr=-1.0), "hyper_lr must be a finite number >= 0, got -1.0"),
        (lambda p: RealTimeHyperSGD(p, lr=0.1, hyper_lr=0.01, weight_decay=-1.0), "weight_decay must be"),
        (lambda p: ValStrategy(torch.optim.SGD(p, lr=0.1), factor=1.0), r"factor must be in \(0, 1\), got 1.0"),
        (lambda p: ValStrategy(torch.optim.SGD(p, lr=0.1), factor=0.0), r"factor must be in \(0, 1\), got 0.0"),
        (lambda p: ValStrategy(torch.optim.SGD(p, lr=0.1), factor=math.nan), r"factor must be in \(0, 1\)"),
    ],
)
def test_invalid_hyperparameter_raises(make_method, match):
    with pytest.raises(ValueError, match=match):
        make_method([_weights(1.0, 2.0)])


@pytest.mark.parametrize(
    "make_method",
    [
        lambda groups: L4SGD(groups, alpha=0.1),
        lambda groups: HypergradientSGD(groups, lr=0.1, hyper_lr=0.01),
        lambda groups: RealTimeHyperSGD(groups, lr=0.1, hyper_lr=0.01),
    ],
)
def test_param_group_with_momentum_raises(make_method):
    groups = [{"params": [_weights(1.0)]}, {"params": [_weights(2.0)], "momentum": 0.9}]

    with pytest.raises(ValueError, match="param group 1 sets momentum 0.9"):
        make_method(groups)


def test_val_strategy_rejects_wrong_types():
    optimizer = torch.optim.SGD([_weights(1.0)], lr=0.1)

    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer, got list"):
        ValStrategy([_weights(1.0)])
    with pytest.raises(TypeError, match="validation_loss must be a callable"):
        ValStrategy(optimizer, validation_loss=0.5)
