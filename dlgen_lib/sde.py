"""SGD as a stochastic differential equation: finite-sum losses, many SGD replicas at once, the SDE, closed forms.

Convention (used everywhere below). Data z_1..z_n, per-example loss ℓ(θ; z_i), L(θ) = (1/n) Σ_i ℓ(θ; z_i),
per-example gradients g_i = ∇ℓ(θ; z_i), gradient noise covariance Σ(θ) = (1/n) Σ_i (g_i - ∇L)(g_i - ∇L)ᵀ
(divisor n: the dataset is the whole population; :meth:`FiniteSumLoss.noise_variance` gives its diagonal).
SGD with learning rate η = ``lr`` and batch size B = ``batch_size``: θ_{k+1} = θ_k - η ĝ_k, ĝ_k = (1/B) Σ_{i∈S_k} g_i,
S_k a uniformly random B-subset of the n examples (without replacement within a step; independent across steps
and replicas). Then E ĝ = ∇L and Cov ĝ = c Σ / B with the finite-population factor c = (n - B)/(n - 1)
(c = 1 when sampling with replacement, ``replace=True``). So one step is θ_{k+1} - θ_k = -η ∇L + (noise of mean 0,
covariance η² c Σ / B). Reading step k as time t = kη (dt = η), that noise is (2 T c Σ) dt with T = η/(2B)
(:func:`temperature`), the increment over dt of the Itô SDE

    dθ = -∇L(θ) dt + sqrt(2 T D(θ)) dW,   T = η/(2B),   D = c Σ   (the same as sqrt(η c Σ / B) dW),

whose Euler–Maruyama scheme with dt = η has exactly the mean and covariance of one SGD step (Li, Tai & E 2017;
Mandt, Hoffman & Blei 2017; Jastrzębski et al. 2017; Smith & Le 2018). In d dimensions the SDE here uses the
diagonal of Σ (exact in 1-D and for the marginals of the diagonal quadratic below).

* Losses: :func:`quadratic` (ℓ = ½ a (θ - z_i)², 1-D or d-D diagonal) and :func:`double_well` (a sharp and a wide
  Gaussian well, shifted or tilted by z_i): full-batch loss, gradient, per-example gradients, Σ.
* Dynamics: :func:`sgd_replicas` (R replicas at once) and its loop reference :func:`sgd_loop`,
  :func:`sgd_replica_grid` (C settings (η, B) x R replicas at once, as :class:`GridPaths`),
  :func:`euler_maruyama` / :func:`sgd_sde`, :func:`gradient_descent`; results as :class:`Paths`.
* Closed forms: :func:`ou_stationary_variance`, :func:`gibbs_density`, :func:`barrier_heights`,
  :func:`kramers_rate`, :func:`smoothed_loss` (Kleinberg, Li & Yuan 2018).
* Helpers: :func:`basin_fractions`, :func:`first_passage_times` / :class:`EscapeClock`, :func:`loglog_slope`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from .config import generator
from .fits import fit_power_law

Tensor = torch.Tensor
_F64 = torch.float64
_HIGH = 2**62  # batches are drawn from uniform integers in [0, 2**62): modulo bias below 1e-15
_POINTS = 2**14  # points θ + s u per call of fn in smoothed_loss


# ------------------------------------------------------------------------------------------ losses


def _lastsum(x: Tensor) -> Tensor:
    """x.sum(-1) as a product with a vector of ones: for a short last axis (a few wells, a batch) torch's CPU
    reduction is much slower than the matrix-vector product (measured on one thread, a (6000, 2) float64 tensor:
    190 µs against 8 µs)."""
    return x @ x.new_ones(x.shape[-1])


@dataclass(frozen=True, eq=False)
class FiniteSumLoss:
    """L(θ) = (1/n) Σ_i ℓ(θ; z_i) over data z (n,) (θ scalar per replica) or (n, d) (θ in R^d), float64.

    Subclasses give ``per_example_loss(theta, z)`` and ``per_example_grad(theta, z)``, broadcasting θ against z.
    Shapes: θ (..., *event) with event = z.shape[1:]; losses (..., n); gradients (..., n, *event).
    """

    z: Tensor  # (n,) or (n, d) the data points

    @property
    def n(self) -> int:
        return self.z.shape[0]

    def to(self, device) -> FiniteSumLoss:
        """The same loss with its tensors (data and parameters) on ``device``."""
        tensors = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(self, **{k: v.to(device) for k, v in tensors.items() if torch.is_tensor(v)})

    def per_example_losses(self, theta: Tensor) -> Tensor:  # (..., n)
        return self.per_example_loss(theta.unsqueeze(-self.z.ndim), self.z)

    def per_example_grads(self, theta: Tensor) -> Tensor:  # (..., n, *event)
        return self.per_example_grad(theta.unsqueeze(-self.z.ndim), self.z)

    def loss(self, theta: Tensor) -> Tensor:  # (...,) L(θ)
        return self.per_example_losses(theta).mean(-1)

    def grad(self, theta: Tensor) -> Tensor:  # (..., *event) ∇L(θ)
        return self.per_example_grads(theta).mean(-self.z.ndim)

    def noise_variance(self, theta: Tensor) -> Tensor:  # (..., *event) diag Σ(θ), divisor n
        return self.per_example_grads(theta).var(-self.z.ndim, correction=0)

    def minibatch_grad(self, theta: Tensor, batch: Tensor) -> Tensor:
        """ĝ = (1/B) Σ_b g_{batch[r, b]}(θ_r): θ (R, *event), batch (R, B) int -> (R, *event)."""
        return self.per_example_grad(theta.unsqueeze(1), self.z[batch]).mean(1)

    def weighted_minibatch_grad(self, theta: Tensor, batch: Tensor, weights: Tensor) -> Tensor:
        """Σ_b w_{r, b} g_{batch[r, b]}(θ_r): θ (R, *event), batch (R, B) int, weights (R, B) -> (R, *event)."""
        w = weights.reshape(*weights.shape, *([1] * (self.z.ndim - 1)))
        return (self.per_example_grad(theta.unsqueeze(1), self.z[batch]) * w).sum(1)


@dataclass(frozen=True, eq=False)
class Quadratic(FiniteSumLoss):
    """ℓ(θ; z) = ½ Σ_k a_k (θ_k - z_k)²: ∇L = a (θ - z̄), Σ = a² Var(z) per coordinate, whatever θ."""

    curvature: Tensor | float = 1.0  # a: a number, or (d,) for a diagonal d-D quadratic

    def per_example_loss(self, theta, z):
        out = 0.5 * self.curvature * (theta - z) ** 2
        return out if self.z.ndim == 1 else out.sum(-1)

    def per_example_grad(self, theta, z):
        return self.curvature * (theta - z)


@dataclass(frozen=True, eq=False)
class GaussianWells(FiniteSumLoss):
    """U(x) = ½ κ x² - Σ_k h_k exp(-(x - c_k)² / (2 w_k²)) made per-example by z (n,), 1-D. A narrow well (small w)
    is a sharp minimum (U'' ≈ h/w²), a broad one a wide minimum. Two ways (``noise``) to make the noise real:

    * "shift": ℓ(θ; z) = U(θ - z). Σ(θ) ≈ U''(θ)² Var z for a small spread: multiplicative noise, large in the sharp
      basin, near zero at the inflection points between a minimum and the barrier (so escapes are rare);
    * "tilt": ℓ(θ; z) = U(θ) - z θ. Σ = Var z whatever θ: additive noise, L = U - z̄ θ, where the SDE's stationary
      law is exactly Gibbs, exp(-L / (T c Var z)), and Kramers' rate applies.
    """

    centers: Tensor | None = None  # (k,) c
    widths: Tensor | None = None  # (k,) w
    depths: Tensor | None = None  # (k,) h
    confinement: float = 0.0  # κ: brings escaped replicas back
    noise: str = "shift"  # "shift" or "tilt"

    def __post_init__(self):
        if self.z.ndim != 1:
            raise ValueError(f"GaussianWells is 1-D: z must have shape (n,), not {tuple(self.z.shape)}")
        if self.noise not in ("shift", "tilt"):
            raise ValueError(f"noise={self.noise!r} must be 'shift' or 'tilt'")

    def _bumps(self, x):  # (...) -> (..., k)  h_k exp(-(x - c_k)² / (2 w_k²))
        return self.depths * torch.exp(-((x[..., None] - self.centers) ** 2) / (2 * self.widths**2))

    def per_example_loss(self, theta, z):
        x = theta - z if self.noise == "shift" else theta
        u = 0.5 * self.confinement * x**2 - _lastsum(self._bumps(x))
        return u if self.noise == "shift" else u - z * theta

    def per_example_grad(self, theta, z):
        x = theta - z if self.noise == "shift" else theta
        du = self.confinement * x + _lastsum(self._bumps(x) * (x[..., None] - self.centers) / self.widths**2)
        return du if self.noise == "shift" else du - z

    def loss(self, theta):
        if self.noise == "shift":
            return super().loss(theta)
        return self.per_example_loss(theta, self.z.mean())  # ℓ is linear in z: L = U(θ) - z̄ θ, no (..., n) tensor

    def grad(self, theta):
        if self.noise == "shift":
            return super().grad(theta)
        return self.per_example_grad(theta, self.z.mean())  # U'(θ) - z̄

    def weighted_minibatch_grad(self, theta, batch, weights):
        if self.noise == "shift":
            return super().weighted_minibatch_grad(theta, batch, weights)
        # Σ_b w_b (U'(θ) - z_b) = (Σ_b w_b) U'(θ) - Σ_b w_b z_b: one U' per replica instead of one per example
        return _lastsum(weights) * self.per_example_grad(theta, 0.0) - _lastsum(self.z[batch] * weights)


def quadratic(n: int = 200, curvature=1.0, data_std: float = 1.0, seed: int = 0) -> Quadratic:
    """ℓ = ½ a (θ - z_i)², z_i ~ N(0, data_std²) from a seeded generator; ``curvature`` a list of d numbers: d-D.

    >>> q = quadratic(n=50, curvature=2.0)
    >>> bool(torch.allclose(q.noise_variance(torch.tensor(0.3)), 4.0 * q.z.var(correction=0)))
    True
    """
    a = torch.as_tensor(curvature, dtype=_F64)
    z = torch.randn(n, *a.shape, generator=generator(seed), dtype=_F64) * data_std
    return Quadratic(z, a)


def double_well(n: int = 200, data_std: float = 0.1, seed: int = 0, centers=(-1.0, 1.0), widths=(0.15, 0.5),
                depths=(1.3, 1.0), confinement: float = 0.2, noise: str = "shift") -> GaussianWells:
    """A sharp well (at -1, width 0.15) and a wide well (at +1, width 0.5), made per-example (see
    :class:`GaussianWells`) by z_i ~ N(0, data_std²) from a seeded generator, centred (z̄ = 0).

    With the defaults the sharp minimum is the deeper one (L -0.99 vs -0.88), 9x more curved (L'' 34 vs 3.9),
    with 80x the gradient noise (Σ 12.7 vs 0.15); barriers 0.98 (sharp) and 0.88 (wide), saddle at -0.45.

    >>> b = barrier_heights(double_well().loss, torch.linspace(-3, 3, 6001, dtype=torch.float64))
    >>> b.minima.round(2).tolist(), b.min_loss.round(2).tolist(), b.curvature_min.round(1).tolist()
    ([-0.99, 0.95], [-0.99, -0.88], [34.1, 3.9])
    """
    z = torch.randn(n, generator=generator(seed), dtype=_F64) * data_std
    t = lambda v: torch.as_tensor(v, dtype=_F64)  # noqa: E731
    return GaussianWells(z - z.mean(), t(centers), t(widths), t(depths), float(confinement), noise)


# ------------------------------------------------------------------------------------------ dynamics


@dataclass(frozen=True)
class Paths:
    """Recorded positions of a simulation: ``theta[i]`` is θ after ``steps[i]`` steps, time t = steps * dt."""

    steps: Tensor  # (K,) recorded steps, 0 first and n_steps last
    theta: Tensor  # (K, R, *event) (or (K, *shape) for gradient descent)
    dt: float  # time per step: lr for SGD / GD, dt for Euler–Maruyama

    @property
    def final(self) -> Tensor:
        return self.theta[-1]

    @property
    def time(self) -> Tensor:
        return self.steps * self.dt


def _iterate(update: Callable, theta: Tensor, n_steps: int, dt: float, record_every: int | None = None,
             callback: Callable | None = None) -> Paths:
    """θ ← update(θ) n_steps times, keeping θ at steps 0, every, 2 every, ..., n_steps; ``callback(step, θ)`` sees
    every step."""
    every, steps, thetas = record_every or max(n_steps, 1), [0], [theta]
    for step in range(n_steps + 1):
        if step:
            theta = update(theta)
            if step % every == 0 or step == n_steps:
                steps.append(step)
                thetas.append(theta)
        if callback is not None:
            callback(step, theta)
    return Paths(torch.tensor(steps), torch.stack(thetas), float(dt))


def _replicas(theta0, n_replicas: int | None, event: tuple) -> Tensor:
    """θ0 as (R, *event) float64: a number or one point (*event) repeated R times, or already (R, *event)."""
    theta0 = torch.as_tensor(theta0, dtype=_F64)
    if theta0.dim() == len(event):
        if n_replicas is None:
            raise ValueError("n_replicas is needed when theta0 is a single point")
        return theta0.expand(n_replicas, *event).clone()
    if n_replicas is not None and theta0.shape[0] != n_replicas:
        raise ValueError(f"theta0 holds {theta0.shape[0]} replicas but n_replicas={n_replicas}")
    return theta0.clone()


def draw_batches(n_replicas: int, n: int, batch_size: int, generator: torch.Generator, replace: bool = False) -> Tensor:
    """(R, B) example indices, one minibatch per replica: B distinct indices drawn uniformly (``replace=False``, by
    Floyd's algorithm, vectorized over replicas) or B independent uniform ones. Uses one (R, B) integer draw.

    >>> draw_batches(3, 5, 5, torch.Generator().manual_seed(0)).sort(1).values.tolist()
    [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]
    """
    if batch_size < 1 or (batch_size > n and not replace):
        raise ValueError(f"batch_size={batch_size} must be in [1, n={n}] (or >= 1 with replace=True)")
    u = torch.randint(0, _HIGH, (n_replicas, batch_size), generator=generator, device=generator.device)
    if replace:
        return u % n
    # Floyd's algorithm: for j = n-B, ..., n-1 take t ~ U{0..j}, or j itself if t is already taken
    j = torch.arange(n - batch_size, n, device=u.device)  # (B,)
    t = u % (j + 1)  # (R, B)
    taken = torch.zeros(n_replicas, n, dtype=torch.bool, device=u.device)
    for k in range(batch_size):
        t[:, k] = torch.where(taken.gather(1, t[:, k:k + 1]), j[k], t[:, k:k + 1]).squeeze(1)
        taken.scatter_(1, t[:, k:k + 1], True)
    return t


def sgd_replicas(loss: FiniteSumLoss, theta0, lr: float, batch_size: int, n_steps: int, *,
                 n_replicas: int | None = None, seed: int = 0, replace: bool = False,
                 record_every: int | None = None, callback: Callable | None = None) -> Paths:
    """R independent SGD runs θ ← θ - lr ĝ at once (θ of shape (R,) or (R, d)), each with its own minibatch per step.

    ``theta0``: one point (with ``n_replicas``) or (R, *event). Minibatches come from :func:`draw_batches` with a
    ``torch.Generator`` seeded by ``seed``; :func:`sgd_loop` reproduces the numbers one replica at a time.
    Records every ``record_every`` steps (default: first and last); ``callback(step, theta)`` sees every step.

    >>> paths = sgd_replicas(quadratic(), 0.0, lr=0.1, batch_size=4, n_steps=50, n_replicas=200, record_every=10)
    >>> paths.theta.shape, paths.steps.tolist()
    (torch.Size([6, 200]), [0, 10, 20, 30, 40, 50])
    """
    theta = _replicas(theta0, n_replicas, tuple(loss.z.shape[1:])).to(loss.z.device)
    gen = generator(int(seed), loss.z.device)

    def step(theta):
        return theta - lr * loss.minibatch_grad(theta, draw_batches(len(theta), loss.n, batch_size, gen, replace))

    return _iterate(step, theta, n_steps, lr, record_every, callback)


@dataclass(frozen=True)
class GridPaths:
    """Recorded positions of C SGD settings (η_c, B_c) simulated together, R replicas each: ``theta[i, c]`` is θ of
    setting c after ``steps[i]`` steps, at time steps[i] * lrs[c]."""

    steps: Tensor  # (K,)
    theta: Tensor  # (K, C, R, *event)
    lrs: Tensor  # (C,) η_c
    batch_sizes: Tensor  # (C,) B_c

    @property
    def final(self) -> Tensor:  # (C, R, *event)
        return self.theta[-1]

    def time(self) -> Tensor:  # (K, C) t = steps * η_c
        return self.steps[:, None] * self.lrs[None, :]


def sgd_replica_grid(loss: FiniteSumLoss, theta0, lrs, batch_sizes, n_steps: int, *, n_replicas: int, seed: int = 0,
                     record_every: int | None = None, callback: Callable | None = None) -> GridPaths:
    """C settings (η_c, B_c) x R replicas of SGD in one vectorized simulation, minibatches drawn *with* replacement.

    Each step draws B_max = max B_c uniform indices per replica (one (C R, B_max) integer draw) and replica r of
    setting c averages the per-example gradients of its first B_c indices: independent uniform draws, so exactly a
    with-replacement minibatch of size B_c (c = 1 in :func:`finite_population_factor`). When every setting is the
    same it reproduces ``sgd_replicas(..., replace=True)`` with C R replicas number for number.
    ``theta0``: one point (*event). ``callback(step, theta (C, R, *event))`` sees every step.

    >>> g = sgd_replica_grid(quadratic(), 0.0, [0.1, 0.2], [4, 8], 30, n_replicas=100, record_every=10)
    >>> g.theta.shape, g.time()[-1].tolist()
    (torch.Size([4, 2, 100]), [3.0, 6.0])
    """
    device = loss.z.device
    lr_c = torch.as_tensor(lrs, dtype=_F64, device=device).flatten()  # (C,)
    b_c = torch.as_tensor(batch_sizes, dtype=torch.long, device=device).flatten()  # (C,)
    if lr_c.shape != b_c.shape or (b_c < 1).any():
        raise ValueError(f"lrs {tuple(lr_c.shape)} and batch_sizes {tuple(b_c.shape)} must be equally long, B >= 1")
    C, event = len(lr_c), tuple(loss.z.shape[1:])
    b_max = int(b_c.max())
    weights = (torch.arange(b_max, device=device) < b_c[:, None]).to(_F64) / b_c[:, None]  # (C, B_max)
    weights = weights.repeat_interleave(n_replicas, 0)  # (C R, B_max)
    lr_r = lr_c.repeat_interleave(n_replicas).reshape(-1, *([1] * len(event)))  # (C R, 1...)
    theta = _replicas(theta0, C * n_replicas, event).to(device)
    gen = generator(int(seed), device)

    def step(theta):  # theta (C R, *event)
        batch = draw_batches(len(theta), loss.n, b_max, gen, replace=True)  # (C R, B_max)
        g = loss.weighted_minibatch_grad(theta, batch, weights)
        return theta - lr_r * g

    shape = (C, n_replicas, *event)
    cb = None if callback is None else (lambda k, th: callback(k, th.reshape(shape)))
    paths = _iterate(step, theta, n_steps, 1.0, record_every, cb)
    return GridPaths(paths.steps, paths.theta.reshape(len(paths.steps), *shape), lr_c, b_c)


def sgd_loop(loss: FiniteSumLoss, theta0, lr: float, batch_size: int, n_steps: int, *,
             n_replicas: int | None = None, seed: int = 0, replace: bool = False) -> Paths:
    """Reference for :func:`sgd_replicas`: the same random stream, with a Python loop over replicas and Floyd's
    algorithm on Python integers. Slow; for tests with a few replicas. Records every step."""
    gen, n = generator(int(seed)), loss.n

    def step(theta):
        new = []
        for r, row in enumerate(torch.randint(0, _HIGH, (len(theta), batch_size), generator=gen).tolist()):
            batch = []
            for k, x in enumerate(row):
                j = n - batch_size + k  # Floyd, as in draw_batches
                batch.append(x % n if replace else j if x % (j + 1) in batch else x % (j + 1))
            g = loss.per_example_grad(theta[r].unsqueeze(0), loss.z[torch.tensor(batch)]).mean(0)
            new.append(theta[r] - lr * g)
        return torch.stack(new)

    return _iterate(step, _replicas(theta0, n_replicas, tuple(loss.z.shape[1:])), n_steps, lr, record_every=1)


def euler_maruyama(grad: Callable, theta0, dt: float, n_steps: int, temperature: float, noise_var=1.0, *,
                   n_replicas: int | None = None, seed: int = 0, record_every: int | None = None,
                   callback: Callable | None = None) -> Paths:
    """R paths of dθ = -∇L(θ) dt + sqrt(2 T D(θ)) dW by θ ← θ - ∇L(θ) dt + sqrt(2 T D(θ) dt) ξ, ξ ~ N(0, I).

    ``grad``: θ (R, *event) -> ∇L (R, *event); ``noise_var`` D: a number or a callable θ -> D(θ) (diagonal,
    broadcastable to θ). ``theta0``: a number (with ``n_replicas``) or the starting points (R, *event).

    >>> ou = euler_maruyama(lambda th: th, 0.0, dt=0.01, n_steps=2000, temperature=0.5, n_replicas=2000)
    >>> round(float(ou.final.var()), 1)  # stationary variance T D / a = 0.5
    0.5
    """
    theta = _replicas(theta0, n_replicas, ())
    gen = generator(int(seed), theta.device)

    def step(theta):
        D = torch.as_tensor(noise_var(theta) if callable(noise_var) else noise_var, dtype=_F64).clamp(min=0)
        xi = torch.randn(theta.shape, generator=gen, dtype=_F64, device=theta.device)
        return theta - grad(theta) * dt + (2 * temperature * dt * D).sqrt() * xi

    return _iterate(step, theta, n_steps, dt, record_every, callback)


def sgd_sde(loss: FiniteSumLoss, theta0, lr: float, batch_size: int, n_steps: int, *, n_replicas: int | None = None,
            seed: int = 0, replace: bool = False, record_every: int | None = None,
            callback: Callable | None = None) -> Paths:
    """The SDE matched to :func:`sgd_replicas` (same arguments): :func:`euler_maruyama` with dt = lr, T = lr/(2B) and
    D(θ) = c Σ(θ) (diagonal), recomputed from all n per-example gradients at every step."""
    c = finite_population_factor(None if replace else loss.n, batch_size)
    theta0 = _replicas(theta0, n_replicas, tuple(loss.z.shape[1:]))
    return euler_maruyama(loss.grad, theta0, lr, n_steps, temperature(lr, batch_size),
                          lambda th: c * loss.noise_variance(th), seed=seed, record_every=record_every,
                          callback=callback)


def gradient_descent(grad: Callable, theta0, lr: float, n_steps: int, record_every: int | None = None) -> Paths:
    """θ ← θ - lr ∇(θ) for θ of any shape; with ``grad = lambda t: smoothed_loss(loss.grad, t, width)`` it is GD on
    the smoothed loss (Kleinberg et al. 2018)."""
    return _iterate(lambda theta: theta - lr * grad(theta), torch.as_tensor(theta0, dtype=_F64), n_steps, lr,
                    record_every)


# ------------------------------------------------------------------------------------------ closed forms


def temperature(lr, batch_size):
    """T = η / (2B): the SGD temperature in the convention of the module docstring."""
    return lr / (2 * batch_size)


def finite_population_factor(n, batch_size):
    """c = (n - B)/(n - 1): Var of a mean of B draws without replacement from n values, over Var/B; 1 if n is None."""
    return 1.0 if n is None else (n - batch_size) / (n - 1)


def ou_stationary_variance(lr, batch_size, curvature, noise_var, n=None, discrete: bool = True):
    """Stationary Var θ of SGD on ℓ = ½ a (θ - z_i)² (Σ = σ² = ``noise_var`` = a² Var z), with c of
    :func:`finite_population_factor` (``n=None``: with replacement).

    discrete (exact for finite η): V = (1 - ηa)² V + η² c σ² / B  =>  V = η c σ² / (B a (2 - ηa)), needs ηa < 2;
    continuous (the SDE's OU process, ηa -> 0): V = η c σ² / (2 a B) = T c σ² / a. Works on arrays.

    >>> ou_stationary_variance(0.1, 4, 1.0, 1.0), ou_stationary_variance(0.1, 4, 1.0, 1.0, discrete=False)
    (0.013157894736842106, 0.0125)
    """
    c = finite_population_factor(n, batch_size)
    if not discrete:
        return lr * c * noise_var / (2 * curvature * batch_size)
    if np.any(np.asarray(lr * curvature) >= 2):
        raise ValueError("SGD on a quadratic diverges for lr * curvature >= 2: no stationary variance")
    return lr * c * noise_var / (batch_size * curvature * (2 - lr * curvature))


def gibbs_density(fn: Callable, grid: Tensor, temperature: float) -> Tensor:
    """p(θ) = exp(-L(θ)/T_eff) / Z on a 1-D grid (G,), Z by the trapezoid rule, so ∫ p = 1 on the grid.

    Exact stationary density of dθ = -L' dt + sqrt(2 T_eff) dW. For SGD use T_eff = T D with a constant D (e.g. c Σ
    at a basin's minimum): an approximation, since Σ(θ) varies; with varying D the stationary law is not Gibbs in L.
    """
    grid = torch.as_tensor(grid, dtype=_F64)
    values = fn(grid)
    p = torch.exp(-(values - values.min()) / temperature)
    return p / torch.trapezoid(p, grid)


@dataclass(frozen=True)
class Basins:
    """Local minima of a 1-D loss and the maxima (saddles) between them, refined by a parabola through 3 grid points
    (positions and values to O(h²), curvatures, the second differences at the grid point, to O(h))."""

    minima: np.ndarray  # (k,) positions, ascending
    min_loss: np.ndarray  # (k,)
    curvature_min: np.ndarray  # (k,) L'' at each minimum
    saddles: np.ndarray  # (k-1,) the maxima between consecutive minima: the basin boundaries
    saddle_loss: np.ndarray  # (k-1,)
    barriers: np.ndarray  # (k,) ΔE: the lower neighbouring saddle minus L(minimum); inf for a single minimum
    exit_curvature: np.ndarray  # (k,) |L''| at that saddle


def barrier_heights(fn: Callable, grid) -> Basins:
    """Minima, saddles and barrier heights ΔE of a 1-D loss ``fn`` on a uniform grid that contains the minima.

    >>> b = barrier_heights(lambda x: x**4 - 2 * x**2, torch.linspace(-2, 2, 401, dtype=torch.float64))
    >>> b.minima.round(3).tolist(), b.barriers.round(6).tolist(), b.curvature_min.round(2).tolist()
    ([-1.0, 1.0], [1.0, 1.0], [8.0, 8.0])
    >>> b.saddles.round(6).tolist(), b.exit_curvature.round(2).tolist()
    ([-0.0], [4.0, 4.0])
    """
    x = torch.as_tensor(grid, dtype=_F64)
    v, x = fn(x).cpu().numpy(), x.cpu().numpy()
    h = x[1] - x[0]

    def refine(i):  # position, value, second derivative of the parabola through i-1, i, i+1
        d1, d2 = (v[i + 1] - v[i - 1]) / 2, v[i + 1] - 2 * v[i] + v[i - 1]
        return x[i] - h * d1 / d2, v[i] - d1**2 / (2 * d2), d2 / h**2

    inner = np.arange(1, len(v) - 1)
    mins = inner[(v[inner] < v[inner - 1]) & (v[inner] <= v[inner + 1])]
    tops = [a + int(np.argmax(v[a:b + 1])) for a, b in zip(mins[:-1], mins[1:])]
    (m_x, m_v, m_c), (s_x, s_v, s_c) = (np.array([refine(i) for i in idx]).reshape(-1, 3).T for idx in (mins, tops))
    left, right = np.r_[np.inf, s_v], np.r_[s_v, np.inf]
    exit_c = np.abs(np.where(left <= right, np.r_[np.nan, s_c], np.r_[s_c, np.nan]))
    return Basins(m_x, m_v, m_c, s_x, s_v, np.minimum(left, right) - m_v, exit_c)


def kramers_rate(barrier, temperature, curvature_min, curvature_saddle):
    """Kramers' escape rate of dθ = -L' dt + sqrt(2 T_eff) dW over a barrier ΔE (valid for ΔE ≫ T_eff):
    k = sqrt(L''(min) |L''(saddle)|) / (2π) exp(-ΔE / T_eff) per unit time; for SGD (dt = η) the mean escape time
    is about 1 / (k η) steps. With :class:`Basins`: ``kramers_rate(b.barriers, T, b.curvature_min, b.exit_curvature)``.

    >>> round(float(kramers_rate(1.0, 0.25, 8.0, 4.0)), 6)  # sqrt(32)/(2π) e^-4
    0.01649
    """
    return np.sqrt(curvature_min * np.abs(curvature_saddle)) / (2 * np.pi) * np.exp(-np.asarray(barrier) / temperature)


def smoothing_width(lr, batch_size, noise_var, n=None):
    """s = η sqrt(c σ² / B): the standard deviation of one SGD step's noise, the kernel width of Kleinberg et al."""
    return lr * math.sqrt(finite_population_factor(n, batch_size) * noise_var / batch_size)


def smoothed_loss(fn: Callable, theta, width: float, n_nodes: int = 201, span: float = 8.0) -> Tensor:
    """L_s(θ) = E_u fn(θ + s u), u ~ N(0, 1): ``fn`` convolved with a Gaussian of width s (Kleinberg, Li & Yuan 2018:
    SGD ≈ GD on L_s). Trapezoid rule on ``n_nodes`` equally spaced u in [-span, span], weights normalized to sum 1
    (constants exact, smooth fn to high accuracy). θ any shape, 1-D problems; ``fn`` is called on θ[..., None] + s u
    for chunks of nodes (as :meth:`FiniteSumLoss.loss` allows). Smoothing commutes with ∇, so
    ``smoothed_loss(loss.grad, θ, s)`` is ∇L_s.

    >>> round(float(smoothed_loss(lambda t: t**2, torch.tensor(1.0), 0.5)), 10)  # θ² + s²
    1.25
    """
    theta = torch.as_tensor(theta, dtype=_F64)
    if width == 0:
        return fn(theta)
    u = torch.linspace(-span, span, n_nodes, dtype=_F64, device=theta.device)
    w = torch.exp(-(u**2) / 2)
    w = w / w.sum()
    chunk = max(1, _POINTS // max(theta.numel(), 1))  # nodes per call, to bound memory
    return sum((fn(theta[..., None] + width * u[i:i + chunk]) * w[i:i + chunk]).sum(-1)
               for i in range(0, n_nodes, chunk))


# ------------------------------------------------------------------------------------------ helpers


def basin_fractions(theta, boundaries) -> Tensor:
    """Fraction of replicas in each basin: θ (..., R) (a tensor or an array) and ascending boundaries (k-1,) (e.g.
    ``Basins.saddles``) -> (..., k), basin j = (b_{j-1}, b_j].

    >>> basin_fractions(torch.tensor([-2.0, -1.0, 0.5, 3.0]), [0.0]).tolist()
    [0.5, 0.5]
    """
    theta = torch.as_tensor(theta)
    bounds = torch.as_tensor(np.asarray(boundaries, dtype=float), dtype=theta.dtype, device=theta.device)
    which = torch.bucketize(theta, bounds)
    return torch.nn.functional.one_hot(which, len(bounds) + 1).to(_F64).mean(-2)


def first_passage_times(theta: Tensor, steps, boundary: float, side: int = 1) -> Tensor:
    """First recorded step at which each replica is past ``boundary`` (side=+1: θ > b; side=-1: θ < b), inf if never.

    θ (K, R) recorded at ``steps`` (K,) (e.g. ``Paths.theta``, ``Paths.steps``): the time resolution is that of the
    recording; :class:`EscapeClock` gives exact steps without storing the paths.

    >>> first_passage_times(torch.tensor([[-1.0, -1.0], [0.5, -1.0], [-1.0, -1.0]]), [0, 10, 20], 0.0).tolist()
    [10.0, inf]
    """
    past = side * (theta - boundary) > 0  # (K, R)
    first = torch.as_tensor(steps, dtype=_F64, device=theta.device)[past.to(torch.uint8).argmax(0)]
    return torch.where(past.any(0), first, math.inf)


class EscapeClock:
    """A ``callback(step, theta)`` for :func:`sgd_replicas` / :func:`euler_maruyama` that keeps, per replica, the first
    step at which θ is past ``boundary`` (the rule of :func:`first_passage_times`), in ``times`` (R,), inf if never."""

    def __init__(self, boundary: float, side: int = 1):
        self.boundary, self.side, self.times = boundary, side, None

    def __call__(self, step: int, theta: Tensor) -> None:
        if self.times is None:
            self.times = torch.full(theta.shape, math.inf, dtype=_F64, device=theta.device)
        hit = (self.side * (theta - self.boundary) > 0) & torch.isinf(self.times)
        self.times = torch.where(hit, float(step), self.times)


def loglog_slope(x, y) -> float:
    """Slope b of the least-squares line log y = log a + b log x (e.g. variance vs η/B: b ≈ 1).

    >>> round(loglog_slope([1, 2, 4], [3, 12, 48]), 6)
    2.0
    """
    return fit_power_law(x, y, floor=False).b
