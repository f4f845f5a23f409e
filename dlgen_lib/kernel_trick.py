"""Chapter 5: the kernel trick and the minimum-norm solution — the chapter's experiments and figures.

* :func:`min_norm_demo` -- least squares with d > n: gradient descent from zero and from a random start, and
  the spectrum of the Hessian XᵀX/n;
* :func:`learning_curve` -- exact Gaussian-kernel interpolation of Fashion-MNIST for growing n;
* :func:`norm_comparison` -- the RKHS norm of the interpolant for true and random labels, on pixels and on
  Gabor features;
* :func:`gamma_grid` -- test accuracy over kernel widths and sizes, for the chapter's explorer.

The numerical core (kernel, Cholesky solve, min-norm solution, Gabor bank) is :mod:`dlgen_lib.kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import kernels as kn
from .cache import cached
from .config import (
    Check,
    CheckedConfig,
    Flag,
    Integer,
    TupleOf,
    generator,
    get_device,
    positive_int,
    positive_real,
    progress,
    scaled,
    seed_int,
)
from .data import SUBSET_SIZES, corrupt_labels, fashion_mnist


@dataclass(frozen=True)
class KernelConfig(CheckedConfig):
    """Sizes of chapter 5's experiments (Fashion-MNIST pixels in [0, 1], flattened to 784 features). Every field is
    checked when a config is made (``RULES``, ``CHECKS``): a value out of range is a
    :class:`~dlgen_lib.config.ConfigError` naming it."""

    n_train: int = 10_000  # training images of the kernel interpolant (the shipped subset holds 10 000)
    n_test: int = 2_000  # test images
    full_data: bool = False  # read the full 60 000 / 10 000 set (needed when n_train > 10 000)
    gamma: float = 0.02  # Gaussian kernel k(x, z) = exp(-gamma ||x - z||²), Zhang et al.'s value for MNIST
    # training-set sizes of the learning curve; at least 4 at every scale (the chapter fits a power law with a floor)
    sizes: tuple[int, ...] = (500, 1000, 2000, 5000, 10_000)
    n_norm: int = 2_000  # examples of the true- vs random-label RKHS-norm comparison
    gabor_orientations: int = 8  # orientations of the Gabor bank
    gabor_scales: int = 2  # wavelengths of the Gabor bank
    gabor_pool: int = 4  # average-pooling window of the Gabor features (28 / 4 = 7 x 7 cells)
    ls_n: int = 100  # least-squares demo: examples n
    ls_d: int = 400  # least-squares demo: features d (> n)
    gd_steps: int = 2_000  # least-squares demo: gradient steps
    seed: int = 0

    RULES = {
        "n_train": positive_int(60_000, "the full set has 60 000 training images, the shipped subset 10 000"),
        "n_test": positive_int(10_000, "the full set has 10 000 test images, the shipped subset 2 000"),
        "full_data": Flag(),
        "gamma": positive_real("the width of the Gaussian kernel"),
        "sizes": TupleOf(positive_int(60_000), distinct=True, note="training-set sizes, as n_train"),
        "n_norm": Integer(2, 60_000, "examples of the RKHS-norm comparison, from the images loaded"),
        "gabor_orientations": positive_int(),
        "gabor_scales": positive_int(),
        "gabor_pool": positive_int(28, "a pooling window within the 28 x 28 image"),
        "ls_n": positive_int(),
        "ls_d": positive_int(note="more features than examples, ls_d > ls_n"),
        "gd_steps": positive_int(),
        "seed": seed_int(),
    }
    CHECKS = (
        Check(("n_train", "sizes", "full_data"),
              lambda c: max(c.n_train, *c.sizes) <= (60_000 if c.full_data else SUBSET_SIZES[0]),
              "n_train and every size must be at most 10 000, the training images of the shipped subset; "
              "set full_data=True for up to 60 000"),
        Check(("n_test", "full_data"), lambda c: c.n_test <= (10_000 if c.full_data else SUBSET_SIZES[1]),
              "n_test must be at most 2 000, the test images of the shipped subset; set full_data=True for up "
              "to 10 000"),
        Check(("n_norm", "n_train", "sizes"), lambda c: c.n_norm <= max(c.n_train, *c.sizes),
              "n_norm must be at most max(n_train, max(sizes)), the images loaded"),
        Check(("ls_n", "ls_d"), lambda c: c.ls_d > c.ls_n,
              "ls_d must exceed ls_n: the least-squares demo is overparameterized, more features than examples"),
    )


def kernel_config(scale: str | None = None, **overrides) -> KernelConfig:
    """The config for the scale (``$DLGEN_SCALE`` by default); keyword arguments override single fields."""
    return scaled(
        tiny=KernelConfig(n_train=500, n_test=500, sizes=(100, 200, 300, 500), n_norm=300, ls_n=20, ls_d=60,
                          gd_steps=500),
        small=KernelConfig(),
        full=KernelConfig(n_train=60_000, n_test=10_000, full_data=True, n_norm=10_000,
                          sizes=(1000, 2000, 5000, 10_000, 20_000, 60_000), ls_n=500, ls_d=5000, gd_steps=5000),
        scale=scale, overrides=overrides)


# ------------------------------------------------------------------------------------------ the kernel


def _data(cfg: KernelConfig):
    """Fashion-MNIST on the compute device (a GPU for the full scale), as many images as the config uses."""
    data = fashion_mnist(full=cfg.full_data)
    return data.subset(n_train=max(cfg.n_train, max(cfg.sizes)), n_test=cfg.n_test).to(get_device())


# ------------------------------------------------------------------------------------------ experiments


@dataclass(frozen=True)
class MinNormResult:
    """Gradient descent on least squares with d > n, from zero and from a random start w0."""

    n: int
    d: int
    from_zero: kn.GDResult
    from_w0: kn.GDResult
    min_norm_gap: float  # ||w_GD(0) - X⁺y|| / ||X⁺y|| at the end
    projection_gap: float  # ||w_GD(w0) - (w0 + X⁺(y - X w0))|| / ||...|| at the end
    hessian_eigenvalues: np.ndarray  # (d,) eigenvalues of XᵀX / n, descending


@cached
def min_norm_demo(cfg: KernelConfig) -> MinNormResult:
    """Gaussian X (n, d), d > n, random targets; full-batch GD with step 1/λ_max from 0 and from w0 ~ N(0, I/d)."""
    gen = generator(cfg.seed)
    X = torch.randn(cfg.ls_n, cfg.ls_d, generator=gen, dtype=torch.float64) / cfg.ls_d ** 0.5
    y = torch.randn(cfg.ls_n, generator=gen, dtype=torch.float64)
    w0 = torch.randn(cfg.ls_d, generator=gen, dtype=torch.float64) / cfg.ls_d ** 0.5
    eig = torch.linalg.eigvalsh(X.T @ X / cfg.ls_n).flip(0)  # (d,) descending
    lr = 1.0 / float(eig[0])
    record = max(1, cfg.gd_steps // 200)
    zero = kn.gradient_descent_least_squares(X, y, lr, cfg.gd_steps, record_every=record)
    start = kn.gradient_descent_least_squares(X, y, lr, cfg.gd_steps, w0=w0, record_every=record)
    w_star = kn.min_norm_solution(X, y)
    target = w0 + kn.min_norm_solution(X, y - X @ w0)
    gap = lambda w, t: float(np.linalg.norm(w - t.numpy()) / t.norm())  # noqa: E731
    return MinNormResult(cfg.ls_n, cfg.ls_d, zero, start, gap(zero.w, w_star), gap(start.w, target), eig.numpy())


@dataclass(frozen=True)
class CurveResult:
    """Kernel interpolation of Fashion-MNIST (pixels in [0, 1], gamma) for each training-set size."""

    sizes: np.ndarray  # (S,)
    test_acc: np.ndarray  # (S,)
    train_acc: np.ndarray  # (S,) on (up to) the first 2 000 training images
    rkhs_norm: np.ndarray  # (S,) αᵀKα
    seconds: np.ndarray  # (S,) kernel + factorization + solve
    gamma: float
    n_test: int


@cached
def learning_curve(cfg: KernelConfig) -> CurveResult:
    """Fit the Gaussian-kernel interpolant on the first n images for each n in ``cfg.sizes``."""
    data = _data(cfg).flat()
    rows = []
    for n in progress(cfg.sizes, desc="kernel interpolation"):
        model = kn.KernelInterpolant(cfg.gamma, n_classes=10).fit(data.x_train[:n], data.y_train[:n])
        m = min(n, 2000)
        rows.append((model.accuracy(data.x_test, data.y_test), model.accuracy(data.x_train[:m], data.y_train[:m]),
                     model.rkhs_norm, sum(model.seconds.values())))
    test, train, norm, secs = map(np.asarray, zip(*rows))
    return CurveResult(np.asarray(cfg.sizes), test, train, norm, secs, cfg.gamma, len(data.y_test))


@dataclass(frozen=True)
class NormResult:
    """Test error and RKHS norm of interpolants of n_norm images: rows are settings, in ``settings`` order."""

    settings: tuple[str, ...]
    test_error: np.ndarray  # NaN for random labels (nothing to predict)
    train_acc: np.ndarray
    rkhs_norm: np.ndarray
    gammas: tuple[float, ...]


@cached
def norm_comparison(cfg: KernelConfig) -> NormResult:
    """True vs random labels on pixels, and true labels on Gabor features (kernel width by the median
    heuristic, since the features live on another scale)."""
    data = _data(cfg)
    n = cfg.n_norm
    x, y = data.x_train[:n], data.y_train[:n]
    bank = kn.gabor_bank(cfg.gabor_orientations, cfg.gabor_scales)
    g_train = kn.gabor_features(x, bank, pool=cfg.gabor_pool)
    g_test = kn.gabor_features(data.x_test, bank, pool=cfg.gabor_pool)
    g_gamma = kn.median_gamma(g_train, seed=cfg.seed)
    random = corrupt_labels(y, 1.0, seed=cfg.seed).labels
    runs = {"pixels, true labels": (x, y, data.x_test, cfg.gamma),
            "pixels, random labels": (x, random, None, cfg.gamma),
            "Gabor features, true labels": (g_train, y, g_test, g_gamma)}
    out = []
    for xt, yt, xs, gamma in runs.values():
        model = kn.KernelInterpolant(gamma, n_classes=10).fit(xt, yt)
        err = 1 - model.accuracy(xs, data.y_test) if xs is not None else np.nan
        out.append((err, model.accuracy(xt, yt), model.rkhs_norm, gamma))
    err, train, norm, gammas = zip(*out)
    return NormResult(tuple(runs), np.asarray(err), np.asarray(train), np.asarray(norm), tuple(gammas))


@cached
def gamma_grid(cfg: KernelConfig, gammas: tuple[float, ...] = (0.005, 0.01, 0.02, 0.04),
               sizes: tuple[int, ...] = (500, 1000, 2000, 4000)) -> dict[float, CurveResult]:
    """Learning curves for several kernel widths (smaller sizes than the main curve), for the explorer."""
    sizes = tuple(s for s in sizes if s <= max(cfg.sizes))
    return {g: learning_curve.uncached(KernelConfig(**{**cfg.__dict__, "gamma": g, "sizes": sizes}))
            for g in gammas}


# ------------------------------------------------------------------------------------------------ figures


def plot_min_norm(r: MinNormResult):
    """(a) distance to the limit and the component outside the row space during GD; (b) Hessian spectrum."""
    from .plotting import figure

    fig, (a, b) = figure(ncols=2, width=4.4, height=3.2)
    for res, name in ((r.from_zero, "from w = 0"), (r.from_w0, "from w = w0")):
        (line,) = a.semilogy(res.step, res.distance, label=f"{name}: distance to its limit")
        a.semilogy(res.step, np.maximum(res.off_row_space, 1e-17), linestyle="--", color=line.get_color(),
                   label=f"{name}: part of w - w0 outside the row space")
    a.set(xlabel="gradient step", ylabel="norm", title="(a) GD never leaves w0 + row space of X")
    a.legend(fontsize=7)
    b.semilogy(np.arange(1, r.d + 1), np.maximum(r.hessian_eigenvalues, 1e-18), ".", markersize=3)
    b.axvline(r.n, color="grey", linestyle=":", label=f"n = {r.n}")
    b.set(xlabel="index of eigenvalue", ylabel="eigenvalue of XᵀX / n (floored at 1e-18)",
          title=f"(b) Hessian: {r.n} curved, {r.d - r.n} flat directions")
    b.legend()
    return fig


XIAO_PEERS = {"SVC, RBF kernel, C = 10": 0.897, "MLP, 100 ReLU units": 0.871, "logistic regression": 0.842}


def plot_learning_curve(curve: CurveResult, law):
    """Test error against n (log-log) with the fitted power law, and the 60 000-image peers of Xiao et al."""
    from .plotting import COLORS, figure

    fig, ax = figure(width=5.6, height=3.6)
    err = 1 - curve.test_acc
    ax.loglog(curve.sizes, err, "o", color=COLORS[0], label="kernel interpolation (this run)")
    grid = np.geomspace(curve.sizes[0], 60_000, 100)
    ax.loglog(grid, law(grid), "-", color=COLORS[0], alpha=0.6,
              label=f"fit: {law.a:.2f} n^{law.b:.2f} + {law.c:.3f}")
    for (name, acc), color in zip(XIAO_PEERS.items(), COLORS[1:]):
        ax.loglog([60_000], [1 - acc], "s", color=color, label=f"{name} (Xiao et al., n = 60 000)")
    ax.set(xlabel="training images n", ylabel="test error", title="Learning curve of the kernel interpolant")
    ax.legend(fontsize=7)
    return fig


def plot_norms(r: NormResult):
    """RKHS norm of each interpolant and test error where there is something to predict."""
    from .plotting import COLORS, figure, percent_axis

    fig, (a, b) = figure(ncols=2, width=4.4, height=3.2)
    labels = [s.replace(", ", "\n") for s in r.settings]
    a.bar(range(len(labels)), r.rkhs_norm, color=COLORS[:len(labels)])
    a.set(xticks=range(len(labels)), xticklabels=labels, ylabel="RKHS norm² αᵀKα",
          title="(a) norm of the interpolant")
    keep = [i for i, e in enumerate(r.test_error) if np.isfinite(e)]
    b.bar(range(len(keep)), r.test_error[keep], color=[COLORS[i] for i in keep])
    b.set(xticks=range(len(keep)), xticklabels=[labels[i] for i in keep], ylabel="test error",
          title="(b) test error")
    percent_axis(b)
    return fig
