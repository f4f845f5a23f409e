"""Chapter 9's experiments: two accounts of why SGD generalizes, the Bayesian one and the out-of-equilibrium one.

Six experiments, each one call that returns plain numpy results and is cached on disk under the part of
:class:`EvidenceOrEquilibriumConfig` it reads:

* :func:`evidence_sweep` (``evidence``) -- the exact evidence of Bayesian linear regression on random ReLU features
  of MNIST-1D (:mod:`dlgen_lib.evidence`) for labels with a growing fraction replaced by random ones, over the
  prior precision α, with its data-fit / Occam split and the test accuracy of the posterior mean;
* :func:`sgd_current` (``current``) -- minibatch SGD on a 2-D least-squares problem whose gradient noise does not
  commute with the Hessian, and full-batch GD with isotropic noise of the same size: the stationary cloud and its
  probability current, measured over many replicas, beside the exact values (:mod:`dlgen_lib.nonequilibrium`);
* :func:`plateau` (``plateau``) -- MLPs trained on MNIST-1D with constant-step SGD: the gradient signal-to-noise
  ratio along training, from per-example gradients, and how far the weights travel once the loss is flat;
* :func:`local_entropy_landscape` (``entropy``) -- a 1-D loss with a deep narrow well and a shallower wide one, and
  its local entropy at several couplings γ;
* :func:`noise_kinds` (``noise``) -- from a full-batch GD solution of an MLP, plain GD, GD with isotropic noise, GD
  with Gaussian noise of the minibatch covariance (the same size per step) and SGD, and beside them GD with dropout
  (not matched in size): how sharp their end points are;
* :func:`entropy_sgd` (``entropy_sgd``) -- SGD, smoothed SGD (gradients at randomly perturbed weights) and
  Entropy-SGD on an MLP, the same cost per gradient, compared where each first reaches the same training loss.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ... import nonequilibrium as neq
from ...cache import cached
from ...config import (
    Check,
    CheckedConfig,
    Integer,
    Real,
    TupleOf,
    generator,
    part,
    positive_int,
    positive_real,
    seed_int,
    seed_tuple,
    single_threaded,
)
from ...data import corrupt_labels, mnist1d
from ...evidence import gram_spectrum, log_evidence
from ...flatness import per_example_grads
from ...landscape import flat_params, top_eigenvalue
from ...models import MLP
from ...random_features import relu_features
from ...train import Ensemble, TrainConfig, _StackedStreams, train_ensemble

__all__ = ["KINDS", "METHODS", "PAPERS", "Current", "CurrentResult", "Entropy", "EntropyResult", "EntropySGD",
           "EntropySGDResult", "EvidenceConfig", "EvidenceResult", "EvidenceOrEquilibriumConfig", "NoiseKinds",
           "NoiseKindsResult", "Plateau", "PlateauResult", "entropy_sgd", "evidence_sweep", "exact_linear_sgd",
           "local_entropy_landscape", "noise_kinds", "plateau", "sgd_current", "wells"]

# What the papers report, to set beside this run (qualitative: none of them prints a number for these settings).
PAPERS = {
    "smith_le": "random labels: the evidence favours the model that predicts nothing; informative labels: it "
                "does not (Smith & Le 2018, logistic regression on MNIST)",
    "chaudhari_soatto": "minibatch noise is highly non-isotropic, so SGD's stationary state has a non-zero current "
                        "and is not the Gibbs density of the loss (Chaudhari & Soatto 2018)",
    "shwartz_ziv_tishby": "gradient means dominate early (drift), fluctuations later (diffusion) (Shwartz-Ziv & "
                          "Tishby 2017)",
    "baldassi_chaudhari": "local entropy favours wide minima over deeper narrow ones (Baldassi et al. 2016; "
                          "Chaudhari et al. 2017)",
    "entropy_sgd": "Entropy-SGD generalizes as well as SGD or better, in comparable training time, and ends where "
                   "the Hessian has few large eigenvalues (Chaudhari et al. 2017, MNIST, CIFAR-10 and recurrent nets)",
    "zhu": "from a sharp GD minimum, noise with the gradient covariance and SGD escape to flatter minima and test "
           "better; isotropic noise of the same size does not (Zhu et al. 2019, FashionMNIST and CIFAR-10)",
}

_positive_tuple = TupleOf(Real(0.0, 1e6, lo_open=True), distinct=True)


def _increasing(values) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))


@dataclass(frozen=True)
class EvidenceConfig(CheckedConfig):
    """:func:`evidence_sweep`: Bayesian linear regression on random features of MNIST-1D."""

    n_train: int = 1000
    n_features: int = 2000  # more features than examples: every labelling can be fitted
    corruption: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)  # fraction of labels redrawn at random
    alphas: tuple[float, ...] = tuple(float(v) for v in np.round(np.logspace(-2, 3, 21), 6))  # prior precisions
    noise: float = 0.09  # σ²: the variance of the centred one-hot targets, so α → ∞ is the best "no features" model
    fit_noise: float = 0.001  # a small σ² at which every labelling is fitted: where the data-fit / Occam split is read
    seed: int = 0

    RULES = {
        "n_train": Integer(20, 4000, "MNIST-1D has 4 000 training signals"),
        "n_features": Integer(1, 20_000),
        "corruption": TupleOf(Real(0.0, 1.0), min_len=3, distinct=True,
                              note="fractions in [0, 1], increasing, from 0 (the true labels) to 1 (random)"),
        "alphas": TupleOf(Real(0.0, 1e9, lo_open=True), min_len=3, distinct=True, note="prior precisions > 0"),
        "noise": positive_real("a noise variance"),
        "fit_noise": positive_real("a noise variance"),
        "seed": seed_int(),
    }
    CHECKS = (
        Check(("corruption",), lambda c: _increasing(c.corruption) and c.corruption[0] == 0.0
              and c.corruption[-1] == 1.0, "corruption must increase from 0.0 to 1.0"),
        Check(("alphas",), lambda c: _increasing(c.alphas), "alphas must be increasing"),
    )
    PRESETS = {"tiny": dict(n_train=200, n_features=400, corruption=(0.0, 0.5, 1.0),
                            alphas=(0.1, 1.0, 10.0, 100.0, 1000.0)),
               "full": dict(n_train=4000, n_features=8000, corruption=tuple(np.round(np.linspace(0, 1, 11), 2)),
                            alphas=tuple(float(v) for v in np.round(np.logspace(-3, 4, 43), 6)))}


@dataclass(frozen=True)
class Current(CheckedConfig):
    """:func:`sgd_current`: SGD on 2-D least squares with noise that depends on the input (heteroscedastic)."""

    n: int = 2000  # data points
    curvatures: tuple[float, float] = (1.0, 0.25)  # variances of the two inputs: the Hessian's eigenvalues
    noise_scale: float = 0.5  # label noise std per unit of the input's projection on the 45° direction
    lr: float = 0.2
    batch_size: int = 4  # drawn with replacement
    replicas: int = 2000  # independent SGD runs, stepped together
    steps: int = 6000
    burn_in: int = 500  # steps left out before averaging (the cloud has settled by then)
    bins: int = 15  # grid of the current's picture
    seed: int = 0

    RULES = {
        "n": Integer(10, 1_000_000),
        "curvatures": TupleOf(Real(0.0, 100.0, lo_open=True), min_len=2, max_len=2, note="two input variances"),
        "noise_scale": Real(0.0, 100.0, lo_open=True),
        "lr": positive_real(),
        "batch_size": positive_int(),
        "replicas": positive_int(1_000_000),
        "steps": Integer(2, 10_000_000),
        "burn_in": Integer(0, 10_000_000),
        "bins": Integer(3, 200),
        "seed": seed_int(),
    }
    CHECKS = (
        Check(("burn_in", "steps"), lambda c: c.burn_in < c.steps - 1, "burn_in must leave steps to average over"),
        Check(("lr", "curvatures"), lambda c: 0 < c.lr * max(c.curvatures) < 1,
              "lr x the largest curvature must lie in (0, 1) for a stable, well-behaved SGD"),
    )
    PRESETS = {"tiny": dict(n=400, replicas=200, steps=800, burn_in=100),
               "full": dict(n=20_000, replicas=10_000, steps=40_000, burn_in=2000, bins=25)}


@dataclass(frozen=True)
class Plateau(CheckedConfig):
    """:func:`plateau`: MLPs trained with constant-step SGD, with and without weight decay."""

    n_train: int = 1000
    widths: tuple[int, ...] = (100, 100)
    lr: float = 0.1
    batch_size: int = 32
    steps: int = 6000
    weight_decay: float = 0.002  # the travelling models' L2 coefficient (the others have none)
    seeds: tuple[int, ...] = (0, 1)
    eval_every: int = 50
    snr_points: int = 24  # checkpoints (log-spaced) at which per-example gradients give the SNR

    RULES = {
        "n_train": Integer(50, 4000, "MNIST-1D has 4 000 training signals"),
        "widths": TupleOf(Integer(1, 4096), note="hidden widths"),
        "lr": positive_real(),
        "batch_size": positive_int(4000),
        "steps": Integer(10, 10_000_000),
        "weight_decay": Real(0.0, 1.0, lo_open=True),
        "seeds": seed_tuple(),
        "eval_every": positive_int(),
        "snr_points": Integer(3, 1000),
    }
    CHECKS = (Check(("eval_every", "steps"), lambda c: 4 * c.eval_every <= c.steps,
                    "eval_every must leave at least 4 evaluations in the run"),)
    PRESETS = {"tiny": dict(n_train=200, widths=(32,), steps=200, eval_every=10, snr_points=6, seeds=(0,)),
               "full": dict(n_train=4000, widths=(256, 256), steps=40_000, eval_every=200, snr_points=40,
                            seeds=(0, 1, 2))}


@dataclass(frozen=True)
class Entropy(CheckedConfig):
    """:func:`local_entropy_landscape`: two Gaussian wells (depths in units of the temperature)."""

    narrow: tuple[float, float, float] = (-1.0, 4.0, 0.08)  # centre, depth, width of the deep narrow well
    wide: tuple[float, float, float] = (1.0, 3.0, 0.6)  # centre, depth, width of the shallower wide well
    gammas: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0)  # couplings; 1/√γ is the scale
    points: int = 801  # grid of x in [-3, 3]

    RULES = {
        "narrow": TupleOf(Real(-1e3, 1e3), min_len=3, max_len=3, note="(centre, depth, width)"),
        "wide": TupleOf(Real(-1e3, 1e3), min_len=3, max_len=3, note="(centre, depth, width)"),
        "gammas": _positive_tuple,
        "points": Integer(11, 100_001),
    }
    CHECKS = (
        Check(("narrow", "wide"), lambda c: c.narrow[1] > c.wide[1] > 0 and 0 < c.narrow[2] < c.wide[2],
              "the narrow well must be deeper and narrower than the wide one (positive depths and widths)"),
        Check(("gammas",), lambda c: _increasing(c.gammas), "gammas must be increasing"),
    )
    PRESETS = {"tiny": dict(gammas=(1.0, 10.0, 1000.0), points=201), "full": dict(points=4001)}


@dataclass(frozen=True)
class NoiseKinds(CheckedConfig):
    """:func:`noise_kinds`: four size-matched dynamics, and GD with dropout, from a full-batch GD solution of an MLP
    on MNIST-1D."""

    n_train: int = 1000
    widths: tuple[int, ...] = (100, 100)
    gd_steps: int = 2000  # full-batch GD to the starting minimum
    lr: float = 0.1  # the same for the GD phase and all five dynamics
    batch_size: int = 32  # B: SGD's batch, and the covariance Σ/B of the Gaussian noise
    steps: int = 1000  # steps of each dynamics from the GD solution
    quench_steps: int = 100  # then plain GD for every model: the end point is the minimum of the basin it reached
    seeds: tuple[int, ...] = (0, 1, 2)
    sharpness_iters: int = 20  # Lanczos steps for λ_max
    dropout: float = 0.1  # the rate of GD with dropout, run beside the four (its noise is not matched in size)

    RULES = {
        "n_train": Integer(50, 4000, "MNIST-1D has 4 000 training signals"),
        "widths": TupleOf(Integer(1, 4096), note="hidden widths"),
        "dropout": Real(0.0, 1.0, lo_open=True, hi_open=True),
        "gd_steps": positive_int(),
        "lr": positive_real(),
        "batch_size": positive_int(4000),
        "steps": positive_int(),
        "quench_steps": Integer(0, 1_000_000),
        "seeds": seed_tuple(),
        "sharpness_iters": Integer(2, 500),
    }
    CHECKS = (Check(("batch_size", "n_train"), lambda c: c.batch_size < c.n_train,
                    "batch_size must be smaller than n_train (else SGD is GD and there is no noise)"),)
    PRESETS = {"tiny": dict(n_train=200, widths=(32,), gd_steps=100, steps=50, quench_steps=20, seeds=(0, 1),
                            sharpness_iters=8),
               "full": dict(n_train=4000, widths=(256, 256), gd_steps=8000, steps=5000, seeds=(0, 1, 2, 3, 4))}


@dataclass(frozen=True)
class EntropySGD(CheckedConfig):
    """:func:`entropy_sgd`: SGD, its Gaussian-smoothed form and Entropy-SGD on an MLP, at the same cost per
    gradient."""

    n_train: int = 1000
    widths: tuple[int, ...] = (100, 100)
    lr: float = 0.1  # SGD's and the smoothed form's step, and Entropy-SGD's inner step
    batch_size: int = 32
    steps: int = 5000  # gradient evaluations per model, for every method
    sigma: float = 0.05  # the smoothed form's scale: gradients at x + σε, ε ~ N(0, I)
    gamma: float = 0.3  # Entropy-SGD's coupling
    inner_steps: int = 20  # Entropy-SGD's Langevin steps per outer step (its cost per outer step)
    inner_noise: float = 0.0  # Entropy-SGD's thermal noise (the paper's is 1e-4, negligible beside SGD's own)
    target_loss: float = 0.05  # methods are compared where their training loss first reaches this
    seeds: tuple[int, ...] = (0, 1, 2)
    sharpness_iters: int = 20

    RULES = {
        "n_train": Integer(50, 4000, "MNIST-1D has 4 000 training signals"),
        "widths": TupleOf(Integer(1, 4096), note="hidden widths"),
        "lr": positive_real(),
        "batch_size": positive_int(4000),
        "steps": positive_int(),
        "sigma": positive_real("a smoothing scale"),
        "gamma": positive_real("a coupling"),
        "inner_steps": positive_int(1000),
        "inner_noise": Real(0.0, 10.0),
        "target_loss": Real(0.0, 10.0, lo_open=True),
        "seeds": seed_tuple(),
        "sharpness_iters": Integer(2, 500),
    }
    CHECKS = (
        Check(
            ("steps", "inner_steps"),
            lambda c: c.steps % c.inner_steps == 0 and c.steps >= 4 * c.inner_steps,
            "steps must be a multiple of inner_steps, at least 4 of them (Entropy-SGD's outer steps)",
        ),
    )
    PRESETS = {
        "tiny": dict(
            n_train=200, widths=(32,), steps=200, inner_steps=10, target_loss=1.3, seeds=(0, 1), sharpness_iters=8
        ),
        "full": dict(n_train=4000, widths=(256, 256), steps=30_000, target_loss=0.05, seeds=(0, 1, 2, 3, 4)),
    }


@dataclass(frozen=True)
class EvidenceOrEquilibriumConfig(CheckedConfig):
    """Every size of chapter 9, one part per experiment."""

    evidence: EvidenceConfig = part(EvidenceConfig)
    current: Current = part(Current)
    plateau: Plateau = part(Plateau)
    entropy: Entropy = part(Entropy)
    noise: NoiseKinds = part(NoiseKinds)
    entropy_sgd: EntropySGD = part(EntropySGD)


# ------------------------------------------------------------------------------------------------- evidence
@dataclass(frozen=True)
class EvidenceResult:
    """Evidence and test accuracy over (corruption, α), per example (nats); index 0 of corruption is the true
    labels."""

    corruption: np.ndarray  # (P,)
    alphas: np.ndarray  # (A,)
    log_z: np.ndarray  # (P, A) ln Z / n at σ² = noise
    null: float  # ln Z / n of the model without features (α → ∞) at σ² = noise
    test_acc: np.ndarray  # (P, A) of the posterior mean, on the clean test labels
    train_acc: np.ndarray  # (P, A) on the labels it was given
    fit_log_z: np.ndarray  # (P, A) ln Z / n at σ² = fit_noise
    fit_data: np.ndarray  # (P, A) its data-fit part
    fit_occam: np.ndarray  # (P, A) its Occam part
    fit_train_acc: np.ndarray  # (P, A)
    noise: float
    fit_noise: float


@cached
def evidence_sweep(evidence: EvidenceConfig) -> EvidenceResult:
    """One eigendecomposition of the features' Gram matrix; every labelling, α and σ² from it. Targets are the
    one-hot labels minus 1/10 (mean zero, variance 0.09 per output)."""
    data = mnist1d().subset(n_train=evidence.n_train)
    n = evidence.n_train
    phi_all = relu_features(torch.cat([data.x_train, data.x_test]), evidence.n_features, seed=evidence.seed)
    phi_all = phi_all.double() / math.sqrt(evidence.n_features)
    phi, phi_test = phi_all[:n], phi_all[n:]
    spec = gram_spectrum(phi)
    cross = phi_test @ phi.T

    def fitted(y, a, noise):  # ΦM on the training inputs: U diag(s / (s + ασ²)) UᵀY
        return spec.u @ ((spec.s / (spec.s + a * noise))[:, None] * spec.project(y))
    shape = (len(evidence.corruption), len(evidence.alphas))
    out = {k: np.zeros(shape) for k in ("log_z", "test", "train", "fit_z", "fit_d", "fit_o", "fit_train")}
    null = None
    for i, p in enumerate(evidence.corruption):
        labels = corrupt_labels(data.y_train, p, seed=evidence.seed + 1).labels if p > 0 else data.y_train
        y = F.one_hot(labels, 10).double() - 0.1
        if null is None:  # the same for every labelling: each has n ones
            null = -0.5 * float((y ** 2).sum()) / evidence.noise / n - 5 * math.log(2 * math.pi * evidence.noise)
        for j, a in enumerate(evidence.alphas):
            out["log_z"][i, j] = log_evidence(spec, y, a, evidence.noise).per_example[0]
            out["test"][i, j] = float((spec.predict(cross, y, a, evidence.noise).argmax(1) == data.y_test)
                                      .double().mean())
            out["train"][i, j] = float((fitted(y, a, evidence.noise).argmax(1) == labels).double().mean())
            ev = log_evidence(spec, y, a, evidence.fit_noise)
            out["fit_z"][i, j], out["fit_d"][i, j], out["fit_o"][i, j] = ev.per_example
            out["fit_train"][i, j] = float((fitted(y, a, evidence.fit_noise).argmax(1) == labels).double().mean())
    return EvidenceResult(np.array(evidence.corruption), np.array(evidence.alphas), out["log_z"], float(null),
                          out["test"], out["train"], out["fit_z"], out["fit_d"], out["fit_o"], out["fit_train"],
                          evidence.noise, evidence.fit_noise)


# -------------------------------------------------------------------------------------------------- current
def exact_linear_sgd(x: np.ndarray, residual: np.ndarray, lr: float, batch_size: int) -> np.ndarray:
    """The exact stationary covariance of minibatch SGD (B examples drawn with replacement) on the least-squares
    loss ½ mean (xᵀw − y)² around its minimum, where ``residual`` = y − xᵀw*.

    With Ĥ = mean over the batch of x xᵀ and ĉ = mean of x r, the deviation δ = w − w* obeys δ' = (I − ηĤ) δ + ηĉ,
    and its second moment closes: S = (I − ηH) S (I − ηH) + (η²/B) [E(xᵀSx) x xᵀ − H S H] + (η²/B) Σ*, with
    Σ* = E r² x xᵀ. This is linear in S and solved directly (d² unknowns). Unlike the Lyapunov equation with the
    noise at the minimum, it keeps the noise's growth away from the minimum (multiplicative noise)."""
    x = np.asarray(x, dtype=float)
    r = np.asarray(residual, dtype=float)
    n, d = x.shape
    h = x.T @ x / n
    sigma = (x * (r ** 2)[:, None]).T @ x / n
    a = np.eye(d) - lr * h

    def op(s):
        quad = np.einsum("ni,ij,nj->n", x, s, x)
        m4 = (x * quad[:, None]).T @ x / n
        return a @ s @ a.T + lr ** 2 / batch_size * (m4 - h @ s @ h)

    basis = np.eye(d * d).reshape(d * d, d, d)
    lhs = np.stack([(e - op(e)).ravel() for e in basis], 1)
    return np.linalg.solve(lhs, (lr ** 2 / batch_size * sigma).ravel()).reshape(d, d)


@dataclass(frozen=True)
class CurrentResult:
    """The stationary cloud of SGD ("sgd") and of GD with isotropic noise of the same size ("iso"), measured over
    replicas and steps, beside the exact values; coordinates are the deviation from the minimum."""

    hessian: np.ndarray  # (2, 2)
    noise_cov: np.ndarray  # (2, 2) Σ*/B, the minibatch gradient's covariance at the minimum
    cov: dict  # kind -> measured stationary covariance (2, 2)
    cov_exact: dict  # kind -> exact stationary covariance
    cov_gibbs: np.ndarray  # T H⁻¹ with T chosen to match the SGD cloud's trace
    circulation: dict  # kind -> measured E[x_t × x_{t+1}] per step
    circulation_se: dict  # kind -> its standard error (over replicas)
    circulation_exact: dict  # kind -> exact value
    circulation_ou: float  # the Ornstein–Uhlenbeck (small-step) prediction for SGD, η² x (HS')₁₂ − (HS')₂₁
    snapshot: dict  # kind -> (R, 2) positions at the last step
    grid: np.ndarray  # (bins,) bin centres, the same on both axes
    current: dict  # kind -> (bins, bins, 2) measured mean (x_{t+1} − x_t) per step and per unit area, at midpoints


@cached
@single_threaded
def sgd_current(current: Current) -> CurrentResult:
    """Inputs x ~ N(0, diag(curvatures)), labels y = xᵀw₀ + s (uᵀx) ε with u at 45° and ε ~ N(0, 1): the noise of
    a minibatch gradient grows along u, which is not an eigenvector of H, so its covariance does not commute with
    H. Both dynamics run ``replicas`` copies from the minimum for ``steps`` steps."""
    gen = generator(current.seed)
    h = torch.tensor(current.curvatures, dtype=torch.float64)
    x = torch.randn(current.n, 2, generator=gen, dtype=torch.float64) * h.sqrt()
    u = torch.tensor([1.0, 1.0], dtype=torch.float64) / math.sqrt(2)
    y = x @ torch.tensor([1.0, -1.0], dtype=torch.float64) + current.noise_scale * (x @ u) * torch.randn(
        current.n, generator=gen, dtype=torch.float64)
    w_star = torch.linalg.solve(x.T @ x, x.T @ y)
    resid = (y - x @ w_star).numpy()
    hess = (x.T @ x / current.n).numpy()
    sigma = (x.numpy() * resid[:, None] ** 2).T @ x.numpy() / current.n
    noise_cov = sigma / current.batch_size
    lr, b, r = current.lr, current.batch_size, current.replicas
    iso_var = float(np.trace(noise_cov)) / 2  # per coordinate: the same total size as the minibatch noise
    exact = {"sgd": exact_linear_sgd(x.numpy(), resid, lr, b),
             "iso": neq.stationary_covariance(hess, iso_var * np.eye(2), lr)}
    ht = torch.tensor(hess)
    lim = 3.0 * math.sqrt(max(np.diag(exact["sgd"]).max(), np.diag(exact["iso"]).max()))
    edges = torch.linspace(-lim, lim, current.bins + 1, dtype=torch.float64)
    cov, circ, circ_se, snap, cur = {}, {}, {}, {}, {}
    for kind in ("sgd", "iso"):
        d = torch.zeros(r, 2, dtype=torch.float64)  # deviation from w*
        per_rep = torch.zeros(r, dtype=torch.float64)
        second = torch.zeros(2, 2, dtype=torch.float64)
        flow = torch.zeros(current.bins * current.bins, 2, dtype=torch.float64)
        count = 0
        for t in range(current.steps):
            if kind == "sgd":
                idx = torch.randint(0, current.n, (r, b), generator=gen)
                xb = x[idx]  # (R, B, 2)
                resid_b = (xb @ (w_star + d).unsqueeze(-1)).squeeze(-1) - y[idx]
                g = (resid_b.unsqueeze(-1) * xb).mean(1)
            else:
                g = d @ ht + math.sqrt(iso_var) * torch.randn(r, 2, generator=gen, dtype=torch.float64)
            nxt = d - lr * g
            if t >= current.burn_in:
                per_rep += neq.cross(d, nxt)
                second += d.T @ d
                mid = 0.5 * (d + nxt)
                ij = torch.bucketize(mid.clamp(-lim, lim - 1e-12), edges[1:-1])  # (R, 2) bin per axis
                flow.index_add_(0, ij[:, 0] * current.bins + ij[:, 1], nxt - d)
                count += 1
            d = nxt
        per_rep /= count
        cov[kind] = (second / (count * r)).numpy()
        circ[kind] = float(per_rep.mean())
        circ_se[kind] = float(per_rep.std() / math.sqrt(r))
        snap[kind] = d.numpy()
        area = float(edges[1] - edges[0]) ** 2
        cur[kind] = (flow / (count * r * area)).reshape(current.bins, current.bins, 2).numpy()
    circ_exact = {k: neq.circulation(hess, exact[k], lr) for k in exact}
    ou = lr ** 2 * neq.circulation(hess, neq.stationary_covariance(hess, noise_cov))
    temp = np.trace(cov["sgd"]) / np.trace(np.linalg.inv(hess))
    centres = (0.5 * (edges[1:] + edges[:-1])).numpy()
    return CurrentResult(hess, noise_cov, cov, exact, temp * np.linalg.inv(hess), circ, circ_se, circ_exact, ou,
                         snap, centres, cur)


# -------------------------------------------------------------------------------------------------- plateau
@dataclass(frozen=True)
class PlateauResult:
    """Along training, for every model (seed-major within each weight decay: index ``wd * S + s``)."""

    weight_decay: np.ndarray  # (K,) 0 or the config's weight decay
    step: np.ndarray  # (E,) evaluations
    train_loss: np.ndarray  # (K, E) cross-entropy on the training set (without the L2 term)
    train_acc: np.ndarray  # (K, E)
    test_acc: np.ndarray  # (K, E)
    norm: np.ndarray  # (K, E) ‖w‖
    distance: np.ndarray  # (K, E) ‖w_t − w_{t_half}‖, from the weights halfway through training
    snr_step: np.ndarray  # (M,) where the SNR was measured
    snr: np.ndarray  # (K, M) ‖∇L‖² / (tr Σ / B), ∇L including the L2 term
    batch_size: int


def _snr_steps(cfg: Plateau) -> list[int]:
    evals = np.arange(0, cfg.steps + 1, cfg.eval_every)
    wanted = np.unique(np.round(np.geomspace(cfg.eval_every, cfg.steps, cfg.snr_points - 1)))
    picks = {0} | {int(evals[np.argmin(np.abs(evals - w))]) for w in wanted}
    return sorted(picks)


@cached
def plateau(plateau: Plateau) -> PlateauResult:
    """One ensemble: every seed without weight decay and with it, trained together on the same batches. At the
    SNR checkpoints each model's per-example gradients are taken on the whole training set."""
    data = mnist1d().subset(n_train=plateau.n_train)
    x, y = data.x_train, data.y_train
    seeds = list(plateau.seeds)
    k = 2 * len(seeds)
    wds = [0.0] * len(seeds) + [plateau.weight_decay] * len(seeds)
    factory = lambda: MLP(x.shape[1], list(plateau.widths))  # noqa: E731
    ens = Ensemble.build(factory, seeds + seeds, x.device)
    tcfg = TrainConfig(steps=plateau.steps, lr=plateau.lr, batch_size=plateau.batch_size,
                       eval_every=plateau.eval_every)
    snr_at = set(_snr_steps(plateau))
    half = (plateau.steps // 2) // plateau.eval_every * plateau.eval_every
    flats, snrs = [], []

    def record(step, e, hist):
        flat = torch.cat([e.params[name].reshape(k, -1) for name in e.params], 1).clone()
        flats.append(flat)
        if step in snr_at:
            row = []
            for m in range(k):
                model = e.model(m)
                g = per_example_grads(model, x, y)
                full = g.mean(0) + wds[m] * flat_params(model)
                noise = ((g - g.mean(0)) ** 2).sum(1).mean()
                row.append(float((full ** 2).sum() / (noise / plateau.batch_size)))
            snrs.append(row)

    _, hist = train_ensemble(factory, seeds + seeds, x, y, tcfg, data.x_test, data.y_test, ensemble=ens,
                             data_seeds=seeds + seeds, weight_decays=wds, callbacks=[record], desc="plateau")
    w = torch.stack(flats, 1)  # (K, E, P)
    mid = int(np.flatnonzero(hist.step == half)[0])
    return PlateauResult(np.array(wds), hist.step, hist.train_loss, hist.train_acc, hist.test_acc,
                         w.norm(dim=2).numpy(), (w - w[:, mid:mid + 1]).norm(dim=2).numpy(),
                         np.array(sorted(snr_at)), np.array(snrs).T, plateau.batch_size)


# -------------------------------------------------------------------------------------------------- entropy
def wells(cfg: Entropy):
    """f(x) = −a₁ exp(−(x − c₁)²/2s₁²) − a₂ exp(−(x − c₂)²/2s₂²): the narrow and the wide well of ``cfg``."""
    (c1, a1, s1), (c2, a2, s2) = cfg.narrow, cfg.wide

    def f(x):
        return -a1 * torch.exp(-(x - c1) ** 2 / (2 * s1 ** 2)) - a2 * torch.exp(-(x - c2) ** 2 / (2 * s2 ** 2))

    return f


@dataclass(frozen=True)
class EntropyResult:
    x: np.ndarray  # (X,)
    loss: np.ndarray  # (X,)
    gammas: np.ndarray  # (G,)
    free: np.ndarray  # (G, X) −F(x; γ), the local free energy (lower is better, like the loss)
    argmin_loss: float
    argmin_free: np.ndarray  # (G,)
    curvature_loss: float  # max |f''| on the grid
    curvature_free: np.ndarray  # (G,) max |(−F)''|


@cached
def local_entropy_landscape(entropy: Entropy) -> EntropyResult:
    """The loss and −F(x; γ) on a grid, with their minimizers and largest curvatures (finite differences)."""
    f = wells(entropy)
    x = torch.linspace(-3, 3, entropy.points, dtype=torch.float64)
    loss = f(x)
    free = torch.stack([-neq.local_entropy(f, x, g) for g in entropy.gammas])
    dx = float(x[1] - x[0])

    def curvature(v):
        return float(((v[..., 2:] - 2 * v[..., 1:-1] + v[..., :-2]) / dx ** 2).abs().max())

    return EntropyResult(x.numpy(), loss.numpy(), np.array(entropy.gammas), free.numpy(), float(x[loss.argmin()]),
                         x[free.argmin(1)].numpy(), curvature(loss), np.array([curvature(v) for v in free]))


# ---------------------------------------------------------------------------------------------- noise kinds
KINDS = ("gd", "isotropic", "covariance", "sgd")


@dataclass(frozen=True)
class NoiseKindsResult:
    """After the noise phase, for each kind (rows, in :data:`KINDS` order) and seed (columns)."""

    kinds: tuple[str, ...]
    sharpness_start: np.ndarray  # (S,) λ_max of the Hessian at the full-batch GD solution
    sharpness: np.ndarray  # (4, S) after the noise phase and the quench
    train_loss: np.ndarray  # (4, S)
    test_acc_start: np.ndarray  # (S,)
    test_acc: np.ndarray  # (4, S)
    moved: np.ndarray  # (4, S) ‖θ − θ_GD‖
    noise_norm: np.ndarray  # (S,) mean ‖ξ‖ per step of the covariance noise (the isotropic noise has the same)
    dropout: float  # the rate of the fifth dynamics, full-batch GD with dropout (its noise is not size-matched)
    dropout_sharpness: np.ndarray  # (S,) after it and the same quench
    dropout_train_loss: np.ndarray  # (S,)
    dropout_test_acc: np.ndarray  # (S,)
    dropout_moved: np.ndarray  # (S,)
    seconds: float


def _weights(kind: torch.Tensor, n: int, batch: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example loss weights (K, n) of one step: w1 for the mean gradient (SGD: its minibatch), w2 for the
    noise, (z − z̄)/√(nB) with z ~ N(0, 1), whose gradient Σ_i w2_i g_i has covariance Σ/B (zero for GD and SGD)."""
    k = len(kind)
    w1 = torch.full((k, n), 1.0 / n)
    sgd = torch.nonzero(kind == KINDS.index("sgd")).squeeze(1)
    if len(sgd):
        w1[sgd] = 0.0
        picks = torch.stack([torch.randperm(n, generator=gen)[:batch] for _ in range(len(sgd))])
        w1[sgd.unsqueeze(1), picks] = 1.0 / batch
    z = torch.randn(k, n, generator=gen)
    w2 = (z - z.mean(1, keepdim=True)) / math.sqrt(n * batch)
    w2[(kind == KINDS.index("gd")) | (kind == KINDS.index("sgd"))] = 0.0
    return w1, w2


def _dropout_forward(base: torch.nn.Sequential, params: dict[str, torch.Tensor], x: torch.Tensor, rate: float,
                     gen: torch.Generator | None) -> torch.Tensor:
    """Logits (K, n, C) of an ensemble of plain MLPs (Flatten / Linear / ReLU) with inverted dropout of ``rate``
    after every hidden ReLU, a fresh mask for every model, example and unit (drawn from ``gen``); ``rate`` 0 is
    the plain forward pass."""
    k = next(iter(params.values())).shape[0]
    h = x.flatten(1).unsqueeze(0).expand(k, -1, -1)
    for name, layer in base.named_children():
        if isinstance(layer, torch.nn.Linear):
            h = torch.baddbmm(params[f"{name}.bias"].unsqueeze(1), h, params[f"{name}.weight"].transpose(1, 2))
        elif isinstance(layer, torch.nn.ReLU):
            h = torch.relu(h)
            if rate > 0:
                h = h * (torch.rand(h.shape, generator=gen) >= rate) / (1.0 - rate)
        elif not isinstance(layer, torch.nn.Flatten):
            raise TypeError(f"_dropout_forward takes Flatten / Linear / ReLU layers, not {type(layer).__name__}")
    return h


def _dropout_phase(base, start: dict[str, torch.Tensor], x, y, noise: NoiseKinds, gen) -> dict[str, torch.Tensor]:
    """From the GD solutions ``start`` (S models): ``steps`` of full-batch GD on the loss with dropout (a new
    mask per step), then ``quench_steps`` of plain GD, with the same learning rate as the other kinds."""
    params = {k: v.clone() for k, v in start.items()}
    labels = y.expand(next(iter(params.values())).shape[0], -1)
    for step in range(noise.steps + noise.quench_steps):
        rate = noise.dropout if step < noise.steps else 0.0
        for v in params.values():
            v.requires_grad_(True)
        logits = _dropout_forward(base, params, x, rate, gen)
        loss = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none").mean(1).sum()
        grads = torch.autograd.grad(loss, list(params.values()))
        with torch.no_grad():
            params = {k: v.detach() - noise.lr * g for (k, v), g in zip(params.items(), grads)}
    return params


@cached
def noise_kinds(noise: NoiseKinds) -> NoiseKindsResult:
    """Full-batch GD to a minimum, then four dynamics from it with the same learning rate and, for the three noisy
    ones, noise of the same size per step (Zhu et al. 2019): plain GD; GD + isotropic Gaussian noise whose norm is
    that of the covariance noise drawn at the same step; GD + Gaussian noise with the minibatch gradient covariance
    Σ/B; minibatch SGD. All 4 x S models run as one ensemble. Then every model takes ``quench_steps`` of plain GD,
    so that sharpness is measured at the bottom of the basin each dynamics reached, not at a noisy snapshot (the
    last noise kicks alone can leave a point at a higher loss, where the Hessian is sharper). A fifth dynamics,
    full-batch GD with dropout of rate ``dropout`` and the same quench, runs after them from the same solutions
    with its own generator, so that it leaves the four size-matched ones unchanged; its noise is whatever
    dropout's is, not matched in size."""
    start = time.perf_counter()
    data = mnist1d().subset(n_train=noise.n_train)
    x, y, n = data.x_train, data.y_train, noise.n_train
    seeds = list(noise.seeds)
    s = len(seeds)
    factory = lambda: MLP(x.shape[1], list(noise.widths))  # noqa: E731
    ens, _ = train_ensemble(factory, seeds, x, y, TrainConfig(steps=noise.gd_steps, lr=noise.lr, batch_size=None,
                                                               eval_every=noise.gd_steps),
                            show_progress=False)
    start_params = {k: v.clone() for k, v in ens.params.items()}
    sharp0 = np.array([top_eigenvalue(ens.model(m), x, y, iters=noise.sharpness_iters) for m in range(s)])
    _, acc0 = ens.evaluate(data.x_test, data.y_test)
    kind = torch.arange(len(KINDS)).repeat_interleave(s)  # kind-major: model k is kind k // S, seed k % S
    big = Ensemble(ens.base, {k: v.repeat(len(KINDS), *([1] * (v.dim() - 1))).clone() for k, v in
                              ens.params.items()}, {})
    gen = generator(noise.seeds[0] + 7)
    names = list(big.params)
    iso = (kind == KINDS.index("isotropic")).double()
    noise_norm = torch.zeros(s)
    labels = y.expand(len(kind), n)
    for step in range(noise.steps + noise.quench_steps):
        w1, w2 = _weights(kind, n, noise.batch_size, gen)
        if step >= noise.steps:  # the quench: plain GD for everyone
            w1, w2 = torch.full_like(w1, 1.0 / n), torch.zeros_like(w2)
        for p in big.params.values():
            p.requires_grad_(True)
        ell = F.cross_entropy(big.forward(x).transpose(1, 2), labels, reduction="none")  # (K, n)
        g1 = torch.autograd.grad((w1 * ell).sum(), [big.params[k] for k in names], retain_graph=True)
        g2 = torch.autograd.grad((w2 * ell).sum(), [big.params[k] for k in names])
        with torch.no_grad():
            for p in big.params.values():
                p.requires_grad_(False)
            size = torch.sqrt(sum((g.flatten(1) ** 2).sum(1) for g in g2))  # (K,) ‖ξ‖ of this step
            draws = [torch.randn(g.shape, generator=gen) for g in g2]
            unit = torch.sqrt(sum((d.flatten(1) ** 2).sum(1) for d in draws))
            if step < noise.steps:
                noise_norm += size[kind == KINDS.index("covariance")]
            for name, a, b, d in zip(names, g1, g2, draws):
                shape = (-1,) + (1,) * (d.dim() - 1)
                f = iso.view(shape).to(d.dtype)
                xi = f * d * (size / unit).view(shape) + (1 - f) * b
                big.params[name] -= noise.lr * (a + xi)
    tl, _ = big.evaluate(x, y)
    _, ta = big.evaluate(data.x_test, data.y_test)
    sharp = np.array([top_eigenvalue(big.model(m), x, y, iters=noise.sharpness_iters) for m in range(len(kind))])
    flat = torch.cat([(big.params[k] - start_params[k].repeat(len(KINDS), *([1] * (big.params[k].dim() - 1))))
                      .flatten(1) for k in names], 1)
    shape = (len(KINDS), s)
    drop = Ensemble(ens.base, _dropout_phase(ens.base, start_params, x, y, noise, generator(noise.seeds[0] + 11)),
                    {})
    d_loss, _ = drop.evaluate(x, y)
    _, d_acc = drop.evaluate(data.x_test, data.y_test)
    d_sharp = np.array([top_eigenvalue(drop.model(m), x, y, iters=noise.sharpness_iters) for m in range(s)])
    d_moved = torch.cat([(drop.params[k] - start_params[k]).flatten(1) for k in names], 1).norm(dim=1)
    return NoiseKindsResult(KINDS, sharp0, sharp.reshape(shape), tl.numpy().reshape(shape), acc0.numpy(),
                            ta.numpy().reshape(shape), flat.norm(dim=1).numpy().reshape(shape),
                            (noise_norm / noise.steps).numpy(), noise.dropout, d_sharp, d_loss.numpy(),
                            d_acc.numpy(), d_moved.numpy(), time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------- entropy-SGD
METHODS = ("sgd", "smoothed", "entropy_sgd")


@dataclass(frozen=True)
class EntropySGDResult:
    """For each method (rows, in :data:`METHODS` order) and seed (columns); costs in gradient evaluations."""

    methods: tuple[str, ...]
    step: np.ndarray  # (E,) gradient evaluations at each evaluation
    train_loss: np.ndarray  # (3, S, E)
    test_acc: np.ndarray  # (3, S, E)
    target_loss: float
    reach: np.ndarray  # (3, S) gradient evaluations at which the training loss first was <= target (nan: never)
    sharpness_target: np.ndarray  # (3, S) λ_max there (nan: never)
    sharpness_end: np.ndarray  # (3, S) λ_max after the whole budget
    seconds: float

    def _at_reach(self, values: np.ndarray) -> np.ndarray:
        out = np.full(self.reach.shape, np.nan)
        for i, s in zip(*np.nonzero(np.isfinite(self.reach))):
            out[i, s] = values[i, s, int(np.searchsorted(self.step, self.reach[i, s]))]
        return out

    @property
    def loss_target(self) -> np.ndarray:
        """(3, S) the training loss where it first reached the target (nan: never)."""
        return self._at_reach(self.train_loss)

    @property
    def test_target(self) -> np.ndarray:
        """(3, S) the test accuracy there."""
        return self._at_reach(self.test_acc)


def _minibatch_grad(base, x, y, streams):
    """grad_fn(params) -> the gradient of each model's mean cross-entropy on its next minibatch of ``streams``."""

    def grad_fn(params):
        idx = streams.next()  # (K, B)
        ps = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        logits = Ensemble(base, ps, {}).forward(x[idx], per_model_inputs=True)
        loss = F.cross_entropy(logits.transpose(1, 2), y[idx], reduction="none").mean(1).sum()
        return dict(zip(ps, torch.autograd.grad(loss, list(ps.values()))))

    return grad_fn


@cached
@single_threaded
def entropy_sgd(entropy_sgd: EntropySGD) -> EntropySGDResult:
    """Three ensembles of the same initial MLPs, one per method, each seed on the same minibatch stream, each
    method spending one minibatch gradient per step: SGD; SGD with the gradient taken at x + σε (the smoothed
    form, :func:`~dlgen_lib.nonequilibrium.smoothed_grad_point`); Entropy-SGD, an outer step every
    ``inner_steps`` gradients (:func:`~dlgen_lib.nonequilibrium.entropy_sgd_step`). The training loss is measured
    every ``inner_steps`` gradients (Entropy-SGD at its outer variable x); the first time it is at or below
    ``target_loss`` the weights are kept and λ_max is measured there, so the methods are compared at equal loss
    (for cross-entropy λ_max falls as the loss does, so a comparison at different losses says little)."""
    cfg = entropy_sgd
    start = time.perf_counter()
    data = mnist1d().subset(n_train=cfg.n_train)
    x, y = data.x_train, data.y_train
    seeds, s = list(cfg.seeds), len(cfg.seeds)
    factory = lambda: MLP(x.shape[1], list(cfg.widths))  # noqa: E731
    evals = np.arange(0, cfg.steps + 1, cfg.inner_steps)
    shape = (len(METHODS), s)
    train_loss, test_acc = np.zeros(shape + (len(evals),)), np.zeros(shape + (len(evals),))
    reach, sharp_t, sharp_end = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape)
    for i, method in enumerate(METHODS):
        ens = Ensemble.build(factory, seeds)
        grad_fn = _minibatch_grad(ens.base, x, y, _StackedStreams(cfg.n_train, cfg.batch_size, seeds))
        gen = generator(seeds[0] + 31 + i)
        kept: dict[int, dict[str, torch.Tensor]] = {}
        for e in range(len(evals)):
            if e > 0 and method == "entropy_sgd":
                ens.params.update(neq.entropy_sgd_step(ens.params, grad_fn, cfg.gamma, cfg.inner_steps, cfg.lr,
                                                       noise=cfg.inner_noise, gen=gen))
            elif e > 0:
                for _ in range(cfg.inner_steps):
                    at = ens.params if method == "sgd" else neq.smoothed_grad_point(ens.params, cfg.sigma, gen)
                    g = grad_fn(at)
                    ens.params.update({k: v - cfg.lr * g[k] for k, v in ens.params.items()})
            tl, _ = ens.evaluate(x, y)
            _, ta = ens.evaluate(data.x_test, data.y_test)
            train_loss[i, :, e], test_acc[i, :, e] = tl.numpy(), ta.numpy()
            for m in range(s):
                if m not in kept and tl[m] <= cfg.target_loss:
                    kept[m] = {k: v[m: m + 1].clone() for k, v in ens.params.items()}
                    reach[i, m] = evals[e]
        sharp_end[i] = [top_eigenvalue(ens.model(m), x, y, iters=cfg.sharpness_iters) for m in range(s)]
        for m, params in kept.items():
            model = Ensemble(ens.base, params, {}).model(0)
            sharp_t[i, m] = top_eigenvalue(model, x, y, iters=cfg.sharpness_iters)
    return EntropySGDResult(METHODS, evals, train_loss, test_acc, cfg.target_loss, reach, sharp_t, sharp_end,
                            time.perf_counter() - start)
