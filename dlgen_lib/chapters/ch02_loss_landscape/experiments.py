"""Chapter 2's experiments: non-convexity and the loss landscape.

Seven experiments, each one call that returns plain results and is cached on disk under the parts of
:class:`LossLandscapeConfig` it reads:

* :func:`train_solutions` (``net``, ``train``) -- the MLP 40-h-h-10 on MNIST-1D trained by SGD with small and with
  large batches from two seeds (the minima the next three experiments look at), with the initial parameters kept;
* :func:`hessian_spectra` (``net``, ``train``, ``hessian``) -- Lanczos top-k, stochastic Lanczos quadrature and
  Hutchinson's trace at initialization and at the minimum (Sagun et al. 2017; Ghorbani et al. 2019; PyHessian);
* :func:`critical_points` (``critical``) -- a small tanh network: critical points from many starts by minimizing
  ||∇L||² (Levenberg-Marquardt on the residual ∇L, all starts at once), their loss and index (Dauphin et al. 2014);
* :func:`width_spread` (``spread``) -- final losses over seeds for widths from small to large (Choromanska et al.
  2015);
* :func:`slices` (``net``, ``train``, ``slices``) -- the line from init to solution (Goodfellow et al. 2015),
  filter-normalized 1-D and 2-D slices around the small- and large-batch minima (Li et al. 2018);
* :func:`mode_connectivity` (``net``, ``train``, ``paths``) -- the straight segment and a trained quadratic Bezier
  curve between two minima (Garipov et al. 2018; Draxler et al. 2018);
* :func:`deep_blowup` (``deep``) -- a deep plain ReLU MLP with a naive and a careful (He) initialization:
  per-layer gradient norms and training curves.

The numerical core is :mod:`dlgen_lib.landscape`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import landscape as ls
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
)
from ...data import mnist1d
from ...models import MLP, build
from ...sweeps import train_widths
from ...train import Ensemble, TrainConfig, train_ensemble

__all__ = ["PAPERS", "CriticalPoints", "CriticalSearch", "Deep", "DeepBlowup", "Hessian", "LossLandscapeConfig",
           "ModeConnectivity", "Network", "PathRuns", "SliceGrid", "Slices", "Solutions", "Spectrum", "TanhNet",
           "Training", "WidthSpread", "SpreadRuns", "critical_points", "deep_blowup", "deep_init",
           "find_critical_points", "hessian_spectra", "layer_grad_norms", "mode_connectivity", "slice_curvature",
           "slices", "spectrum", "spread", "train_bezier", "train_solutions", "width_spread"]

MNIST1D_TRAIN = "MNIST-1D has 4 000 training examples"


@dataclass(frozen=True)
class Network(CheckedConfig):
    """The chapter's network, the MLP 40-h-h-10 with ReLU: the one whose minima :func:`train_solutions` finds and
    the Hessian, the slices and the paths look at."""

    width: int = 32  # h, hidden units per layer

    RULES = {"width": positive_int()}
    PRESETS = {"tiny": dict(width=16), "full": dict(width=128)}

    def factory(self):
        """A function that builds the network (with PyTorch's default initialization)."""
        return lambda: MLP(40, [self.width] * 2, 10)


@dataclass(frozen=True)
class Training(CheckedConfig):
    """How :func:`train_solutions` trains the network: SGD with heavy-ball momentum on all of MNIST-1D (4 000 / 1 000),
    with small and with large batches, from two seeds."""

    steps: int = 3000
    lr: float = 0.05
    momentum: float = 0.9
    small_batch: int = 32
    large_batch: int = 1000
    seeds: tuple[int, int] = (0, 1)

    RULES = {
        "steps": positive_int(),
        "lr": positive_real(),
        "momentum": Real(0.0, 1.0, hi_open=True, note="heavy-ball momentum"),
        "small_batch": positive_int(4000, MNIST1D_TRAIN),
        "large_batch": positive_int(4000, "MNIST-1D has 4 000 training examples; 4 000 is full batch"),
        "seeds": TupleOf(seed_int(), min_len=2, max_len=2, distinct=True,
                         note="mode connectivity joins the small-batch solutions of the two seeds"),
    }
    CHECKS = (
        Check(("small_batch", "large_batch"), lambda c: c.small_batch < c.large_batch,
              "the small batch must be smaller than the large one"),
    )
    PRESETS = {"tiny": dict(steps=400), "full": dict(steps=10_000)}

    def train_config(self, batch_size: int) -> TrainConfig:
        """SGD with heavy-ball momentum, constant learning rate: the same for both batch sizes."""
        return TrainConfig(steps=self.steps, lr=self.lr, batch_size=batch_size, optimizer="sgd",
                           momentum=self.momentum, eval_every=max(1, self.steps // 20))


@dataclass(frozen=True)
class Hessian(CheckedConfig):
    """:func:`hessian_spectra`: the Hessian of the training loss on the first ``n`` training examples."""

    n: int = 1000  # training examples (the first ones)
    top_k: int = 20  # Lanczos eigenvalues reported
    lanczos_iters: int = 60
    slq_iters: int = 60
    slq_probes: int = 3
    trace_samples: int = 20  # Hutchinson probes
    seed: int = 0  # of the Lanczos starts and of the SLQ and Hutchinson probes

    RULES = {
        "n": positive_int(4000, "the first n of MNIST-1D's 4 000 training examples"),
        "top_k": positive_int(),
        "lanczos_iters": positive_int(),
        "slq_iters": positive_int(),
        "slq_probes": positive_int(),
        "trace_samples": Integer(2, None, "Hutchinson probes; two at least for a standard error"),
        "seed": seed_int(),
    }
    CHECKS = (
        Check(("top_k", "lanczos_iters"), lambda c: c.top_k <= c.lanczos_iters,
              "top_k must not exceed lanczos_iters (Lanczos finds at most as many eigenvalues as it takes steps)"),
    )
    PRESETS = {"tiny": dict(n=300, top_k=12, lanczos_iters=30, slq_iters=30, slq_probes=1, trace_samples=8),
               "full": dict(n=4000, top_k=40, lanczos_iters=150, slq_iters=120, slq_probes=5, trace_samples=100)}


@dataclass(frozen=True)
class CriticalSearch(CheckedConfig):
    """:func:`critical_points`: the tanh MLP D-h-10 on the first ``n`` training examples (inputs: every
    ``stride``-th of the 40 samples), its starts and the search from them."""

    n: int = 200
    stride: int = 4
    hidden: int = 4  # h
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    snapshots: tuple[int, ...] = (0, 10, 30, 100, 300, 1000, 3000)  # Adam steps at which the starts are taken
    iters: int = 30  # Levenberg-Marquardt iterations on ||∇L||²

    RULES = {
        "n": positive_int(4000, "the first n of MNIST-1D's 4 000 training examples"),
        "stride": positive_int(40, "every stride-th of the 40 samples of a signal"),
        "hidden": positive_int(),
        "seeds": seed_tuple(),
        "snapshots": TupleOf(Integer(0, None), distinct=True, contains=(0,),
                             note="Adam steps; the starts at step 0 set the scale of a critical gradient"),
        "iters": positive_int(),
    }
    PRESETS = {"tiny": dict(n=100, seeds=(0, 1), snapshots=(0, 30, 300), iters=15),
               "full": dict(seeds=tuple(range(12)), iters=60)}


@dataclass(frozen=True)
class SpreadRuns(CheckedConfig):
    """:func:`width_spread`: the MLP 40-h-10 at each width h, over many seeds, trained by Adam."""

    widths: tuple[int, ...] = (4, 8, 16, 32, 64, 128)
    seeds: tuple[int, ...] = tuple(range(24))  # a std over 8 seeds is +-27 %: the width ratio was noise
    steps: int = 1500
    lr: float = 1e-2

    RULES = {
        "widths": TupleOf(positive_int(), distinct=True),
        "seeds": seed_tuple(),
        "steps": positive_int(),
        "lr": positive_real(),
    }
    PRESETS = {"tiny": dict(widths=(4, 16, 64), seeds=(0, 1, 2, 3), steps=300),
               "full": dict(widths=(4, 8, 16, 32, 64, 128, 256, 512), seeds=tuple(range(16)), steps=5000)}

    def factory(self):
        """The function width h -> a fresh MLP 40-h-10 with ReLU, as :func:`~dlgen_lib.sweeps.train_widths` takes
        it."""
        return lambda width: MLP(40, [width], 10)


@dataclass(frozen=True)
class SliceGrid(CheckedConfig):
    """:func:`slices`: the line from the initialization to the solution and the 1-D and 2-D slices around the
    solutions (training losses on the first ``n`` training examples, test losses on all test examples)."""

    n: int = 1000
    line_points: int = 31  # init -> solution, alpha in [-0.25, 1.25] (0 and 1 always among them)
    slice_points: int = 41  # 1-D, alpha in [-radius, radius]
    grid_points: int = 25  # 2-D, per axis
    radius: float = 1.0
    seed: int = 0  # of the two random directions (seed and seed + 1)

    RULES = {
        "n": positive_int(4000, "the first n of MNIST-1D's 4 000 training examples"),
        "line_points": Integer(2, None, "points on the line from the initialization to the solution"),
        "slice_points": Integer(2, None, "points of a 1-D slice"),
        "grid_points": Integer(2, None, "points per axis of a 2-D slice"),
        "radius": positive_real("half-width of the slices"),
        "seed": seed_int(),
    }
    PRESETS = {"tiny": dict(n=300, line_points=11, slice_points=11, grid_points=7),
               "full": dict(n=4000, grid_points=51)}


@dataclass(frozen=True)
class PathRuns(CheckedConfig):
    """:func:`mode_connectivity`: the straight segment and the quadratic Bezier curve between two minima, the
    curve's control point trained by Adam."""

    points: int = 41  # t in [0, 1] on the segment and the curve
    steps: int = 1000
    lr: float = 0.02
    ts_per_step: int = 4  # values of t drawn per step
    seed: int = 0  # of the values of t and the minibatches

    RULES = {
        "points": Integer(2, None, "points on the segment and the curve, t in [0, 1]"),
        "steps": positive_int(),
        "lr": positive_real(),
        "ts_per_step": positive_int(),
        "seed": seed_int(),
    }
    PRESETS = {"tiny": dict(points=11, steps=150), "full": dict(points=61, steps=5000)}


@dataclass(frozen=True)
class Deep(CheckedConfig):
    """:func:`deep_blowup`: the deep plain ReLU MLP 40-w-...-w-10 (``depth`` hidden layers of ``width`` units),
    initialized with each gain and trained by plain SGD."""

    depth: int = 12
    width: int = 64
    gains: tuple[float, ...] = (2.0, 4.0)  # σ_w²: weights N(0, σ_w² / fan_in); 2 = He, the careful one
    steps: int = 1000
    lr: float = 0.02
    seeds: tuple[int, ...] = (0, 1, 2)

    RULES = {
        "depth": positive_int(),
        "width": positive_int(),
        "gains": TupleOf(positive_real(), distinct=True, note="σ_w², the variance of the weights times fan-in"),
        "steps": positive_int(),
        "lr": positive_real(),
        "seeds": seed_tuple(),
    }
    PRESETS = {"tiny": dict(depth=8, steps=200, seeds=(0,)), "full": dict(depth=20, steps=5000, seeds=(0, 1, 2, 3, 4))}

    def factory(self):
        """A function that builds the network (with PyTorch's default initialization; :func:`deep_init` sets the
        weights of a gain)."""
        return lambda: MLP(40, [self.width] * self.depth, 10)


@dataclass(frozen=True)
class LossLandscapeConfig(CheckedConfig):
    """Chapter 2's settings: one part per experiment, plus the network and its training, which the experiments on
    the minima share. Made by ``dl.scaled(LossLandscapeConfig)``; every field is checked when a config is made, and
    a value out of range is a :class:`~dlgen_lib.config.ConfigError` naming it."""

    net: Network = part(Network)
    train: Training = part(Training)
    hessian: Hessian = part(Hessian)
    critical: CriticalSearch = part(CriticalSearch)
    spread: SpreadRuns = part(SpreadRuns)
    slices: SliceGrid = part(SliceGrid)
    paths: PathRuns = part(PathRuns)
    deep: Deep = part(Deep)


def _data():
    """MNIST-1D on the CPU, whatever the device: the chapter's networks are small (P ≈ 2 700), its solutions are
    stored on the CPU (portable cache entries) and rebuilt there by :meth:`Solutions.model`, and its Hessian
    products, slices and paths work on those CPU networks; data on a GPU would meet them on the wrong device."""
    return mnist1d()


# ------------------------------------------------------------------------------------------ the minima


@dataclass(frozen=True)
class Solutions:
    """Trained networks: flat parameters θ (P,) of each run, and their training curves.

    Runs are named "small batch, seed s" / "large batch, seed s"; ``init[seed]`` is the starting point shared by
    the runs of a seed."""

    net: Network
    theta: dict[str, torch.Tensor]  # name -> (P,)
    init: dict[int, torch.Tensor]  # seed -> (P,)
    step: np.ndarray  # (E,)
    train_loss: dict[str, np.ndarray]  # name -> (E,)
    test_acc: dict[str, np.ndarray]  # name -> (E,)
    seconds: float

    def model(self, name: str) -> nn.Module:
        """A stand-alone network with the parameters of run ``name`` (or of ``init`` for "init, seed s")."""
        net = self.net.factory()()
        if name.startswith("init"):
            ls.set_flat_params(net, self.init[int(name.rsplit(" ", 1)[-1])])
        else:
            ls.set_flat_params(net, self.theta[name])
        return net


@cached
def train_solutions(net: Network, train: Training) -> Solutions:
    """Both seeds with small batches (one ensemble) and with large batches (another), train.steps SGD steps each."""
    clock = time.perf_counter()
    data = _data()
    factory = net.factory()
    init = {s: ls.flat_params(build(factory, s)) for s in train.seeds}
    theta, train_loss, test_acc, step = {}, {}, {}, None
    for label, batch in (("small", train.small_batch), ("large", train.large_batch)):
        ens, hist = train_ensemble(factory, list(train.seeds), data.x_train, data.y_train, train.train_config(batch),
                                   data.x_test, data.y_test, desc=f"{label} batches")
        step = hist.step
        for k, s in enumerate(train.seeds):
            name = f"{label} batch, seed {s}"
            theta[name] = ls.flat_params(ens.model(k)).cpu()
            train_loss[name], test_acc[name] = hist.train_loss[k], hist.test_acc[k]
    return Solutions(net, theta, {s: v.cpu() for s, v in init.items()}, step, train_loss, test_acc,
                     time.perf_counter() - clock)


# ------------------------------------------------------------------------------------------ Hessian spectra


@dataclass(frozen=True)
class Spectrum:
    """The Hessian of the training loss (on ``hessian.n`` examples) at one point."""

    P: int
    loss: float
    top: np.ndarray  # (top_k,) largest eigenvalues (Lanczos), descending
    bottom: float  # smallest eigenvalue (Lanczos)
    trace: float  # Hutchinson estimate of tr H
    trace_se: float
    density: ls.SpectralDensity
    seconds: float

    def outliers(self) -> int:
        """How many of the top eigenvalues stand out of the bulk: the position of the largest ratio
        λ_i / λ_{i+1} among the top k (the edge of the bulk is where consecutive eigenvalues stop jumping)."""
        top = np.maximum(self.top, 1e-12)
        return int(np.argmax(top[:-1] / top[1:]) + 1)

    def mass_near_zero(self, rel: float = 0.01) -> float:
        """Fraction of the spectral density (SLQ weights) within ± rel · λ_max of zero."""
        nodes, w = self.density.nodes, self.density.weights
        return float((w * (np.abs(nodes) <= rel * self.top[0])).sum() / w.sum())

    def slq_trace(self) -> tuple[float, float]:
        """tr H from the SLQ density (P times its mean, Σ w·node), and the standard error over the probes."""
        per_probe = (self.density.nodes * self.density.weights).sum(1) * self.P  # (probes,)
        se = per_probe.std(ddof=1) / math.sqrt(len(per_probe)) if len(per_probe) > 1 else float("nan")
        return float(per_probe.mean()), float(se)



def spectrum(model: nn.Module, x: torch.Tensor, y: torch.Tensor, hessian: Hessian, seed: int = 0) -> Spectrum:
    """Lanczos top-k and bottom eigenvalue, SLQ density and Hutchinson trace of the Hessian of the mean
    cross-entropy of ``model`` on (x, y), with the sizes of ``hessian`` (its ``n`` and ``seed`` are the caller's:
    ``x``, ``y`` and ``seed`` are given)."""
    clock = time.perf_counter()
    op = ls.HVP(model, F.cross_entropy, x, y)
    top = ls.lanczos_top_eigs(op, op.P, k=hessian.top_k, iters=hessian.lanczos_iters, seed=seed).numpy()
    bottom = float(ls.lanczos_top_eigs(op, op.P, k=1, iters=hessian.lanczos_iters, seed=seed + 1,
                                       which="smallest")[0])
    trace, se = ls.hutchinson_trace(op, op.P, samples=hessian.trace_samples, seed=seed + 2)
    density = ls.spectral_density(op, op.P, iters=hessian.slq_iters, probes=hessian.slq_probes, seed=seed + 3)
    return Spectrum(op.P, float(op.loss()), top, bottom, trace, se, density, time.perf_counter() - clock)


@cached
def hessian_spectra(net: Network, train: Training, hessian: Hessian) -> dict[str, Spectrum]:
    """{"init": ..., "minimum, seed s": ...}: the Hessian on the first hessian.n training examples at the
    initialization of train.seeds[0] and at the large-batch solutions of every seed (trained longest per example,
    the closest to a minimum)."""
    sol = train_solutions(net, train)
    data = _data()
    x, y = data.x_train[: hessian.n], data.y_train[: hessian.n]
    out = {"init": spectrum(sol.model(f"init, seed {train.seeds[0]}"), x, y, hessian, seed=hessian.seed)}
    for s in train.seeds:
        out[f"minimum, seed {s}"] = spectrum(sol.model(f"large batch, seed {s}"), x, y, hessian, seed=hessian.seed)
    return out


# ------------------------------------------------------------------------------------------ critical points


class TanhNet:
    """The small smooth network of the critical-point search, f(x; θ) = W2 tanh(W1 x + b1) + b2, written for K
    parameter vectors at once: θ (K, P), P = h D + h + C h + C for inputs x (n, D), h hidden units and C classes.
    The loss is the mean cross-entropy on (x, y)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, hidden: int, n_classes: int = 10):
        self.x, self.y = x.double(), y
        self.d, self.h, self.C = x.shape[1], hidden, n_classes
        self.P = self.h * self.d + self.h + self.C * self.h + self.C

    def init(self, seed: int) -> torch.Tensor:
        """θ (P,) drawn as PyTorch's default for Linear layers: U(-1/√fan_in, 1/√fan_in)."""
        gen = generator(int(seed))
        parts = [(self.h * self.d, self.d), (self.h, self.d), (self.C * self.h, self.h), (self.C, self.h)]
        return torch.cat([(2 * torch.rand(size, generator=gen, dtype=torch.float64) - 1) / math.sqrt(fan)
                          for size, fan in parts])

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        """(K,) losses of θ (K, P)."""
        K, d, h, C = theta.shape[0], self.d, self.h, self.C
        W1 = theta[:, : h * d].reshape(K, h, d)
        b1 = theta[:, h * d: h * d + h]
        W2 = theta[:, h * d + h: h * d + h + C * h].reshape(K, C, h)
        b2 = theta[:, -C:]
        z = torch.tanh(torch.einsum("nd,khd->knh", self.x, W1) + b1[:, None])  # (K, n, h)
        logits = torch.einsum("knh,kch->knc", z, W2) + b2[:, None]  # (K, n, C)
        n = len(self.y)
        return F.cross_entropy(logits.reshape(-1, C), self.y.repeat(K), reduction="none").reshape(K, n).mean(1)

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        """(K, P) gradients."""
        theta = theta.detach().requires_grad_(True)
        return torch.autograd.grad(self.loss(theta).sum(), theta)[0]

    def grad_hessian(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(K, P) gradients and (K, P, P) exact Hessians, symmetrized: ``torch.func.hessian`` (forward over
        reverse) of one start's loss, vmapped over the K starts. A loop of P double-backward passes gives the same
        matrices to 6e-17 in the same time (0.18 s against 0.19 s for K = 35, P = 94 on a quiet 2-core machine;
        ``benchmarks/hessian_speed.py``): the framework's version is kept because it says what it computes."""
        theta = theta.detach()

        def one(th: torch.Tensor) -> torch.Tensor:
            return self.loss(th[None])[0]

        g = torch.func.vmap(torch.func.grad(one))(theta)
        H = torch.func.vmap(torch.func.hessian(one))(theta)
        return g, (H + H.transpose(1, 2)) / 2


def find_critical_points(net: TanhNet, theta: torch.Tensor, iters: int, mu: float = 1e-2
                         ) -> tuple[torch.Tensor, np.ndarray]:
    """Minimize ||∇L(θ)||² from every start θ (K, P) by Levenberg-Marquardt on the residual r = ∇L, whose
    Jacobian is the Hessian H: δ = -(H² + μ I)⁻¹ H ∇L, computed in H's eigenbasis, accepted when it lowers
    ||∇L|| (then μ /= 4) and refused otherwise (μ *= 4), separately for each start. For μ -> 0 this is Newton's
    method, which converges to critical points of any index (Dauphin et al. 2014). Returns the points (K, P)
    and the history of ||∇L|| (iters + 1, K)."""
    theta = theta.detach().clone()
    mu_k = torch.full((len(theta),), mu, dtype=theta.dtype)
    g = net.grad(theta)
    gn = g.norm(dim=1)
    history = [gn.numpy().copy()]
    for _ in range(iters):
        g, H = net.grad_hessian(theta)
        lam, V = torch.linalg.eigh(H)  # (K, P), (K, P, P)
        coef = (V.transpose(1, 2) @ g[..., None]).squeeze(-1)  # g in the eigenbasis (K, P)
        step = -(V @ (lam / (lam ** 2 + mu_k[:, None]) * coef)[..., None]).squeeze(-1)
        trial = theta + step
        gn_trial = net.grad(trial).norm(dim=1)
        ok = gn_trial < gn
        theta = torch.where(ok[:, None], trial, theta)
        gn = torch.where(ok, gn_trial, gn)
        mu_k = torch.where(ok, mu_k / 4, mu_k * 4).clamp(1e-12, 1e6)
        history.append(gn.numpy().copy())
    return theta, np.asarray(history)


@dataclass(frozen=True)
class CriticalPoints:
    """Approximate critical points of the tanh net: one row per start (seed x snapshot)."""

    P: int
    start_loss: np.ndarray  # (K,)
    start_grad: np.ndarray  # (K,) ||∇L|| at the start
    loss: np.ndarray  # (K,) at the point found
    grad_norm: np.ndarray  # (K,) ||∇L|| at the point found
    index: np.ndarray  # (K,) fraction of eigenvalues below -1e-3 λ_max
    min_eig: np.ndarray  # (K,)
    max_eig: np.ndarray  # (K,)
    snapshot: np.ndarray  # (K,) Adam step of the start
    grad_history: np.ndarray  # (iters + 1, K)
    seconds: float

    def critical(self, rel: float = 1e-2) -> np.ndarray:
        """(K,) bool: ||∇L|| at most ``rel`` times the typical gradient at initialization (the median over the
        starts taken at step 0): an approximate critical point."""
        return self.grad_norm <= rel * np.median(self.start_grad[self.snapshot == 0])


@cached
def critical_points(critical: CriticalSearch) -> CriticalPoints:
    """Starts: every seed's Adam trajectory (lr 0.01, full batch) at the steps critical.snapshots, so the starts
    span the losses from chance level down; then :func:`find_critical_points` from all of them at once, and the
    exact Hessian at each point found."""
    clock = time.perf_counter()
    data = mnist1d()
    net = TanhNet(data.x_train[: critical.n, :: critical.stride], data.y_train[: critical.n], critical.hidden)
    theta = torch.stack([net.init(s) for s in critical.seeds])  # (S, P)
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    starts, snap = [], []
    for t in range(max(critical.snapshots) + 1):
        if t in critical.snapshots:
            starts.append(theta.clone())
            snap += [t] * len(theta)
        g = net.grad(theta)  # Adam, full batch, written out (the same update as torch.optim.Adam)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        theta = theta - 0.01 * (m / (1 - 0.9 ** (t + 1))) / ((v / (1 - 0.999 ** (t + 1))).sqrt() + 1e-8)
    start = torch.cat(starts)
    with torch.no_grad():
        start_loss = net.loss(start).numpy()
    start_grad = net.grad(start).norm(dim=1).numpy()
    points, hist = find_critical_points(net, start, critical.iters)
    g, H = net.grad_hessian(points)
    lam = torch.linalg.eigvalsh(H)  # (K, P) ascending
    index = np.array([ls.hessian_index(l, tol=1e-3 * float(l.abs().max())) for l in lam])  # 0.1 % of max |λ|
    with torch.no_grad():
        loss = net.loss(points).numpy()
    return CriticalPoints(net.P, start_loss, start_grad, loss, g.norm(dim=1).numpy(), index, lam[:, 0].numpy(),
                          lam[:, -1].numpy(), np.asarray(snap), hist, time.perf_counter() - clock)


# ------------------------------------------------------------------------------------------ spread over seeds


@dataclass(frozen=True)
class WidthSpread:
    """Final losses of the MLP 40-h-10 over seeds for each width h."""

    widths: np.ndarray  # (W,)
    n_params: np.ndarray  # (W,)
    train_loss: np.ndarray  # (W, S)
    test_loss: np.ndarray  # (W, S)
    test_error: np.ndarray  # (W, S)
    seconds: float


@cached
def width_spread(spread: SpreadRuns) -> WidthSpread:
    """Every width x seed trained together (width buckets of masked ensembles, :func:`.train_widths`), Adam with a
    constant learning rate for spread.steps steps of batch 128."""
    data = _data()
    tc = TrainConfig(steps=spread.steps, lr=spread.lr, batch_size=128, optimizer="adam", eval_every=spread.steps)
    sweep = train_widths(spread.factory(), spread.widths, spread.seeds, data.x_train, data.y_train, tc, data.x_test,
                         data.y_test)
    return WidthSpread(sweep.widths, sweep.n_params, sweep.final("train_loss"), sweep.final("test_loss"),
                       sweep.final("test_error"), sweep.seconds)


def spread(values: np.ndarray) -> np.ndarray:
    """(W,) the spread over seeds of (W, S) values: their standard deviation."""
    return np.asarray(values).std(1, ddof=1)


# ------------------------------------------------------------------------------------------ slices


@dataclass(frozen=True)
class Slices:
    """Losses along lines and planes through the minima (training loss on ``slices.n`` examples). Each A below
    counts the points of its own line: ``line_points`` (plus 0 and 1), ``slice_points``, ``grid_points``."""

    line_alphas: np.ndarray  # (A,) init -> solution: θ(α) = (1 - α) θ_0 + α θ*
    line_train: np.ndarray  # (A,)
    line_test: np.ndarray  # (A,)
    alphas: np.ndarray  # (A,) slice coordinates, in units of the filter-normalized direction
    slice_1d: dict[str, np.ndarray]  # run -> (A,) loss along θ* + α d (the same seed of d for every run)
    grid: np.ndarray  # (A,) 2-D coordinates per axis
    slice_2d: dict[str, np.ndarray]  # run -> (A, A) loss at θ* + α d1 + β d2
    seconds: float


@cached
def slices(net: Network, train: Training, slices: SliceGrid) -> Slices:
    """Goodfellow et al.'s line for the small-batch run of train.seeds[0]; Li et al.'s filter-normalized 1-D and 2-D
    slices around the small- and the large-batch solutions of that seed (directions drawn with slices.seed)."""
    clock = time.perf_counter()
    sol = train_solutions(net, train)
    data = _data()
    x, y = data.x_train[: slices.n], data.y_train[: slices.n]
    s = train.seeds[0]
    small = f"small batch, seed {s}"
    base = sol.model(small)
    alphas = np.union1d(np.linspace(-0.25, 1.25, slices.line_points), [0.0, 1.0])  # init and solution included
    line = ls.interpolate(ls.unflatten_params(sol.init[s], base), ls.unflatten_params(sol.theta[small], base), alphas)
    line_train = ls.batched_loss(base, F.cross_entropy, x, y, line)
    line_test = ls.batched_loss(base, F.cross_entropy, data.x_test, data.y_test, line)
    coords = np.linspace(-slices.radius, slices.radius, slices.slice_points)
    grid = np.linspace(-slices.radius, slices.radius, slices.grid_points)
    one, two = {}, {}
    for name in (small, f"large batch, seed {s}"):
        model = sol.model(name)
        d1 = ls.random_direction(model, seed=slices.seed)
        d2 = ls.random_direction(model, seed=slices.seed + 1)
        one[name] = ls.slice_1d(model, F.cross_entropy, x, y, d1, coords)
        two[name] = ls.slice_2d(model, F.cross_entropy, x, y, d1, d2, grid, grid)
    return Slices(alphas, line_train, line_test, coords, one, grid, two, time.perf_counter() - clock)


def slice_curvature(values: np.ndarray, alphas: np.ndarray, at: float = 0.5) -> float:
    """Mean rise of a 1-D slice (A,) at α = ±``at`` above its value at 0 (interpolated): how fast the loss grows."""
    center = np.interp(0.0, alphas, values)
    return float((np.interp(at, alphas, values) + np.interp(-at, alphas, values)) / 2 - center)


# ------------------------------------------------------------------------------------------ mode connectivity


def _stacked_metrics(base: nn.Module, stacked: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(A,) mean cross-entropy and error of the A networks stacked as name -> (A, *shape) (points along a path)."""
    loss, acc = Ensemble(base, stacked, {}).evaluate(x, y)
    return loss.double().numpy(), 1.0 - acc.double().numpy()


def train_bezier(base: nn.Module, a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], x: torch.Tensor,
                 y: torch.Tensor, steps: int, lr: float, ts_per_step: int = 4, batch_size: int = 128,
                 seed: int = 0) -> dict[str, torch.Tensor]:
    """The control point θ of the quadratic Bezier curve φ(t) = (1-t)² θ_a + 2t(1-t) θ + t² θ_b that minimizes
    E_{t ~ U(0,1)} L(φ(t)) (Garipov et al. 2018): Adam on θ from the midpoint (θ_a + θ_b)/2, each step on
    ``ts_per_step`` values of t (evaluated as one ensemble) and a minibatch of ``batch_size`` examples."""
    gen = generator(int(seed))
    ctrl = {n: ((a[n] + b[n]) / 2).clone().requires_grad_(True) for n in a}
    opt = torch.optim.Adam(list(ctrl.values()), lr=lr)
    for _ in range(steps):
        t = torch.rand(ts_per_step, generator=gen, dtype=torch.float64)
        idx = torch.randint(0, len(y), (batch_size,), generator=gen)
        c = [((1 - t) ** 2), 2 * t * (1 - t), t ** 2]
        stacked = {n: sum(ci.to(a[n]).reshape(-1, *([1] * a[n].dim())) * p
                          for ci, p in zip(c, (a[n], ctrl[n], b[n]))) for n in a}  # (A, *shape), A = ts_per_step
        logits = Ensemble(base, stacked, {}).forward(x[idx].to(a[next(iter(a))].device))  # (A, B, C)
        loss = F.cross_entropy(logits.flatten(0, 1), y[idx].repeat(ts_per_step))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {n: p.detach() for n, p in ctrl.items()}


@dataclass(frozen=True)
class ModeConnectivity:
    """Train and test loss and error along the straight segment and the trained Bezier curve between two
    independently trained networks (the small-batch runs of the two seeds)."""

    ts: np.ndarray  # (A,)
    line: dict[str, np.ndarray]  # metric ("train_loss", "train_error", "test_loss", "test_error") -> (A,)
    curve: dict[str, np.ndarray]
    distance: float  # ||θ_a - θ_b||
    control_offset: float  # ||θ - (θ_a + θ_b)/2||: how far the curve bends away from the segment
    seconds: float

    def barrier(self, path: str = "line", metric: str = "test_error") -> float:
        """Max of the metric along the path minus the mean of its values at the two ends."""
        v = getattr(self, path)[metric]
        return float(v.max() - (v[0] + v[-1]) / 2)


@cached
def mode_connectivity(net: Network, train: Training, paths: PathRuns) -> ModeConnectivity:
    """The segment and the trained Bezier curve between the small-batch solutions of the two seeds, each measured
    at paths.points values of t on all training and test examples."""
    clock = time.perf_counter()
    sol = train_solutions(net, train)
    data = _data()
    na, nb = (f"small batch, seed {s}" for s in train.seeds)
    base = sol.model(na)
    a, b = (ls.unflatten_params(sol.theta[n], base) for n in (na, nb))
    ctrl = train_bezier(base, a, b, data.x_train, data.y_train, paths.steps, paths.lr, paths.ts_per_step,
                        seed=paths.seed)
    ts = np.linspace(0.0, 1.0, paths.points)
    out = {}
    for path, stacked in (("line", ls.interpolate(a, b, ts)), ("curve", ls.bezier_point(a, ctrl, b, ts))):
        tr = _stacked_metrics(base, stacked, data.x_train, data.y_train)
        te = _stacked_metrics(base, stacked, data.x_test, data.y_test)
        out[path] = {"train_loss": tr[0], "train_error": tr[1], "test_loss": te[0], "test_error": te[1]}
    mid = (sol.theta[na] + sol.theta[nb]) / 2
    return ModeConnectivity(ts, out["line"], out["curve"], float((sol.theta[na] - sol.theta[nb]).norm()),
                            float((ls.flat_params(ctrl) - mid).norm()), time.perf_counter() - clock)


# ------------------------------------------------------------------------------------------ deep plain MLP


def deep_init(deep: Deep, gain: float, seed: int) -> nn.Module:
    """The plain ReLU MLP 40 -> width (x depth) -> 10 of ``deep`` with weights N(0, gain / fan_in) and zero
    biases: gain 2 is He et al.'s initialization, which keeps the activations' scale through ReLU layers; a larger
    gain grows it by √(gain / 2) per layer."""
    net = build(deep.factory(), seed)
    gen = generator(int(seed))
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Linear):
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) * math.sqrt(gain / layer.in_features))
                layer.bias.zero_()
    return net


def layer_grad_norms(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """(L,) the norm of the loss gradient with respect to each Linear layer's weight, input side first."""
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    norms = [float(m.weight.grad.norm()) for m in net if isinstance(m, nn.Linear)]
    net.zero_grad()
    return np.asarray(norms)


@dataclass(frozen=True)
class DeepBlowup:
    """The deep plain MLP for each initialization gain and seed."""

    gains: np.ndarray  # (V,)
    seeds: np.ndarray  # (S,)
    grad_norms: np.ndarray  # (V, S, L) at initialization, input layer first (L = depth + 1 weight matrices)
    step: np.ndarray  # (E,)
    train_loss: np.ndarray  # (V, S, E), NaN where the loss overflowed
    train_acc: np.ndarray  # (V, S, E)
    seconds: float


@cached
def deep_blowup(deep: Deep) -> DeepBlowup:
    """Per-layer gradient norms at init on the whole training set; then deep.steps steps of plain SGD (constant
    learning rate deep.lr, batch 128) for every gain x seed, all in one ensemble."""
    clock = time.perf_counter()
    data = _data()
    nets = [[deep_init(deep, g, s) for s in deep.seeds] for g in deep.gains]
    norms = np.array([[layer_grad_norms(n, data.x_train, data.y_train) for n in row] for row in nets])
    flat = [n for row in nets for n in row]
    params, _ = torch.func.stack_module_state(flat)
    ens = Ensemble(flat[0], {k: v.detach().clone() for k, v in params.items()}, {})
    seeds = [s for _ in deep.gains for s in deep.seeds]
    tc = TrainConfig(steps=deep.steps, lr=deep.lr, batch_size=128, eval_every=max(1, deep.steps // 30))
    with np.errstate(all="ignore"):
        _, hist = train_ensemble(deep.factory(), seeds, data.x_train, data.y_train, tc, ensemble=ens,
                                 desc="deep MLPs")
    V, S = len(deep.gains), len(deep.seeds)
    loss = np.where(np.isfinite(hist.train_loss), hist.train_loss, np.nan).reshape(V, S, -1)
    return DeepBlowup(np.asarray(deep.gains), np.asarray(deep.seeds), norms, hist.step, loss,
                      hist.train_acc.reshape(V, S, -1), time.perf_counter() - clock)


# ------------------------------------------------------------------------------------------ the papers' numbers

# What the papers report, for the "paper vs this run" table.
PAPERS = {
    "garipov_line": 0.90,  # Garipov et al. 2018, VGG-16 on CIFAR-10: max test error on the straight segment
    "garipov_curve": 0.0701,  # ... and on the trained quadratic Bezier curve (endpoints about 6.9 %)
    "draxler_rise": 0.005,  # Draxler et al. 2018: test error rises by at most 0.5 % at the saddle of the best path
    "sagun_outliers": "≈ number of classes (10 for MNIST)",  # Sagun et al. 2017
    "dauphin": "index grows monotonically with the error; low-error critical points have index ≈ 0",
    "choromanska": "the spread of test losses shrinks as the hidden layer grows (25 -> 500 units)",
    "goodfellow": "loss decreases monotonically along the line from init to solution",
}
