"""SGD out of equilibrium: the stationary state of linear SGD with anisotropic noise, its probability current,
and the local entropy of a landscape.

**Linear SGD.** Near a minimum, SGD on a quadratic loss ½ xᵀHx with gradient noise of covariance C (per step,
at batch size B: C = Σ/B) is the linear recursion x_{t+1} = A x_t + η ξ_t, A = I − ηH, Cov ξ = C. Its stationary
covariance S solves the discrete Lyapunov equation S = A S Aᵀ + η² C (:func:`stationary_covariance`); as η → 0,
S/η solves the continuous one, H S' + S' H = C, the Ornstein–Uhlenbeck process dx = −Hx dt + √(ηC) dW.

Write the OU process as dx = −Hx dt + √C dW, with stationary covariance S' (H S' + S' H = C). It is in *detailed
balance* (its stationary density carries no probability current) iff H S' is symmetric, which for symmetric H
and C means that C commutes with H (shares its eigenvectors). Its stationary density is the Gibbs density
exp(−xᵀHx / 2T) of the loss only in the narrower case C = 2T I, isotropic noise: noise proportional to H, for
example, has no current but a round cloud S' = I/2 x const. When C does not commute with H the stationary current
J(x) = (½ C S'⁻¹ − H) x p(x) is non-zero: probability circulates around the minimum along the ellipses of p
(Chaudhari & Soatto 2018). In two dimensions its strength is the mean angular momentum per unit time,
E[x × dx]/dt = (H S')₁₂ − (H S')₂₁ (:func:`circulation`); for H = diag(h₁, h₂) that is
(h₁ − h₂) C₁₂ / (h₁ + h₂). For the discrete recursion the exact value per step is
E[x_t × x_{t+1}] = −η [(S H)₁₂ − (S H)₂₁] (:func:`circulation` with ``lr``).

**Local entropy** (Baldassi et al. 2016; Chaudhari et al. 2017): F(x; γ) = ln ∫ exp(−f(x') − (γ/2)(x − x')²) dx',
the log-volume of low loss near x at scale 1/√γ (:func:`local_entropy`). For a quadratic f = ½ a x² it is
−½ (aγ/(a + γ)) x² + const: every minimum is flattened, and a narrow one (large a) most.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy import linalg

__all__ = ["axis_gap", "circulation", "cross", "local_entropy", "principal_angle", "stationary_covariance"]


def _square(name: str, m) -> np.ndarray:
    m = np.asarray(m, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {m.shape}")
    return m


def stationary_covariance(hessian, noise_cov, lr: float | None = None) -> np.ndarray:
    """Stationary covariance of x_{t+1} = (I − ηH) x_t + η ξ, Cov ξ = C (``lr`` = η), from the discrete Lyapunov
    equation; with ``lr=None`` the continuous OU limit S' = lim S/η, which solves H S' + S' H = C. Raises
    ValueError when the recursion is unstable (a step ηλ outside (0, 2) for an eigenvalue λ of H)."""
    h, c = _square("hessian", hessian), _square("noise_cov", noise_cov)
    if h.shape != c.shape:
        raise ValueError(f"hessian {h.shape} and noise_cov {c.shape} must have the same shape")
    eig = np.linalg.eigvals(h).real
    if lr is None:
        if eig.min() <= 0:
            raise ValueError(f"the hessian must be positive definite for a stationary state (eigenvalues {eig})")
        return linalg.solve_continuous_lyapunov(h, c)
    a = np.eye(len(h)) - lr * h
    if np.abs(np.linalg.eigvals(a)).max() >= 1:
        raise ValueError(f"lr={lr} is unstable for this hessian: lr x eigenvalue must lie in (0, 2), the "
                         f"eigenvalues are {np.round(eig, 4)}")
    return linalg.solve_discrete_lyapunov(a, lr ** 2 * c)


def circulation(hessian, cov, lr: float | None = None) -> float:
    """The probability current's strength in 2-D: E[x_t × x_{t+1}] per step (with ``lr``, for the discrete
    recursion and its stationary ``cov``), or E[x × dx]/dt for the OU process (``lr=None``, ``cov`` = S'); zero in
    detailed balance. × is the 2-D cross product, x₁y₂ − x₂y₁ (positive: counter-clockwise)."""
    h, s = _square("hessian", hessian), _square("cov", cov)
    if h.shape != (2, 2) or s.shape != (2, 2):
        raise ValueError("circulation is defined here for 2-D processes (2 x 2 matrices)")
    sh = s @ h
    rate = -(sh[0, 1] - sh[1, 0])
    return float(rate if lr is None else lr * rate)


def cross(x_t: torch.Tensor, x_next: torch.Tensor) -> torch.Tensor:
    """The 2-D cross product x_t × x_{t+1} over the last axis (the measured counterpart of :func:`circulation`)."""
    return x_t[..., 0] * x_next[..., 1] - x_t[..., 1] * x_next[..., 0]


def principal_angle(cov) -> float:
    """The angle in degrees, in (−90, 90], of the major axis of a 2 x 2 covariance from the first coordinate axis."""
    s = _square("cov", cov)
    vals, vecs = np.linalg.eigh(s)
    v = vecs[:, -1]
    angle = math.degrees(math.atan2(v[1], v[0]))
    return angle - 180 if angle > 90 else angle + 180 if angle <= -90 else angle


def axis_gap(cov_a, cov_b) -> float:
    """The smallest angle in degrees, in [0, 90], between the major axes of two 2 x 2 covariances (axes have no
    direction, so an angle near 180 is a small gap)."""
    d = abs(principal_angle(cov_a) - principal_angle(cov_b)) % 180
    return min(d, 180 - d)


def local_entropy(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, gamma: float,
                  span: float | None = None, n_nodes: int = 4001) -> torch.Tensor:
    """F(x; γ) = ln ∫ exp(−f(x') − (γ/2)(x − x')²) dx' at each point of ``x`` (1-D), by the trapezoidal rule on
    ``n_nodes`` points of [x − span, x + span] (default span 10/√γ, where the Gaussian factor is e⁻⁵⁰)."""
    if not gamma > 0:
        raise ValueError(f"gamma={gamma} must be positive (the coupling; 1/sqrt(gamma) is the scale)")
    x = torch.as_tensor(x, dtype=torch.float64)
    span = 10.0 / math.sqrt(gamma) if span is None else span
    offsets = torch.linspace(-span, span, n_nodes, dtype=torch.float64)
    xp = x.reshape(-1, 1) + offsets  # (m, nodes)
    log_w = -fn(xp) - 0.5 * gamma * offsets ** 2
    log_w = log_w + math.log(offsets[1] - offsets[0])
    trap = torch.ones(n_nodes, dtype=torch.float64)
    trap[0] = trap[-1] = 0.5
    return torch.logsumexp(log_w + trap.log(), dim=1).reshape(x.shape)
