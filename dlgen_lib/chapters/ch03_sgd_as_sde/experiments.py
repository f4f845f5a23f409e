"""Chapter 3's experiments: SGD as a stochastic differential equation.

Each experiment is one call that returns plain numpy results and is cached on disk under the parts of
:class:`SgdAsSdeConfig` it reads:

* :func:`quadratic_cloud` (``sim``, ``quad``, ``cloud``) -- R SGD replicas on a finite-sum quadratic for a grid of
  (η, B): the stationary variance against the Ornstein–Uhlenbeck closed form, its η/B scaling, and an
  Euler–Maruyama run of the matched SDE; :func:`anisotropic_cloud` (``sim``, ``quad``, ``aniso``) -- the same in
  2-D with noise that follows the curvature: the cloud is not Gibbs in L;
* :func:`well_escape` (``sim``, ``well``) -- a sharp and a wide well with additive ("tilt") minibatch noise: escape
  rates from the sharp basin against Kramers' law exp(-ΔE/T), the share of replicas in the wide basin against the
  Gibbs density;
* :func:`smoothing` (``sim``, ``ripple``) -- a bowl with narrow ripples: the mean of the SGD cloud against gradient
  descent on the loss convolved with the noise kernel (Kleinberg, Li & Yuan 2018) and on the loss itself;
* :func:`sharpness_vs_batch` (``net``, ``sharp``) -- λ_max of small- and large-batch minima of an MNIST-1D MLP
  (Keskar et al. 2017) and the rescaling of Dinh et al. (2017) that changes λ_max but not the function;
* :func:`noise_geometry` (``net``, ``sharp``, ``noise``) -- per-example gradients at the small-batch minimum:
  spectrum and effective rank of the gradient noise covariance, and its overlap with the top Hessian eigenvectors
  (Chaudhari & Soatto 2018);
* :func:`noise_scale_grid` (``net``, ``grid``) -- learning rate x batch size x momentum: test accuracy against
  g = εN/(B(1-m)) (Smith & Le 2018); :func:`schedules` (``net``, ``sched``) -- decaying ε or growing B (Smith et
  al. 2018).

The numerical cores are :mod:`dlgen_lib.sde` (replicas, closed forms) and :mod:`dlgen_lib.landscape` (Hessian).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ... import landscape as ls
from ... import sde
from ...cache import cached
from ...config import (
    Check,
    CheckedConfig,
    Integer,
    Real,
    Record,
    TupleOf,
    generator,
    nonnegative_real,
    one_thread,
    part,
    positive_int,
    positive_real,
    seed_int,
    seed_tuple,
    single_threaded,
)
from ...data import mnist1d
from ...flatness import per_example_grads
from ...models import MLP
from ...train import TrainConfig, train_ensemble

__all__ = ["PAPERS", "Anisotropic", "AnisotropicCloud", "BatchSharpness", "DoubleWell", "Network", "NoiseCovariance",
           "NoiseGeometry", "NoiseScaleGrid", "NoiseScales", "Phases", "QuadraticCloud", "QuadraticGrid",
           "QuadraticRuns", "Ripples", "Schedules", "SgdAsSdeConfig", "SharpnessRuns", "Simulation", "Smoothing",
           "WellEscape", "anisotropic_cloud", "collapse_spread", "fit_barrier", "noise_geometry", "noise_scale",
           "noise_scale_grid", "quadratic_cloud", "ripple_loss", "schedules", "sharpness_vs_batch", "smoothing",
           "well_escape", "well_loss"]

_F64 = torch.float64
MNIST1D_TRAIN = "MNIST-1D has 4 000 training examples"


# ------------------------------------------------------------------------------------------ config


@dataclass(frozen=True)
class Simulation(CheckedConfig):
    """The replica simulations of the 1-D and 2-D losses: R, shared by :func:`anisotropic_cloud`,
    :func:`well_escape` and :func:`smoothing` (:func:`quadratic_cloud` has its own), and the seed of every one of
    them."""

    replicas: int = 1000  # R, SGD replicas per setting
    seed: int = 0  # draws the losses' examples z_i and the replicas' minibatches

    RULES = {
        "replicas": Integer(2, None, "the spread of a cloud needs two replicas at least"),
        "seed": seed_int(),
    }
    PRESETS = {"tiny": dict(replicas=300), "full": dict(replicas=4000)}


@dataclass(frozen=True)
class QuadraticRuns(CheckedConfig):
    """The finite-sum quadratic ℓ = ½ a (θ - z_i)², z_i ~ N(0, 1), and how long its clouds run: shared by
    :func:`quadratic_cloud` and :func:`anisotropic_cloud`."""

    n: int = 2000  # examples z_i
    burn: float = 4.0  # time (steps x η) before measuring
    time: float = 10.0  # total time of each run

    RULES = {
        "n": Integer(2, None, "examples z_i of the quadratic; two at least for a noise variance"),
        "burn": nonnegative_real("time before the clouds are measured"),
        "time": positive_real("total time of each run"),
    }
    CHECKS = (
        Check(("burn", "time"), lambda c: c.burn < c.time,
              "the clouds are measured after the burn-in, so burn must be shorter than time"),
    )
    PRESETS = {"tiny": dict(time=8.0), "full": dict(time=20.0)}


@dataclass(frozen=True)
class QuadraticGrid(CheckedConfig):
    """:func:`quadratic_cloud`: the grid of (η, B) on the quadratic (curvature a = 1), and its replicas."""

    # replicas of the quadratic's clouds, whose variances are compared to a few percent: the spread of a variance
    # over R replicas is sqrt(2 / R) of it (2.2 % for 4 000); Euler-Maruyama runs 4x as many (cheap in 1-D)
    replicas: int = 4000
    lrs: tuple[float, ...] = (0.0125, 0.025, 0.05, 0.1)  # η (η a <= 0.1: close to the SDE limit)
    batches: tuple[int, ...] = (1, 2, 4, 8, 16)  # B

    RULES = {
        "replicas": Integer(2, None, "the spread of a cloud needs two replicas at least"),
        "lrs": TupleOf(Real(0.0, 2.0, lo_open=True, hi_open=True), distinct=True,
                       note="η; gradient descent on curvature a = 1 is stable for 0 < η < 2"),
        "batches": TupleOf(positive_int(), distinct=True, note="minibatch sizes B, at most quad.n"),
    }
    PRESETS = {"tiny": dict(replicas=300, lrs=(0.025, 0.1), batches=(1, 4, 16)),
               "full": dict(replicas=16_000, lrs=(0.00625, 0.0125, 0.025, 0.05, 0.1), batches=(1, 2, 4, 8, 16, 32))}


@dataclass(frozen=True)
class Anisotropic(CheckedConfig):
    """:func:`anisotropic_cloud`: a 2-D diagonal quadratic with isotropic data, and one (η, B)."""

    curvature: tuple[float, float] = (1.0, 4.0)  # a_1, a_2
    lr: float = 0.02
    batch: int = 4

    RULES = {
        "curvature": TupleOf(positive_real(), min_len=2, max_len=2, note="curvatures a_1, a_2"),
        "lr": positive_real(),
        "batch": positive_int(note="at most quad.n"),
    }
    CHECKS = (
        Check(("lr", "curvature"), lambda c: c.lr * max(c.curvature) < 2,
              "lr times the largest curvature must be below 2, else gradient descent diverges"),
    )


@dataclass(frozen=True)
class DoubleWell(CheckedConfig):
    """:func:`well_escape`: the double well of :func:`well_loss` (sharp well at -1, wide at +1) with additive
    minibatch noise of variance σ² = std², and the (η, B) settings started in its sharp minimum."""

    n: int = 1000  # examples
    std: float = 15.6  # σ of the additive gradient noise
    lrs: tuple[float, ...] = (0.004, 0.006, 0.005, 0.004, 0.003, 0.003)  # paired with batches
    batches: tuple[int, ...] = (1, 2, 2, 2, 2, 1)
    steps: int = 12_000

    RULES = {
        "n": Integer(2, None, "examples of the double well; two at least for a noise variance"),
        "std": positive_real("σ of the additive gradient noise"),
        "lrs": TupleOf(positive_real(), note="η of each setting, paired with batches"),
        "batches": TupleOf(positive_int(), note="B of each setting, paired with lrs, at most n"),
        "steps": positive_int(),
    }
    CHECKS = (
        Check(("lrs", "batches"), lambda c: len(c.lrs) == len(c.batches),
              "lrs and batches are paired: one (η, B) setting each, so they must be equally long"),
        Check(("batches", "n"), lambda c: max(c.batches) <= c.n,
              "every batch size in batches must be at most n (a minibatch of the n examples)"),
    )
    PRESETS = {"tiny": dict(lrs=(0.004, 0.008, 0.004), batches=(1, 2, 2), steps=4000),
               "full": dict(steps=40_000)}


@dataclass(frozen=True)
class Ripples(CheckedConfig):
    """:func:`smoothing`: the bowl with ripples of :func:`ripple_loss`, for Kleinberg et al.'s smoothing."""

    std: float = 10.0  # σ of the additive noise
    lr: float = 0.02
    batches: tuple[int, ...] = (1, 4, 16, 64)
    steps: int = 300

    RULES = {
        "std": positive_real("σ of the additive gradient noise"),
        "lr": positive_real(),
        "batches": TupleOf(positive_int(1000), distinct=True, note="the rippled bowl has 1 000 examples"),
        "steps": positive_int(),
    }
    PRESETS = {"tiny": dict(batches=(1, 64), steps=150)}


@dataclass(frozen=True)
class Network(CheckedConfig):
    """The MNIST-1D MLP 40-h-10 and its training set (the first n_train examples): shared by every network
    experiment of the chapter."""

    hidden: int = 100  # h, hidden units
    n_train: int = 4000

    RULES = {
        "hidden": positive_int(),
        "n_train": positive_int(4000, MNIST1D_TRAIN),
    }
    PRESETS = {"tiny": dict(hidden=32, n_train=1000), "full": dict(hidden=256)}

    def factory(self):
        """Builds the chapter's network: 40 -> hidden -> 10 with ReLU (51 h + 10 parameters)."""
        return lambda: MLP(40, [self.hidden], 10)


@dataclass(frozen=True)
class NoiseCovariance(CheckedConfig):
    """:func:`noise_geometry`: the per-example gradients of the noise covariance and the Hessian eigenvectors."""

    examples: int = 1000  # per-example gradients for the noise covariance (its rank is at most this - 1)
    hessian_k: int = 10  # top Hessian eigenvectors
    lanczos_iters: int = 30  # for the top-k Hessian eigenvectors
    seed: int = 0  # draws the random directions the Hessian's are compared with

    RULES = {
        "examples": Integer(2, 4000, "per-example gradients of the noise covariance, at most net.n_train"),
        "hessian_k": positive_int(),
        "lanczos_iters": positive_int(),
        "seed": seed_int(),
    }
    CHECKS = (
        Check(("hessian_k", "lanczos_iters"), lambda c: c.hessian_k <= c.lanczos_iters,
              "hessian_k must not exceed lanczos_iters (Lanczos finds at most as many eigenvectors as it takes steps)"),
    )
    PRESETS = {"tiny": dict(examples=400, hessian_k=5, lanczos_iters=20),
               "full": dict(examples=4000, hessian_k=20, lanczos_iters=80)}


@dataclass(frozen=True)
class NoiseScales(CheckedConfig):
    """:func:`noise_scale_grid`: learning rate x batch size x momentum, at the noise scales g = εN/(B(1-m))."""

    epochs: int = 10
    g: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)  # g = εN/(B(1-m))
    settings: tuple[tuple[int, float], ...] = ((32, 0.0), (64, 0.0), (128, 0.0), (64, 0.9))  # (B, m)
    seeds: tuple[int, ...] = (0, 1)

    RULES = {
        "epochs": positive_int(),
        "g": TupleOf(positive_real(), distinct=True, note="noise scales g = εN/(B(1-m))"),
        "settings": TupleOf(Record((("B", positive_int(4000)),
                                    ("m", Real(0.0, 1.0, hi_open=True)))), distinct=True,
                            note="batch size B up to net.n_train and momentum m < 1"),
        "seeds": seed_tuple(),
    }
    PRESETS = {"tiny": dict(epochs=4, g=(2.0, 8.0, 32.0), settings=((32, 0.0), (64, 0.0), (64, 0.9)), seeds=(0,)),
               "full": dict(epochs=30, g=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0),
                            settings=((16, 0.0), (32, 0.0), (64, 0.0), (128, 0.0), (256, 0.0), (64, 0.5), (64, 0.9)),
                            seeds=(0, 1, 2, 3))}


@dataclass(frozen=True)
class Phases(CheckedConfig):
    """:func:`schedules`: three phases that divide ε, or multiply B, by ``factor``."""

    lr: float = 0.5
    batch: int = 32
    factor: int = 4  # ε / factor or B x factor at each phase
    phase_epochs: int = 5
    seeds: tuple[int, ...] = (0, 1)

    RULES = {
        "lr": positive_real(),
        "batch": positive_int(4000),
        "factor": Integer(2, None, "ε is divided, or B multiplied, by it at each phase"),
        "phase_epochs": positive_int(),
        "seeds": seed_tuple(99, "phase i orders the data of seed s with seed s + 100 i"),
    }
    PRESETS = {"tiny": dict(phase_epochs=2, seeds=(0,)), "full": dict(phase_epochs=20, seeds=(0, 1, 2, 3))}


@dataclass(frozen=True)
class SharpnessRuns(CheckedConfig):
    """:func:`sharpness_vs_batch` (and the network of :func:`noise_geometry`): small- and large-batch SGD at one ε,
    λ_max by Lanczos, and Dinh et al.'s rescaling."""

    lr: float = 0.5  # large enough that full-batch-like training reaches λ_max ≈ 2/ε
    small_batch: int = 16
    large_batch: int = 500  # about 10 % of the data, as Keskar et al.'s large batches
    small_steps: int = 3000
    large_steps: int = 1500
    seeds: tuple[int, ...] = (0, 1)
    iters: int = 20  # Lanczos steps for λ_max alone
    dinh_alphas: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0)

    RULES = {
        "lr": positive_real(),
        "small_batch": positive_int(4000),
        "large_batch": positive_int(4000, "at most net.n_train; net.n_train is full batch"),
        "small_steps": positive_int(),
        "large_steps": positive_int(),
        "seeds": seed_tuple(),
        "iters": positive_int(),
        "dinh_alphas": TupleOf(positive_real(), distinct=True, note="Dinh et al.'s rescaling factors α"),
    }
    CHECKS = (
        Check(("small_batch", "large_batch"), lambda c: c.small_batch < c.large_batch,
              "the small batch must be smaller than the large one"),
    )
    PRESETS = {"tiny": dict(small_steps=600, large_steps=300, seeds=(0,), iters=10, dinh_alphas=(0.1, 1.0, 10.0)),
               "full": dict(small_steps=20_000, large_steps=10_000, seeds=(0, 1, 2, 3), iters=40)}


@dataclass(frozen=True)
class SgdAsSdeConfig(CheckedConfig):
    """Chapter 3's settings: one part per experiment, plus the parts they share (the replica simulations, the
    quadratic's runs, the network and its data). Made by ``dl.scaled(SgdAsSdeConfig)``; every field is checked when
    a config is made, and a value out of range is a :class:`~dlgen_lib.config.ConfigError` naming it."""

    sim: Simulation = part(Simulation)
    quad: QuadraticRuns = part(QuadraticRuns)
    cloud: QuadraticGrid = part(QuadraticGrid)
    aniso: Anisotropic = part(Anisotropic)
    well: DoubleWell = part(DoubleWell)
    ripple: Ripples = part(Ripples)
    net: Network = part(Network)
    noise: NoiseCovariance = part(NoiseCovariance)
    grid: NoiseScales = part(NoiseScales)
    sched: Phases = part(Phases)
    sharp: SharpnessRuns = part(SharpnessRuns)

    CHECKS = (
        Check(("cloud.batches", "quad.n"), lambda c: max(c.cloud.batches) <= c.quad.n,
              "every batch size in cloud.batches must be at most quad.n (a minibatch of the quad.n examples)"),
        Check(("aniso.batch", "quad.n"), lambda c: c.aniso.batch <= c.quad.n,
              "aniso.batch must be at most quad.n (a minibatch of the quad.n examples)"),
        Check(("noise.examples", "net.n_train"), lambda c: c.noise.examples <= c.net.n_train,
              "noise.examples must be at most net.n_train (the noise covariance is taken on the first "
              "noise.examples of the net.n_train training examples)"),
        Check(("grid.settings", "net.n_train"), lambda c: all(b <= c.net.n_train for b, _ in c.grid.settings),
              "every batch size B in grid.settings must be at most net.n_train"),
        Check(("sched.batch", "sched.factor", "net.n_train"),
              lambda c: c.sched.batch * c.sched.factor**2 <= c.net.n_train,
              "the growing-batch schedule ends at sched.batch x sched.factor² examples, which must fit in "
              "net.n_train"),
        Check(("sharp.large_batch", "net.n_train"), lambda c: c.sharp.large_batch <= c.net.n_train,
              "sharp.large_batch must be at most net.n_train (net.n_train is full batch)"),
    )


# ------------------------------------------------------------------------------------------ 1. quadratic cloud


@dataclass(frozen=True)
class QuadraticCloud:
    """Stationary spread of R SGD replicas on ℓ = ½ a (θ - z_i)², for every (η, B) of the grid (V settings)."""

    lrs: np.ndarray  # (V,) η
    batch_sizes: np.ndarray  # (V,) B
    variance: np.ndarray  # (V,) Var θ over replicas, averaged over snapshots after the burn-in
    variance_se: np.ndarray  # (V,) its standard error (over snapshots)
    theory: np.ndarray  # (V,) exact discrete-time closed form η σ² / (B a (2 - η a)) (with replacement)
    theory_ou: np.ndarray  # (V,) the SDE's (OU) value T σ² / a, T = η / (2B)
    final: np.ndarray  # (V, R) float32 positions at the end (for histograms)
    em_final: np.ndarray  # (4R,) Euler–Maruyama of the matched SDE for setting ``em_index``
    em_index: int
    curvature: float
    noise_var: float  # σ² = a² Var z
    minimum: float  # z̄


@cached
@single_threaded
def quadratic_cloud(sim: Simulation, quad: QuadraticRuns, cloud: QuadraticGrid) -> QuadraticCloud:
    """For each (η, B): R = ``cloud.replicas`` replicas from the minimum, quad.time / η steps, with-replacement
    minibatches; Var θ over the replicas averaged over 6 snapshots after the burn-in."""
    loss = sde.quadratic(n=quad.n, curvature=1.0, data_std=1.0, seed=sim.seed)
    a, zbar = 1.0, float(loss.z.mean())
    s2 = float(loss.noise_variance(torch.tensor(0.0, dtype=_F64)))
    lrs, bs, var, se, final = [], [], [], [], []
    for i, lr in enumerate(cloud.lrs):  # one simulation per η, all B together (the same number of steps)
        n_steps = int(round(quad.time / lr))
        every = max(1, int(round((quad.time - quad.burn) / lr / 6)))
        with one_thread():
            p = sde.sgd_replica_grid(loss, zbar, [lr] * len(cloud.batches), cloud.batches, n_steps,
                                     n_replicas=cloud.replicas, seed=sim.seed + i, record_every=every)
        snaps = p.theta[p.steps * lr >= quad.burn].var(2)  # (snapshots, batch sizes)
        lrs += [lr] * len(cloud.batches)
        bs += list(cloud.batches)
        final.append(p.final.float().numpy())
        var += snaps.mean(0).tolist()
        se += (snaps.std(0) / len(snaps) ** 0.5).tolist()
    lrs, bs = np.asarray(lrs), np.asarray(bs)
    em_index = int(np.argmax(lrs / bs))  # the widest cloud: EM with the same dt and T
    lr, b = float(lrs[em_index]), int(bs[em_index])
    with one_thread():
        em = sde.euler_maruyama(lambda th: a * (th - zbar), zbar, lr, int(round(quad.time / lr)),
                                sde.temperature(lr, b), s2, n_replicas=4 * cloud.replicas, seed=sim.seed + 1)
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
def anisotropic_cloud(sim: Simulation, quad: QuadraticRuns, aniso: Anisotropic) -> AnisotropicCloud:
    """R = ``sim.replicas`` replicas at one (η, B) from the minimum, quad.time / (η min_k a_k) steps (the times
    are in units of the flat direction's relaxation), with-replacement minibatches; Var θ_k averaged over 6
    snapshots after the burn-in."""
    a = torch.tensor(aniso.curvature, dtype=_F64)
    loss = sde.quadratic(n=quad.n, curvature=a, seed=sim.seed + 1)
    s2 = loss.noise_variance(torch.zeros(2, dtype=_F64))
    n_steps = int(round(quad.time / (aniso.lr * float(a.min()))))
    every = max(1, int(round((quad.time - quad.burn) / (aniso.lr * float(a.min())) / 6)))
    with one_thread():
        p = sde.sgd_replicas(loss, loss.z.mean(0), aniso.lr, aniso.batch, n_steps, n_replicas=sim.replicas,
                             seed=sim.seed, replace=True, record_every=every)
    var = p.theta[p.time >= quad.burn / float(a.min())].var(1).mean(0)  # (2,)
    theory = sde.ou_stationary_variance(aniso.lr, aniso.batch, a.numpy(), s2.numpy())
    return AnisotropicCloud(a.numpy(), s2.numpy(), var.numpy(), theory, p.final.float().numpy(), aniso.lr,
                            aniso.batch)


# ------------------------------------------------------------------------------------------ 2. escaping a sharp well


def well_loss(sim: Simulation, well: DoubleWell) -> sde.GaussianWells:
    """The chapter's double well: sharp at -1 (width 0.15), wide at +1 (width 0.5), additive ("tilt") noise."""
    return sde.double_well(n=well.n, data_std=well.std, seed=sim.seed, noise="tilt")


@dataclass(frozen=True)
class WellEscape:
    """V settings (η, B) of SGD started in the sharp minimum of :func:`well_loss`."""

    lrs: np.ndarray  # (V,)
    batch_sizes: np.ndarray  # (V,)
    temperature: np.ndarray  # (V,) T_eff = η σ² / (2B) (the noise is additive: D = σ²)
    escape_time: np.ndarray  # (V, R) time (steps x η) of first passage past ``boundary``; inf if never
    t_end: np.ndarray  # (V,) length of each run in time
    rate: np.ndarray  # (V,) escape rate k̂ = escapes / total time at risk (maximum likelihood, exponential law)
    kramers: np.ndarray  # (V,) Kramers' rate sqrt(L''(min) |L''(saddle)|)/(2π) exp(-ΔE/T)
    wide_fraction: np.ndarray  # (V,) share of replicas in the wide basin at the end
    gibbs_wide: np.ndarray  # (V,) the same share under the Gibbs density exp(-L/T)
    final: np.ndarray  # (V, R) float32
    em_final: np.ndarray  # (R,) Euler–Maruyama, dt = η, for the hottest setting ``em_index``
    em_index: int
    barrier: float  # ΔE of the sharp basin
    basins: sde.Basins
    boundary: float


@cached
@single_threaded
def well_escape(sim: Simulation, well: DoubleWell) -> WellEscape:
    """All settings in one vectorized simulation (:func:`sde.sgd_replica_grid`), first passages by an
    :class:`sde.EscapeClock` at the midpoint between the saddle and the wide minimum."""
    loss = well_loss(sim, well)
    grid = torch.linspace(-3, 3, 6001, dtype=_F64)
    basins = sde.barrier_heights(loss.loss, grid)
    s2 = float(loss.z.var(correction=0))
    lrs, bs = np.asarray(well.lrs, float), np.asarray(well.batches)
    temps = sde.temperature(lrs, bs) * s2
    boundary = float((basins.saddles[0] + basins.minima[1]) / 2)
    clock = sde.EscapeClock(boundary)
    with one_thread():
        paths = sde.sgd_replica_grid(loss, basins.minima[0], lrs, bs, well.steps, n_replicas=sim.replicas,
                                     seed=sim.seed, callback=clock)
    t_end = well.steps * lrs
    times = clock.times.numpy() * lrs[:, None]  # (V, R)
    at_risk = np.minimum(times, t_end[:, None]).sum(1)
    rate = np.isfinite(times).sum(1) / at_risk
    kramers = sde.kramers_rate(basins.barriers[0], temps, basins.curvature_min[0], basins.exit_curvature[0])
    wide = sde.basin_fractions(paths.final, basins.saddles)[:, 1].numpy()
    gibbs = np.array([float(torch.trapezoid(sde.gibbs_density(loss.loss, grid, t) * (grid > basins.saddles[0]), grid))
                      for t in temps])
    hot = int(np.argmax(temps))
    with one_thread():
        em = sde.euler_maruyama(loss.grad, basins.minima[0], float(lrs[hot]), well.steps, float(temps[hot]),
                                n_replicas=sim.replicas, seed=sim.seed + 1)
    return WellEscape(lrs, bs, temps, times, t_end, rate, kramers, wide, gibbs, paths.final.float().numpy(),
                      em.final.float().numpy(), hot, float(basins.barriers[0]), basins, boundary)


def fit_barrier(temperature, rate) -> float:
    """ΔE from Kramers' law: minus the slope of log k against 1/T (least squares)."""
    return float(-np.polyfit(1.0 / np.asarray(temperature), np.log(np.asarray(rate)), 1)[0])


# ------------------------------------------------------------------------------------------ 3. smoothing


def ripple_loss(sim: Simulation, ripple: Ripples) -> sde.GaussianWells:
    """½ κ θ² (κ = 0.5) with narrow Gaussian dimples (width 0.1, depth 0.2, every 0.4) and additive noise: gradient
    descent stops in the first dimple it meets, a smoothed loss has none far from 0."""
    centers = torch.arange(-3.2, 3.21, 0.4, dtype=_F64)
    return sde.double_well(n=1000, data_std=ripple.std, seed=sim.seed, centers=centers,
                           widths=torch.full_like(centers, 0.1), depths=torch.full_like(centers, 0.2),
                           confinement=0.5, noise="tilt")


@dataclass(frozen=True)
class Smoothing:
    """Mean of the SGD cloud against GD on L and GD on the smoothed L_s, from θ0, for several batch sizes."""

    batch_sizes: np.ndarray  # (V,)
    widths: np.ndarray  # (V,) s = η σ / sqrt(B), the kernel of Kleinberg et al.
    steps: np.ndarray  # (T,) every step, from 0
    sgd_mean: np.ndarray  # (V, T)
    gd_smoothed: np.ndarray  # (V, T)
    gd: np.ndarray  # (T,)
    theta0: float


@cached
@single_threaded
def smoothing(sim: Simulation, ripple: Ripples, theta0: float = 2.4) -> Smoothing:
    """R = ``sim.replicas`` replicas from θ0 for each B, recorded every step, against gradient descent on the loss
    smoothed by each B's kernel and on the loss itself."""
    loss = ripple_loss(sim, ripple)
    s2 = float(loss.z.var(correction=0))
    bs = np.asarray(ripple.batches)
    widths = np.array([sde.smoothing_width(ripple.lr, int(b), s2) for b in bs])
    with one_thread():
        paths = sde.sgd_replica_grid(loss, theta0, [ripple.lr] * len(bs), bs, ripple.steps,
                                     n_replicas=sim.replicas, seed=sim.seed, record_every=1)
    start = torch.tensor(theta0, dtype=_F64)
    gd_s = [sde.gradient_descent(lambda th, w=w: sde.smoothed_loss(loss.grad, th, w), start, ripple.lr,
                                 ripple.steps, record_every=1).theta.numpy() for w in widths]
    gd = sde.gradient_descent(loss.grad, start, ripple.lr, ripple.steps, record_every=1).theta.numpy()
    return Smoothing(bs, widths, paths.steps.numpy(), paths.theta.mean(2).T.numpy(), np.stack(gd_s), gd, theta0)


# ------------------------------------------------------------------------------------------ MNIST-1D networks


def _data(net: Network):
    return mnist1d().subset(net.n_train)


def _epoch_steps(net: Network, batch: int) -> int:
    return max(1, net.n_train // batch)


@dataclass(frozen=True)
class BatchSharpness:
    """Small- and large-batch minima (same ε), and the rescaling of Dinh et al. applied to small-batch model 0."""

    batch_sizes: tuple[int, int]  # (small, large)
    lr: float  # ε, the same for both
    lam_max: np.ndarray  # (2, S) top Hessian eigenvalue of the training loss
    test_acc: np.ndarray  # (2, S)
    train_loss: np.ndarray  # (2, S)
    alphas: np.ndarray  # (A,) Dinh et al.'s factors α
    dinh_lam_max: np.ndarray  # (A,)
    dinh_test_acc: np.ndarray  # (A,)
    dinh_max_logit_change: np.ndarray  # (A,) max |f_α(x) - f(x)| over the test set (float64)
    small_state: dict  # the state_dict of small-batch model 0 (for the noise geometry)


@cached
@single_threaded
def sharpness_vs_batch(net: Network, sharp: SharpnessRuns) -> BatchSharpness:
    """λ_max (by ``sharp.iters`` Lanczos steps) of the minima reached by small- and large-batch SGD at the same ε,
    one network per seed; then small-batch network 0 rescaled by every α of ``sharp.dinh_alphas`` (in float64)."""
    data = _data(net)
    lams, accs, losses, models = [], [], [], []
    for b, steps in ((sharp.small_batch, sharp.small_steps), (sharp.large_batch, sharp.large_steps)):
        tc = TrainConfig(steps=steps, lr=sharp.lr, batch_size=b, eval_every=steps)
        ens, hist = train_ensemble(net.factory(), sharp.seeds, data.x_train, data.y_train, tc,
                                   data.x_test, data.y_test, desc=f"B = {b}")
        nets = [ens.model(k) for k in range(ens.size)]
        lams.append([ls.top_eigenvalue(m, data.x_train, data.y_train, sharp.iters) for m in nets])
        accs.append(hist.test_acc[:, -1]), losses.append(hist.train_loss[:, -1]), models.append(nets)
    base = models[0][0]
    lam_a, acc_a, change = [], [], []
    with torch.no_grad():
        ref = base.double()(data.x_test.double())
        for a in sharp.dinh_alphas:
            rescaled = ls.rescale_layers(base.double(), a)
            out = rescaled(data.x_test.double())
            change.append(float((out - ref).abs().max()))
            acc_a.append(float((out.argmax(1) == data.y_test).float().mean()))
            with torch.enable_grad():
                lam_a.append(ls.top_eigenvalue(rescaled, data.x_train.double(), data.y_train, sharp.iters))
    base.float()
    return BatchSharpness((sharp.small_batch, sharp.large_batch), sharp.lr, np.asarray(lams), np.asarray(accs),
                          np.asarray(losses), np.asarray(sharp.dinh_alphas), np.asarray(lam_a), np.asarray(acc_a),
                          np.asarray(change), {k: v.clone() for k, v in base.state_dict().items()})


# ------------------------------------------------------------------------------------------ 4. noise geometry


@dataclass(frozen=True)
class NoiseGeometry:
    """Spectrum of the per-example gradient covariance Σ (P x P) at a trained MLP, and its overlap with the top
    Hessian eigenvectors."""

    n_params: int  # P
    n_examples: int  # M per-example gradients, of the first M training examples (rank Σ <= M - 1)
    eigenvalues: np.ndarray  # (M,) of Σ, descending
    rank90: int  # eigenvalues holding 90 % of tr Σ
    hessian_eigs: np.ndarray  # (k,) top Hessian eigenvalues
    captured: float  # share of tr Σ in the span of the top-k Hessian eigenvectors
    captured_random: float  # the same for k random directions (expected k / P)
    noise_in_hessian: np.ndarray  # (k,) share of each top noise eigenvector inside the top-k Hessian span


@cached
@single_threaded
def noise_geometry(net: Network, sharp: SharpnessRuns, noise: NoiseCovariance) -> NoiseGeometry:
    """At the small-batch model 0 of :func:`sharpness_vs_batch` (a cache hit after it; trained again with
    ``DLGEN_CACHE=off``): Σ from M = ``noise.examples`` per-example gradients (eigenvalues through the M x M Gram
    matrix of the centred gradients), top-k Hessian eigenvectors by Lanczos (k = ``noise.hessian_k``)."""
    data = _data(net)
    model = net.factory()()
    model.load_state_dict(sharpness_vs_batch(net, sharp).small_state)
    G = per_example_grads(model, data.x_train[:noise.examples], data.y_train[:noise.examples]).double()  # (M, P)
    Gc = G - G.mean(0)
    M, P = Gc.shape
    gram = Gc @ Gc.T / M  # (M, M): same nonzero eigenvalues as Σ = Gcᵀ Gc / M
    evals, evecs = torch.linalg.eigh(gram)
    evals, evecs = evals.flip(0).clamp(min=0), evecs.flip(1)
    share = torch.cumsum(evals, 0) / evals.sum()
    rank90 = int((share < 0.9).sum()) + 1
    op = ls.HVP(model, F.cross_entropy, data.x_train, data.y_train)
    h_eigs, V = ls.lanczos_top_eigs(op, P, k=noise.hessian_k, iters=noise.lanczos_iters, return_vectors=True)
    V = V.double()  # (k, P) orthonormal
    total = float((Gc**2).sum() / M)
    captured = float(((Gc @ V.T) ** 2).sum() / M) / total
    Q, _ = torch.linalg.qr(torch.randn(P, noise.hessian_k, generator=generator(noise.seed),
                                       dtype=_F64))
    captured_random = float(((Gc @ Q) ** 2).sum() / M) / total
    top = min(noise.hessian_k, M)
    U = Gc.T @ evecs[:, :top] / (evals[:top] * M).sqrt()  # (P, top) unit eigenvectors of Σ
    in_h = ((V @ U) ** 2).sum(0).numpy()
    return NoiseGeometry(P, M, evals.numpy(), rank90, h_eigs.numpy(), captured, captured_random, in_h)


# ------------------------------------------------------------------------------------------ 5. noise scale


@dataclass(frozen=True)
class NoiseScaleGrid:
    """Final test accuracy after a fixed number of epochs for every (B, m) setting and g = εN/(B(1-m))."""

    settings: tuple[tuple[int, float], ...]  # (V,) (B, m)
    g: np.ndarray  # (G,) noise scales
    lrs: np.ndarray  # (V, G) ε = g B (1 - m) / N
    test_acc: np.ndarray  # (V, G, S)
    train_acc: np.ndarray  # (V, G, S)
    n_train: int
    epochs: int
    seconds: float


def noise_scale(lr, n_train, batch_size, momentum=0.0):
    """g = εN / (B (1 - m)) (Smith & Le 2018; 2 T N with T = ε/(2B) for m = 0)."""
    return lr * n_train / (batch_size * (1.0 - momentum))


@cached
@single_threaded
def noise_scale_grid(net: Network, grid: NoiseScales) -> NoiseScaleGrid:
    """One ensemble per (B, m): len(grid.g) learning rates x seeds, trained together (per-model learning rates)."""
    data = _data(net)
    g = np.asarray(grid.g)
    start = time.perf_counter()
    lrs, test, trainacc = [], [], []
    for b, m in grid.settings:
        eps = g * b * (1 - m) / net.n_train
        steps = grid.epochs * _epoch_steps(net, b)
        seeds = [s for _ in eps for s in grid.seeds]
        tc = TrainConfig(steps=steps, lr=float(eps[0]), batch_size=b, momentum=m, eval_every=steps)
        _, hist = train_ensemble(net.factory(), seeds, data.x_train, data.y_train, tc, data.x_test,
                                 data.y_test, lrs=[float(e) for e in eps for _ in grid.seeds],
                                 desc=f"B = {b}, m = {m}")
        shape = (len(g), len(grid.seeds))  # (G, S)
        lrs.append(eps), test.append(hist.test_acc[:, -1].reshape(shape)), trainacc.append(
            hist.train_acc[:, -1].reshape(shape))
    return NoiseScaleGrid(tuple(grid.settings), g, np.stack(lrs), np.stack(test), np.stack(trainacc),
                          net.n_train, grid.epochs, time.perf_counter() - start)


def collapse_spread(x: np.ndarray, y: np.ndarray, points: int = 25) -> float:
    """Mean over a common log-x grid (the overlap of all curves) of the std across curves of y, each curve
    linearly interpolated in log x. x, y: (V, G), one curve per row, x increasing along G. Small: the curves lie
    on one curve."""
    lx = np.log(x)
    lo, hi = lx.min(1).max(), lx.max(1).min()
    if hi <= lo:
        raise ValueError("the curves do not overlap in x")
    grid = np.linspace(lo, hi, points)
    return float(np.mean(np.std([np.interp(grid, a, b) for a, b in zip(lx, y)], 0)))


@dataclass(frozen=True)
class Schedules:
    """Test accuracy per epoch of the two schedules (E = 3 phase_epochs + 1 evaluations, the first before training)
    and their numbers of updates."""

    epochs: np.ndarray  # (E,) 0, 1, ..., 3 phase_epochs
    decay_lr: np.ndarray  # (S, E)
    grow_batch: np.ndarray  # (S, E)
    decay_updates: int
    grow_updates: int
    factor: int
    phase_epochs: int


def _phased(net: Network, sched: Phases, phases: list[tuple[float, int]], data) -> tuple[np.ndarray, int]:
    """Train sched.seeds models through phases of (ε, B), each sched.phase_epochs long; test accuracy per epoch."""
    ens, curve, updates = None, [], 0
    for i, (lr, b) in enumerate(phases):
        per_epoch = _epoch_steps(net, b)
        steps = sched.phase_epochs * per_epoch
        tc = TrainConfig(steps=steps, lr=lr, batch_size=b, eval_every=per_epoch)
        ens, hist = train_ensemble(net.factory(), sched.seeds, data.x_train, data.y_train, tc,
                                   data.x_test, data.y_test, ensemble=ens,
                                   data_seeds=[s + 100 * i for s in sched.seeds], desc=f"phase {i}")
        curve.append(hist.test_acc if i == 0 else hist.test_acc[:, 1:])
        updates += steps
    return np.concatenate(curve, 1), updates


@cached
@single_threaded
def schedules(net: Network, sched: Phases) -> Schedules:
    """ε ÷ factor at each phase (B fixed) against B x factor at each phase (ε fixed), three phases (Smith et al.)."""
    data = _data(net)
    f, lr, b = sched.factor, sched.lr, sched.batch
    decay, n_decay = _phased(net, sched, [(lr, b), (lr / f, b), (lr / f**2, b)], data)
    grow, n_grow = _phased(net, sched, [(lr, b), (lr, b * f), (lr, b * f**2)], data)
    return Schedules(np.arange(decay.shape[1]), decay, grow, n_decay, n_grow, f, sched.phase_epochs)


# ------------------------------------------------------------------------------------------ papers


PAPERS = {
    "chaudhari_rank": "≈ 1 % of the dimension (rank of the minibatch-gradient covariance)",
    "keskar_c1": (80.04, 77.26),  # Keskar et al. Table 2, network C1 (CIFAR-10), small vs large batch test accuracy %
    "smith_updates": "Inception-ResNet-V2: 77 % ImageNet accuracy in under 2 500 updates at batch 65 536",
    "smith_le_rule": "B_opt ∝ εN/(1-m)",
}
