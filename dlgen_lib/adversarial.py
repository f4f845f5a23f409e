"""Adversarial examples: the fast gradient sign method and projected gradient descent in an L∞ ball.

Both attacks take a ``forward`` function from inputs (K, n, ...) to logits (K, n, C), so that one call attacks
all K models of an :class:`~.train.Ensemble` at once (``lambda x: ens.forward(x, per_model_inputs=True)``), each
model on its own copy of the inputs.

* FGSM (Goodfellow et al. 2015): one step of size ε along the sign of the input gradient of the loss;
* PGD (Madry et al. 2018): ``steps`` steps of size ``step_size``, each followed by the projection back onto the
  ball ‖x' − x‖∞ ≤ ε, from the clean input (no random start, so an attack is deterministic). The default step,
  2.5 ε / steps, is a common choice (not the paper's, which set steps per data set): it lets the iterates reach
  any corner of the ball with room to spare.

For a linear *two-class* model FGSM is the exact worst case, and the robust accuracy has a closed form (a point
survives if its margin exceeds ε ‖w₁ − w₀‖₁); ``tests/test_adversarial.py`` checks both attacks against it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["attack", "robust_accuracy"]

Forward = Callable[[torch.Tensor], torch.Tensor]


def _check(eps: float, steps: int, step_size: float | None) -> None:
    if not eps >= 0:
        raise ValueError(f"eps={eps} must be a non-negative radius (L∞, in the units of the inputs)")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r} must be a positive integer (1 is FGSM, more is PGD)")
    if step_size is not None and not step_size > 0:
        raise ValueError(f"step_size={step_size} must be positive (or None for 2.5 eps / steps)")


def attack(forward: Forward, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 1,
           step_size: float | None = None) -> torch.Tensor:
    """Adversarial inputs (K, n, ...) within ‖x' − x‖∞ ≤ ``eps`` that raise the cross-entropy of ``forward``.

    Args:
        forward: inputs (K, n, ...) -> logits (K, n, C); its parameters are left untouched (no gradient is
            accumulated in them).
        x: clean inputs, (K, n, ...), one copy per model (``x.expand(K, *x.shape)`` shares one without copying).
        y: labels, (n,) or (K, n).
        eps: the radius of the L∞ ball.
        steps: 1 for FGSM (one step of size ``eps``); more for PGD.
        step_size: PGD's step; default 2.5 ``eps`` / ``steps``, so the iterates can reach any corner of the
            ball.
    """
    _check(eps, steps, step_size)
    if x.dim() < 3 or y.shape[-1] != x.shape[1]:
        raise ValueError(f"x must be (K, n, ...) and y (n,) or (K, n); got x {tuple(x.shape)}, y {tuple(y.shape)}")
    x0 = x.detach()
    k, n = x0.shape[:2]
    labels = (y if y.dim() == 2 else y.unsqueeze(0).expand(k, n)).reshape(-1)
    alpha = eps if steps == 1 else (step_size if step_size is not None else 2.5 * eps / steps)
    xa = x0.clone()
    for _ in range(steps):
        xa.requires_grad_(True)
        loss = F.cross_entropy(forward(xa).flatten(0, 1), labels, reduction="sum")
        (grad,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            xa = xa + alpha * grad.sign()
            xa = torch.minimum(torch.maximum(xa, x0 - eps), x0 + eps)
    return xa.detach()


@torch.no_grad()
def _accuracy(forward: Forward, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (forward(x).argmax(-1) == y).float().mean(-1)


def robust_accuracy(forward: Forward, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 1,
                    step_size: float | None = None, chunk: int = 2048) -> torch.Tensor:
    """Accuracy (K,) of each model on its own adversarial versions of (x (K, n, ...), y (n,)): see :func:`attack`.

    The attack runs in chunks of ``chunk`` inputs to bound memory."""
    _check(eps, steps, step_size)
    correct, total = None, 0
    for i in range(0, y.shape[-1], chunk):
        xb, yb = x[:, i: i + chunk], y[..., i: i + chunk]
        xa = attack(forward, xb, yb, eps, steps, step_size)
        c = _accuracy(forward, xa, yb) * yb.shape[-1]
        correct = c if correct is None else correct + c
        total += yb.shape[-1]
    return correct / total
