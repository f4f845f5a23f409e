"""Random-features regression in closed form, and the isotropic linear model: the numerical core of double descent.

* Features: :func:`draw_weights` / :func:`features` / :func:`relu_features` give φ(x) = relu(x W / sqrt(d)) with
  Gaussian W (d, N); slicing one W drawn at the largest N gives nested feature sets for growing N.
* The solve: :func:`ridge_solve` -- ridge (λ > 0) or minimum-norm least squares (λ = 0) through the smaller Gram
  matrix (n x n when N > n, N x N otherwise), by its eigendecomposition in float64; no pseudo-inverse of Φ.
* The sweep: :func:`rf_sweep` -- test/train error, coefficient norm and smallest singular value over N/n, λ and
  seeds (Belkin et al. 2019; Mei & Montanari 2019), with one Gram eigendecomposition per (seed, N) for all λ.
* Theory: :func:`isotropic_risk` (Hastie, Montanari, Rosset & Tibshirani 2022, "Surprises in high-dimensional
  ridgeless least squares interpolation") and its check :func:`isotropic_monte_carlo`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .config import generator

_BLOCK = 64  # columns of W drawn per generator call
Side = str  # "n" (the n x n Gram ΦΦᵀ) or "N" (the N x N Gram ΦᵀΦ)


# ------------------------------------------------------------------------------------------ features


def draw_weights(d: int, n_max: int, seed: int, weight_scale: float = 1.0) -> torch.Tensor:
    """Gaussian first-layer weights W (d, n_max), entries N(0, weight_scale²), float32 from a CPU generator.

    Columns are drawn in order, so ``W[:, :N]`` is the same for every n_max >= N: nested feature sets.

    >>> W = draw_weights(3, 5, seed=0)
    >>> W.shape, bool(torch.equal(W[:, :2], draw_weights(3, 5, seed=0)[:, :2]))
    (torch.Size([3, 5]), True)
    """
    gen = generator(int(seed))
    # equal-sized blocks of columns, so the random stream (and each column) does not depend on n_max
    blocks = [torch.randn(_BLOCK, d, generator=gen) for _ in range(-(-n_max // _BLOCK))]
    return torch.cat(blocks)[:n_max].T.contiguous() * weight_scale


def features(x: torch.Tensor, W: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """ReLU random features φ(x) = relu(x W / sqrt(d)): x (n, d) (or (n, ...), flattened), W (d, N) -> (n, N),
    on x's device, in ``dtype`` (default x's floating dtype).

    >>> features(torch.tensor([[1.0, -1.0]]), torch.tensor([[1.0, 1.0], [1.0, -1.0]])).tolist()
    [[0.0, 1.4142135381698608]]
    """
    x = x.reshape(len(x), -1)
    dtype = dtype or (x.dtype if x.is_floating_point() else torch.float32)
    if x.shape[1] != W.shape[0]:
        raise ValueError(f"x has {x.shape[1]} inputs but W has {W.shape[0]} rows")
    return torch.relu(x.to(dtype) @ W.to(device=x.device, dtype=dtype) / math.sqrt(x.shape[1]))


def relu_features(x: torch.Tensor, n_features: int, seed: int, weight_scale: float = 1.0) -> torch.Tensor:
    """N = ``n_features`` ReLU random features of x (n, d): ``features(x, draw_weights(d, N, seed))``."""
    x = x.reshape(len(x), -1)
    return features(x, draw_weights(x.shape[1], n_features, seed, weight_scale))


# ------------------------------------------------------------------------------------------ the solve


def _spectrum(Phi: torch.Tensor, side: Side) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues μ (ascending, clamped at 0) and eigenvectors of ΦΦᵀ (side "n") or ΦᵀΦ (side "N"), float64."""
    Phi = Phi.double()
    mu, E = torch.linalg.eigh(Phi @ Phi.T if side == "n" else Phi.T @ Phi)
    return mu.clamp(min=0.0), E


def _gains(mu: torch.Tensor, lam: float, n: int, rtol: float) -> torch.Tensor:
    """g_i = 1 / (μ_i + λ n); for λ = 0 only eigenvalues above rtol * max are inverted (the pseudo-inverse)."""
    if lam > 0:
        return 1.0 / (mu + lam * n)
    keep = mu > rtol * mu[-1].clamp(min=1e-300)
    return torch.where(keep, 1.0 / torch.where(keep, mu, 1.0), 0.0)


def _s_min(mu: torch.Tensor, rtol: float) -> float:
    """The smallest singular value of Φ above the threshold (sqrt of the smallest kept Gram eigenvalue)."""
    kept = mu[mu > rtol * mu[-1].clamp(min=1e-300)]
    return float(kept[0].sqrt()) if len(kept) else 0.0


def _pick_side(n: int, N: int, side: str) -> Side:
    if side not in ("auto", "n", "N"):
        raise ValueError(f"side={side!r} must be 'auto', 'n' (the n x n Gram) or 'N' (the N x N Gram)")
    return ("n" if N > n else "N") if side == "auto" else side


@dataclass(frozen=True)
class RidgeSolution:
    """The coefficients a of the ridge / minimum-norm fit Φ a ≈ Y, and what explains its size."""

    coef: torch.Tensor  # (N,) or (N, c), float64
    s_min: float  # smallest non-zero singular value of Φ (above the rank threshold)
    coef_norm: float  # ||a|| (Frobenius over the c columns)
    side: Side  # which Gram was eigendecomposed: "n" (ΦΦᵀ) or "N" (ΦᵀΦ)


def ridge_solve(Phi: torch.Tensor, Y: torch.Tensor, lam: float = 0.0, *, side: str = "auto",
                rtol: float = 1e-12) -> RidgeSolution:
    """Ridge regression min_a (1/n)||Φ a - Y||² + λ ||a||²; at λ = 0 the minimum-norm least-squares solution a = Φ⁺Y.

    Args: Φ (n, N), Y (n,) or (n, c) (e.g. one-hot); λ >= 0 (absolute: the penalty is λ n I on the Gram).
    ``side``: "auto" eigendecomposes the smaller Gram -- "n": a = Φᵀ (ΦΦᵀ + λ n I)⁻¹ Y (used when N > n);
    "N": a = (ΦᵀΦ + λ n I)⁻¹ ΦᵀY (when N <= n). Both are the same a. All in float64. At λ = 0 only Gram
    eigenvalues above ``rtol`` * the largest are inverted, so a rank-deficient Φ gets Φ⁺Y (the Gram squares the
    condition number: singular values below ~1e-6 of the largest are treated as zero).

    >>> sol = ridge_solve(torch.tensor([[1.0, 1.0]]), torch.tensor([2.0]))
    >>> sol.coef.round(decimals=8).tolist(), sol.side, round(sol.s_min ** 2, 8)
    ([1.0, 1.0], 'n', 2.0)
    """
    if lam < 0:
        raise ValueError(f"lam={lam} must be >= 0")
    if Y.shape[0] != Phi.shape[0]:
        raise ValueError(f"Y has {Y.shape[0]} rows but Φ has {Phi.shape[0]}: one target row per example")
    n, N = Phi.shape
    side = _pick_side(n, N, side)
    Phi = Phi.double()
    Y2 = Y.reshape(n, -1).to(Phi)
    mu, E = _spectrum(Phi, side)
    g = _gains(mu, lam, n, rtol)[:, None]
    if side == "n":  # a = Φᵀ E diag(g) Eᵀ Y
        coef = Phi.T @ (E @ (g * (E.T @ Y2)))
    else:  # a = V diag(g) Vᵀ Φᵀ Y
        coef = E @ (g * (E.T @ (Phi.T @ Y2)))
    coef = coef.reshape((N,) + tuple(Y.shape[1:]))
    return RidgeSolution(coef, _s_min(mu, rtol), float(coef.norm()), side)


# ------------------------------------------------------------------------------------------ the sweep


@dataclass(frozen=True)
class RFSweep:
    """Random-features regression over seeds x ratios N/n x ridge strengths (arrays indexed [seed, ratio, lam]).

    MSEs are per example: the mean over examples of ||f(x) - onehot(y)||² (summed over classes; f = 0 scores 1).
    ``lams`` are relative (scale-free): the penalty on the Gram is lam * tr(ΦΦᵀ), i.e. the absolute λ of
    :func:`ridge_solve` is lam * ||Φ||²_F / n.
    """

    seeds: np.ndarray  # (S,)
    ratios: np.ndarray  # (R,) N / n as asked
    n_features: np.ndarray  # (R,) N used, round(ratio * n) >= 1
    lams: np.ndarray  # (L,) relative ridge strengths (0 = minimum norm)
    n_train: int
    test_mse: np.ndarray  # (S, R, L)
    test_error: np.ndarray  # (S, R, L) classification error, argmax of f
    train_mse: np.ndarray  # (S, R, L)
    coef_norm: np.ndarray  # (S, R, L) ||a||_F
    s_min: np.ndarray  # (S, R) smallest non-zero singular value of Φ_train
    seconds: float

    def best_lam(self, metric: str = "test_mse") -> np.ndarray:
        """(S, R) the metric at the λ of the grid that minimizes its seed mean, for each N: an oracle-tuned ridge
        (chosen on the test set itself, as in the optimal-ridge curves of Nakkiran et al. 2021)."""
        values = getattr(self, metric)
        best = values.mean(0).argmin(1)  # (R,) the λ best on average over seeds
        return values[:, np.arange(len(self.ratios)), best]


def rf_sweep(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
             ratios, lams, seeds, *, n_classes: int | None = None, weight_scale: float = 1.0,
             rtol: float = 1e-12) -> RFSweep | list[RFSweep]:
    """ReLU random-features regression of one-hot labels for every N = ratio * n, λ and seed, in closed form.

    Per seed, W is drawn once at the largest N and the features grow column block by column block, so the
    Grams K = Φ Φᵀ (n x n) and K_test = Φ_test Φᵀ (m x n) are updated, not recomputed (cost 2 n (n + m) N_max).
    For N <= n the N x N Gram ΦᵀΦ is eigendecomposed, for N > n the n x n Gram; each λ then costs only a
    diagonal rescale of the eigenbasis (see :func:`ridge_solve`, whose coefficients this reproduces).
    Inputs x (n, d), labels y (n,) int; float64 throughout, on x_train's device.

    ``y_train`` of shape (V, n) gives V labellings of the same inputs (e.g. several label-noise levels): they
    share the features and eigendecompositions (the fit is linear in the targets), and a list of V sweeps is
    returned, one per labelling, each scored against the same ``y_test``.

    >>> x = torch.randn(30, 4, generator=torch.Generator().manual_seed(0)); y = torch.arange(30) % 3
    >>> r = rf_sweep(x, y, x, y, ratios=[0.5, 1.0, 4.0], lams=[0.0, 1e-2], seeds=[0])
    >>> r.test_mse.shape, bool(r.train_mse[0, 2, 0] < 1e-12)
    ((1, 3, 2), True)
    """
    import time

    clock = time.perf_counter()
    dev = x_train.device
    x_train, x_test = x_train.reshape(len(x_train), -1).double(), x_test.reshape(len(x_test), -1).to(x_train).double()
    n, d = x_train.shape
    ys = torch.as_tensor(y_train).long().to(dev)
    multi = ys.dim() == 2
    ys = ys if multi else ys[None]  # (V, n)
    if ys.shape[1] != n:
        raise ValueError(f"y_train has {ys.shape[1]} labels per labelling but x_train has {n} examples")
    V = len(ys)
    c = n_classes or int(max(int(ys.max()), int(y_test.max()))) + 1
    Y = F.one_hot(ys, c).double().permute(1, 0, 2).reshape(n, V * c)  # (n, V c): the V labellings side by side
    Y_test = F.one_hot(y_test.long().to(dev), c).double()[:, None]  # (m, 1, c)
    ratios = np.asarray(ratios, dtype=float)
    lams = np.asarray(lams, dtype=float)
    seeds = np.asarray(seeds, dtype=int)
    order = np.argsort(ratios, kind="stable")
    Ns = np.maximum(1, np.rint(ratios * n).astype(int))
    S, R, L = len(seeds), len(ratios), len(lams)
    out = {k: np.zeros((V, S, R, L)) for k in ("test_mse", "test_error", "train_mse", "coef_norm")}
    s_min = np.zeros((S, R))
    for si, seed in enumerate(seeds):
        W = draw_weights(d, int(Ns.max()), int(seed), weight_scale)
        K = torch.zeros(n, n, dtype=torch.float64, device=dev)
        K_test = torch.zeros(len(x_test), n, dtype=torch.float64, device=dev)
        prefix, prefix_test = [], []  # feature columns while N <= n (needed for the N x N side)
        done = 0
        for ri in order:
            N = int(Ns[ri])
            if N > done:
                block, block_test = features(x_train, W[:, done:N]), features(x_test, W[:, done:N])
                K.addmm_(block, block.T)
                K_test.addmm_(block_test, block.T)
                if done < n:
                    prefix.append(block[:, :n - done])
                    prefix_test.append(block_test[:, :n - done])
                done = N
            if N > n:  # eigenbasis of ΦΦᵀ: Z = EᵀY, train = E diag(μ g) Z, test = K_test E diag(g) Z
                mu, E = torch.linalg.eigh(K)
                mu = mu.clamp(min=0.0)
                Z, T, Rb, w = E.T @ Y, K_test @ E, E * mu, mu
            else:  # eigenbasis of ΦᵀΦ: Z = VᵀΦᵀY, train = ΦV diag(g) Z, test = Φ_test V diag(g) Z
                Phi, Phi_test = torch.cat(prefix, 1)[:, :N], torch.cat(prefix_test, 1)[:, :N]
                mu, E = _spectrum(Phi, "N")
                Z, T, Rb, w = E.T @ (Phi.T @ Y), Phi_test @ E, Phi @ E, torch.ones_like(mu)
            s_min[si, ri] = _s_min(mu, rtol)
            scale = float(K.trace()) / n  # lam * tr(K) = (lam * tr(K) / n) * n
            for li, lam in enumerate(lams):
                g = _gains(mu, lam * scale, n, rtol)[:, None]
                gZ = g * Z  # (k, V c)
                pred, pred_train = (T @ gZ).reshape(-1, V, c), (Rb @ gZ).reshape(n, V, c)
                at = (slice(None), si, ri, li)
                out["test_mse"][at] = ((pred - Y_test) ** 2).sum(2).mean(0).cpu().numpy()
                out["test_error"][at] = (pred.argmax(2) != Y_test.argmax(2)).double().mean(0).cpu().numpy()
                out["train_mse"][at] = ((pred_train - Y.reshape(n, V, c)) ** 2).sum(2).mean(0).cpu().numpy()
                out["coef_norm"][at] = (w[:, None, None] * gZ.reshape(-1, V, c) ** 2).sum((0, 2)).sqrt().cpu().numpy()
    seconds = time.perf_counter() - clock
    sweeps = [RFSweep(seeds, ratios, Ns, lams, n, **{k: v[i] for k, v in out.items()}, s_min=s_min,
                      seconds=seconds) for i in range(V)]
    return sweeps if multi else sweeps[0]


# ------------------------------------------------------------------------------------------ theory


def isotropic_risk(p, n: int, sigma2: float, beta_norm2: float):
    """Excess risk E[(xᵀ(β̂ - β))²] = E||β̂ - β||² of min-norm least squares, x ~ N(0, I_p), y = xᵀβ + ε, Var ε = σ².

    p < n - 1: σ² p / (n - p - 1) (the OLS variance; no bias). p > n + 1: ||β||² (1 - n/p) + σ² n / (p - n - 1)
    (bias: the part of β outside a uniformly random n-dimensional row space; variance: E tr (XXᵀ)⁻¹). Both are
    exact at finite n for Gaussian X (Wishart moments), not only as n, p -> ∞ with p/n -> γ, where they give
    Hastie et al.'s (2022, Thm 1) limits σ² γ/(1 - γ) and ||β||²(1 - 1/γ) + σ²/(γ - 1). np.inf for
    n - 1 <= p <= n + 1. ``p`` may be an array.

    >>> float(isotropic_risk(20, 50, 1.0, 1.0)), float(isotropic_risk(100, 50, 1.0, 1.0))
    (0.6896551724137931, 1.5204081632653061)
    """
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        under = sigma2 * p / (n - p - 1)
        over = beta_norm2 * (1 - n / p) + sigma2 * n / (p - n - 1)
    risk = np.where(p < n - 1, under, np.where(p > n + 1, over, np.inf))
    return risk[()] if risk.ndim == 0 else risk


def isotropic_monte_carlo(p: int, n: int, sigma2: float, beta_norm2: float, trials: int = 500,
                          seed: int = 0) -> tuple[float, float]:
    """Monte Carlo estimate of the min-norm estimator's excess risk E||β̂ - β||² (= the test excess MSE, since x is
    isotropic), over ``trials`` draws of X (n, p) ~ N(0, 1) and ε ~ N(0, σ²), β fixed with ||β||² = beta_norm2
    (its direction does not matter: the model is rotation invariant). β̂ = X⁺ y via :func:`ridge_solve` (λ = 0).
    Returns (mean, standard error). Near p = n the risk has heavy tails and the standard error is unreliable.

    >>> mean, se = isotropic_monte_carlo(5, 40, 1.0, 1.0, trials=200)
    >>> bool(abs(mean - isotropic_risk(5, 40, 1.0, 1.0)) < 4 * se)
    True
    """
    gen = generator(int(seed))
    beta = torch.zeros(p, dtype=torch.float64)
    beta[0] = math.sqrt(beta_norm2)
    losses = np.empty(trials)
    for t in range(trials):
        X = torch.randn(n, p, generator=gen, dtype=torch.float64)
        y = X @ beta + math.sqrt(sigma2) * torch.randn(n, generator=gen, dtype=torch.float64)
        losses[t] = float(((ridge_solve(X, y).coef - beta) ** 2).sum())
    return float(losses.mean()), float(losses.std(ddof=1) / math.sqrt(trials))
