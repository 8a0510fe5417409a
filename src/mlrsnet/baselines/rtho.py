"""Real-time hyperparameter optimization of the LR of plain SGD, in forward mode."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from mlrsnet.baselines.plain_sgd import check_non_negative, dot, plain_sgd


class RealTimeHyperSGD:
    """SGD whose LR follows RTHO, real-time hyperparameter optimization in forward mode.

    RTHO comes from Franceschi et al., "Forward and Reverse Gradient-Based
    Hyperparameter Optimization", ICML 2017 (arXiv:1703.01785).

    The method carries the tangent ``Z_t = d w_t / d lr``, one tensor per parameter and
    zero at the start, through the SGD map ``w_{t+1} = w_t - lr * d_t`` with the
    direction ``d_t = grad_t + weight_decay * w_t``. Every step:

    1. The hypergradient is ``h_t = d_t . Z_t``, the derivative of the current
       mini-batch loss, plus the L2 penalty, with respect to the LR.
    2. The LR moves against it: ``lr_t = lr_{t-1} - hyper_lr * h_t``.
    3. SGD steps with ``lr_t``.
    4. The tangent follows the step:
       ``Z_{t+1} = Z_t - lr_t * (H_t Z_t + weight_decay * Z_t) - d_t``, where
       ``H_t Z_t`` is the Hessian-vector product of the mini-batch loss at ``w_t``.

    The hypergradient objective is the training loss of the next mini-batch, evaluated
    online as in hypergradient descent, not the loss on a validation set. ``Z_t`` is
    the derivative for an LR held constant over all past steps, as in the paper's
    real-time algorithm.

    Usage: call :meth:`backward` in place of ``loss.backward()``, because the
    Hessian-vector product needs the graph of the gradient. It writes detached
    gradients to ``p.grad``, which may be clipped by norm before :meth:`step`. ``d_t``
    then uses the clipped gradient, and the Hessian term uses the derivative of the
    clipped gradient, so ``Z_t`` stays the derivative of the weights SGD reaches.

    NOTE: the Hessian-vector product is a double backward, and PyTorch raises
    NotImplementedError for the double backward of cuDNN RNNs. Run the forward pass of
    an LSTM on CUDA inside ``torch.backends.cudnn.flags(enabled=False)``.

    One LR is shared by all param groups, and nothing keeps it positive. The
    parameters are those with ``requires_grad`` in the optimizer's groups.

    Args:
        params: Parameters or param groups to optimize. A group must not set momentum.
        lr: LR before the first update, a finite number >= 0. The first step uses it,
            because ``Z_0 = 0``.
        hyper_lr: Step size of the LR update, a finite number >= 0. 0 keeps the LR constant.
        weight_decay: L2 penalty coefficient, passed to the SGD optimizer.
        name: Name of the method in run records.

    Raises:
        ValueError: If a hyperparameter is NaN or outside its range, or a param group
            sets momentum.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        *,
        lr: float,
        hyper_lr: float,
        weight_decay: float = 0.0,
        name: str = "rtho",
    ) -> None:
        check_non_negative("hyper_lr", hyper_lr)
        self.name = name
        self.optimizer = plain_sgd(params, lr=lr, weight_decay=weight_decay, owner="RealTimeHyperSGD")
        self.hyper_lr = float(hyper_lr)
        self.lr = float(lr)
        # Parameters and their weight decay, in one fixed order shared by the tangent.
        self._params: list[torch.Tensor] = []
        self._weight_decays: list[float] = []
        for group in self.optimizer.param_groups:
            for param in group["params"]:
                if param.requires_grad:
                    self._params.append(param)
                    self._weight_decays.append(float(group["weight_decay"]))
        # Z_t in the notation of Franceschi et al.: d w_t / d lr for each parameter.
        self.tangent = [torch.zeros_like(param, memory_format=torch.contiguous_format) for param in self._params]
        # Gradients from backward() that are still attached to the graph at w_t.
        self._graph_grads: list[torch.Tensor] | None = None
        self._last_lr = [self.lr] * len(self.optimizer.param_groups)

    def backward(self, loss: torch.Tensor) -> None:
        """Compute the gradients of ``loss`` with their graph and write detached copies to ``p.grad``.

        Call it in place of ``loss.backward()``. It replaces ``p.grad`` instead of
        adding to it, and a parameter that ``loss`` does not use gets a zero gradient.
        """
        grads = torch.autograd.grad(loss, self._params, create_graph=True, allow_unused=True)
        graph_grads = []
        for param, grad in zip(self._params, grads):
            if grad is None:
                grad = torch.zeros_like(param)
            graph_grads.append(grad)
            param.grad = grad.detach().clone()
        self._graph_grads = graph_grads

    def _hessian_tangent_product(self, graph_grads: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Compute ``H_t Z_t`` per parameter from the gradient graph at ``w_t``, which frees the graph."""
        # A gradient without a graph is constant in w, so its rows of H_t are zero.
        connected = [index for index, grad in enumerate(graph_grads) if grad.requires_grad]
        products = [torch.zeros_like(param) for param in self._params]
        if not connected:
            return products
        columns = torch.autograd.grad(
            [graph_grads[index] for index in connected],
            self._params,
            grad_outputs=[self.tangent[index] for index in connected],
            allow_unused=True,
        )
        # autograd returns Z^T H, which equals H Z because the Hessian is symmetric.
        for index, column in enumerate(columns):
            if column is not None:
                products[index] = column.detach()
        return products

    def _through_clipping(self, hessian_tangent: list[torch.Tensor]) -> list[torch.Tensor]:
        """Return the derivative of the clipped gradient along Z_t, given ``H_t Z_t``.

        When the loop clipped the gradient g to norm ``tau``, SGD followed
        ``c(w) g(w)`` with ``c = tau / |g|``. Its derivative along Z is
        ``c (H Z - u (u . H Z))`` with ``u = g / |g|``. An unclipped gradient returns
        ``H_t Z_t`` unchanged.
        """
        graph_grads = [grad.detach() for grad in self._graph_grads]
        full_norm = math.sqrt(dot(graph_grads, graph_grads))
        used = [param.grad for param in self._params]
        used_norm = math.sqrt(dot(used, used))
        # A relative margin, because an unclipped gradient gives equal norms up to rounding.
        if full_norm == 0 or used_norm >= full_norm * (1 - 1e-6):
            return hessian_tangent
        coefficient = used_norm / full_norm
        along_gradient = dot(graph_grads, hessian_tangent) / full_norm**2
        return [
            coefficient * (product - along_gradient * grad) for product, grad in zip(hessian_tangent, graph_grads)
        ]

    def step(self, loss: torch.Tensor | float) -> None:
        """Update the LR by its hypergradient, perform the SGD step and advance the tangent.

        ``loss`` is unused, because :meth:`backward` took the gradients.

        Raises:
            RuntimeError: If :meth:`backward` was not called since the last step.
            FloatingPointError: If the new LR is not finite, which happens when a gradient
                or the tangent overflows. The training loop records the run as diverged.
                Nothing is changed then, and the graph is kept.
        """
        if self._graph_grads is None:
            raise RuntimeError(
                "RealTimeHyperSGD.step needs the gradient graph of the current loss. "
                "Call method.backward(loss) in place of loss.backward() before every step"
            )

        # Hypergradient: d_t . Z_t, where a missing gradient means SGD skips the parameter.
        directions: list[torch.Tensor | None] = []
        for param, weight_decay in zip(self._params, self._weight_decays):
            if param.grad is None:
                directions.append(None)
                continue
            direction = param.grad.detach().clone()
            if weight_decay != 0:
                direction.add_(param.detach(), alpha=weight_decay)
            directions.append(direction)
        hypergradient = dot(directions, self.tangent)
        lr = self.lr - self.hyper_lr * hypergradient
        if not math.isfinite(lr):
            raise FloatingPointError(
                f"the RTHO LR update gave a non-finite LR ({lr}) from the hypergradient {hypergradient}. "
                "Check the gradients for NaN or infinite values"
            )

        # H_t Z_t needs the graph at w_t, so it comes before SGD changes the weights.
        # Z_0 = 0 makes the product zero at the first step.
        if any(bool(tangent.any()) for tangent in self.tangent):
            hessian_tangent = self._hessian_tangent_product(self._graph_grads)
            hessian_tangent = self._through_clipping(hessian_tangent)
        else:
            hessian_tangent = [torch.zeros_like(param) for param in self._params]
        self._graph_grads = None

        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.lr = lr
        self._last_lr = [lr] * len(self.optimizer.param_groups)

        # Tangent update. SGD leaves a parameter without a gradient unchanged, so its Z stays.
        for index, direction in enumerate(directions):
            if direction is None:
                continue
            tangent = self.tangent[index]
            decayed = hessian_tangent[index].add(tangent, alpha=self._weight_decays[index])
            self.tangent[index] = tangent - lr * decayed - direction

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """Do nothing, because the LR adapts at every step."""

    def get_last_lr(self) -> list[float]:
        """Return the LR of each param group used by the last step, or ``lr`` before the first step."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer state, the LR and the tangent Z, for resuming.

        A pending gradient graph from :meth:`backward` is not saved, so save between steps.
        """
        return {
            "optimizer": self.optimizer.state_dict(),
            "lr": self.lr,
            "tangent": [tangent.clone() for tangent in self.tangent],
            "last_lr": list(self._last_lr),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict` of a ``RealTimeHyperSGD`` on the same parameters.

        Raises:
            ValueError: If the saved tangent does not match the parameters in number or shape.
        """
        saved_tangent = state_dict["tangent"]
        if len(saved_tangent) != len(self._params):
            raise ValueError(
                f"invalid state dict: it contains a tangent for a parameter count of {len(saved_tangent)}, "
                f"but this method optimizes {len(self._params)}. Load a state dict saved on the same parameters"
            )
        tangent = []
        for index, (param, saved) in enumerate(zip(self._params, saved_tangent)):
            if saved.shape != param.shape:
                raise ValueError(
                    f"invalid state dict: the tangent of parameter {index} has shape {tuple(saved.shape)}, "
                    f"but the parameter has shape {tuple(param.shape)}"
                )
            tangent.append(saved.detach().to(device=param.device, dtype=param.dtype, copy=True))

        self.optimizer.load_state_dict(state_dict["optimizer"])
        self.lr = float(state_dict["lr"])
        self.tangent = tangent
        self._graph_grads = None
        self._last_lr = [float(lr) for lr in state_dict["last_lr"]]
