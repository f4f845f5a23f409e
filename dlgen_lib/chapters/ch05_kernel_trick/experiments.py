"""Chapter 5's experiments: the kernel trick and the minimum-norm solution.

Four experiments, each one call that returns plain numpy results and is cached on disk under the parts of
:class:`KernelConfig` it reads:

* :func:`min_norm_demo` (``least_squares``) -- least squares with D > n: gradient descent from zero and from a
  random start, and the spectrum of the Hessian XᵀX/n;
* :func:`learning_curve` (``pixels``, ``curve``) -- exact Gaussian-kernel interpolation of Fashion-MNIST for
  growing n;
* :func:`norm_comparison` (``pixels``, ``norms``) -- the RKHS norm of the interpolant for true and random labels,
  on pixels and on Gabor features;
* :func:`gamma_grid` (``pixels``, ``curve``) -- test accuracy over kernel widths and sizes, for the chapter's
  explorer;

and :data:`XIAO_PEERS`, the 60 000-image Fashion-MNIST peers the learning curve is set beside.

The numerical core (kernel, Cholesky solve, min-norm solution, Gabor bank) is :mod:`dlgen_lib.kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ... import kernels as kn
from ...cache import cached
from ...config import (
    Check,
    CheckedConfig,
    Flag,
    Integer,
    TupleOf,
    generator,
    get_device,
    part,
    positive_int,
    positive_real,
    progress,
    seed_int,
)
from ...data import SUBSET_SIZES, Dataset, corrupt_labels, fashion_mnist

__all__ = ["XIAO_PEERS", "Curve", "CurveResult", "KernelConfig", "LeastSquares", "MinNormResult", "NormResult",
           "Norms", "Pixels", "gamma_grid", "learning_curve", "min_norm_demo", "norm_comparison"]

FULL_TRAIN, FULL_TEST = 60_000, 10_000  # images of the full Fashion-MNIST set


def _train_limit(full_data: bool) -> int:
    """Training images that can be loaded: the full set's, or the shipped subset's."""
    return FULL_TRAIN if full_data else SUBSET_SIZES[0]


@dataclass(frozen=True)
class Pixels(CheckedConfig):
    """Fashion-MNIST (pixels in [0, 1], flattened to 784 features) and the Gaussian kernel on its pixels: shared
    by the kernel experiments."""

    n_train: int = 10_000  # training images loaded (the shipped subset holds 10 000)
    n_test: int = 2_000  # test images
    full_data: bool = False  # read the full 60 000 / 10 000 set (needed for more than 10 000 training images)
    gamma: float = 0.02  # Gaussian kernel k(x, z) = exp(-gamma ||x - z||²), Zhang et al.'s value for MNIST

    RULES = {
        "n_train": positive_int(FULL_TRAIN, "the full set has 60 000 training images, the shipped subset 10 000"),
        "n_test": positive_int(FULL_TEST, "the full set has 10 000 test images, the shipped subset 2 000"),
        "full_data": Flag(),
        "gamma": positive_real("the width of the Gaussian kernel"),
    }
    CHECKS = (
        Check(("n_train", "full_data"), lambda c: c.n_train <= _train_limit(c.full_data),
              "n_train must be at most 10 000, the training images of the shipped subset; set full_data=True for "
              "up to 60 000"),
        Check(("n_test", "full_data"), lambda c: c.n_test <= (FULL_TEST if c.full_data else SUBSET_SIZES[1]),
              "n_test must be at most 2 000, the test images of the shipped subset; set full_data=True for up "
              "to 10 000"),
    )
    PRESETS = {"tiny": dict(n_train=500, n_test=500),
               "full": dict(n_train=60_000, n_test=10_000, full_data=True)}


@dataclass(frozen=True)
class LeastSquares(CheckedConfig):
    """:func:`min_norm_demo`: gradient descent on an overparameterized least-squares problem."""

    n: int = 100  # examples
    d: int = 400  # features D (> n)
    steps: int = 2_000  # full-batch gradient steps
    seed: int = 0  # draws X, y and the random start w0

    RULES = {
        "n": positive_int(),
        "d": positive_int(note="more features than examples, d > n"),
        "steps": positive_int(),
        "seed": seed_int(),
    }
    CHECKS = (
        Check(("n", "d"), lambda c: c.d > c.n,
              "d must exceed n: the least-squares demo is overparameterized, more features than examples"),
    )
    PRESETS = {"tiny": dict(n=20, d=60, steps=500), "full": dict(n=500, d=5000, steps=5000)}


@dataclass(frozen=True)
class Curve(CheckedConfig):
    """:func:`learning_curve`: the training-set sizes of the kernel interpolant's learning curve."""

    # at least 4 at every scale (the chapter fits a power law with a floor)
    sizes: tuple[int, ...] = (500, 1000, 2000, 5000, 10_000)

    RULES = {
        "sizes": TupleOf(positive_int(FULL_TRAIN), distinct=True, note="training-set sizes, as pixels.n_train"),
    }
    PRESETS = {"tiny": dict(sizes=(100, 200, 300, 500)),
               "full": dict(sizes=(1000, 2000, 5000, 10_000, 20_000, 60_000))}


@dataclass(frozen=True)
class Norms(CheckedConfig):
    """:func:`norm_comparison`: interpolants of true and random labels, on pixels and on Gabor features."""

    n: int = 2_000  # training images of each interpolant (the first ones)
    gabor_orientations: int = 8  # orientations of the Gabor bank
    gabor_scales: int = 2  # wavelengths of the Gabor bank
    gabor_pool: int = 4  # average-pooling window of the Gabor features (28 / 4 = 7 x 7 cells)
    seed: int = 0  # draws the random labels and the pairs of the median heuristic

    RULES = {
        "n": Integer(2, FULL_TRAIN, "examples of the RKHS-norm comparison, from the images loaded"),
        "gabor_orientations": positive_int(),
        "gabor_scales": positive_int(),
        "gabor_pool": positive_int(28, "a pooling window within the 28 x 28 image"),
        "seed": seed_int(),
    }
    PRESETS = {"tiny": dict(n=300), "full": dict(n=10_000)}


@dataclass(frozen=True)
class KernelConfig(CheckedConfig):
    """Chapter 5's settings: one part per experiment, plus the Fashion-MNIST images and the kernel they share.
    Made by ``dl.scaled(KernelConfig)``; every field is checked when a config is made, and a value out of range is
    a :class:`~dlgen_lib.config.ConfigError` naming it."""

    pixels: Pixels = part(Pixels)
    least_squares: LeastSquares = part(LeastSquares)
    curve: Curve = part(Curve)
    norms: Norms = part(Norms)

    CHECKS = (
        Check(("curve.sizes", "pixels.full_data"), lambda c: max(c.curve.sizes) <= _train_limit(c.pixels.full_data),
              "every size must be at most 10 000, the training images of the shipped subset; set "
              "pixels.full_data=True for up to 60 000"),
        Check(("norms.n", "pixels.n_train", "curve.sizes"),
              lambda c: c.norms.n <= max(c.pixels.n_train, *c.curve.sizes),
              "norms.n must be at most max(pixels.n_train, max(curve.sizes)), the training images the chapter "
              "loads"),
    )


# ------------------------------------------------------------------------------------------ the kernel


def _data(pixels: Pixels, sizes: tuple[int, ...]) -> Dataset:
    """Fashion-MNIST on the compute device (a GPU for the full scale): the first max(n_train, max(sizes))
    training images (an experiment uses the first n of them for each of its sizes n) and the first n_test test
    images."""
    data = fashion_mnist(full=pixels.full_data)
    return data.subset(n_train=max(pixels.n_train, max(sizes)), n_test=pixels.n_test).to(get_device())


# ------------------------------------------------------------------------------------------ experiments


@dataclass(frozen=True)
class MinNormResult:
    """Gradient descent on least squares with D > n, from zero and from a random start w0."""

    n: int
    d: int
    from_zero: kn.GDResult
    from_w0: kn.GDResult
    min_norm_gap: float  # ||w_GD(0) - X⁺y|| / ||X⁺y|| at the end
    projection_gap: float  # ||w_GD(w0) - (w0 + X⁺(y - X w0))|| / ||...|| at the end
    hessian_eigenvalues: np.ndarray  # (D,) eigenvalues of XᵀX / n, descending


@cached
def min_norm_demo(least_squares: LeastSquares) -> MinNormResult:
    """Gaussian X (n, D), D > n, random targets; full-batch GD with step 1/λ_max from 0 and from w0 ~ N(0, I/D)."""
    ls = least_squares
    gen = generator(ls.seed)
    X = torch.randn(ls.n, ls.d, generator=gen, dtype=torch.float64) / ls.d ** 0.5
    y = torch.randn(ls.n, generator=gen, dtype=torch.float64)
    w0 = torch.randn(ls.d, generator=gen, dtype=torch.float64) / ls.d ** 0.5
    eig = torch.linalg.eigvalsh(X.T @ X / ls.n).flip(0)  # (D,) descending
    lr = 1.0 / float(eig[0])
    record = max(1, ls.steps // 200)
    zero = kn.gradient_descent_least_squares(X, y, lr, ls.steps, record_every=record)
    start = kn.gradient_descent_least_squares(X, y, lr, ls.steps, w0=w0, record_every=record)
    w_star = kn.min_norm_solution(X, y)
    target = w0 + kn.min_norm_solution(X, y - X @ w0)
    gap = lambda w, t: float(np.linalg.norm(w - t.numpy()) / t.norm())  # noqa: E731
    return MinNormResult(ls.n, ls.d, zero, start, gap(zero.w, w_star), gap(start.w, target), eig.numpy())


@dataclass(frozen=True)
class CurveResult:
    """Kernel interpolation of Fashion-MNIST (pixels in [0, 1], gamma) for each training-set size."""

    sizes: np.ndarray  # (V,)
    test_acc: np.ndarray  # (V,)
    train_acc: np.ndarray  # (V,) on (up to) the first 2 000 training images
    rkhs_norm: np.ndarray  # (V,) αᵀKα
    seconds: np.ndarray  # (V,) kernel + factorization + solve
    gamma: float
    n_test: int


@cached
def learning_curve(pixels: Pixels, curve: Curve) -> CurveResult:
    """Fit the Gaussian-kernel interpolant on the first n images for each n in ``curve.sizes``."""
    data = _data(pixels, curve.sizes).flat()
    rows = []
    for n in progress(curve.sizes, desc="kernel interpolation"):
        model = kn.KernelInterpolant(pixels.gamma, n_classes=10).fit(data.x_train[:n], data.y_train[:n])
        m = min(n, 2000)
        rows.append((model.accuracy(data.x_test, data.y_test), model.accuracy(data.x_train[:m], data.y_train[:m]),
                     model.rkhs_norm, sum(model.seconds.values())))
    test, train, norm, secs = map(np.asarray, zip(*rows))
    return CurveResult(np.asarray(curve.sizes), test, train, norm, secs, pixels.gamma, len(data.y_test))


@dataclass(frozen=True)
class NormResult:
    """Test error and RKHS norm of interpolants of ``norms.n`` images: rows are settings, in ``settings`` order."""

    settings: tuple[str, ...]
    test_error: np.ndarray  # NaN for random labels (nothing to predict)
    train_acc: np.ndarray
    rkhs_norm: np.ndarray
    gammas: tuple[float, ...]


@cached
def norm_comparison(pixels: Pixels, norms: Norms) -> NormResult:
    """True vs random labels on pixels, and true labels on Gabor features (kernel width by the median
    heuristic, since the features live on another scale)."""
    data = _data(pixels, (norms.n,))
    n = norms.n
    x, y = data.x_train[:n], data.y_train[:n]
    bank = kn.gabor_bank(norms.gabor_orientations, norms.gabor_scales)
    g_train = kn.gabor_features(x, bank, pool=norms.gabor_pool)
    g_test = kn.gabor_features(data.x_test, bank, pool=norms.gabor_pool)
    g_gamma = kn.median_gamma(g_train, seed=norms.seed)
    random = corrupt_labels(y, 1.0, seed=norms.seed).labels
    runs = {"pixels, true labels": (x, y, data.x_test, pixels.gamma),
            "pixels, random labels": (x, random, None, pixels.gamma),
            "Gabor features, true labels": (g_train, y, g_test, g_gamma)}
    out = []
    for xt, yt, xs, gamma in runs.values():
        model = kn.KernelInterpolant(gamma, n_classes=10).fit(xt, yt)
        err = 1 - model.accuracy(xs, data.y_test) if xs is not None else np.nan
        out.append((err, model.accuracy(xt, yt), model.rkhs_norm, gamma))
    err, train, norm, gammas = zip(*out)
    return NormResult(tuple(runs), np.asarray(err), np.asarray(train), np.asarray(norm), tuple(gammas))


@cached
def gamma_grid(pixels: Pixels, curve: Curve, gammas: tuple[float, ...] = (0.005, 0.01, 0.02, 0.04),
               sizes: tuple[int, ...] = (500, 1000, 2000, 4000)) -> dict[float, CurveResult]:
    """Learning curves for several kernel widths (smaller sizes than the main curve), for the explorer."""
    sizes = tuple(s for s in sizes if s <= max(curve.sizes))
    return {g: learning_curve.uncached(replace(pixels, gamma=g), replace(curve, sizes=sizes)) for g in gammas}


# 60 000-image Fashion-MNIST test accuracies of Xiao et al. (2017), the peers of the learning curve
XIAO_PEERS = {"SVC, RBF kernel, C = 10": 0.897, "MLP, 100 ReLU units": 0.871, "logistic regression": 0.842}
