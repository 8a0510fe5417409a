"""The update direction d of the base optimizer's next step, so that the step is w <- w - lr * d.

The look-ahead needs ``d`` to take the virtual step ``w' = w - lr(phi) * d``. ``d`` is what
the real step of the same iteration applies: the current (possibly clipped) gradient with
the optimizer's weight decay, momentum buffer or Adam moments folded in. Computing ``d``
reads the optimizer state and never writes it.

Supported: ``torch.optim.SGD`` (momentum, dampening, Nesterov, weight decay, maximize) and
``torch.optim.Adam`` / ``AdamW`` (L2 or decoupled weight decay, amsgrad, maximize).
For decoupled weight decay ``w <- w - lr * wd * w - lr * adam_step``, which is still
``w - lr * d`` with ``d = wd * w + adam_step``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

SUPPORTED_OPTIMIZERS = ("torch.optim.SGD", "torch.optim.Adam", "torch.optim.AdamW")


@torch.no_grad()
def update_direction(
    optimizer: torch.optim.Optimizer, group_scales: Sequence[float] | None = None
) -> dict[torch.Tensor, torch.Tensor]:
    """Return ``{parameter: d}`` for every parameter that the next ``optimizer.step()`` moves.

    Args:
        optimizer: the base optimizer, after ``backward()`` and any gradient clipping.
        group_scales: per param group, the group's LR divided by the scheduled LR, so
            that one scalar LR moves every group as the real step does (1 when None).

    Parameters without a gradient are left out, as the optimizer skips them.

    Raises:
        TypeError: for an optimizer other than SGD, Adam or AdamW.
    """
    if not isinstance(optimizer, (torch.optim.SGD, torch.optim.Adam)):
        raise TypeError(
            f"the look-ahead needs the update direction of the base optimizer, which is known for "
            f"{', '.join(SUPPORTED_OPTIMIZERS)}; got {type(optimizer).__module__}.{type(optimizer).__name__}"
        )
    groups = optimizer.param_groups
    scales = [1.0] * len(groups) if group_scales is None else [float(s) for s in group_scales]
    if len(scales) != len(groups):
        raise ValueError(f"got {len(scales)} group_scales for an optimizer with {len(groups)} param groups")
    directions: dict[torch.Tensor, torch.Tensor] = {}
    for group, scale in zip(groups, scales):
        for param in group["params"]:
            if param.grad is None:
                continue
            if param.grad.is_sparse:
                raise TypeError("the look-ahead does not support sparse gradients; use dense embeddings")
            state = optimizer.state.get(param, {})
            if isinstance(optimizer, torch.optim.SGD):
                d = _sgd_direction(param, group, state)
            else:
                d = _adam_direction(param, group, state, isinstance(optimizer, torch.optim.AdamW))
            directions[param] = d if scale == 1.0 else d.mul_(scale)
    return directions


def _sgd_direction(param: torch.Tensor, group: dict, state: dict) -> torch.Tensor:
    grad = -param.grad if group.get("maximize", False) else param.grad
    weight_decay = group["weight_decay"]
    d = grad.add(param, alpha=weight_decay) if weight_decay != 0 else grad.clone()
    momentum = group["momentum"]
    if momentum == 0:
        return d

    # torch.optim.SGD starts the buffer at the first gradient, without dampening.
    previous = state.get("momentum_buffer")
    if previous is None:
        buffer = d.clone()
    else:
        buffer = previous.mul(momentum).add_(d, alpha=1 - group["dampening"])
    if group["nesterov"]:
        return d.add_(buffer, alpha=momentum)
    return buffer


def _adam_direction(param: torch.Tensor, group: dict, state: dict, is_adamw: bool) -> torch.Tensor:
    grad = -param.grad if group.get("maximize", False) else param.grad
    beta1, beta2 = group["betas"]
    weight_decay = group["weight_decay"]
    decoupled = group.get("decoupled_weight_decay", is_adamw)
    if weight_decay != 0 and not decoupled:
        grad = grad.add(param, alpha=weight_decay)

    # The moments and bias corrections after this step, as Adam will compute them.
    step = float(state["step"]) + 1 if "step" in state else 1.0
    if "exp_avg" in state:
        exp_avg = state["exp_avg"].lerp(grad, 1 - beta1)
        exp_avg_sq = state["exp_avg_sq"].mul(beta2).addcmul_(grad, grad, value=1 - beta2)
    else:
        exp_avg = grad.mul(1 - beta1)
        exp_avg_sq = grad.mul(grad).mul_(1 - beta2)
    if group["amsgrad"]:
        previous_max = state.get("max_exp_avg_sq")
        if previous_max is not None:
            exp_avg_sq = torch.maximum(previous_max, exp_avg_sq)
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(group["eps"])
    d = exp_avg.div_(denom).div_(bias_correction1)
    if weight_decay != 0 and decoupled:
        d.add_(param, alpha=weight_decay)
    return d
