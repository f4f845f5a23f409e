"""Flatness, evidence and information: numbers computed from a trained network's curvature (chapter 4).

* :func:`per_example_grads` -- the (n, P) matrix of per-example gradients (Fisher, gradient-noise covariance);
* :func:`fisher_trace` -- the trace of the Fisher information of a classifier,
  tr F(θ) = E_x E_{y ~ p_θ(·|x)} ||∇_θ log p_θ(y|x)||², exactly (a sum over the classes) or by sampling labels
  from the model (the estimator Achille et al. 2019 track during training to find critical periods);
  :func:`fisher_matrix` builds F itself for small nets (to check the trace against).
* :func:`occam_factor` -- the Laplace approximation's log evidence term of the curvature, -½ Σ log λᵢ over
  the given eigenvalues (flat directions cost less evidence: MacKay 1992);
* :func:`effective_dimensionality` -- Maddox et al.'s (2020) N_eff(H, z) = Σ λᵢ / (λᵢ + z): the number of
  directions the data determine, next to the raw parameter count;
* :func:`early_stopping_index` -- where a validation curve is lowest (the stopping point early stopping picks).

The eigenvalues come from :mod:`~dlgen_lib.landscape` (Lanczos on Hessian-vector products, or an exact Hessian).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from .config import generator
from .landscape import _eval_mode, _split


def per_example_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 500) -> torch.Tensor:
    """(n, P): the gradient of the cross-entropy of each example, -∇_θ log p_θ(y_i | x_i), flattened in the order
    of ``named_parameters``; ``vmap(grad(...))`` over ``chunk`` examples at a time. The model's mode is the
    caller's (use eval mode for a model with dropout)."""
    params, rest = _split(model)

    def loss(p, xi, yi):
        return F.cross_entropy(functional_call(model, {**p, **rest}, (xi[None],)), yi[None])

    g = vmap(grad(loss), in_dims=(None, 0, 0))
    rows = []
    for i in range(0, len(y), chunk):
        d = g(params, x[i:i + chunk], y[i:i + chunk])
        rows.append(torch.cat([d[name].reshape(len(d[name]), -1) for name in params], 1))
    return torch.cat(rows)


def _probs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return F.softmax(model(x), -1)


def fisher_trace(model: nn.Module, x: torch.Tensor, *, samples: int | None = None, seed: int = 0,
                 chunk: int = 256) -> float:
    """tr F(θ) on the inputs ``x`` (the model's predictive labels, not the data's: the true Fisher).

    ``samples=None`` sums over all C classes weighted by p_θ(c|x) (exact, C per-example gradients per input);
    ``samples=s`` draws s labels per input from p_θ(·|x) (unbiased, s per-example gradients per input).
    Evaluated in eval mode (no dropout); ``chunk`` inputs per vmap call bound the memory.

    >>> net = nn.Linear(1, 2, bias=False)
    >>> _ = net.weight.data.zero_()
    >>> round(fisher_trace(net, torch.ones(1, 1)), 6)  # p = (1/2, 1/2): two gradients of norm² 1/4 each
    0.5
    """
    if samples is not None and samples < 1:
        raise ValueError(f"samples={samples} must be a positive number of labels per input, or None (exact)")
    gen = generator(seed)
    total = 0.0
    with _eval_mode(model):
        for i in range(0, len(x), chunk):
            xb = x[i: i + chunk]
            p = _probs(model, xb)  # (b, C)
            b, C = p.shape
            if samples is None:
                xs, ys, w = xb.repeat_interleave(C, 0), torch.arange(C).repeat(b), p.reshape(-1)
            else:
                ys = torch.multinomial(p.cpu().double(), samples, replacement=True, generator=gen).reshape(-1)
                xs, w = xb.repeat_interleave(samples, 0), torch.full((b * samples,), 1.0 / samples)
            g2 = per_example_grads(model, xs, ys.to(x.device)).pow(2).sum(1)
            total += float((w.to(g2) * g2).sum())
    return total / len(x)


def fisher_matrix(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """F(θ) (P, P) = mean over x of Σ_c p_θ(c|x) g_c g_cᵀ with g_c = ∇_θ log p_θ(c|x); for small nets only."""
    with _eval_mode(model):
        p = _probs(model, x)
        n, C = p.shape
        g = per_example_grads(model, x.repeat_interleave(C, 0), torch.arange(C).repeat(n))  # (n C, P)
        return (g * p.reshape(-1, 1)).T @ g / n


def occam_factor(eigenvalues, floor: float = 0.0) -> float:
    """-½ Σ log λᵢ over the eigenvalues above ``floor`` (> 0): the curvature's part of the Laplace log evidence.

    Larger (less negative) means flatter. Only positive directions count, which is why the result depends on
    how many top eigenvalues are passed: compare minima with the same number.

    >>> occam_factor([1.0, np.e ** 2])
    -1.0
    """
    lam = np.asarray(eigenvalues, dtype=float)
    if floor < 0:
        raise ValueError(f"floor={floor} must be >= 0")
    keep = lam[lam > floor]
    return float(-0.5 * np.log(keep).sum())


def effective_dimensionality(eigenvalues, z: float) -> float:
    """N_eff = Σ λᵢ / (λᵢ + z) over the non-negative eigenvalues (Maddox et al. 2020); z > 0 plays the role
    of a prior precision: directions with curvature well above z count as one, well below as zero.

    >>> effective_dimensionality([100.0, 1.0, 0.0], z=1.0)
    1.49009900990099
    """
    if z <= 0:
        raise ValueError(f"z={z} must be positive")
    lam = np.clip(np.asarray(eigenvalues, dtype=float), 0.0, None)
    return float((lam / (lam + z)).sum())


def early_stopping_index(val_curve) -> np.ndarray | int:
    """The index of the lowest value of a validation curve (E,), the first one on ties; per row for (K, E).

    >>> early_stopping_index([0.5, 0.3, 0.3, 0.4])
    1
    """
    v = np.asarray(val_curve, dtype=float)
    if v.ndim not in (1, 2) or v.shape[-1] == 0:
        raise ValueError(f"a validation curve is (E,) or (K, E) with E >= 1, got shape {v.shape}")
    if np.isnan(v).any():
        raise ValueError("the validation curve has NaN entries")
    idx = v.argmin(-1)
    return int(idx) if v.ndim == 1 else idx
