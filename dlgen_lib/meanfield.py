"""Mean-field signal propagation through deep random networks (Poole et al. 2016; Schoenholz et al. 2017).

A fully connected network with weights W_ij ~ N(0, σ_w²/N), biases b_i ~ N(0, σ_b²) and activation φ. When the
layers are wide, the pre-activations h^l of one input are Gaussian across units with variance q^l, and those of two
inputs have covariance q₁₂^l; one layer maps them as

    q^{l+1}   = σ_w² E[φ(u₁)²] + σ_b²                (the length map; its fixed point is q*)
    q₁₂^{l+1} = σ_w² E[φ(u₁) φ(u₂)] + σ_b²           (u₁, u₂ Gaussian with variances q^l, covariance q₁₂^l)

so the correlation c = q₁₂ / q of two inputs of the same length follows the c-map c ↦ (σ_w² E[φ(u₁)φ(u₂)] + σ_b²)/q*.
c = 1 is always a fixed point; its slope there,

    χ₁ = σ_w² E[φ'(√q* z)²],

decides its stability. χ₁ < 1 is the *ordered* phase: every pair of inputs ends perfectly correlated. χ₁ > 1 is the
*chaotic* phase: nearby inputs are pulled apart (a small distance grows by χ₁ per layer, in squared length), and
correlations settle at a fixed point c* < 1. χ₁ = 1 is the critical line. Near a fixed point c^l approaches it as
e^{-l/ξ_c}, with the correlation depth scale ξ_c = -1 / ln χ_c, χ_c = σ_w² E[φ'(u₁*)φ'(u₂*)] at c* (= χ₁ in the
ordered phase, where c* = 1); ξ_c diverges on the critical line. Backpropagated gradients obey the same χ₁: the
squared gradient norm changes by a factor χ₁ per layer (Schoenholz et al. 2017).

Expectations over Gaussians use Gauss-Hermite quadrature (probabilists' nodes), in float64.

>>> round(critical_sigma_w2(0.05), 3)   # tanh, sigma_b^2 = 0.05: the critical weight variance
1.761
>>> round(chi1(2.0, 0.0, "relu"), 6)    # He initialization is ReLU's critical point
1.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("tanh", "relu", "linear")
# Gauss-Hermite nodes per dimension. E[tanh(√q z)²] with 80 nodes agrees with 160 nodes to 2e-10 at q = 1,
# 4e-6 at q = 3 and 6e-4 at q = 8 (measured); chapter 8's q* lie between 0.05 and 5.5.
_NODES = 80


def _check(sigma_w2: float, sigma_b2: float, act: str) -> None:
    if act not in ACTIVATIONS:
        raise ValueError(f"activation {act!r} is not known; valid: {', '.join(ACTIVATIONS)}")
    if not (sigma_w2 > 0 and math.isfinite(sigma_w2)):
        raise ValueError(f"sigma_w2={sigma_w2} must be a positive number (the weight variance times fan-in)")
    if not (sigma_b2 >= 0 and math.isfinite(sigma_b2)):
        raise ValueError(f"sigma_b2={sigma_b2} must be a non-negative number (the bias variance)")


def phi(x, act: str = "tanh"):
    """The activation, on numpy arrays."""
    if act == "tanh":
        return np.tanh(x)
    if act == "relu":
        return np.maximum(x, 0.0)
    return np.asarray(x, dtype=float)


def dphi(x, act: str = "tanh"):
    """The activation's derivative, on numpy arrays."""
    if act == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if act == "relu":
        return (np.asarray(x) > 0).astype(float)
    return np.ones_like(np.asarray(x, dtype=float))


def gauss_hermite(n: int = _NODES) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z and probabilities p with E[f(Z)] ≈ Σ p f(z) for Z ~ N(0, 1)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / w.sum()


def _pair(q1: float, q2: float, q12: float, n: int = _NODES):
    """Quadrature nodes (u₁, u₂) and probabilities for a Gaussian pair with variances q1, q2 and covariance q12."""
    z, p = gauss_hermite(n)
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    c = np.clip(q12 / math.sqrt(q1 * q2), -1.0, 1.0)
    u1 = math.sqrt(q1) * z1
    u2 = math.sqrt(q2) * (c * z1 + math.sqrt(max(1.0 - c * c, 0.0)) * z2)
    return u1, u2, np.outer(p, p)


def length_map(q: float, sigma_w2: float, sigma_b2: float, act: str = "tanh") -> float:
    """q^{l+1} from q^l."""
    _check(sigma_w2, sigma_b2, act)
    if act != "tanh":  # E[relu(u)²] = q / 2, E[u²] = q
        return sigma_w2 * q * (0.5 if act == "relu" else 1.0) + sigma_b2
    z, p = gauss_hermite()
    return float(sigma_w2 * np.sum(p * phi(math.sqrt(q) * z, act) ** 2) + sigma_b2)


def covariance_map(q1: float, q2: float, q12: float, sigma_w2: float, sigma_b2: float,
                   act: str = "tanh") -> float:
    """q₁₂^{l+1} from the variances and covariance of layer l."""
    if act == "relu":  # the arc-cosine kernel (Cho & Saul 2009), exact: quadrature is slow at ReLU's kink
        c = float(np.clip(q12 / math.sqrt(q1 * q2), -1.0, 1.0))
        theta = math.acos(c)
        return sigma_w2 * math.sqrt(q1 * q2) / (2 * math.pi) * (math.sin(theta) + (math.pi - theta) * c) + sigma_b2
    if act == "linear":
        return sigma_w2 * q12 + sigma_b2
    u1, u2, p = _pair(q1, q2, q12)
    return float(sigma_w2 * np.sum(p * phi(u1, act) * phi(u2, act)) + sigma_b2)


def q_star(sigma_w2: float, sigma_b2: float, act: str = "tanh", q0: float = 1.0, tol: float = 1e-13,
           max_iter: int = 100_000) -> float:
    """The fixed point of the length map, by iteration from q0 (ReLU with σ_w² ≥ 2 has none: it grows or, at 2
    without bias, stays where it starts)."""
    _check(sigma_w2, sigma_b2, act)
    if act in ("relu", "linear"):
        gain = sigma_w2 / 2 if act == "relu" else sigma_w2
        if gain >= 1:
            if gain == 1 and sigma_b2 == 0:
                return q0
            raise ValueError(f"{act} with sigma_w2={sigma_w2}: the length map has no fixed point (q grows "
                             "without bound)")
        return sigma_b2 / (1 - gain)
    q = q0
    for _ in range(max_iter):
        new = length_map(q, sigma_w2, sigma_b2, act)
        if abs(new - q) <= tol * max(1.0, q):
            return new
        q = new
    raise RuntimeError(f"the length map did not converge for sigma_w2={sigma_w2}, sigma_b2={sigma_b2}")


def chi1(sigma_w2: float, sigma_b2: float, act: str = "tanh") -> float:
    """χ₁ = σ_w² E[φ'(√q* z)²], the slope of the c-map at c = 1 and the per-layer factor of squared gradients."""
    _check(sigma_w2, sigma_b2, act)
    if act != "tanh":  # φ' does not depend on the scale of its input: E[φ'²] = 1/2 (ReLU), 1 (linear)
        return sigma_w2 / 2 if act == "relu" else sigma_w2
    q = q_star(sigma_w2, sigma_b2, act)
    z, p = gauss_hermite()
    return float(sigma_w2 * np.sum(p * dphi(math.sqrt(q) * z, act) ** 2))


def correlation_map(c: float, sigma_w2: float, sigma_b2: float, act: str = "tanh",
                    q: float | None = None) -> float:
    """c^{l+1} from c^l, for two inputs whose pre-activations have the fixed-point length q (default q*)."""
    q = q_star(sigma_w2, sigma_b2, act) if q is None else q
    return covariance_map(q, q, c * q, sigma_w2, sigma_b2, act) / q


def c_star(sigma_w2: float, sigma_b2: float, act: str = "tanh") -> float:
    """The stable fixed point of the c-map: 1 in the ordered phase and on the critical line, the root c* < 1 of
    c-map(c) = c in the chaotic phase (c-map(0) > 0, and c-map(c) < c just below 1 where its slope χ₁ > 1)."""
    from scipy.optimize import brentq

    if chi1(sigma_w2, sigma_b2, act) <= 1.0:
        return 1.0
    q = q_star(sigma_w2, sigma_b2, act)
    gap = lambda c: correlation_map(c, sigma_w2, sigma_b2, act, q) - c  # noqa: E731
    hi = 1.0 - 1e-9
    if gap(hi) >= 0:  # so close to the critical line that c* cannot be told from 1
        return 1.0
    return float(brentq(gap, -1.0 if gap(-1.0) > 0 else 0.0, hi, xtol=1e-13))


def chi_c(sigma_w2: float, sigma_b2: float, act: str = "tanh") -> float:
    """χ_c = σ_w² E[φ'(u₁)φ'(u₂)] at the stable fixed point c* (equal to χ₁ in the ordered phase)."""
    q = q_star(sigma_w2, sigma_b2, act)
    c = c_star(sigma_w2, sigma_b2, act)
    u1, u2, p = _pair(q, q, c * q)
    return float(sigma_w2 * np.sum(p * dphi(u1, act) * dphi(u2, act)))


def xi_c(sigma_w2: float, sigma_b2: float, act: str = "tanh") -> float:
    """The correlation depth scale ξ_c = -1 / ln χ_c (infinite on the critical line)."""
    x = chi_c(sigma_w2, sigma_b2, act)
    return math.inf if x >= 1.0 else -1.0 / math.log(x)


def critical_sigma_w2(sigma_b2: float, act: str = "tanh") -> float:
    """The σ_w² at which χ₁ = 1 for this σ_b²: the boundary between order and chaos."""
    from scipy.optimize import brentq

    _check(1.0, sigma_b2, act)
    if act == "relu":
        if sigma_b2 > 0:
            raise ValueError("for ReLU the critical point is sigma_w2 = 2, sigma_b2 = 0 (He initialization)")
        return 2.0
    if act == "linear":
        return 1.0
    if sigma_b2 == 0:
        return 1.0  # tanh without bias: q* = 0 below 1, and χ₁ = σ_w² there
    return float(brentq(lambda s: chi1(s, sigma_b2, act) - 1.0, 1.0 + 1e-9, 50.0, xtol=1e-12))


@dataclass(frozen=True)
class Trajectory:
    """The mean-field prediction, layer by layer (index 0 is the input layer's pre-activation)."""

    q: np.ndarray  # (L + 1,) length of input 1 (and 2: the same length)
    c: np.ndarray  # (L + 1,) correlation of the two inputs


def propagate(q0: float, c0: float, depth: int, sigma_w2: float, sigma_b2: float,
              act: str = "tanh") -> Trajectory:
    """Iterate the length and covariance maps ``depth`` times from two inputs of length q0 and correlation c0."""
    _check(sigma_w2, sigma_b2, act)
    if depth < 0 or not q0 > 0 or not -1 <= c0 <= 1:
        raise ValueError(f"need depth >= 0, q0 > 0 and c0 in [-1, 1]; got {depth}, {q0}, {c0}")
    q, q12 = [q0], [c0 * q0]
    for _ in range(depth):
        q12.append(covariance_map(q[-1], q[-1], q12[-1], sigma_w2, sigma_b2, act))
        q.append(length_map(q[-1], sigma_w2, sigma_b2, act))
    q_arr = np.array(q)
    return Trajectory(q_arr, np.array(q12) / q_arr)
