"""The exact evidence of Bayesian linear regression, and its split into data fit and Occam factor.

Model (Bishop 2006, §3.5; MacKay 1992; the linear-model argument of Smith & Le 2018): features Φ (n, d), targets
Y (n, C) with C independent outputs, prior w_c ~ N(0, I/α), likelihood y_c = Φ w_c + N(0, σ² I). The evidence
of output c is the Gaussian density of y_c under N(0, K), K = ΦΦᵀ/α + σ² I, so

    ln Z = Σ_c [ -½ y_cᵀ K⁻¹ y_c - ½ ln|K| - (n/2) ln 2π ].

With the posterior mean M = Φᵀ (ΦΦᵀ + ασ² I)⁻¹ Y it splits exactly into

    data fit     = -‖Y - ΦM‖² / (2σ²) - (nC/2) ln(2πσ²)        (how well the best weights fit)
    Occam factor = -(α/2) ‖M‖² - (C/2) ln|I + ΦΦᵀ/(ασ²)|         (what the fit cost: the prior's penalty on
                                                                  M and the posterior-to-prior volume ratio)

and ln Z = data fit + Occam factor. Everything is computed from one eigendecomposition of the n x n Gram matrix
ΦΦᵀ = U diag(s) Uᵀ, so a sweep over α, σ² and labellings costs one decomposition. Works for d > n (features that can
fit any labelling), where the data fit alone cannot tell true labels from random ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["Evidence", "GramSpectrum", "gram_spectrum", "log_evidence", "posterior_mean"]


@dataclass(frozen=True)
class GramSpectrum:
    """The eigendecomposition ΦΦᵀ = U diag(s) Uᵀ (float64) of one feature matrix, shared by every labelling."""

    s: torch.Tensor  # (n,) eigenvalues, clipped at 0
    u: torch.Tensor  # (n, n) eigenvectors (columns)

    @property
    def n(self) -> int:
        return self.s.shape[0]

    def project(self, y: torch.Tensor) -> torch.Tensor:
        """UᵀY (n, C) for targets ``y`` (n,) or (n, C)."""
        y = y.unsqueeze(1) if y.dim() == 1 else y
        if y.shape[0] != self.n:
            raise ValueError(f"y has {y.shape[0]} rows but phi has {self.n}: one target row per example")
        return self.u.T @ y.double()

    def predict(self, cross: torch.Tensor, y: torch.Tensor, alpha: float, noise: float) -> torch.Tensor:
        """Posterior-mean predictions Φ_test M (m, C) at new points, from ``cross`` = Φ_test Φᵀ (m, n)."""
        b = self.project(y)
        return (cross.double() @ self.u) @ (b / (self.s + alpha * noise)[:, None])


def gram_spectrum(phi: torch.Tensor) -> GramSpectrum:
    """Decompose the Gram matrix of features ``phi`` (n, d) once."""
    if phi.dim() != 2:
        raise ValueError(f"phi must be (n, d) features, got shape {tuple(phi.shape)}")
    p = phi.double()
    s, u = torch.linalg.eigh(p @ p.T)
    return GramSpectrum(s.clamp_min(0.0), u)


@dataclass(frozen=True)
class Evidence:
    """ln Z and its two parts (all in nats, summed over the C outputs), and their values per example."""

    log_z: float
    data_fit: float
    occam: float
    n: int

    @property
    def per_example(self) -> tuple[float, float, float]:
        return self.log_z / self.n, self.data_fit / self.n, self.occam / self.n


def log_evidence(spec: GramSpectrum, y: torch.Tensor, alpha: float, noise: float) -> Evidence:
    """The evidence of targets ``y`` (n,) or (n, C) under prior precision ``alpha`` and noise variance ``noise``."""
    if not (alpha > 0 and noise > 0):
        raise ValueError(f"alpha={alpha} (prior precision) and noise={noise} (noise variance) must both be > 0")
    s, b = spec.s, spec.project(y)  # ΦΦᵀ = U diag(s) Uᵀ, b = UᵀY
    n, c = b.shape
    k = s / alpha + noise  # eigenvalues of K = ΦΦᵀ/α + σ² I
    log_z = -0.5 * float((b ** 2 / k[:, None]).sum()) - 0.5 * c * float(k.log().sum()) - 0.5 * n * c * math.log(
        2 * math.pi)
    g = s + alpha * noise  # eigenvalues of G = ΦΦᵀ + ασ² I
    resid2 = float(((alpha * noise / g)[:, None] ** 2 * b ** 2).sum())  # ‖Y - ΦM‖², Y - ΦM = ασ² G⁻¹ Y
    m2 = float(((s / g ** 2)[:, None] * b ** 2).sum())  # ‖M‖² = Yᵀ G⁻¹ ΦΦᵀ G⁻¹ Y
    data_fit = -resid2 / (2 * noise) - 0.5 * n * c * math.log(2 * math.pi * noise)
    occam = -0.5 * alpha * m2 - 0.5 * c * float(torch.log1p(s / (alpha * noise)).sum())
    return Evidence(log_z, data_fit, occam, n)


def posterior_mean(phi: torch.Tensor, y: torch.Tensor, alpha: float, noise: float) -> torch.Tensor:
    """M (d, C) = Φᵀ (ΦΦᵀ + ασ² I)⁻¹ Y, the posterior mean of the weights (kernel ridge regression)."""
    p = phi.double()
    y = (y.unsqueeze(1) if y.dim() == 1 else y).double()
    g = p @ p.T + alpha * noise * torch.eye(p.shape[0], dtype=torch.float64)
    return p.T @ torch.linalg.solve(g, y)
