"""The kernel trick and the minimum-norm solution (Zhang et al. 2017, Sec. 5): the numerical core.

* Least squares with more features than examples (d > n): :func:`min_norm_solution` gives
  w = Xᵀ(XXᵀ)⁻¹y, and :func:`gradient_descent_least_squares` shows that (S)GD from w = 0 never leaves the row
  space of X, so it converges to exactly that interpolant.
* The kernel trick: the same n x n system K α = y with a Gaussian kernel (:func:`gaussian_kernel`,
  :func:`solve_interpolation`, :class:`KernelInterpolant`) interpolates any labels, and its RKHS norm
  αᵀKα (:func:`rkhs_norm`) is larger for random labels than for true ones.
* Preprocessing: :func:`gabor_bank` / :func:`gabor_features`.

Chapter 5's experiments and figures are in :mod:`dlgen_lib.chapters.ch05_kernel_trick`.

Memory: the n x n kernel is the only large object. :func:`gaussian_kernel` writes it in place, row chunk by row
chunk, and :class:`KernelInterpolant` factors it in place, so fitting n examples needs n² floats (one copy is
added only when the factorization needs a jitter); :func:`solve_interpolation` on a matrix it may not overwrite
needs 2 n².
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .config import generator, synchronize


def gaussian_kernel(x: torch.Tensor, z: torch.Tensor | None = None, *, gamma: float, chunk: int = 2048,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The Gaussian (RBF) kernel matrix K[i, j] = exp(-gamma ||x_i - z_j||²).

    Args: x (n, d), z (m, d) (``z=None``: z = x, and then K is symmetric with K[i, i] = 1 exactly); inputs of
    any shape (n, ...) are flattened. Returns K (n, m) in ``dtype`` on x's device.

    The squared distances are ||x||² + ||z||² - 2 x zᵀ (clamped at 0), after centring both sets at z's mean
    (distances do not change; rounding does). Each chunk of rows is written straight into the output and
    transformed in place, so the peak memory is the output itself.

    >>> K = gaussian_kernel(torch.tensor([[0.0], [1.0]]), gamma=0.5)
    >>> [round(v, 4) for v in K[0].tolist()]
    [1.0, 0.6065]
    """
    same = z is None
    x = x.reshape(len(x), -1).to(dtype)
    z = x if same else z.reshape(len(z), -1).to(device=x.device, dtype=dtype)
    if x.shape[1] != z.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but z has {z.shape[1]}")
    shift = z.mean(0)
    x = x - shift
    z = x if same else z - shift
    x_sq, z_sq = (x * x).sum(1), (z * z).sum(1)  # (n,), (m,)
    K = torch.empty(len(x), len(z), dtype=dtype, device=x.device)
    for i in range(0, len(x), chunk):
        rows = K[i:i + chunk]  # (c, m) view
        torch.addmm(z_sq[None, :], x[i:i + chunk], z.T, alpha=-2.0, out=rows)  # ||z||² - 2 x zᵀ
        rows.add_(x_sq[i:i + chunk, None]).clamp_(min=0.0).mul_(-gamma).exp_()
    if same:
        K.diagonal().fill_(1.0)
    return K


def median_gamma(x: torch.Tensor, n_pairs: int = 2000, seed: int = 0) -> float:
    """The median heuristic gamma = 1 / median ||x_i - x_j||² over random pairs: a width for new features."""
    gen = generator(int(seed))
    x = x.reshape(len(x), -1).float()
    i, j = torch.randint(len(x), (2, n_pairs), generator=gen)
    keep = i != j
    return 1.0 / float(((x[i[keep]] - x[j[keep]]) ** 2).sum(1).median())


# ------------------------------------------------------------------------------------------ the solve


class FactorizationError(RuntimeError):
    """A Cholesky factorization failed (the matrix is not numerically positive definite)."""


def cholesky_factor(K: torch.Tensor, *, dtype: torch.dtype | None = None, overwrite: bool = False,
                    max_jitter: float = 1e-2) -> torch.Tensor:
    """The lower Cholesky factor L (n, n) of a symmetric positive definite K = L Lᵀ.

    ``dtype``: float64 for n <= 5000, float32 beyond (None). With ``overwrite=True`` and K already of that
    dtype, K is factored in place (its storage then holds L, read through a transposed view) and no second
    n x n matrix is made; otherwise K is copied. If the factorization fails, a relative jitter
    eps * mean(diag K), eps = 10, 100, ... machine epsilons up to ``max_jitter``, is added to the diagonal of a
    fresh copy, with a warning saying how much; an overwritten K cannot be restored, so then
    :class:`FactorizationError` is raised instead.
    """
    n = _check_square(K)
    dtype = dtype or (torch.float64 if n <= 5000 else torch.float32)
    in_place = overwrite and K.dtype == dtype and K.is_contiguous()
    # the transposed view of a row-major matrix is column-major, LAPACK's layout: torch then factors in place
    A = K.mT if in_place else K.to(dtype, copy=True).mT
    scale = float(K.diagonal().double().mean())
    info = torch.empty((), dtype=torch.int32, device=K.device)
    jitter, eps = 0.0, 10 * torch.finfo(dtype).eps
    while True:
        torch.linalg.cholesky_ex(A, out=(A, info))
        if int(info) == 0:
            break
        if in_place:
            raise FactorizationError(f"the Cholesky factorization of the {n} x {n} matrix failed at column "
                                     f"{int(info)} and the matrix was overwritten (overwrite=True); rebuild it "
                                     f"and call again with overwrite=False, which retries with a small jitter")
        if eps > max_jitter:
            raise FactorizationError(f"the {n} x {n} matrix is not positive definite even with a jitter of "
                                     f"{jitter:.3g} ({eps / 10:.1g} of its mean diagonal); are there duplicate "
                                     f"inputs with different labels, or is gamma too small?")
        jitter = eps * scale
        A.copy_(K.mT)
        A.diagonal().add_(jitter)
        eps *= 10
    if jitter:
        warnings.warn(f"the {n} x {n} kernel matrix is not numerically positive definite in {dtype}: added "
                      f"{jitter:.3g} ({jitter / scale:.1g} of its mean diagonal) to its diagonal, so the solution "
                      f"interpolates only up to that", RuntimeWarning, stacklevel=2)
    return A


def solve_interpolation(K: torch.Tensor, Y: torch.Tensor, *, dtype: torch.dtype | None = None,
                        overwrite: bool = False) -> torch.Tensor:
    """The coefficients α of the kernel interpolant: the solution of K α = Y by Cholesky (:func:`cholesky_factor`).

    Args: K (n, n) symmetric positive definite; Y (n, c) targets (e.g. one-hot) or (n,). Returns α of Y's shape
    in the solve's ``dtype`` (float64 for n <= 5000, float32 beyond). ``overwrite=True`` lets the factorization
    overwrite K (see :func:`cholesky_factor`).

    >>> solve_interpolation(torch.tensor([[2.0, 1.0], [1.0, 2.0]]), torch.tensor([3.0, 3.0])).round(decimals=8).tolist()
    [1.0, 1.0]
    """
    n = _check_square(K)
    if Y.shape[0] != n:
        raise ValueError(f"Y has {Y.shape[0]} rows but K is {n} x {n}: one target row per training example")
    return cholesky_solve(cholesky_factor(K, dtype=dtype, overwrite=overwrite), Y)


def cholesky_solve(L: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """α = (L Lᵀ)⁻¹ Y for a lower Cholesky factor L (n, n) and Y (n, c) or (n,), in L's dtype, by two triangular
    solves that read L where it is (``torch.cholesky_solve`` would copy it)."""
    Y2 = Y.reshape(len(Y), -1).to(device=L.device, dtype=L.dtype)
    alpha = torch.linalg.solve_triangular(L.mT, torch.linalg.solve_triangular(L, Y2, upper=False), upper=True)
    return alpha.reshape(Y.shape)


def _check_square(K: torch.Tensor) -> int:
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"the kernel matrix must be square (n, n), got shape {tuple(K.shape)}")
    return K.shape[0]


def rkhs_norm(alpha: torch.Tensor, K: torch.Tensor) -> float:
    """||f||²_H = trace(αᵀ K α) (summed over the c output columns) of f(x) = Σ_i α_i k(x_i, x).

    Args: α (n, c) or (n,), K (n, n). For an interpolant (K α = Y) this equals trace(αᵀ Y).
    """
    alpha = alpha.reshape(len(alpha), -1).double()
    return float((alpha * (K.double() @ alpha)).sum())


class KernelInterpolant:
    """Gaussian-kernel interpolation of class labels: f(x) = Σ_i α_i k(x_i, x), α = K⁻¹ Y with one-hot Y (n, c),
    prediction argmax_c f_c(x). No regularization: f fits every training label (Zhang et al. 2017, Sec. 5).

    >>> data = torch.rand(40, 5); labels = torch.arange(40) % 3
    >>> model = KernelInterpolant(gamma=1.0).fit(data, labels)
    >>> bool((model.predict(data) == labels).all())
    True
    """

    def __init__(self, gamma: float, n_classes: int | None = None, chunk: int = 2048,
                 dtype: torch.dtype | None = None):
        self.gamma, self.n_classes, self.chunk, self.dtype = gamma, n_classes, chunk, dtype

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> KernelInterpolant:
        """Solve K α = Y on inputs x (n, ...) and labels y (n,) int; K is built and factored in place.
        ``self.seconds`` records the wall time of the kernel, the factorization and the triangular solves."""
        self.x_train = x.reshape(len(x), -1).float()
        c = self.n_classes or int(y.max()) + 1
        self.Y = F.one_hot(y.long(), c).to(self.x_train)  # (n, c)
        clock = time.perf_counter()
        K = gaussian_kernel(self.x_train, gamma=self.gamma, chunk=self.chunk)
        synchronize(K.device)  # a GPU runs asynchronously: wait, so each stage's time is its own
        self.seconds = {"kernel": time.perf_counter() - clock}
        clock = time.perf_counter()
        try:
            L = cholesky_factor(K, dtype=self.dtype, overwrite=True)
        except FactorizationError:  # K was overwritten: rebuild it and retry with a jitter on a copy
            K = gaussian_kernel(self.x_train, gamma=self.gamma, chunk=self.chunk)
            L = cholesky_factor(K, dtype=self.dtype)
        del K
        synchronize(L.device)
        self.seconds["factor"] = time.perf_counter() - clock
        clock = time.perf_counter()
        self.alpha = cholesky_solve(L, self.Y)  # (n, c)
        synchronize(L.device)
        self.seconds["solve"] = time.perf_counter() - clock
        return self

    @property
    def rkhs_norm(self) -> float:
        """αᵀ K α = trace(αᵀ Y) (K α = Y), the squared RKHS norm of the interpolant, without K."""
        return float((self.alpha.double() * self.Y.double()).sum())

    def decision(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) (m, c) for inputs x (m, ...), computed in chunks of test rows."""
        x = x.reshape(len(x), -1)
        out = [gaussian_kernel(x[i:i + self.chunk], self.x_train, gamma=self.gamma).to(self.alpha) @ self.alpha
               for i in range(0, len(x), self.chunk)]
        return torch.cat(out)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted labels (m,) int64."""
        return self.decision(x).argmax(1)

    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        return float((self.predict(x) == y.to(self.alpha.device)).float().mean())


# ------------------------------------------------------------------------------ linear least squares


def _row_space(X: torch.Tensor, rtol: float = 1e-10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A thin SVD X = U diag(s) Vᵀ from the smaller Gram matrix (n x n if d > n, else d x d), in float64,
    keeping the r singular values above rtol * max: U (n, r), s (r,), V (d, r), V an orthonormal row-space basis."""
    X = X.double()
    n, d = X.shape
    lam, E = torch.linalg.eigh(X @ X.T if d > n else X.T @ X)  # ascending
    keep = lam > rtol * lam[-1].clamp(min=1e-300)
    lam, E = lam[keep], E[:, keep]
    s = lam.sqrt()
    if d > n:
        return E, s, (X.T @ E) / s
    return (X @ E) / s, s, E


def min_norm_solution(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The minimum-norm least-squares solution w = X⁺ y (float64), without forming a pseudo-inverse of X.

    Args: X (n, d), y (n,) or (n, c). For d > n and full row rank this is the minimum-norm interpolant
    w = Xᵀ (X Xᵀ)⁻¹ y, computed from the n x n Gram matrix; for d <= n and full column rank it is the
    least-squares solution (XᵀX)⁻¹ Xᵀ y, from the d x d Gram matrix. Rank-deficient X gets X⁺ y through the
    Gram's eigendecomposition (condition numbers are squared: keep X reasonably conditioned).

    >>> min_norm_solution(torch.tensor([[1.0, 1.0]]), torch.tensor([2.0])).round(decimals=8).tolist()
    [1.0, 1.0]
    """
    U, s, V = _row_space(X)
    y2 = y.double().reshape(len(y), -1)
    return (V @ ((U.T @ y2) / s[:, None])).reshape((X.shape[1],) + tuple(y.shape[1:]))


@dataclass(frozen=True)
class GDResult:
    """Gradient descent on least squares: final w (d,), the target w* it converges to, and per recorded step
    (T,): step, loss 1/(2n)||Xw - y||², ||w - w*||, and ||(I - P)(w - w0)|| with P the projector on X's row space."""

    w: np.ndarray
    target: np.ndarray
    step: np.ndarray
    loss: np.ndarray
    distance: np.ndarray
    off_row_space: np.ndarray


def gradient_descent_least_squares(X: torch.Tensor, y: torch.Tensor, lr: float, steps: int,
                                   w0: torch.Tensor | None = None, batch_size: int | None = None, seed: int = 0,
                                   record_every: int = 1) -> GDResult:
    """(Stochastic) gradient descent on L(w) = 1/(2n) ||X w - y||² (float64).

    Args: X (n, d), y (n,), step size ``lr`` (full batch converges for lr < 2 / λ_max(XᵀX / n)), ``steps``
    updates, start ``w0`` (d,) (default 0), ``batch_size`` B (None: full batch; else minibatches drawn without
    replacement, reshuffled each epoch with ``seed``).

    Every gradient Xᵀ r / n (or X_Bᵀ r_B / B) is a combination of rows of X, so w_t - w0 stays in X's row
    space: from w0 = 0 the iterates converge (when d > n, to an interpolant) to the minimum-norm solution
    X⁺ y = Xᵀ (X Xᵀ)⁻¹ y; from w0 ≠ 0, to the solution closest to w0, w* = w0 + X⁺ (y - X w0)
    (Zhang et al. 2017, Sec. 5; Gunasekar et al. 2018). The returned history shows both facts.
    """
    X, y = X.double(), y.double().reshape(-1)
    n, d = X.shape
    w = torch.zeros(d, dtype=torch.float64) if w0 is None else w0.double().reshape(d).clone()
    start = w.clone()
    _, _, V = _row_space(X)
    target = start + min_norm_solution(X, y - X @ start)
    gen = generator(int(seed))
    B = n if batch_size is None else int(batch_size)
    order, pos = torch.randperm(n, generator=gen), 0
    hist: list[tuple[int, float, float, float]] = []

    def record(t: int) -> None:
        delta = w - start
        off = delta - V @ (V.T @ delta)
        hist.append((t, float(((X @ w - y) ** 2).sum() / (2 * n)), float((w - target).norm()), float(off.norm())))

    for t in range(steps):
        if t % record_every == 0:
            record(t)
        if B >= n:
            Xb, yb = X, y
        else:
            if pos + B > n:
                order, pos = torch.randperm(n, generator=gen), 0
            idx = order[pos:pos + B]
            pos += B
            Xb, yb = X[idx], y[idx]
        w -= lr * (Xb.T @ (Xb @ w - yb)) / len(yb)
    record(steps)
    cols = np.asarray(hist)
    return GDResult(w.numpy(), target.numpy(), cols[:, 0].astype(int), cols[:, 1], cols[:, 2], cols[:, 3])


# ------------------------------------------------------------------------------------------- features


def gabor_bank(n_orientations: int = 8, n_scales: int = 2, size: int = 11) -> torch.Tensor:
    """A bank of real (even, cosine) Gabor filters, F = n_orientations * n_scales, as a (F, 1, size, size) tensor.

    g(u, v) = exp(-(u'² + v'²) / (2σ²)) cos(2π u' / λ), u' = u cos θ + v sin θ, v' = -u sin θ + v cos θ, with
    θ = kπ / n_orientations and wavelengths λ from 4 to 2 size / 3 pixels (geometric), σ = 0.4 λ. Each filter has
    its mean removed (so flat regions give 0) and unit L2 norm. Gabor features: Daugman (1985); used with
    kernels on MNIST by Zhang et al. (2017, Sec. 5).

    >>> gabor_bank(4, 2, 9).shape
    torch.Size([8, 1, 9, 9])
    """
    half = (size - 1) / 2
    v, u = torch.meshgrid(torch.linspace(-half, half, size, dtype=torch.float64),
                          torch.linspace(-half, half, size, dtype=torch.float64), indexing="ij")
    wavelengths = np.geomspace(4.0, max(2 * size / 3, 4.0), n_scales) if n_scales > 1 else [4.0]
    filters = []
    for lam in wavelengths:
        for k in range(n_orientations):
            theta = k * math.pi / n_orientations
            u_r = u * math.cos(theta) + v * math.sin(theta)
            v_r = -u * math.sin(theta) + v * math.cos(theta)
            g = torch.exp(-(u_r ** 2 + v_r ** 2) / (2 * (0.4 * lam) ** 2)) * torch.cos(2 * math.pi * u_r / lam)
            g = g - g.mean()
            filters.append(g / g.norm())
    return torch.stack(filters).unsqueeze(1).float()


def gabor_features(x: torch.Tensor, bank: torch.Tensor, pool: int = 4, chunk: int = 1000) -> torch.Tensor:
    """Gabor features: |x * g_f| for each filter (same-size convolution), averaged over pool x pool cells.

    Args: images x (N, 1, H, W), bank (F, 1, k, k). Returns (N, F * (H // pool) * (W // pool)) float32
    (28 x 28 images, 16 filters, pool 4: 784 features), computed in chunks of images.
    """
    pad = bank.shape[-1] // 2
    bank = bank.to(x.device, torch.float32)
    out = [F.avg_pool2d(F.conv2d(x[i:i + chunk].float(), bank, padding=pad).abs(), pool).flatten(1)
           for i in range(0, len(x), chunk)]
    return torch.cat(out)

