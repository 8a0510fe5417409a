"""The look-ahead (virtual step) of Algorithm 1 and the meta-gradient it yields.

The virtual step is ``w' = w - lr * d`` with ``d`` the base optimizer's update direction.
``d`` does not depend on the schedule net's parameters phi, so by the chain rule

    dL_val(w')/dphi = dL_val(w')/dlr * dlr/dphi,    dL_val(w')/dlr = -<grad L_val(w'), d>.

:func:`lookahead_lr_gradient` returns ``dL_val/dlr`` at the cost of one forward and one
backward pass on the meta-data batch. The caller back-propagates it into phi through
``lr`` with ``lr.backward(dL_val/dlr)``. :func:`lookahead_reference` computes the same
value by differentiating through the whole virtual step, for tests.

Both run the model as the caller wrote it, through ``torch.func.functional_call``: the
real parameters, buffers (BatchNorm running statistics) and ``.grad`` fields are not
touched. The model keeps its train/eval mode, so dropout and BatchNorm batch statistics
act in the look-ahead as in the real training step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

# batch_loss(forward, batch) -> scalar loss, where forward(*inputs) runs the model.
BatchLoss = Callable[[Callable[..., Any], Any], torch.Tensor]


def lookahead_lr_gradient(
    model: nn.Module,
    batch_loss: BatchLoss,
    meta_batch: Any,
    directions: Mapping[torch.Tensor, torch.Tensor],
    lr: float | torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Take the virtual step and return ``(L_val(w'), dL_val(w')/dlr)``, both detached.

    Args:
        model: the model being trained, left unchanged.
        batch_loss: computes the meta-data loss from a forward callable and a batch.
        meta_batch: one batch of meta-data.
        directions: ``{parameter: d}`` from :func:`mlrsnet.core.direction.update_direction`.
            Parameters not in it stay at their current value.
        lr: the scheduled learning rate of this step (a float or a 0-d tensor).
    """
    step_size = float(lr)
    moved = []
    virtual: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():
        d = directions.get(param)
        if d is None:
            virtual[name] = param.detach()
            continue
        w_virtual = torch.add(param.detach(), d, alpha=-step_size).requires_grad_(True)
        virtual[name] = w_virtual
        moved.append((w_virtual, d))
    if not moved:
        raise ValueError("the look-ahead has nothing to move: no model parameter has a gradient in the optimizer")

    # Copies of the buffers, so that BatchNorm's running statistics stay as they were.
    virtual.update({name: buffer.clone() for name, buffer in model.named_buffers()})

    def forward(*args: Any, **kwargs: Any) -> Any:
        return functional_call(model, virtual, args, kwargs)

    with torch.enable_grad():
        meta_loss = batch_loss(forward, meta_batch)
        _check_scalar_loss(meta_loss)
        grads = torch.autograd.grad(meta_loss, [w for w, _ in moved], allow_unused=True)

    # dL/dlr = -<grad L_val(w'), d>, accumulated in float64 (float32 on MPS, which has no float64).
    dtype = torch.float32 if meta_loss.device.type == "mps" else torch.float64
    lr_gradient = torch.zeros((), dtype=dtype, device=meta_loss.device)
    for grad, (_, d) in zip(grads, moved):
        if grad is not None:
            lr_gradient -= torch.sum(grad.to(dtype) * d.to(dtype)).to(lr_gradient.device)
    return meta_loss.detach(), lr_gradient


def lookahead_reference(
    model: nn.Module,
    batch_loss: BatchLoss,
    meta_batch: Any,
    directions: Mapping[torch.Tensor, torch.Tensor],
    lr: torch.Tensor,
) -> torch.Tensor:
    """Return ``L_val(w - lr * d)`` as a differentiable function of ``lr``.

    A slow, plainly written reference for :func:`lookahead_lr_gradient`: the virtual step
    stays in the autograd graph, so ``torch.autograd.grad`` through it gives the
    meta-gradient directly. It also leaves the model unchanged.
    """
    virtual: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():
        d = directions.get(param)
        virtual[name] = param.detach() if d is None else param.detach() - lr * d
    for name, buffer in model.named_buffers():
        virtual[name] = buffer.clone()

    def forward(*args: Any, **kwargs: Any) -> Any:
        return functional_call(model, virtual, args, kwargs)

    meta_loss = batch_loss(forward, meta_batch)
    _check_scalar_loss(meta_loss)
    return meta_loss


def _check_scalar_loss(loss: Any) -> None:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"the meta-data loss must be a scalar tensor, got {shape}; reduce it with mean()")
