"""Chapter 3, SGD as a stochastic differential equation:
the experiments -- sizes by scale, the cached runs and their results.

The package docstring (:mod:`dlgen_lib.sgd_as_sde`) maps them; the figures are in :mod:`.figures`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .. import landscape as ls
from .. import sde
from ..cache import cached
from ..config import (
    Check,
    CheckedConfig,
    Integer,
    Real,
    Record,
    TupleOf,
    generator,
    nonnegative_real,
    one_thread,
    positive_int,
    positive_real,
    scaled,
    seed_int,
    seed_tuple,
    single_threaded,
)
from ..data import mnist1d
from ..flatness import per_example_grads
from ..models import MLP
from ..train import TrainConfig, train_ensemble

__all__ = [
    "SgdAsSdeConfig",
    "sgd_as_sde_config",
    "QuadraticCloud",
    "quadratic_cloud",
    "AnisotropicCloud",
    "anisotropic_cloud",
    "well_loss",
    "WellEscape",
    "well_escape",
    "fit_barrier",
    "ripple_loss",
    "Smoothing",
    "smoothing",
    "mlp",
    "Sharpness",
    "sharpness",
    "NoiseGeometry",
    "noise_geometry",
    "NoiseScaleGrid",
    "noise_scale",
    "noise_scale_grid",
    "collapse_spread",
    "Schedules",
    "schedules",
    "PAPERS",
]

_F64 = torch.float64


@dataclass(frozen=True)
class SgdAsSdeConfig(CheckedConfig):
    """Sizes of chapter 3's experiments. Every field is checked when a config is made (``RULES``, ``CHECKS``): a
    value out of range is a :class:`~dlgen_lib.config.ConfigError` naming it."""

    replicas: int = 1000  # R, SGD replicas per setting
    # replicas of the quadratic's clouds, whose variances are compared to a few percent: the spread of a variance
    # over R replicas is sqrt(2 / R) of it (2.2 % for 4 000); Euler-Maruyama runs 4x as many (cheap in 1-D)
    quad_replicas: int = 4000
    # quadratic ℓ = ½ a (θ - z_i)², z_i ~ N(0, 1), n examples
    quad_n: int = 2000
    quad_lrs: tuple[float, ...] = (0.0125, 0.025, 0.05, 0.1)  # η (η a <= 0.1: close to the SDE limit)
    quad_batches: tuple[int, ...] = (1, 2, 4, 8, 16)  # B
    quad_burn: float = 4.0  # time (steps x η) before measuring
    quad_time: float = 10.0  # total time of each run
    aniso_curvature: tuple[float, float] = (1.0, 4.0)  # a_1, a_2 of a 2-D diagonal quadratic, isotropic data
    aniso_lr: float = 0.02
    aniso_batch: int = 4
    # double well (sharp well at -1, wide at +1), additive minibatch noise of variance σ² = well_std²
    well_n: int = 1000
    well_std: float = 15.6
    well_lrs: tuple[float, ...] = (0.004, 0.006, 0.005, 0.004, 0.003, 0.003)  # paired with well_batches
    well_batches: tuple[int, ...] = (1, 2, 2, 2, 2, 1)
    well_steps: int = 12_000
    # a bowl with ripples, for Kleinberg et al.'s smoothing
    ripple_std: float = 10.0  # σ of the additive noise
    ripple_lr: float = 0.02
    ripple_batches: tuple[int, ...] = (1, 4, 16, 64)
    ripple_steps: int = 300
    # MNIST-1D MLP 40-h-10
    hidden: int = 100
    n_train: int = 4000
    noise_examples: int = 1000  # per-example gradients for the noise covariance (its rank is at most this - 1)
    hessian_k: int = 10  # top Hessian eigenvectors
    lanczos_iters: int = 30  # for the top-k Hessian eigenvectors
    sharp_iters: int = 20  # Lanczos steps for λ_max alone
    grid_epochs: int = 10
    grid_g: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)  # g = εN/(B(1-m))
    grid_settings: tuple[tuple[int, float], ...] = ((32, 0.0), (64, 0.0), (128, 0.0), (64, 0.9))  # (B, m)
    grid_seeds: tuple[int, ...] = (0, 1)
    sched_lr: float = 0.5
    sched_batch: int = 32
    sched_factor: int = 4  # ε / factor or B x factor at each phase
    sched_phase_epochs: int = 5
    sched_seeds: tuple[int, ...] = (0, 1)
    sharp_lr: float = 0.5  # large enough that full-batch-like training reaches λ_max ≈ 2/ε
    sharp_small_batch: int = 16
    sharp_large_batch: int = 500  # about 10 % of the data, as Keskar et al.'s large batches
    sharp_small_steps: int = 3000
    sharp_large_steps: int = 1500
    sharp_seeds: tuple[int, ...] = (0, 1)
    dinh_alphas: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0)
    seed: int = 0

    RULES = {
        "replicas": Integer(2, None, "the spread of a cloud needs two replicas at least"),
        "quad_replicas": Integer(2, None, "the spread of a cloud needs two replicas at least"),
        "quad_n": Integer(2, None, "examples z_i of the quadratic; two at least for a noise variance"),
        "quad_lrs": TupleOf(Real(0.0, 2.0, lo_open=True, hi_open=True), distinct=True,
                            note="η; gradient descent on curvature a = 1 is stable for 0 < η < 2"),
        "quad_batches": TupleOf(positive_int(), distinct=True, note="minibatch sizes B, at most quad_n"),
        "quad_burn": nonnegative_real("time before the clouds are measured"),
        "quad_time": positive_real("total time of each run"),
        "aniso_curvature": TupleOf(positive_real(), min_len=2, max_len=2, note="curvatures a_1, a_2"),
        "aniso_lr": positive_real(),
        "aniso_batch": positive_int(note="at most quad_n"),
        "well_n": Integer(2, None, "examples of the double well; two at least for a noise variance"),
        "well_std": positive_real("σ of the additive gradient noise"),
        "well_lrs": TupleOf(positive_real(), note="η of each setting, paired with well_batches"),
        "well_batches": TupleOf(positive_int(), note="B of each setting, paired with well_lrs, at most well_n"),
        "well_steps": positive_int(),
        "ripple_std": positive_real("σ of the additive gradient noise"),
        "ripple_lr": positive_real(),
        "ripple_batches": TupleOf(positive_int(1000), distinct=True, note="the rippled bowl has 1 000 examples"),
        "ripple_steps": positive_int(),
        "hidden": positive_int(),
        "n_train": positive_int(4000, "MNIST-1D has 4 000 training examples"),
        "noise_examples": Integer(2, 4000, "per-example gradients of the noise covariance, at most n_train"),
        "hessian_k": positive_int(),
        "lanczos_iters": positive_int(),
        "sharp_iters": positive_int(),
        "grid_epochs": positive_int(),
        "grid_g": TupleOf(positive_real(), distinct=True, note="noise scales g = εN/(B(1-m))"),
        "grid_settings": TupleOf(Record((("B", positive_int(4000)),
                                         ("m", Real(0.0, 1.0, hi_open=True)))), distinct=True,
                                 note="batch size B up to n_train and momentum m < 1"),
        "grid_seeds": seed_tuple(),
        "sched_lr": positive_real(),
        "sched_batch": positive_int(4000),
        "sched_factor": Integer(2, None, "ε is divided, or B multiplied, by it at each phase"),
        "sched_phase_epochs": positive_int(),
        "sched_seeds": seed_tuple(99, "phase i orders the data of seed s with seed s + 100 i"),
        "sharp_lr": positive_real(),
        "sharp_small_batch": positive_int(4000),
        "sharp_large_batch": positive_int(4000, "at most n_train; n_train is full batch"),
        "sharp_small_steps": positive_int(),
        "sharp_large_steps": positive_int(),
        "sharp_seeds": seed_tuple(),
        "dinh_alphas": TupleOf(positive_real(), distinct=True, note="Dinh et al.'s rescaling factors α"),
        "seed": seed_int(),
    }
    CHECKS = (
        Check(("quad_batches", "quad_n"), lambda c: max(c.quad_batches) <= c.quad_n,
              "every batch size in quad_batches must be at most quad_n (a minibatch of the quad_n examples)"),
        Check(("quad_burn", "quad_time"), lambda c: c.quad_burn < c.quad_time,
              "the clouds are measured after the burn-in, so quad_burn must be shorter than quad_time"),
        Check(("aniso_lr", "aniso_curvature"), lambda c: c.aniso_lr * max(c.aniso_curvature) < 2,
              "aniso_lr times the largest curvature must be below 2, else gradient descent diverges"),
        Check(("aniso_batch", "quad_n"), lambda c: c.aniso_batch <= c.quad_n,
              "aniso_batch must be at most quad_n (a minibatch of the quad_n examples)"),
        Check(("well_lrs", "well_batches"), lambda c: len(c.well_lrs) == len(c.well_batches),
              "well_lrs and well_batches are paired: one (η, B) setting each, so they must be equally long"),
        Check(("well_batches", "well_n"), lambda c: max(c.well_batches) <= c.well_n,
              "every batch size in well_batches must be at most well_n (a minibatch of the well_n examples)"),
        Check(("noise_examples", "n_train"), lambda c: c.noise_examples <= c.n_train,
              "noise_examples must be at most n_train (the noise covariance is taken on the first noise_examples "
              "of the n_train training examples)"),
        Check(("hessian_k", "lanczos_iters"), lambda c: c.hessian_k <= c.lanczos_iters,
              "hessian_k must not exceed lanczos_iters (Lanczos finds at most as many eigenvectors as it takes steps)"),
        Check(("grid_settings", "n_train"), lambda c: all(b <= c.n_train for b, _ in c.grid_settings),
              "every batch size B in grid_settings must be at most n_train"),
        Check(("sched_batch", "sched_factor", "n_train"), lambda c: c.sched_batch * c.sched_factor**2 <= c.n_train,
              "the growing-batch schedule ends at sched_batch x sched_factor² examples, which must fit in n_train"),
        Check(("sharp_small_batch", "sharp_large_batch"), lambda c: c.sharp_small_batch < c.sharp_large_batch,
              "the small batch must be smaller than the large one"),
        Check(("sharp_large_batch", "n_train"), lambda c: c.sharp_large_batch <= c.n_train,
              "sharp_large_batch must be at most n_train (n_train is full batch)"),
    )


def sgd_as_sde_config(scale: str | None = None, **overrides) -> SgdAsSdeConfig:
    """The config for the scale (``$DLGEN_SCALE`` by default); keyword arguments override single fields."""
    return scaled(
        tiny=SgdAsSdeConfig(replicas=300, quad_replicas=300, quad_lrs=(0.025, 0.1), quad_batches=(1, 4, 16),
                            quad_time=8.0,
                            well_lrs=(0.004, 0.008, 0.004), well_batches=(1, 2, 2), well_steps=4000,
                            ripple_batches=(1, 64), ripple_steps=150, hidden=32, n_train=1000, noise_examples=400,
                            hessian_k=5, lanczos_iters=20, sharp_iters=10, grid_epochs=4, grid_g=(2.0, 8.0, 32.0),
                            grid_settings=((32, 0.0), (64, 0.0), (64, 0.9)), grid_seeds=(0,), sched_phase_epochs=2,
                            sched_seeds=(0,), sharp_small_steps=600, sharp_large_steps=300, sharp_seeds=(0,),
                            dinh_alphas=(0.1, 1.0, 10.0)),
        small=SgdAsSdeConfig(),
        full=SgdAsSdeConfig(replicas=4000, quad_replicas=16_000, quad_lrs=(0.00625, 0.0125, 0.025, 0.05, 0.1),
                            quad_batches=(1, 2, 4, 8, 16, 32), quad_time=20.0, well_steps=40_000, hidden=256,
                            noise_examples=4000, hessian_k=20, lanczos_iters=80,
                            grid_g=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0),
                            grid_settings=((16, 0.0), (32, 0.0), (64, 0.0), (128, 0.0), (256, 0.0), (64, 0.5),
                                           (64, 0.9)), grid_epochs=30,
                            grid_seeds=(0, 1, 2, 3), sched_phase_epochs=20, sched_seeds=(0, 1, 2, 3),
                            sharp_small_steps=20_000, sharp_large_steps=10_000, sharp_seeds=(0, 1, 2, 3),
                            sharp_iters=40),
        scale=scale, overrides=overrides)


# ------------------------------------------------------------------------------------------ 1. quadratic cloud


@dataclass(frozen=True)
class QuadraticCloud:
    """Stationary spread of R SGD replicas on ℓ = ½ a (θ - z_i)², for every (η, B) of the grid (C settings)."""

    lrs: np.ndarray  # (C,) η
    batch_sizes: np.ndarray  # (C,) B
    variance: np.ndarray  # (C,) Var θ over replicas, averaged over snapshots after the burn-in
    variance_se: np.ndarray  # (C,) its standard error (over snapshots)
    theory: np.ndarray  # (C,) exact discrete-time closed form η σ² / (B a (2 - η a)) (with replacement)
    theory_ou: np.ndarray  # (C,) the SDE's (OU) value T σ² / a, T = η / (2B)
    final: np.ndarray  # (C, R) float32 positions at the end (for histograms)
    em_final: np.ndarray  # (4R,) Euler–Maruyama of the matched SDE for setting ``em_index``
    em_index: int
    curvature: float
    noise_var: float  # σ² = a² Var z
    minimum: float  # z̄


@cached
@single_threaded
def quadratic_cloud(cfg: SgdAsSdeConfig) -> QuadraticCloud:
    """For each (η, B): R replicas from the minimum, quad_time / η steps, with-replacement minibatches; Var θ over
    the replicas averaged over 6 snapshots after the burn-in."""
    loss = sde.quadratic(n=cfg.quad_n, curvature=1.0, data_std=1.0, seed=cfg.seed)
    a, zbar = 1.0, float(loss.z.mean())
    s2 = float(loss.noise_variance(torch.tensor(0.0, dtype=_F64)))
    lrs, bs, var, se, final = [], [], [], [], []
    for i, lr in enumerate(cfg.quad_lrs):  # one simulation per η, all B together (the same number of steps)
        n_steps = int(round(cfg.quad_time / lr))
        every = max(1, int(round((cfg.quad_time - cfg.quad_burn) / lr / 6)))
        with one_thread():
            p = sde.sgd_replica_grid(loss, zbar, [lr] * len(cfg.quad_batches), cfg.quad_batches, n_steps,
                                     n_replicas=cfg.quad_replicas, seed=cfg.seed + i, record_every=every)
        snaps = p.theta[p.steps * lr >= cfg.quad_burn].var(2)  # (snapshots, C)
        lrs += [lr] * len(cfg.quad_batches)
        bs += list(cfg.quad_batches)
        final.append(p.final.float().numpy())
        var += snaps.mean(0).tolist()
        se += (snaps.std(0) / len(snaps) ** 0.5).tolist()
    lrs, bs = np.asarray(lrs), np.asarray(bs)
    em_index = int(np.argmax(lrs / bs))  # the widest cloud: EM with the same dt and T
    lr, b = float(lrs[em_index]), int(bs[em_index])
    with one_thread():
        em = sde.euler_maruyama(lambda th: a * (th - zbar), zbar, lr, int(round(cfg.quad_time / lr)),
                                sde.temperature(lr, b), s2, n_replicas=4 * cfg.quad_replicas, seed=cfg.seed + 1)
    return QuadraticCloud(lrs, bs, np.asarray(var), np.asarray(se), sde.ou_stationary_variance(lrs, bs, a, s2),
                          sde.ou_stationary_variance(lrs, bs, a, s2, discrete=False), np.concatenate(final),
                          em.final.float().numpy(), em_index, a, s2, zbar)


@dataclass(frozen=True)
class AnisotropicCloud:
    """SGD on ½ Σ_k a_k (θ_k - z_ik)² with isotropic data: the noise Σ_k = a_k² Var z_k follows the curvature."""

    curvature: np.ndarray  # (2,) a_k
    noise_var: np.ndarray  # (2,) σ_k²
    variance: np.ndarray  # (2,) measured Var θ_k
    theory: np.ndarray  # (2,) the discrete closed form per coordinate, η σ_k² / (B a_k (2 - η a_k))
    final: np.ndarray  # (R, 2) float32
    lr: float
    batch_size: int

    @property
    def gibbs_ratio(self) -> float:
        """Var θ_2 / Var θ_1 under any Gibbs law exp(-L/T) with a scalar T: a_1 / a_2."""
        return float(self.curvature[0] / self.curvature[1])


@cached
@single_threaded
def anisotropic_cloud(cfg: SgdAsSdeConfig) -> AnisotropicCloud:
    a = torch.tensor(cfg.aniso_curvature, dtype=_F64)
    loss = sde.quadratic(n=cfg.quad_n, curvature=a, seed=cfg.seed + 1)
    s2 = loss.noise_variance(torch.zeros(2, dtype=_F64))
    n_steps = int(round(cfg.quad_time / (cfg.aniso_lr * float(a.min()))))
    every = max(1, int(round((cfg.quad_time - cfg.quad_burn) / (cfg.aniso_lr * float(a.min())) / 6)))
    with one_thread():
        p = sde.sgd_replicas(loss, loss.z.mean(0), cfg.aniso_lr, cfg.aniso_batch, n_steps, n_replicas=cfg.replicas,
                             seed=cfg.seed, replace=True, record_every=every)
    var = p.theta[p.time >= cfg.quad_burn / float(a.min())].var(1).mean(0)  # (2,)
    theory = sde.ou_stationary_variance(cfg.aniso_lr, cfg.aniso_batch, a.numpy(), s2.numpy())
    return AnisotropicCloud(a.numpy(), s2.numpy(), var.numpy(), theory, p.final.float().numpy(), cfg.aniso_lr,
                            cfg.aniso_batch)


# ------------------------------------------------------------------------------------------ 2. escaping a sharp well


def well_loss(cfg: SgdAsSdeConfig) -> sde.GaussianWells:
    """The chapter's double well: sharp at -1 (width 0.15), wide at +1 (width 0.5), additive ("tilt") noise."""
    return sde.double_well(n=cfg.well_n, data_std=cfg.well_std, seed=cfg.seed, noise="tilt")


@dataclass(frozen=True)
class WellEscape:
    """C settings (η, B) of SGD started in the sharp minimum of :func:`well_loss`."""

    lrs: np.ndarray  # (C,)
    batch_sizes: np.ndarray  # (C,)
    temperature: np.ndarray  # (C,) T_eff = η σ² / (2B) (the noise is additive: D = σ²)
    escape_time: np.ndarray  # (C, R) time (steps x η) of first passage past ``boundary``; inf if never
    t_end: np.ndarray  # (C,) length of each run in time
    rate: np.ndarray  # (C,) escape rate k̂ = escapes / total time at risk (maximum likelihood, exponential law)
    kramers: np.ndarray  # (C,) Kramers' rate sqrt(L''(min) |L''(saddle)|)/(2π) exp(-ΔE/T)
    wide_fraction: np.ndarray  # (C,) share of replicas in the wide basin at the end
    gibbs_wide: np.ndarray  # (C,) the same share under the Gibbs density exp(-L/T)
    final: np.ndarray  # (C, R) float32
    em_final: np.ndarray  # (R,) Euler–Maruyama, dt = η, for the hottest setting ``em_index``
    em_index: int
    barrier: float  # ΔE of the sharp basin
    basins: sde.Basins
    boundary: float


@cached
@single_threaded
def well_escape(cfg: SgdAsSdeConfig) -> WellEscape:
    """All settings in one vectorized simulation (:func:`sde.sgd_replica_grid`), first passages by an
    :class:`sde.EscapeClock` at the midpoint between the saddle and the wide minimum."""
    loss = well_loss(cfg)
    grid = torch.linspace(-3, 3, 6001, dtype=_F64)
    basins = sde.barrier_heights(loss.loss, grid)
    s2 = float(loss.z.var(correction=0))
    lrs, bs = np.asarray(cfg.well_lrs, float), np.asarray(cfg.well_batches)
    temps = sde.temperature(lrs, bs) * s2
    boundary = float((basins.saddles[0] + basins.minima[1]) / 2)
    clock = sde.EscapeClock(boundary)
    with one_thread():
        paths = sde.sgd_replica_grid(loss, basins.minima[0], lrs, bs, cfg.well_steps, n_replicas=cfg.replicas,
                                     seed=cfg.seed, callback=clock)
    t_end = cfg.well_steps * lrs
    times = clock.times.numpy() * lrs[:, None]  # (C, R)
    at_risk = np.minimum(times, t_end[:, None]).sum(1)
    rate = np.isfinite(times).sum(1) / at_risk
    kramers = sde.kramers_rate(basins.barriers[0], temps, basins.curvature_min[0], basins.exit_curvature[0])
    wide = sde.basin_fractions(paths.final, basins.saddles)[:, 1].numpy()
    gibbs = np.array([float(torch.trapezoid(sde.gibbs_density(loss.loss, grid, t) * (grid > basins.saddles[0]), grid))
                      for t in temps])
    hot = int(np.argmax(temps))
    with one_thread():
        em = sde.euler_maruyama(loss.grad, basins.minima[0], float(lrs[hot]), cfg.well_steps, float(temps[hot]),
                                n_replicas=cfg.replicas, seed=cfg.seed + 1)
    return WellEscape(lrs, bs, temps, times, t_end, rate, kramers, wide, gibbs, paths.final.float().numpy(),
                      em.final.float().numpy(), hot, float(basins.barriers[0]), basins, boundary)


def fit_barrier(temperature, rate) -> float:
    """ΔE from Kramers' law: minus the slope of log k against 1/T (least squares)."""
    return float(-np.polyfit(1.0 / np.asarray(temperature), np.log(np.asarray(rate)), 1)[0])


# ------------------------------------------------------------------------------------------ 3. smoothing


def ripple_loss(cfg: SgdAsSdeConfig) -> sde.GaussianWells:
    """½ κ θ² (κ = 0.5) with narrow Gaussian dimples (width 0.1, depth 0.2, every 0.4) and additive noise: gradient
    descent stops in the first dimple it meets, a smoothed loss has none far from 0."""
    centers = torch.arange(-3.2, 3.21, 0.4, dtype=_F64)
    return sde.double_well(n=1000, data_std=cfg.ripple_std, seed=cfg.seed, centers=centers,
                           widths=torch.full_like(centers, 0.1), depths=torch.full_like(centers, 0.2),
                           confinement=0.5, noise="tilt")


@dataclass(frozen=True)
class Smoothing:
    """Mean of the SGD cloud against GD on L and GD on the smoothed L_s, from θ0, for several batch sizes."""

    batch_sizes: np.ndarray  # (C,)
    widths: np.ndarray  # (C,) s = η σ / sqrt(B), the kernel of Kleinberg et al.
    steps: np.ndarray  # (K,)
    sgd_mean: np.ndarray  # (C, K)
    gd_smoothed: np.ndarray  # (C, K)
    gd: np.ndarray  # (K,)
    theta0: float


@cached
@single_threaded
def smoothing(cfg: SgdAsSdeConfig, theta0: float = 2.4) -> Smoothing:
    loss = ripple_loss(cfg)
    s2 = float(loss.z.var(correction=0))
    bs = np.asarray(cfg.ripple_batches)
    widths = np.array([sde.smoothing_width(cfg.ripple_lr, int(b), s2) for b in bs])
    with one_thread():
        paths = sde.sgd_replica_grid(loss, theta0, [cfg.ripple_lr] * len(bs), bs, cfg.ripple_steps,
                                     n_replicas=cfg.replicas, seed=cfg.seed, record_every=1)
    start = torch.tensor(theta0, dtype=_F64)
    gd_s = [sde.gradient_descent(lambda th, w=w: sde.smoothed_loss(loss.grad, th, w), start, cfg.ripple_lr,
                                 cfg.ripple_steps, record_every=1).theta.numpy() for w in widths]
    gd = sde.gradient_descent(loss.grad, start, cfg.ripple_lr, cfg.ripple_steps, record_every=1).theta.numpy()
    return Smoothing(bs, widths, paths.steps.numpy(), paths.theta.mean(2).T.numpy(), np.stack(gd_s), gd, theta0)


# ------------------------------------------------------------------------------------------ MNIST-1D networks


def mlp(hidden: int) -> MLP:
    """The chapter's network: 40 -> hidden -> 10 with ReLU (51 h + 10 parameters)."""
    return MLP(40, [hidden], 10)


def _data(cfg: SgdAsSdeConfig):
    return mnist1d().subset(cfg.n_train)


def _epoch_steps(cfg: SgdAsSdeConfig, batch: int) -> int:
    return max(1, cfg.n_train // batch)


@dataclass(frozen=True)
class Sharpness:
    """Small- and large-batch minima (same ε), and the rescaling of Dinh et al. applied to small-batch model 0."""

    batch_sizes: tuple[int, int]  # (small, large)
    lr: float  # ε, the same for both
    lam_max: np.ndarray  # (2, S) top Hessian eigenvalue of the training loss
    test_acc: np.ndarray  # (2, S)
    train_loss: np.ndarray  # (2, S)
    alphas: np.ndarray  # (A,)
    dinh_lam_max: np.ndarray  # (A,)
    dinh_test_acc: np.ndarray  # (A,)
    dinh_max_logit_change: np.ndarray  # (A,) max |f_α(x) - f(x)| over the test set (float64)
    small_state: dict  # the state_dict of small-batch model 0 (for the noise geometry)


@cached
@single_threaded
def sharpness(cfg: SgdAsSdeConfig) -> Sharpness:
    data = _data(cfg)
    lams, accs, losses, models = [], [], [], []
    for b, steps in ((cfg.sharp_small_batch, cfg.sharp_small_steps), (cfg.sharp_large_batch, cfg.sharp_large_steps)):
        tc = TrainConfig(steps=steps, lr=cfg.sharp_lr, batch_size=b, eval_every=steps)
        ens, hist = train_ensemble(lambda: mlp(cfg.hidden), cfg.sharp_seeds, data.x_train, data.y_train, tc,
                                   data.x_test, data.y_test, desc=f"B = {b}")
        nets = [ens.model(k) for k in range(ens.size)]
        lams.append([ls.top_eigenvalue(m, data.x_train, data.y_train, cfg.sharp_iters) for m in nets])
        accs.append(hist.test_acc[:, -1]), losses.append(hist.train_loss[:, -1]), models.append(nets)
    base = models[0][0]
    lam_a, acc_a, change = [], [], []
    with torch.no_grad():
        ref = base.double()(data.x_test.double())
        for a in cfg.dinh_alphas:
            net = ls.rescale_layers(base.double(), a)
            out = net(data.x_test.double())
            change.append(float((out - ref).abs().max()))
            acc_a.append(float((out.argmax(1) == data.y_test).float().mean()))
            with torch.enable_grad():
                lam_a.append(ls.top_eigenvalue(net, data.x_train.double(), data.y_train, cfg.sharp_iters))
    base.float()
    return Sharpness((cfg.sharp_small_batch, cfg.sharp_large_batch), cfg.sharp_lr, np.asarray(lams), np.asarray(accs),
                     np.asarray(losses), np.asarray(cfg.dinh_alphas), np.asarray(lam_a), np.asarray(acc_a),
                     np.asarray(change), {k: v.clone() for k, v in base.state_dict().items()})


# ------------------------------------------------------------------------------------------ 4. noise geometry


@dataclass(frozen=True)
class NoiseGeometry:
    """Spectrum of the per-example gradient covariance Σ (P x P) at a trained MLP, and its overlap with the top
    Hessian eigenvectors."""

    n_params: int  # P
    n_examples: int  # M per-example gradients (rank Σ <= M - 1)
    eigenvalues: np.ndarray  # (M,) of Σ, descending
    rank90: int  # eigenvalues holding 90 % of tr Σ
    hessian_eigs: np.ndarray  # (k,) top Hessian eigenvalues
    captured: float  # share of tr Σ in the span of the top-k Hessian eigenvectors
    captured_random: float  # the same for k random directions (expected k / P)
    noise_in_hessian: np.ndarray  # (k,) share of each top noise eigenvector inside the top-k Hessian span


@cached
@single_threaded
def noise_geometry(cfg: SgdAsSdeConfig) -> NoiseGeometry:
    """At the small-batch model 0 of :func:`sharpness` (a cache hit after it; trained again with ``DLGEN_CACHE=off``):
    Σ from ``noise_examples`` per-example gradients (eigenvalues through the M x M Gram matrix of the centred
    gradients), top-k Hessian eigenvectors by Lanczos."""
    data = _data(cfg)
    model = mlp(cfg.hidden)
    model.load_state_dict(sharpness(cfg).small_state)
    G = per_example_grads(model, data.x_train[:cfg.noise_examples], data.y_train[:cfg.noise_examples]).double()
    Gc = G - G.mean(0)
    M, P = Gc.shape
    gram = Gc @ Gc.T / M  # (M, M): same nonzero eigenvalues as Σ = Gcᵀ Gc / M
    evals, evecs = torch.linalg.eigh(gram)
    evals, evecs = evals.flip(0).clamp(min=0), evecs.flip(1)
    share = torch.cumsum(evals, 0) / evals.sum()
    rank90 = int((share < 0.9).sum()) + 1
    op = ls.HVP(model, F.cross_entropy, data.x_train, data.y_train)
    h_eigs, V = ls.lanczos_top_eigs(op, P, k=cfg.hessian_k, iters=cfg.lanczos_iters, return_vectors=True)
    V = V.double()  # (k, P) orthonormal
    total = float((Gc**2).sum() / M)
    captured = float(((Gc @ V.T) ** 2).sum() / M) / total
    Q, _ = torch.linalg.qr(torch.randn(P, cfg.hessian_k, generator=generator(cfg.seed),
                                       dtype=_F64))
    captured_random = float(((Gc @ Q) ** 2).sum() / M) / total
    top = min(cfg.hessian_k, M)
    U = Gc.T @ evecs[:, :top] / (evals[:top] * M).sqrt()  # (P, top) unit eigenvectors of Σ
    in_h = ((V @ U) ** 2).sum(0).numpy()
    return NoiseGeometry(P, M, evals.numpy(), rank90, h_eigs.numpy(), captured, captured_random, in_h)


# ------------------------------------------------------------------------------------------ 5. noise scale


@dataclass(frozen=True)
class NoiseScaleGrid:
    """Final test accuracy after a fixed number of epochs for every (B, m) setting and g = εN/(B(1-m))."""

    settings: tuple[tuple[int, float], ...]  # (S,) (B, m)
    g: np.ndarray  # (G,)
    lrs: np.ndarray  # (S, G) ε = g B (1 - m) / N
    test_acc: np.ndarray  # (S, G, seeds)
    train_acc: np.ndarray  # (S, G, seeds)
    n_train: int
    epochs: int
    seconds: float


def noise_scale(lr, n_train, batch_size, momentum=0.0):
    """g = εN / (B (1 - m)) (Smith & Le 2018; 2 T N with T = ε/(2B) for m = 0)."""
    return lr * n_train / (batch_size * (1.0 - momentum))


@cached
@single_threaded
def noise_scale_grid(cfg: SgdAsSdeConfig) -> NoiseScaleGrid:
    """One ensemble per (B, m): len(grid_g) learning rates x seeds, trained together (per-model learning rates)."""
    data = _data(cfg)
    g = np.asarray(cfg.grid_g)
    start = time.perf_counter()
    lrs, test, trainacc = [], [], []
    for b, m in cfg.grid_settings:
        eps = g * b * (1 - m) / cfg.n_train
        steps = cfg.grid_epochs * _epoch_steps(cfg, b)
        seeds = [s for _ in eps for s in cfg.grid_seeds]
        tc = TrainConfig(steps=steps, lr=float(eps[0]), batch_size=b, momentum=m, eval_every=steps)
        _, hist = train_ensemble(lambda: mlp(cfg.hidden), seeds, data.x_train, data.y_train, tc, data.x_test,
                                 data.y_test, lrs=[float(e) for e in eps for _ in cfg.grid_seeds],
                                 desc=f"B = {b}, m = {m}")
        shape = (len(g), len(cfg.grid_seeds))
        lrs.append(eps), test.append(hist.test_acc[:, -1].reshape(shape)), trainacc.append(
            hist.train_acc[:, -1].reshape(shape))
    return NoiseScaleGrid(tuple(cfg.grid_settings), g, np.stack(lrs), np.stack(test), np.stack(trainacc),
                          cfg.n_train, cfg.grid_epochs, time.perf_counter() - start)


def collapse_spread(x: np.ndarray, y: np.ndarray, points: int = 25) -> float:
    """Mean over a common log-x grid (the overlap of all curves) of the std across curves of y, each curve
    linearly interpolated in log x. x, y: (S, G), x increasing along G. Small: the curves lie on one curve."""
    lx = np.log(x)
    lo, hi = lx.min(1).max(), lx.max(1).min()
    if hi <= lo:
        raise ValueError("the curves do not overlap in x")
    grid = np.linspace(lo, hi, points)
    return float(np.mean(np.std([np.interp(grid, a, b) for a, b in zip(lx, y)], 0)))


@dataclass(frozen=True)
class Schedules:
    """Test accuracy per epoch of the two schedules (seeds x epochs+1) and their numbers of updates."""

    epochs: np.ndarray  # (E+1,)
    decay_lr: np.ndarray  # (S, E+1)
    grow_batch: np.ndarray  # (S, E+1)
    decay_updates: int
    grow_updates: int
    factor: int
    phase_epochs: int


def _phased(cfg: SgdAsSdeConfig, phases: list[tuple[float, int]], data) -> tuple[np.ndarray, int]:
    """Train sched_seeds models through phases of (ε, B), each sched_phase_epochs long; test accuracy per epoch."""
    ens, curve, updates = None, [], 0
    for i, (lr, b) in enumerate(phases):
        per_epoch = _epoch_steps(cfg, b)
        steps = cfg.sched_phase_epochs * per_epoch
        tc = TrainConfig(steps=steps, lr=lr, batch_size=b, eval_every=per_epoch)
        ens, hist = train_ensemble(lambda: mlp(cfg.hidden), cfg.sched_seeds, data.x_train, data.y_train, tc,
                                   data.x_test, data.y_test, ensemble=ens,
                                   data_seeds=[s + 100 * i for s in cfg.sched_seeds], desc=f"phase {i}")
        curve.append(hist.test_acc if i == 0 else hist.test_acc[:, 1:])
        updates += steps
    return np.concatenate(curve, 1), updates


@cached
@single_threaded
def schedules(cfg: SgdAsSdeConfig) -> Schedules:
    """ε ÷ factor at each phase (B fixed) against B x factor at each phase (ε fixed), three phases (Smith et al.)."""
    data = _data(cfg)
    f, lr, b = cfg.sched_factor, cfg.sched_lr, cfg.sched_batch
    decay, n_decay = _phased(cfg, [(lr, b), (lr / f, b), (lr / f**2, b)], data)
    grow, n_grow = _phased(cfg, [(lr, b), (lr, b * f), (lr, b * f**2)], data)
    return Schedules(np.arange(decay.shape[1]), decay, grow, n_decay, n_grow, f, cfg.sched_phase_epochs)


# ------------------------------------------------------------------------------------------ papers


PAPERS = {
    "chaudhari_rank": "≈ 1 % of the dimension (rank of the minibatch-gradient covariance)",
    "keskar_c1": (80.04, 77.26),  # Keskar et al. Table 2, network C1 (CIFAR-10), small vs large batch test accuracy %
    "smith_updates": "Inception-ResNet-V2: 77 % ImageNet accuracy in under 2 500 updates at batch 65 536",
    "smith_le_rule": "B_opt ∝ εN/(1-m)",
}
