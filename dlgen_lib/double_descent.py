"""Chapter 7: double descent -- the chapter's experiments and figures.

* :func:`rf_curves` -- random-features regression (closed form) on MNIST-1D or Fashion-MNIST over N/n, ridge λ,
  seeds and label-noise levels (Belkin et al. 2019);
* :func:`isotropic_check` -- min-norm least squares on isotropic Gaussian data: Monte Carlo against the closed
  form (Hastie et al. 2022);
* :func:`sample_wise` -- random features at fixed N over the number of examples n: more data can hurt;
* :func:`deep_double_descent` -- MLP 40-h-h-10 on MNIST-1D over widths and seeds, with or without label noise
  (Nakkiran et al. 2019), trained in width buckets (:mod:`dlgen_lib.sweeps`); its histories give the
  epoch-wise curves.

The numerical cores are :mod:`dlgen_lib.random_features` and :mod:`dlgen_lib.sweeps`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import random_features as rf
from .cache import cached
from .config import (
    Check,
    CheckedConfig,
    Integer,
    Real,
    TupleOf,
    get_device,
    nonnegative_real,
    positive_int,
    positive_real,
    probability,
    scaled,
    seed_int,
    seed_tuple,
)
from .data import corrupt_labels, fashion_mnist, mnist1d
from .models import MLP, ConvNet2D
from .sweeps import WidthSweep, train_widths
from .train import TrainConfig


def _ratios(lo: float, hi: float, count: int) -> tuple[float, ...]:
    """``count`` log-spaced ratios from lo to hi, with the threshold N/n = 1 among them."""
    grid = np.geomspace(lo, hi, count - 1)
    return tuple(float(r) for r in np.unique(np.round(np.r_[grid, 1.0], 6)))


@dataclass(frozen=True)
class DoubleDescentConfig(CheckedConfig):
    """Sizes of chapter 7's experiments. Every field is checked when a config is made (``RULES``, ``CHECKS``): a
    value out of range is a :class:`~dlgen_lib.config.ConfigError` naming it."""

    # random features, MNIST-1D (d = 40): n examples, N = ratio * n features
    rf_n: int = 1000
    rf_n_test: int = 1000
    rf_ratios: tuple[float, ...] = _ratios(0.1, 20.0, 32)
    rf_lams: tuple[float, ...] = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # relative to ||Φ||²_F / n
    rf_seeds: tuple[int, ...] = (0, 1, 2)
    rf_noises: tuple[float, ...] = (0.0, 0.15, 0.3)  # label-noise levels (share the features: almost free)
    # random features, Fashion-MNIST subset (d = 784)
    fashion_n: int = 1000
    fashion_n_test: int = 2000
    fashion_ratios: tuple[float, ...] = _ratios(0.1, 10.0, 24)
    fashion_seeds: tuple[int, ...] = (0, 1)
    # isotropic Gaussian linear regression: n examples, p features, y = xᵀβ + ε
    iso_n: int = 100
    iso_gammas: tuple[float, ...] = tuple(np.round(np.r_[np.geomspace(0.1, 0.8, 8), np.geomspace(1.25, 10, 9)], 4))
    iso_sigma2: float = 0.25  # noise variance σ²
    iso_beta2: float = 1.0  # signal ||β||²
    iso_trials: int = 200
    # sample-wise: random features at fixed N over n
    sw_features: tuple[int, ...] = (250, 500)
    sw_ns: tuple[int, ...] = tuple(int(v) for v in np.unique(np.round(np.geomspace(50, 2000, 22))))
    sw_seeds: tuple[int, ...] = (0, 1, 2)
    # deep double descent: MLP 40-h-h-10 on MNIST-1D (4 000 / 1 000), Adam, cosine learning rate
    widths: tuple[int, ...] = (2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256)
    deep_n_train: int = 4000  # training examples of the MLP sweep (the first of MNIST-1D's 4 000)
    deep_noise: float = 0.15  # fraction of training labels redrawn uniformly (the MNIST-1D notebook's 15 %)
    deep_seeds: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    clean_seeds: tuple[int, ...] = (0, 1)  # the same sweep without label noise
    steps: int = 3000
    lr: float = 1e-2
    batch_size: int = 128
    eval_every: int = 200
    # the same sweep for a CNN on Fashion-MNIST (channels c -> 2c, Nakkiran et al.'s model-wise axis): full scale
    cnn_widths: tuple[int, ...] = ()  # empty: not run (it needs a GPU to be quick)
    cnn_seeds: tuple[int, ...] = (0, 1, 2)
    cnn_n_train: int = 10_000
    cnn_n_test: int = 10_000
    cnn_steps: int = 10_000
    seed: int = 0  # label noise and data subsets

    RULES = {  # MNIST-1D: 4 000 training / 1 000 test; Fashion-MNIST: 60 000 / 10 000 (beyond the shipped
        # subset's 10 000 / 2 000 the full set is read)
        "rf_n": positive_int(4000, "MNIST-1D has 4 000 training examples"),
        "rf_n_test": positive_int(1000, "MNIST-1D has 1 000 test examples"),
        "rf_ratios": TupleOf(positive_real(), distinct=True, note="N / n, features per example"),
        "rf_lams": TupleOf(nonnegative_real(), distinct=True, note="ridge strengths, 0 for the min-norm fit"),
        "rf_seeds": seed_tuple(),
        "rf_noises": TupleOf(probability(), distinct=True, note="label-noise probabilities"),
        "fashion_n": positive_int(60_000, "Fashion-MNIST has 60 000 training images"),
        "fashion_n_test": positive_int(10_000, "Fashion-MNIST has 10 000 test images"),
        "fashion_ratios": TupleOf(positive_real(), distinct=True, note="N / n, features per example"),
        "fashion_seeds": seed_tuple(),
        "iso_n": Integer(2, None, "examples of the isotropic regression"),
        "iso_gammas": TupleOf(positive_real(), distinct=True, note="p / n, features per example"),
        "iso_sigma2": nonnegative_real("noise variance σ²"),
        "iso_beta2": nonnegative_real("signal ||β||²"),
        "iso_trials": Integer(2, None, "Monte Carlo draws; two at least for a standard error"),
        "sw_features": TupleOf(positive_int(), distinct=True, note="numbers of random features N"),
        "sw_ns": TupleOf(positive_int(4000), distinct=True, note="MNIST-1D has 4 000 training examples"),
        "sw_seeds": seed_tuple(),
        "widths": TupleOf(positive_int(), distinct=True),
        "deep_n_train": positive_int(4000, "MNIST-1D has 4 000 training examples"),
        "deep_noise": Real(0.0, 1.0, lo_open=True, note="the noisy sweep is compared with a clean one (noise 0)"),
        "deep_seeds": seed_tuple(),
        "clean_seeds": seed_tuple(),
        "steps": positive_int(),
        "lr": positive_real("Adam's learning rate"),
        "batch_size": positive_int(4000, "MNIST-1D has 4 000 training examples"),
        "eval_every": positive_int(),
        "cnn_widths": TupleOf(positive_int(), min_len=0, distinct=True, note="empty: not run"),
        "cnn_seeds": seed_tuple(),
        "cnn_n_train": positive_int(60_000, "Fashion-MNIST has 60 000 training images"),
        "cnn_n_test": positive_int(10_000, "Fashion-MNIST has 10 000 test images"),
        "cnn_steps": positive_int(),
        "seed": seed_int(),
    }
    CHECKS = (
        Check(("iso_gammas", "iso_n"), lambda c: round(min(c.iso_gammas) * c.iso_n) >= 1,
              "every p = round(γ n) must be at least one feature"),
    )


def double_descent_config(scale: str | None = None, **overrides) -> DoubleDescentConfig:
    """The config for the scale (``$DLGEN_SCALE`` by default); keyword arguments override single fields."""
    return scaled(
        tiny=DoubleDescentConfig(rf_n=120, rf_n_test=200, rf_ratios=_ratios(0.2, 8.0, 9), rf_lams=(0.0, 1e-3, 1e-1),
                                 rf_seeds=(0, 1), rf_noises=(0.0, 0.3), fashion_n=100, fashion_n_test=200,
                                 fashion_ratios=_ratios(0.2, 5.0, 7), fashion_seeds=(0,), iso_n=30,
                                 iso_gammas=(0.2, 0.5, 2.0, 5.0), iso_trials=60, sw_features=(60,),
                                 sw_ns=(20, 40, 60, 90, 200), sw_seeds=(0,), widths=(2, 8, 64), deep_seeds=(0,),
                                 clean_seeds=(0,), steps=300, eval_every=100, deep_n_train=400),
        # the small scale's peak is small: 20 % noise (the notebook's 15 % gave a bump of about two standard errors)
        # and ten noisy seeds make it robust; 192 is the widest (256 alone cost as much as every other width)
        small=DoubleDescentConfig(deep_noise=0.2, deep_seeds=tuple(range(10)),
                                  widths=(2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192)),
        full=DoubleDescentConfig(rf_n=4000, rf_n_test=1000, rf_ratios=_ratios(0.1, 20.0, 48), rf_seeds=(0, 1, 2, 3, 4),
                                 fashion_n=4000, fashion_n_test=10_000, fashion_ratios=_ratios(0.1, 10.0, 40),
                                 fashion_seeds=(0, 1, 2), iso_n=400, iso_trials=1000, sw_features=(1000, 2000),
                                 sw_ns=tuple(int(v) for v in np.unique(np.round(np.geomspace(200, 4000, 30)))),
                                 widths=(2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 56, 64, 80, 96, 128, 192, 256, 512),
                                 deep_seeds=tuple(range(8)), clean_seeds=(0, 1, 2), steps=10_000, eval_every=250,
                                 cnn_widths=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)),
        scale=scale, overrides=overrides)


def train_config(cfg: DoubleDescentConfig) -> TrainConfig:
    """How every network of the deep sweep is trained: Adam, batch 128, cosine decay of the learning rate
    to zero (so the wide networks settle and interpolate within the budget)."""
    return TrainConfig(steps=cfg.steps, lr=cfg.lr, batch_size=cfg.batch_size, optimizer="adam",
                       eval_every=cfg.eval_every, schedule="cosine")


# ------------------------------------------------------------------------------------------ random features


def _dataset(name: str, n: int, n_test: int, flat: bool = True):
    if name == "mnist1d":
        data = mnist1d()
    elif name == "fashion":
        data = fashion_mnist(full=n > 10_000 or n_test > 2_000)
        data = data.flat() if flat else data
    else:
        raise ValueError(f"dataset={name!r} is not known; valid: 'mnist1d', 'fashion'")
    if n > len(data.y_train) or n_test > len(data.y_test):
        raise ValueError(f"{name} has {len(data.y_train)} / {len(data.y_test)} examples, asked for {n} / {n_test}")
    return data.subset(n, n_test).to(get_device())


@cached
def rf_curves(cfg: DoubleDescentConfig, dataset: str = "mnist1d") -> dict[float, rf.RFSweep]:
    """Random-features regression over N/n, λ and seeds; one sweep per label-noise level (MNIST-1D: cfg.rf_noises,
    Fashion-MNIST: clean labels only). Noisy labels are redrawn on the training set only; the test set is clean."""
    if dataset == "mnist1d":
        n, m, ratios, seeds, noises = cfg.rf_n, cfg.rf_n_test, cfg.rf_ratios, cfg.rf_seeds, cfg.rf_noises
    else:
        n, m, ratios, seeds, noises = cfg.fashion_n, cfg.fashion_n_test, cfg.fashion_ratios, cfg.fashion_seeds, (0.0,)
    data = _dataset(dataset, n, m)
    ys = torch.stack([corrupt_labels(data.y_train, p, seed=cfg.seed).labels for p in noises])  # (V, n)
    sweeps = rf.rf_sweep(data.x_train, ys, data.x_test, data.y_test, ratios, cfg.rf_lams, seeds, n_classes=10)
    return dict(zip(noises, sweeps))


@dataclass(frozen=True)
class IsotropicCheck:
    """Excess risk of min-norm least squares, isotropic Gaussian data, for p = gamma * n features."""

    n: int
    ps: np.ndarray  # (P,)
    mc_mean: np.ndarray  # (P,) Monte Carlo mean of ||β̂ - β||²
    mc_se: np.ndarray  # (P,) its standard error
    theory: np.ndarray  # (P,) the closed form (rf.isotropic_risk)
    sigma2: float
    beta2: float
    trials: int


@cached
def isotropic_check(cfg: DoubleDescentConfig) -> IsotropicCheck:
    """Monte Carlo (cfg.iso_trials draws of X, ε per p) against Hastie et al.'s closed form."""
    ps = np.unique(np.round(np.asarray(cfg.iso_gammas) * cfg.iso_n).astype(int))
    mc = [rf.isotropic_monte_carlo(int(p), cfg.iso_n, cfg.iso_sigma2, cfg.iso_beta2, cfg.iso_trials,
                                   seed=cfg.seed + i) for i, p in enumerate(ps)]
    mean, se = map(np.asarray, zip(*mc))
    return IsotropicCheck(cfg.iso_n, ps, mean, se, rf.isotropic_risk(ps, cfg.iso_n, cfg.iso_sigma2, cfg.iso_beta2),
                          cfg.iso_sigma2, cfg.iso_beta2, cfg.iso_trials)


@dataclass(frozen=True)
class SampleWise:
    """Min-norm random features at fixed N for a growing number of training examples n (MNIST-1D)."""

    n_features: np.ndarray  # (F,)
    ns: np.ndarray  # (M,)
    test_error: np.ndarray  # (F, S, M)
    test_mse: np.ndarray  # (F, S, M)


@cached
def sample_wise(cfg: DoubleDescentConfig) -> SampleWise:
    """For each n, the first n MNIST-1D training examples and N = each of cfg.sw_features features (the same
    features for every n: W depends only on the seed)."""
    data = _dataset("mnist1d", max(cfg.sw_ns), cfg.rf_n_test)
    Ns = np.asarray(cfg.sw_features)
    err = np.zeros((len(Ns), len(cfg.sw_seeds), len(cfg.sw_ns)))
    mse = np.zeros_like(err)
    for j, n in enumerate(cfg.sw_ns):
        r = rf.rf_sweep(data.x_train[:n], data.y_train[:n], data.x_test, data.y_test, Ns / n, [0.0], cfg.sw_seeds,
                        n_classes=10)
        err[:, :, j], mse[:, :, j] = r.test_error[..., 0].T, r.test_mse[..., 0].T
    return SampleWise(Ns, np.asarray(cfg.sw_ns), err, mse)


# ------------------------------------------------------------------------------------------ deep double descent


def mlp(width: int) -> MLP:
    """The MNIST-1D notebook's network: 40 -> h -> h -> 10 with ReLU (h² + 52 h + 10 parameters)."""
    return MLP(40, [width, width], 10)


@cached
def deep_double_descent(cfg: DoubleDescentConfig) -> dict[float, WidthSweep]:
    """Every width x seed of the MLP on MNIST-1D, with a fraction cfg.deep_noise of the labels redrawn (seeds
    cfg.deep_seeds) and with clean labels (cfg.clean_seeds): {noise: sweep}. Both label sets train in the same
    width buckets, so the per-step overhead is paid once."""
    data = mnist1d().subset(n_train=cfg.deep_n_train).to(get_device())
    ys = torch.stack([corrupt_labels(data.y_train, cfg.deep_noise, seed=cfg.seed).labels, data.y_train])
    noisy, clean = train_widths(mlp, cfg.widths, [cfg.deep_seeds, cfg.clean_seeds], data.x_train, ys,
                                train_config(cfg), data.x_test, data.y_test)
    return {cfg.deep_noise: noisy, 0.0: clean}


def cnn(width: int) -> ConvNet2D:
    """The CNN of the Fashion-MNIST sweep: conv3x3(c) -> pool -> conv3x3(2c) -> pool -> linear, width c."""
    return ConvNet2D(in_channels=1, channels=(width, 2 * width), n_classes=10)


@cached
def cnn_double_descent(cfg: DoubleDescentConfig) -> dict[float, WidthSweep]:
    """The model-wise sweep for :func:`cnn` on cfg.cnn_n_train Fashion-MNIST images over cfg.cnn_widths, with
    cfg.deep_noise label noise and clean labels ({noise: sweep}); cfg.cnn_steps Adam steps, cosine schedule."""
    if not cfg.cnn_widths:
        raise ValueError("cfg.cnn_widths is empty: the Fashion-MNIST CNN sweep belongs to the full scale "
                         "(DLGEN_SCALE=full, on a GPU), or pass cnn_widths=... to double_descent_config")
    data = _dataset("fashion", cfg.cnn_n_train, cfg.cnn_n_test, flat=False)
    ys = torch.stack([corrupt_labels(data.y_train, cfg.deep_noise, seed=cfg.seed).labels, data.y_train])
    tc = TrainConfig(**{**train_config(cfg).__dict__, "steps": cfg.cnn_steps})
    noisy, clean = train_widths(cnn, cfg.cnn_widths, [cfg.cnn_seeds, cfg.cnn_seeds], data.x_train, ys, tc,
                                data.x_test, data.y_test)
    return {cfg.deep_noise: noisy, 0.0: clean}


# ------------------------------------------------------------------------------------------ summaries


def first_minimum(x: np.ndarray, y: np.ndarray, before: float) -> tuple[float, float]:
    """(x, y) at the smallest y among the points with x < ``before`` (the bottom of the first descent)."""
    keep = np.flatnonzero(np.asarray(x) < before)
    i = keep[np.argmin(np.asarray(y)[keep])]
    return float(x[i]), float(y[i])


def early_stopped(sweep: WidthSweep) -> np.ndarray:
    """(W,) the lowest seed-mean test error over the recorded steps (after step 0): oracle early stopping."""
    return sweep.test_error[..., 1:].mean(1).min(-1)


def _threshold(sweep: WidthSweep) -> tuple[int, np.ndarray, np.ndarray]:
    """(h*, (W,) seed-mean final test error, (W,) bool: widths below h*/2), with clear errors when undefined."""
    h = sweep.interpolation_threshold()
    if h is None:
        raise ValueError("no width reached zero training error: train longer or wider to find the threshold")
    below = sweep.widths < h / 2
    if not below.any():
        raise ValueError(f"no width below h*/2 = {h / 2:g}: add smaller widths to see the first descent")
    return h, sweep.final("test_error").mean(1), below


def threshold_bump(sweep: WidthSweep) -> tuple[float, int | None]:
    """How far the seed-mean final test error climbs near the interpolation threshold h* (the first width with
    training error <= 1 %): max error over widths in [h*/2, 2 h*] minus the min over the widths below h*/2.
    Positive: a peak at the threshold; negative: the curve keeps falling. Returns (bump, h*)."""
    h, err, below = _threshold(sweep)
    window = (sweep.widths >= h / 2) & (sweep.widths <= 2 * h)
    return float(err[window].max() - err[below].min()), h


def first_minimum_and_peak(sweep: WidthSweep) -> tuple[int, int, int]:
    """(i_min, i_peak, h*): the index of the lowest seed-mean final test error among the widths below h*/2 (the
    bottom of the first descent) and of the highest among the widths from h*/2 up, with no upper bound, so that
    "the peak sits near h*" is something to check, not something assumed."""
    h, err, below = _threshold(sweep)
    return int(np.argmin(np.where(below, err, np.inf))), int(np.argmax(np.where(below, -np.inf, err))), h


def rise_above_running_min(y: np.ndarray) -> float:
    """max_i (y_i - min_{j<=i} y_j): 0 for a non-increasing curve; the height of the worst bump otherwise."""
    y = np.asarray(y, dtype=float)
    return float((y - np.minimum.accumulate(y)).max())


# Greydanus & Kobak's MNIST-1D notebook (MLP 40-h-h-10, 15 % label noise, 1 000 epochs of SGD, 4 000 examples)
MNIST1D_PAPER = {"first minimum": (16, 0.47), "peak": (54, 0.54), "widest (h = 300)": (300, 0.455)}


# ------------------------------------------------------------------------------------------ figures


def plot_rf_curve(sweeps: dict[str, rf.RFSweep]):
    """Test error (a) and test MSE (b), λ = 0, against N/n for each named sweep, mean +- std over seeds."""
    from .plotting import COLORS, band, figure, percent_axis

    fig, (a, b) = figure(ncols=2, width=4.6, height=3.4)
    for (name, r), color in zip(sweeps.items(), COLORS):
        band(a, r.ratios, r.test_error[..., 0], label=name, color=color, marker=".")
        band(b, r.ratios, r.test_mse[..., 0], label=name, color=color, marker=".")
    for ax in (a, b):
        ax.set_xscale("log")
        ax.axvline(1.0, color="grey", linestyle=":", label="N = n")
    b.set_yscale("log")
    a.set(xlabel="features per example N / n", ylabel="test error (argmax)", title="(a) classification error")
    b.set(xlabel="features per example N / n", ylabel="test MSE (one-hot targets)", title="(b) squared error")
    percent_axis(a)
    a.legend()
    return fig


def plot_rf_explain(r: rf.RFSweep):
    """Why the peak: test MSE, the norm of the min-norm coefficients and the smallest singular value of Φ."""
    from .plotting import COLORS, band, figure

    fig, axes = figure(ncols=3, width=3.4, height=3.1)
    panels = ((r.test_mse[..., 0], "test MSE", "(a) the error peaks..."),
              (r.coef_norm[..., 0], "||a|| of the min-norm fit", "(b) ...with the norm..."),
              (r.s_min, "smallest non-zero singular value of Φ", "(c) ...as s_min -> 0"))
    for ax, (values, label, title), color in zip(axes, panels, COLORS):
        band(ax, r.ratios, values, color=color, marker=".")
        ax.set(xscale="log", yscale="log", xlabel="N / n", ylabel=label, title=title)
        ax.axvline(1.0, color="grey", linestyle=":")
    return fig


def plot_ridge(r: rf.RFSweep, metric: str = "test_error"):
    """The metric against N/n for each ridge λ, and with λ tuned per N (the oracle-tuned ridge)."""
    from .plotting import COLORS, band, figure, percent_axis

    fig, ax = figure(width=5.8, height=3.8)
    values = getattr(r, metric)
    for li, lam in enumerate(r.lams):
        color = COLORS[li % len(COLORS)]
        band(ax, r.ratios, values[..., li], label="λ = 0 (min norm)" if lam == 0 else f"λ = {lam:g}", color=color,
             alpha=0.1)
    band(ax, r.ratios, r.best_lam(metric), label="λ tuned for each N", color="black", marker="o")
    ax.set(xscale="log", xlabel="features per example N / n", ylabel=metric.replace("_", " "),
           title="Ridge flattens the peak; a tuned ridge removes it")
    ax.axvline(1.0, color="grey", linestyle=":")
    if metric == "test_error":
        percent_axis(ax)
    ax.legend(fontsize=7, ncol=2)
    return fig


def plot_isotropic(check: IsotropicCheck):
    """Monte Carlo risk (points with 2 standard-error bars) on the closed-form curve, against p / n."""
    from .plotting import COLORS, figure

    fig, ax = figure(width=5.4, height=3.6)
    gam = np.r_[np.linspace(0.05, 0.97, 200), np.linspace(1.03, check.ps.max() / check.n * 1.05, 300)]
    theory = rf.isotropic_risk(gam * check.n, check.n, check.sigma2, check.beta2)
    ax.plot(gam, np.where(np.isfinite(theory), theory, np.nan), color=COLORS[0], label="closed form (Hastie et al.)")
    ax.errorbar(check.ps / check.n, check.mc_mean, yerr=2 * check.mc_se, fmt="o", color=COLORS[1],
                label=f"Monte Carlo, {check.trials} draws (±2 s.e.)")
    ax.axhline(check.beta2, color="grey", linestyle="--", label="null risk ||β||² (predict 0)")
    ax.set(xscale="log", yscale="log", ylim=(0.02, 50), xlabel="features per example p / n",
           ylabel="excess risk E||β̂ - β||²", title=f"Min-norm least squares, n = {check.n}, σ² = {check.sigma2}")
    ax.legend(fontsize=7)
    return fig


def plot_sample_wise(s: SampleWise):
    """Test error against n at fixed N: a peak at n = N, where more data hurts."""
    from .plotting import COLORS, band, figure, percent_axis

    fig, ax = figure(width=5.4, height=3.6)
    for f, (N, color) in enumerate(zip(s.n_features, COLORS)):
        band(ax, s.ns, s.test_error[f], label=f"N = {N} features", color=color, marker=".")
        ax.axvline(N, color=color, linestyle=":")
    ax.set(xscale="log", xlabel="training examples n", ylabel="test error",
           title="Sample-wise: the peak sits at n = N")
    percent_axis(ax)
    ax.legend()
    return fig


def plot_deep(noisy: WidthSweep, clean: WidthSweep | None = None, paper: dict | None = MNIST1D_PAPER,
              xlabel: str = "hidden width h (MLP 40-h-h-10)", noise: float = 0.15):
    """(a) final test error against width with and without label noise, the paper's points; (b) train error."""
    from .plotting import COLORS, band, figure, percent_axis

    fig, (a, b) = figure(ncols=2, width=4.8, height=3.6)
    runs = [(noisy, f"{noise:.0%} label noise", COLORS[1])] + ([(clean, "clean labels", COLORS[0])] if clean else [])
    for sweep, name, color in runs:
        band(a, sweep.widths, sweep.final("test_error").T, label=f"{name}", color=color, marker="o")
        band(b, sweep.widths, sweep.final("train_error").T, label=name, color=color, marker="o")
        h = sweep.interpolation_threshold()
        if h is not None:
            for ax in (a, b):
                ax.axvline(h, color=color, linestyle=":")
    a.plot(noisy.widths, early_stopped(noisy), "s--", color=COLORS[2], markersize=4,
           label=f"{noise:.0%} noise, best step (early stopping)")
    if paper:
        xs, ys = zip(*paper.values())
        a.plot(xs, ys, "k*", markersize=9, label="MNIST-1D notebook (15 % noise)")
    for ax in (a, b):
        ax.set(xscale="log", xlabel=xlabel)
        percent_axis(ax)
    a.set(ylabel="test error", title="(a) test error: peak at the threshold (dotted)")
    b.set(ylabel="training error (on the labels trained on)", title="(b) training error reaches 0")
    a.legend(fontsize=7)
    return fig


def plot_epoch_wise(sweep: WidthSweep, widths: tuple[int, ...]):
    """Test (solid) and training (dashed) error against training step for a few widths."""
    from .plotting import COLORS, band, figure, percent_axis

    fig, ax = figure(width=5.8, height=3.8)
    for h, color in zip(widths, COLORS):
        i = int(np.flatnonzero(sweep.widths == h)[0])
        band(ax, sweep.step, sweep.test_error[i], label=f"h = {h}: test", color=color)
        ax.plot(sweep.step, sweep.train_error[i].mean(0), linestyle="--", color=color, label=f"h = {h}: train")
    ax.set(xlabel="training step (Adam, cosine learning rate)", ylabel="error", title="Epoch-wise curves")
    percent_axis(ax)
    ax.legend(fontsize=7, ncol=2)
    return fig
