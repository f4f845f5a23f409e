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

Its gradient is an average of the loss's gradient: ∇(−F)(x) = γ (x − ⟨x'⟩) = ⟨∇f(x')⟩, both under the local
Gibbs measure p(x' | x) ∝ exp(−f(x') − (γ/2)‖x − x'‖²). **Entropy-SGD** (Chaudhari et al. 2017) estimates ⟨x'⟩
by the mean of a short Langevin run of x' on f(x') + (γ/2)‖x' − x‖² and steps x against γ (x − ⟨x'⟩)
(:func:`entropy_sgd_step`). A Langevin step with noise amplitude s samples, for small steps and once relaxed, that
potential at temperature T = s²/2 (s = √2 gives p(x' | x) itself); with the tiny thermal noise used in practice
the inner run is minibatch SGD on the coupled loss, and its minibatch noise sets the temperature. When f varies
little over the measure's width 1/√γ, p(x' | x) is nearly its Gaussian factor N(x, I/γ) and the gradient is that
of the Gaussian-smoothed loss, E_ε ∇f(x + ε) with ε ~ N(0, I/γ): one sample of ε per step is the cheapest form of
the idea (:func:`smoothed_grad_point`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy import linalg

__all__ = ["axis_gap", "circulation", "cross", "entropy_sgd_step", "local_entropy", "principal_angle",
           "smoothed_grad_point", "stationary_covariance"]


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


Params = dict[str, torch.Tensor]


def _check_params(params: Params) -> None:
    if not params or not all(isinstance(v, torch.Tensor) for v in params.values()):
        raise ValueError("params must be a non-empty dict of name -> tensor")


def entropy_sgd_step(
    params: Params,
    grad_fn: Callable[[Params], Params],
    gamma: float,
    inner_steps: int,
    inner_lr: float,
    outer_lr: float | None = None,
    noise: float = 0.0,
    gen: torch.Generator | None = None,
) -> Params:
    """One outer step of Entropy-SGD (Chaudhari et al. 2017, Algorithm 1, with a uniform mean over the inner
    run where the paper's code keeps an exponential average that weights the last iterates most). From
    x = ``params``, ``inner_steps`` Langevin steps of x' on f(x') + (γ/2)‖x' − x‖²,

        x' ← x' − η' (∇f(x') + γ (x' − x)) + √η' · noise · N(0, I),

    with ``grad_fn(x')`` the (minibatch) gradient of f; μ is the mean of the inner iterates, the estimate of ⟨x'⟩,
    and the outer step is x ← x − η γ (x − μ). The default η = 1/γ moves x to μ (the paper's outer learning rate
    of 1 in its code). Each outer step costs ``inner_steps`` gradients. Returns the new x (new tensors)."""
    _check_params(params)
    if not gamma > 0:
        raise ValueError(f"gamma={gamma} must be positive (the coupling of x' to x)")
    if not (isinstance(inner_steps, int) and inner_steps >= 1):
        raise ValueError(f"inner_steps={inner_steps!r} must be an integer >= 1")
    if not inner_lr > 0 or noise < 0:
        raise ValueError(f"inner_lr={inner_lr} must be positive and noise={noise} non-negative")
    if not inner_lr * gamma < 2:
        raise ValueError(f"inner_lr x gamma = {inner_lr * gamma:g} must be < 2, or the pull towards x alone diverges")
    outer_lr = 1.0 / gamma if outer_lr is None else outer_lr
    inner = {k: v.detach().clone() for k, v in params.items()}
    mean = {k: torch.zeros_like(v) for k, v in params.items()}
    for step in range(inner_steps):
        grads = grad_fn(inner)
        for k, x in params.items():
            kick = grads[k] + gamma * (inner[k] - x)
            inner[k] = inner[k] - inner_lr * kick
            if noise > 0:
                draw = torch.randn(x.shape, generator=gen, dtype=x.dtype, device=x.device)
                inner[k] = inner[k] + math.sqrt(inner_lr) * noise * draw
            mean[k] += (inner[k] - mean[k]) / (step + 1)
    return {k: x - outer_lr * gamma * (x - mean[k]) for k, x in params.items()}


def smoothed_grad_point(params: Params, sigma: float, gen: torch.Generator | None = None) -> Params:
    """x + σ ε, ε ~ N(0, I): where to take the gradient for one step on the Gaussian-smoothed loss
    E_ε f(x + σ ε), the local-entropy gradient when f varies little on the scale σ = 1/√γ. E f(x + σε) =
    f(x) + (σ²/2) tr ∇²f(x) + O(σ⁴) for a smooth f (a ReLU network is smooth only piecewise), so the step also
    descends the Hessian's trace: heuristically for a network, exactly for a quadratic."""
    _check_params(params)
    if not sigma >= 0:
        raise ValueError(f"sigma={sigma} must be >= 0 (the smoothing scale)")
    first = next(iter(params.values()))
    if any(v.dtype != first.dtype or v.device != first.device for v in params.values()):
        raise ValueError("params must share one dtype and one device")
    draws = torch.randn(sum(v.numel() for v in params.values()), generator=gen, dtype=first.dtype, device=first.device)
    parts = draws.split([v.numel() for v in params.values()])
    return {k: v + sigma * z.view(v.shape) for (k, v), z in zip(params.items(), parts)}
