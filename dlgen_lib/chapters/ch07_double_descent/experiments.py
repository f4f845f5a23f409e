"""Chapter 7's experiments: double descent in random-features regression, in min-norm least squares on isotropic
Gaussian data, and in the width of an MLP (and of a CNN).

Each experiment is one call that returns plain numpy results and is cached on disk under the parts of
:class:`DoubleDescentConfig` it reads:

* :func:`rf_curves` (``rf`` or ``fashion``, ``ridge``, ``draws``) -- random-features regression (closed form) on
  MNIST-1D or Fashion-MNIST over N/n, ridge λ, seeds and label-noise levels (Belkin et al. 2019);
* :func:`isotropic_check` (``isotropic``, ``draws``) -- min-norm least squares on isotropic Gaussian data: Monte
  Carlo against the closed form (Hastie et al. 2022);
* :func:`sample_wise` (``sample_wise``) -- random features at fixed N over the number of examples n: more data
  can hurt;
* :func:`deep_double_descent` (``deep``, ``train``, ``draws``) -- MLP 40-h-h-10 on MNIST-1D over widths and seeds,
  with or without label noise (Nakkiran et al. 2019), trained in width buckets (:mod:`dlgen_lib.sweeps`); its
  histories give the epoch-wise curves;
* :func:`cnn_double_descent` (``cnn``, ``train``, ``draws``) -- the same sweep for a CNN on Fashion-MNIST (full
  scale);

and the summaries of their curves (:func:`threshold_bump`, :func:`first_minimum_and_peak`,
:func:`early_stopped_error`, ...). The numerical cores are :mod:`dlgen_lib.random_features` and
:mod:`dlgen_lib.sweeps`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ... import random_features as rf
from ...cache import cached
from ...config import (
    Check,
    CheckedConfig,
    Integer,
    Real,
    TupleOf,
    get_device,
    nonnegative_real,
    part,
    positive_int,
    positive_real,
    probability,
    seed_int,
    seed_tuple,
)
from ...data import corrupt_labels, fashion_mnist, mnist1d
from ...models import MLP, ConvNet2D
from ...sweeps import WidthSweep, train_widths
from ...train import TrainConfig

__all__ = ["MNIST1D_PAPER", "CNNSweep", "DeepSweep", "DoubleDescentConfig", "Draws", "FashionFeatures",
           "Isotropic", "IsotropicCheck", "RandomFeatures", "Ridge", "SampleSizes", "SampleWise", "Training",
           "cnn_double_descent", "deep_double_descent", "early_stopped_error", "first_minimum",
           "first_minimum_and_peak", "isotropic_check", "rf_curves", "rise_above_running_min", "sample_wise",
           "threshold_bump"]

# MNIST-1D: 4 000 training / 1 000 test; Fashion-MNIST: 60 000 / 10 000 (beyond the shipped subset's 10 000 / 2 000
# the full set is read)
MNIST1D_TRAIN = "MNIST-1D has 4 000 training examples"
MNIST1D_TEST = "MNIST-1D has 1 000 test examples"
FASHION_TRAIN = "Fashion-MNIST has 60 000 training images"
FASHION_TEST = "Fashion-MNIST has 10 000 test images"


def _ratios(lo: float, hi: float, count: int) -> tuple[float, ...]:
    """``count`` log-spaced ratios from lo to hi, with the threshold N/n = 1 among them."""
    grid = np.geomspace(lo, hi, count - 1)
    return tuple(float(r) for r in np.unique(np.round(np.r_[grid, 1.0], 6)))


# ------------------------------------------------------------------------------------------ config


@dataclass(frozen=True)
class Draws(CheckedConfig):
    """The seed of the random draws that are not a model's own: the label noise of every experiment and the Monte
    Carlo draws of :func:`isotropic_check`. Shared."""

    seed: int = 0  # label noise (and the isotropic Monte Carlo: seed + i for the i-th p)

    RULES = {"seed": seed_int()}


@dataclass(frozen=True)
class Ridge(CheckedConfig):
    """The ridge strengths of the random-features fits, on both data sets (:func:`rf_curves`)."""

    lams: tuple[float, ...] = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # relative to ||Φ||²_F / n

    RULES = {"lams": TupleOf(nonnegative_real(), distinct=True, note="ridge strengths, 0 for the min-norm fit")}
    PRESETS = {"tiny": dict(lams=(0.0, 1e-3, 1e-1))}


@dataclass(frozen=True)
class RandomFeatures(CheckedConfig):
    """:func:`rf_curves` on MNIST-1D (d = 40): n examples, N = ratio * n features, over label-noise levels."""

    n: int = 1000  # training examples (the first ones)
    n_test: int = 1000  # test examples (the first ones)
    ratios: tuple[float, ...] = _ratios(0.1, 20.0, 32)  # N / n
    seeds: tuple[int, ...] = (0, 1, 2)  # feature draws
    noises: tuple[float, ...] = (0.0, 0.15, 0.3)  # label-noise levels (share the features: almost free)

    DATASET = "mnist1d"
    RULES = {
        "n": positive_int(4000, MNIST1D_TRAIN),
        "n_test": positive_int(1000, MNIST1D_TEST),
        "ratios": TupleOf(positive_real(), distinct=True, note="N / n, features per example"),
        "seeds": seed_tuple(),
        "noises": TupleOf(probability(), distinct=True, note="label-noise probabilities"),
    }
    PRESETS = {"tiny": dict(n=120, n_test=200, ratios=_ratios(0.2, 8.0, 9), seeds=(0, 1), noises=(0.0, 0.3)),
               "full": dict(n=4000, ratios=_ratios(0.1, 20.0, 48), seeds=(0, 1, 2, 3, 4))}


@dataclass(frozen=True)
class FashionFeatures(CheckedConfig):
    """:func:`rf_curves` on a Fashion-MNIST subset (d = 784), clean labels only."""

    n: int = 1000
    n_test: int = 2000
    ratios: tuple[float, ...] = _ratios(0.1, 10.0, 24)
    seeds: tuple[int, ...] = (0, 1)

    DATASET = "fashion"
    RULES = {
        "n": positive_int(60_000, FASHION_TRAIN),
        "n_test": positive_int(10_000, FASHION_TEST),
        "ratios": TupleOf(positive_real(), distinct=True, note="N / n, features per example"),
        "seeds": seed_tuple(),
    }
    PRESETS = {"tiny": dict(n=100, n_test=200, ratios=_ratios(0.2, 5.0, 7), seeds=(0,)),
               "full": dict(n=4000, n_test=10_000, ratios=_ratios(0.1, 10.0, 40), seeds=(0, 1, 2))}

    @property
    def noises(self) -> tuple[float, ...]:
        """The label-noise levels: clean labels only."""
        return (0.0,)


@dataclass(frozen=True)
class Isotropic(CheckedConfig):
    """:func:`isotropic_check`: isotropic Gaussian linear regression, n examples, p = γ n features,
    y = xᵀβ + ε."""

    n: int = 100
    gammas: tuple[float, ...] = tuple(np.round(np.r_[np.geomspace(0.1, 0.8, 8), np.geomspace(1.25, 10, 9)], 4))
    sigma2: float = 0.25  # noise variance σ²
    beta2: float = 1.0  # signal ||β||²
    trials: int = 200  # Monte Carlo draws per p

    RULES = {
        "n": Integer(2, None, "examples of the isotropic regression"),
        "gammas": TupleOf(positive_real(), distinct=True, note="p / n, features per example"),
        "sigma2": nonnegative_real("noise variance σ²"),
        "beta2": nonnegative_real("signal ||β||²"),
        "trials": Integer(2, None, "Monte Carlo draws; two at least for a standard error"),
    }
    CHECKS = (
        Check(("gammas", "n"), lambda c: round(min(c.gammas) * c.n) >= 1,
              "every p = round(γ n) must be at least one feature"),
    )
    PRESETS = {"tiny": dict(n=30, gammas=(0.2, 0.5, 2.0, 5.0), trials=60), "full": dict(n=400, trials=1000)}


@dataclass(frozen=True)
class SampleSizes(CheckedConfig):
    """:func:`sample_wise`: min-norm random features on MNIST-1D at fixed N over the number of examples n."""

    n_features: tuple[int, ...] = (250, 500)  # numbers of random features N
    ns: tuple[int, ...] = tuple(int(v) for v in np.unique(np.round(np.geomspace(50, 2000, 22))))
    seeds: tuple[int, ...] = (0, 1, 2)
    n_test: int = 1000  # test examples (the first ones); as rf.n_test at every scale

    RULES = {
        "n_features": TupleOf(positive_int(), distinct=True, note="numbers of random features N"),
        "ns": TupleOf(positive_int(4000), distinct=True, note=MNIST1D_TRAIN),
        "seeds": seed_tuple(),
        "n_test": positive_int(1000, MNIST1D_TEST),
    }
    PRESETS = {"tiny": dict(n_features=(60,), ns=(20, 40, 60, 90, 200), seeds=(0,), n_test=200),
               "full": dict(n_features=(1000, 2000),
                            ns=tuple(int(v) for v in np.unique(np.round(np.geomspace(200, 4000, 30)))))}


@dataclass(frozen=True)
class Training(CheckedConfig):
    """How the networks of both width sweeps (:func:`deep_double_descent`, :func:`cnn_double_descent`) are trained:
    on labels with a fraction ``label_noise`` redrawn (and on the clean labels), with Adam and a cosine learning
    rate. Shared."""

    label_noise: float = 0.2  # fraction of training labels redrawn uniformly
    lr: float = 1e-2  # Adam learning rate
    batch_size: int = 128
    eval_every: int = 200  # steps between measurements

    RULES = {
        "label_noise": Real(0.0, 1.0, lo_open=True, note="the noisy sweep is compared with a clean one (noise 0)"),
        "lr": positive_real("Adam's learning rate"),
        "batch_size": positive_int(4000, MNIST1D_TRAIN),
        "eval_every": positive_int(),
    }
    # the small scale's peak is small: 20 % noise (the MNIST-1D notebook's 15 %, kept at the tiny and full scales,
    # gave a bump of about two standard errors) and ten noisy seeds (DeepSweep) make it robust
    PRESETS = {"tiny": dict(label_noise=0.15, eval_every=100), "full": dict(label_noise=0.15, eval_every=250)}

    def train_config(self, steps: int) -> TrainConfig:
        """How every network of a sweep is trained for ``steps`` updates: Adam, cosine decay of the learning rate
        to zero (so the wide networks settle and interpolate within the budget)."""
        return TrainConfig(steps=steps, lr=self.lr, batch_size=self.batch_size, optimizer="adam",
                           eval_every=self.eval_every, schedule="cosine")


@dataclass(frozen=True)
class DeepSweep(CheckedConfig):
    """:func:`deep_double_descent`: the MLP 40-h-h-10 on MNIST-1D (4 000 / 1 000) over widths h and seeds."""

    # 192 is the widest of the small scale: 256 alone cost as much as every other width
    widths: tuple[int, ...] = (2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192)
    n_train: int = 4000  # training examples (the first of MNIST-1D's 4 000)
    seeds: tuple[int, ...] = tuple(range(10))  # seeds of the sweep with label noise
    clean_seeds: tuple[int, ...] = (0, 1)  # the same sweep without label noise
    steps: int = 3000  # Adam updates per network

    RULES = {
        "widths": TupleOf(positive_int(), distinct=True),
        "n_train": positive_int(4000, MNIST1D_TRAIN),
        "seeds": seed_tuple(),
        "clean_seeds": seed_tuple(),
        "steps": positive_int(),
    }
    PRESETS = {"tiny": dict(widths=(2, 8, 64), n_train=400, seeds=(0,), clean_seeds=(0,), steps=300),
               "full": dict(widths=(2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 56, 64, 80, 96, 128, 192, 256, 512),
                            seeds=tuple(range(8)), clean_seeds=(0, 1, 2), steps=10_000)}

    def network(self, width: int) -> MLP:
        """The MNIST-1D notebook's network of width h: 40 -> h -> h -> 10 with ReLU (h² + 52 h + 10
        parameters)."""
        return MLP(40, [width, width], 10)


@dataclass(frozen=True)
class CNNSweep(CheckedConfig):
    """:func:`cnn_double_descent`: the same sweep for a CNN on Fashion-MNIST (channels c -> 2c, Nakkiran et al.'s
    model-wise axis); run at the full scale only."""

    widths: tuple[int, ...] = ()  # channels c; empty: not run (it needs a GPU to be quick)
    seeds: tuple[int, ...] = (0, 1, 2)  # seeds of both label sets
    n_train: int = 10_000
    n_test: int = 10_000
    steps: int = 10_000

    RULES = {
        "widths": TupleOf(positive_int(), min_len=0, distinct=True, note="empty: not run"),
        "seeds": seed_tuple(),
        "n_train": positive_int(60_000, FASHION_TRAIN),
        "n_test": positive_int(10_000, FASHION_TEST),
        "steps": positive_int(),
    }
    PRESETS = {"full": dict(widths=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64))}

    def network(self, width: int) -> ConvNet2D:
        """The CNN of width c: conv3x3(c) -> pool -> conv3x3(2c) -> pool -> linear."""
        return ConvNet2D(in_channels=1, channels=(width, 2 * width), n_classes=10)


@dataclass(frozen=True)
class DoubleDescentConfig(CheckedConfig):
    """Chapter 7's settings: one part per experiment, plus the parts they share (the seed of the label noise, the
    ridge grid, how the networks are trained). Made by ``dl.scaled(DoubleDescentConfig)``; every field is checked
    when a config is made, and a value out of range is a :class:`~dlgen_lib.config.ConfigError` naming it."""

    draws: Draws = part(Draws)
    ridge: Ridge = part(Ridge)
    rf: RandomFeatures = part(RandomFeatures)
    fashion: FashionFeatures = part(FashionFeatures)
    isotropic: Isotropic = part(Isotropic)
    sample_wise: SampleSizes = part(SampleSizes)
    train: Training = part(Training)
    deep: DeepSweep = part(DeepSweep)
    cnn: CNNSweep = part(CNNSweep)


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
def rf_curves(features: RandomFeatures | FashionFeatures, ridge: Ridge, draws: Draws) -> dict[float, rf.RFSweep]:
    """Random-features regression over N/n, λ and seeds on the data set of ``features`` (``cfg.rf``: MNIST-1D,
    ``cfg.fashion``: Fashion-MNIST); one sweep per label-noise level (MNIST-1D: ``features.noises``,
    Fashion-MNIST: clean labels only). Noisy labels are redrawn on the training set only; the test set is clean."""
    data = _dataset(features.DATASET, features.n, features.n_test)
    ys = torch.stack([corrupt_labels(data.y_train, p, seed=draws.seed).labels for p in features.noises])  # (V, n)
    sweeps = rf.rf_sweep(data.x_train, ys, data.x_test, data.y_test, features.ratios, ridge.lams, features.seeds,
                         n_classes=10)
    return dict(zip(features.noises, sweeps))


@dataclass(frozen=True)
class IsotropicCheck:
    """Excess risk of min-norm least squares, isotropic Gaussian data, for p = gamma * n features (V values)."""

    n: int
    ps: np.ndarray  # (V,) numbers of features p
    mc_mean: np.ndarray  # (V,) Monte Carlo mean of ||β̂ - β||²
    mc_se: np.ndarray  # (V,) its standard error
    theory: np.ndarray  # (V,) the closed form (rf.isotropic_risk)
    sigma2: float
    beta2: float
    trials: int


@cached
def isotropic_check(isotropic: Isotropic, draws: Draws) -> IsotropicCheck:
    """Monte Carlo (``isotropic.trials`` draws of X, ε per p, seed ``draws.seed + i`` for the i-th p) against
    Hastie et al.'s closed form."""
    ps = np.unique(np.round(np.asarray(isotropic.gammas) * isotropic.n).astype(int))
    mc = [rf.isotropic_monte_carlo(int(p), isotropic.n, isotropic.sigma2, isotropic.beta2, isotropic.trials,
                                   seed=draws.seed + i) for i, p in enumerate(ps)]
    mean, se = map(np.asarray, zip(*mc))
    return IsotropicCheck(isotropic.n, ps, mean, se,
                          rf.isotropic_risk(ps, isotropic.n, isotropic.sigma2, isotropic.beta2),
                          isotropic.sigma2, isotropic.beta2, isotropic.trials)


@dataclass(frozen=True)
class SampleWise:
    """Min-norm random features at fixed N for a growing number of training examples n (MNIST-1D)."""

    n_features: np.ndarray  # (len(n_features),) the values of N
    ns: np.ndarray  # (len(ns),) the values of n
    test_error: np.ndarray  # (len(n_features), S, len(ns))
    test_mse: np.ndarray  # (len(n_features), S, len(ns))


@cached
def sample_wise(sample: SampleSizes) -> SampleWise:
    """For each n, the first n MNIST-1D training examples and N = each of ``sample.n_features`` features (the same
    features for every n: W depends only on the seed)."""
    data = _dataset("mnist1d", max(sample.ns), sample.n_test)
    Ns = np.asarray(sample.n_features)
    err = np.zeros((len(Ns), len(sample.seeds), len(sample.ns)))
    mse = np.zeros_like(err)
    for j, n in enumerate(sample.ns):
        r = rf.rf_sweep(data.x_train[:n], data.y_train[:n], data.x_test, data.y_test, Ns / n, [0.0], sample.seeds,
                        n_classes=10)
        err[:, :, j], mse[:, :, j] = r.test_error[..., 0].T, r.test_mse[..., 0].T
    return SampleWise(Ns, np.asarray(sample.ns), err, mse)


# ------------------------------------------------------------------------------------------ deep double descent


@cached
def deep_double_descent(deep: DeepSweep, train: Training, draws: Draws) -> dict[float, WidthSweep]:
    """Every width x seed of the MLP on MNIST-1D, with a fraction ``train.label_noise`` of the labels redrawn
    (seeds ``deep.seeds``) and with clean labels (``deep.clean_seeds``): {noise: sweep}. Both label sets train in
    the same width buckets, so the per-step overhead is paid once."""
    data = mnist1d().subset(n_train=deep.n_train).to(get_device())
    ys = torch.stack([corrupt_labels(data.y_train, train.label_noise, seed=draws.seed).labels, data.y_train])
    noisy, clean = train_widths(deep.network, deep.widths, [deep.seeds, deep.clean_seeds], data.x_train, ys,
                                train.train_config(deep.steps), data.x_test, data.y_test)
    return {train.label_noise: noisy, 0.0: clean}


@cached
def cnn_double_descent(cnn: CNNSweep, train: Training, draws: Draws) -> dict[float, WidthSweep]:
    """The model-wise sweep for ``cnn.network`` on ``cnn.n_train`` Fashion-MNIST images over ``cnn.widths``, with
    ``train.label_noise`` label noise and clean labels ({noise: sweep}); ``cnn.steps`` Adam steps, cosine
    schedule."""
    if not cnn.widths:
        raise ValueError("cfg.cnn.widths is empty: the Fashion-MNIST CNN sweep belongs to the full scale "
                         "(DLGEN_SCALE=full, on a GPU), or pass cnn=dict(widths=...) to dl.scaled")
    data = _dataset("fashion", cnn.n_train, cnn.n_test, flat=False)
    ys = torch.stack([corrupt_labels(data.y_train, train.label_noise, seed=draws.seed).labels, data.y_train])
    noisy, clean = train_widths(cnn.network, cnn.widths, [cnn.seeds, cnn.seeds], data.x_train, ys,
                                train.train_config(cnn.steps), data.x_test, data.y_test)
    return {train.label_noise: noisy, 0.0: clean}


# ------------------------------------------------------------------------------------------ summaries


def first_minimum(x: np.ndarray, y: np.ndarray, before: float) -> tuple[float, float]:
    """(x, y) at the smallest y among the points with x < ``before`` (the bottom of the first descent)."""
    keep = np.flatnonzero(np.asarray(x) < before)
    i = keep[np.argmin(np.asarray(y)[keep])]
    return float(x[i]), float(y[i])


def early_stopped_error(sweep: WidthSweep) -> np.ndarray:
    """(W,) the lowest seed-mean test error over the recorded steps (after step 0): the test error of oracle early
    stopping."""
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
