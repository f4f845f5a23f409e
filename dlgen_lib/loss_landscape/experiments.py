"""Chapter 2, non-convexity and the loss landscape:
the experiments -- sizes by scale, the cached runs and their results.

The package docstring (:mod:`dlgen_lib.loss_landscape`) maps them; the figures are in :mod:`.figures`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import landscape as ls
from ..cache import cached
from ..config import (
    Check,
    CheckedConfig,
    Integer,
    Real,
    TupleOf,
    generator,
    positive_int,
    positive_real,
    scaled,
    seed_int,
    seed_tuple,
)
from ..data import mnist1d
from ..models import MLP, build
from ..sweeps import train_widths
from ..train import Ensemble, TrainConfig, train_ensemble

__all__ = [
    "LossLandscapeConfig",
    "loss_landscape_config",
    "mlp",
    "Solutions",
    "sgd_config",
    "train_solutions",
    "Spectrum",
    "spectrum",
    "hessian_spectra",
    "TanhNet",
    "find_critical_points",
    "CriticalPoints",
    "critical_points",
    "WidthSpread",
    "width_spread",
    "spread",
    "Slices",
    "slices",
    "sharpness",
    "train_bezier",
    "ModeConnectivity",
    "mode_connectivity",
    "deep_init",
    "layer_grad_norms",
    "DeepBlowup",
    "deep_blowup",
    "PAPERS",
]

@dataclass(frozen=True)
class LossLandscapeConfig(CheckedConfig):
    """Sizes of chapter 2's experiments. Every field is checked when a config is made (``RULES``, ``CHECKS``): a
    value out of range is a :class:`~dlgen_lib.config.ConfigError` naming it."""

    # the MLP 40-h-h-10 on MNIST-1D (4 000 / 1 000), SGD with momentum: small and large batches, two seeds
    width: int = 32  # h
    steps: int = 3000
    lr: float = 0.05
    momentum: float = 0.9
    small_batch: int = 32
    large_batch: int = 1000
    seeds: tuple[int, int] = (0, 1)
    # Hessian spectra (on the first hessian_n training examples)
    hessian_n: int = 1000
    top_k: int = 20  # Lanczos eigenvalues reported
    lanczos_iters: int = 60
    slq_iters: int = 60
    slq_probes: int = 3
    trace_samples: int = 20  # Hutchinson probes
    # critical points: tanh MLP d-h-10 on n examples (inputs: every stride-th of the 40 samples)
    cp_n: int = 200
    cp_stride: int = 4
    cp_hidden: int = 4
    cp_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    cp_snapshots: tuple[int, ...] = (0, 10, 30, 100, 300, 1000, 3000)  # Adam steps at which the starts are taken
    cp_iters: int = 30  # Levenberg-Marquardt iterations on ||∇L||²
    # spread of final losses over seeds, MLP 40-h-10, Adam
    spread_widths: tuple[int, ...] = (4, 8, 16, 32, 64, 128)
    spread_seeds: tuple[int, ...] = tuple(range(24))  # a std over 8 seeds is +-27 %: the width ratio was noise
    spread_steps: int = 1500
    spread_lr: float = 1e-2
    # slices and paths (losses on slice_n training and all test examples)
    slice_n: int = 1000
    line_points: int = 31  # init -> solution, alpha in [-0.25, 1.25] (0 and 1 always among them)
    slice_points: int = 41  # 1-D, alpha in [-radius, radius]
    grid_points: int = 25  # 2-D, per axis
    radius: float = 1.0
    path_points: int = 41  # t in [0, 1] on the segment and the curve
    bezier_steps: int = 1000
    bezier_lr: float = 0.02
    bezier_ts: int = 4  # values of t drawn per step
    # deep plain ReLU MLP: depth hidden layers of deep_width units
    deep_depth: int = 12
    deep_width: int = 64
    deep_gains: tuple[float, ...] = (2.0, 4.0)  # σ_w²: weights N(0, σ_w² / fan_in); 2 = He, the careful one
    deep_steps: int = 1000
    deep_lr: float = 0.02
    deep_seeds: tuple[int, ...] = (0, 1, 2)
    seed: int = 0

    RULES = {  # MNIST-1D: 4 000 training examples (40 samples each), 1 000 test examples
        "width": positive_int(),
        "steps": positive_int(),
        "lr": positive_real(),
        "momentum": Real(0.0, 1.0, hi_open=True, note="heavy-ball momentum"),
        "small_batch": positive_int(4000, "MNIST-1D has 4 000 training examples"),
        "large_batch": positive_int(4000, "MNIST-1D has 4 000 training examples; 4 000 is full batch"),
        "seeds": TupleOf(seed_int(), min_len=2, max_len=2, distinct=True,
                         note="mode connectivity joins the small-batch solutions of the two seeds"),
        "hessian_n": positive_int(4000, "the first hessian_n of MNIST-1D's 4 000 training examples"),
        "top_k": positive_int(),
        "lanczos_iters": positive_int(),
        "slq_iters": positive_int(),
        "slq_probes": positive_int(),
        "trace_samples": Integer(2, None, "Hutchinson probes; two at least for a standard error"),
        "cp_n": positive_int(4000, "the first cp_n of MNIST-1D's 4 000 training examples"),
        "cp_stride": positive_int(40, "every cp_stride-th of the 40 samples of a signal"),
        "cp_hidden": positive_int(),
        "cp_seeds": seed_tuple(),
        "cp_snapshots": TupleOf(Integer(0, None), distinct=True, contains=(0,),
                                note="Adam steps; the starts at step 0 set the scale of a critical gradient"),
        "cp_iters": positive_int(),
        "spread_widths": TupleOf(positive_int(), distinct=True),
        "spread_seeds": seed_tuple(),
        "spread_steps": positive_int(),
        "spread_lr": positive_real(),
        "slice_n": positive_int(4000, "the first slice_n of MNIST-1D's 4 000 training examples"),
        "line_points": Integer(2, None, "points on the line from the initialization to the solution"),
        "slice_points": Integer(2, None, "points of a 1-D slice"),
        "grid_points": Integer(2, None, "points per axis of a 2-D slice"),
        "radius": positive_real("half-width of the slices"),
        "path_points": Integer(2, None, "points on the segment and the curve, t in [0, 1]"),
        "bezier_steps": positive_int(),
        "bezier_lr": positive_real(),
        "bezier_ts": positive_int(),
        "deep_depth": positive_int(),
        "deep_width": positive_int(),
        "deep_gains": TupleOf(positive_real(), distinct=True, note="σ_w², the variance of the weights times fan-in"),
        "deep_steps": positive_int(),
        "deep_lr": positive_real(),
        "deep_seeds": seed_tuple(),
        "seed": seed_int(),
    }
    CHECKS = (
        Check(("small_batch", "large_batch"), lambda c: c.small_batch < c.large_batch,
              "the small batch must be smaller than the large one"),
        Check(("top_k", "lanczos_iters"), lambda c: c.top_k <= c.lanczos_iters,
              "top_k must not exceed lanczos_iters (Lanczos finds at most as many eigenvalues as it takes steps)"),
    )


def loss_landscape_config(scale: str | None = None, **overrides) -> LossLandscapeConfig:
    """The config for the scale (``$DLGEN_SCALE`` by default); keyword arguments override single fields."""
    return scaled(
        tiny=LossLandscapeConfig(width=16, steps=400, hessian_n=300, top_k=12, lanczos_iters=30, slq_iters=30,
                                 slq_probes=1, trace_samples=8, cp_n=100, cp_seeds=(0, 1), cp_snapshots=(0, 30, 300),
                                 cp_iters=15, spread_widths=(4, 16, 64), spread_seeds=(0, 1, 2, 3), spread_steps=300,
                                 slice_n=300, line_points=11, slice_points=11, grid_points=7, path_points=11,
                                 bezier_steps=150, deep_depth=8, deep_steps=200, deep_seeds=(0,)),
        small=LossLandscapeConfig(),
        full=LossLandscapeConfig(width=128, steps=10_000, hessian_n=4000, top_k=40, lanczos_iters=150,
                                 slq_iters=120, slq_probes=5, trace_samples=100, cp_seeds=tuple(range(12)),
                                 cp_snapshots=(0, 10, 30, 100, 300, 1000, 3000), cp_iters=60,
                                 spread_widths=(4, 8, 16, 32, 64, 128, 256, 512), spread_seeds=tuple(range(16)),
                                 spread_steps=5000, slice_n=4000, grid_points=51, path_points=61, bezier_steps=5000,
                                 deep_depth=20, deep_steps=5000, deep_seeds=(0, 1, 2, 3, 4)),
        scale=scale, overrides=overrides)


def mlp(width: int, depth: int = 2) -> MLP:
    """The chapter's network: 40 -> h -> ... -> h -> 10 (``depth`` hidden layers) with ReLU."""
    return MLP(40, [width] * depth, 10)


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

    width: int
    theta: dict[str, torch.Tensor]  # name -> (P,)
    init: dict[int, torch.Tensor]  # seed -> (P,)
    step: np.ndarray  # (E,)
    train_loss: dict[str, np.ndarray]  # name -> (E,)
    test_acc: dict[str, np.ndarray]  # name -> (E,)
    seconds: float

    def model(self, name: str) -> nn.Module:
        """A stand-alone network with the parameters of run ``name`` (or of ``init`` for "init, seed s")."""
        net = mlp(self.width)
        if name.startswith("init"):
            ls.set_flat_params(net, self.init[int(name.rsplit(" ", 1)[-1])])
        else:
            ls.set_flat_params(net, self.theta[name])
        return net


def sgd_config(cfg: LossLandscapeConfig, batch_size: int) -> TrainConfig:
    """SGD with heavy-ball momentum, constant learning rate: the same for both batch sizes."""
    return TrainConfig(steps=cfg.steps, lr=cfg.lr, batch_size=batch_size, optimizer="sgd", momentum=cfg.momentum,
                       eval_every=max(1, cfg.steps // 20))


@cached
def train_solutions(cfg: LossLandscapeConfig) -> Solutions:
    """Both seeds with small batches (one ensemble) and with large batches (another), cfg.steps SGD steps each."""
    clock = time.perf_counter()
    data = _data()
    factory = lambda: mlp(cfg.width)  # noqa: E731
    init = {s: ls.flat_params(build(factory, s)) for s in cfg.seeds}
    theta, train_loss, test_acc, step = {}, {}, {}, None
    for label, batch in (("small", cfg.small_batch), ("large", cfg.large_batch)):
        ens, hist = train_ensemble(factory, list(cfg.seeds), data.x_train, data.y_train, sgd_config(cfg, batch),
                                   data.x_test, data.y_test, desc=f"{label} batches")
        step = hist.step
        for k, s in enumerate(cfg.seeds):
            name = f"{label} batch, seed {s}"
            theta[name] = ls.flat_params(ens.model(k)).cpu()
            train_loss[name], test_acc[name] = hist.train_loss[k], hist.test_acc[k]
    return Solutions(cfg.width, theta, {s: v.cpu() for s, v in init.items()}, step, train_loss, test_acc,
                     time.perf_counter() - clock)


# ------------------------------------------------------------------------------------------ Hessian spectra


@dataclass(frozen=True)
class Spectrum:
    """The Hessian of the training loss (on hessian_n examples) at one point."""

    P: int
    loss: float
    top: np.ndarray  # (k,) largest eigenvalues (Lanczos), descending
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



def spectrum(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: LossLandscapeConfig, seed: int = 0) -> Spectrum:
    """Lanczos top-k and bottom eigenvalue, SLQ density and Hutchinson trace of the Hessian of the mean
    cross-entropy of ``model`` on (x, y)."""
    clock = time.perf_counter()
    op = ls.HVP(model, F.cross_entropy, x, y)
    top = ls.lanczos_top_eigs(op, op.P, k=cfg.top_k, iters=cfg.lanczos_iters, seed=seed).numpy()
    bottom = float(ls.lanczos_top_eigs(op, op.P, k=1, iters=cfg.lanczos_iters, seed=seed + 1, which="smallest")[0])
    trace, se = ls.hutchinson_trace(op, op.P, samples=cfg.trace_samples, seed=seed + 2)
    density = ls.spectral_density(op, op.P, iters=cfg.slq_iters, probes=cfg.slq_probes, seed=seed + 3)
    return Spectrum(op.P, float(op.loss()), top, bottom, trace, se, density, time.perf_counter() - clock)


@cached
def hessian_spectra(cfg: LossLandscapeConfig) -> dict[str, Spectrum]:
    """{"init": ..., "minimum, seed s": ...}: the Hessian on the first cfg.hessian_n training examples at the
    initialization of cfg.seeds[0] and at the large-batch solutions of every seed (trained longest per example,
    the closest to a minimum)."""
    sol = train_solutions(cfg)
    data = _data()
    x, y = data.x_train[: cfg.hessian_n], data.y_train[: cfg.hessian_n]
    out = {"init": spectrum(sol.model(f"init, seed {cfg.seeds[0]}"), x, y, cfg, seed=cfg.seed)}
    for s in cfg.seeds:
        out[f"minimum, seed {s}"] = spectrum(sol.model(f"large batch, seed {s}"), x, y, cfg, seed=cfg.seed)
    return out


# ------------------------------------------------------------------------------------------ critical points


class TanhNet:
    """The small smooth network of the critical-point search, f(x; θ) = W2 tanh(W1 x + b1) + b2, written for K
    parameter vectors at once: θ (K, P), P = h d + h + C h + C. The loss is the mean cross-entropy on (x, y)."""

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
        """(K, P) gradients and (K, P, P) exact Hessians (P double-backward passes for all K at once)."""
        theta = theta.detach().requires_grad_(True)
        g = torch.autograd.grad(self.loss(theta).sum(), theta, create_graph=True)[0]
        H = torch.stack([torch.autograd.grad(g[:, i].sum(), theta, retain_graph=True)[0] for i in range(self.P)], 1)
        return g.detach(), (H + H.transpose(1, 2)) / 2


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
def critical_points(cfg: LossLandscapeConfig) -> CriticalPoints:
    """Starts: every seed's Adam trajectory (lr 0.01, full batch) at the steps cfg.cp_snapshots, so the starts
    span the losses from chance level down; then :func:`find_critical_points` from all of them at once, and the
    exact Hessian at each point found."""
    clock = time.perf_counter()
    data = mnist1d()
    net = TanhNet(data.x_train[: cfg.cp_n, :: cfg.cp_stride], data.y_train[: cfg.cp_n], cfg.cp_hidden)
    theta = torch.stack([net.init(s) for s in cfg.cp_seeds])  # (S, P)
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    starts, snap = [], []
    for t in range(max(cfg.cp_snapshots) + 1):
        if t in cfg.cp_snapshots:
            starts.append(theta.clone())
            snap += [t] * len(theta)
        g = net.grad(theta)  # Adam, full batch, written out (the same update as torch.optim.Adam)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        theta = theta - 0.01 * (m / (1 - 0.9 ** (t + 1))) / ((v / (1 - 0.999 ** (t + 1))).sqrt() + 1e-8)
    start = torch.cat(starts)
    with torch.no_grad():
        start_loss = net.loss(start).numpy()
    start_grad = net.grad(start).norm(dim=1).numpy()
    points, hist = find_critical_points(net, start, cfg.cp_iters)
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
def width_spread(cfg: LossLandscapeConfig) -> WidthSpread:
    """Every width x seed trained together (width buckets of masked ensembles, :func:`.train_widths`), Adam with a
    constant learning rate for cfg.spread_steps steps of batch 128."""
    data = _data()
    tc = TrainConfig(steps=cfg.spread_steps, lr=cfg.spread_lr, batch_size=128, optimizer="adam",
                     eval_every=cfg.spread_steps)
    sweep = train_widths(lambda w: mlp(w, depth=1), cfg.spread_widths, cfg.spread_seeds, data.x_train, data.y_train,
                         tc, data.x_test, data.y_test)
    return WidthSpread(sweep.widths, sweep.n_params, sweep.final("train_loss"), sweep.final("test_loss"),
                       sweep.final("test_error"), sweep.seconds)


def spread(values: np.ndarray) -> np.ndarray:
    """(W,) the spread over seeds of (W, S) values: their standard deviation."""
    return np.asarray(values).std(1, ddof=1)


# ------------------------------------------------------------------------------------------ slices


@dataclass(frozen=True)
class Slices:
    """Losses along lines and planes through the minima (training loss on slice_n examples)."""

    line_alphas: np.ndarray  # (A,) init -> solution: θ(α) = (1 - α) θ_0 + α θ*
    line_train: np.ndarray  # (A,)
    line_test: np.ndarray  # (A,)
    alphas: np.ndarray  # (G,) slice coordinates, in units of the filter-normalized direction
    slice_1d: dict[str, np.ndarray]  # run -> (G,) loss along θ* + α d (the same seed of d for every run)
    grid: np.ndarray  # (M,) 2-D coordinates per axis
    slice_2d: dict[str, np.ndarray]  # run -> (M, M) loss at θ* + α d1 + β d2
    seconds: float


@cached
def slices(cfg: LossLandscapeConfig) -> Slices:
    """Goodfellow et al.'s line for the small-batch run of cfg.seeds[0]; Li et al.'s filter-normalized 1-D and 2-D
    slices around the small- and the large-batch solutions of that seed (directions drawn with cfg.seed)."""
    clock = time.perf_counter()
    sol = train_solutions(cfg)
    data = _data()
    x, y = data.x_train[: cfg.slice_n], data.y_train[: cfg.slice_n]
    s = cfg.seeds[0]
    small = f"small batch, seed {s}"
    net = sol.model(small)
    alphas = np.union1d(np.linspace(-0.25, 1.25, cfg.line_points), [0.0, 1.0])  # init and solution included
    line = ls.interpolate(ls.unflatten_params(sol.init[s], net), ls.unflatten_params(sol.theta[small], net), alphas)
    line_train = ls.batched_loss(net, F.cross_entropy, x, y, line)
    line_test = ls.batched_loss(net, F.cross_entropy, data.x_test, data.y_test, line)
    coords = np.linspace(-cfg.radius, cfg.radius, cfg.slice_points)
    grid = np.linspace(-cfg.radius, cfg.radius, cfg.grid_points)
    one, two = {}, {}
    for name in (small, f"large batch, seed {s}"):
        model = sol.model(name)
        d1 = ls.random_direction(model, seed=cfg.seed)
        d2 = ls.random_direction(model, seed=cfg.seed + 1)
        one[name] = ls.slice_1d(model, F.cross_entropy, x, y, d1, coords)
        two[name] = ls.slice_2d(model, F.cross_entropy, x, y, d1, d2, grid, grid)
    return Slices(alphas, line_train, line_test, coords, one, grid, two, time.perf_counter() - clock)


def sharpness(values: np.ndarray, alphas: np.ndarray, at: float = 0.5) -> float:
    """Mean rise of a 1-D slice at α = ±``at`` above its value at 0 (interpolated): how fast the loss grows."""
    center = np.interp(0.0, alphas, values)
    return float((np.interp(at, alphas, values) + np.interp(-at, alphas, values)) / 2 - center)


# ------------------------------------------------------------------------------------------ mode connectivity


def _stacked_metrics(base: nn.Module, stacked: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(T,) mean cross-entropy and error of the T networks stacked as name -> (T, *shape)."""
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
                          for ci, p in zip(c, (a[n], ctrl[n], b[n]))) for n in a}  # (T, *shape)
        logits = Ensemble(base, stacked, {}).forward(x[idx].to(a[next(iter(a))].device))  # (T, B, C)
        loss = F.cross_entropy(logits.flatten(0, 1), y[idx].repeat(ts_per_step))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {n: p.detach() for n, p in ctrl.items()}


@dataclass(frozen=True)
class ModeConnectivity:
    """Train and test loss and error along the straight segment and the trained Bezier curve between two
    independently trained networks (the small-batch runs of the two seeds)."""

    ts: np.ndarray  # (T,)
    line: dict[str, np.ndarray]  # metric ("train_loss", "train_error", "test_loss", "test_error") -> (T,)
    curve: dict[str, np.ndarray]
    distance: float  # ||θ_a - θ_b||
    control_offset: float  # ||θ - (θ_a + θ_b)/2||: how far the curve bends away from the segment
    seconds: float

    def barrier(self, path: str = "line", metric: str = "test_error") -> float:
        """Max of the metric along the path minus the mean of its values at the two ends."""
        v = getattr(self, path)[metric]
        return float(v.max() - (v[0] + v[-1]) / 2)


@cached
def mode_connectivity(cfg: LossLandscapeConfig) -> ModeConnectivity:
    clock = time.perf_counter()
    sol = train_solutions(cfg)
    data = _data()
    na, nb = (f"small batch, seed {s}" for s in cfg.seeds)
    base = sol.model(na)
    a, b = (ls.unflatten_params(sol.theta[n], base) for n in (na, nb))
    ctrl = train_bezier(base, a, b, data.x_train, data.y_train, cfg.bezier_steps, cfg.bezier_lr, cfg.bezier_ts,
                        seed=cfg.seed)
    ts = np.linspace(0.0, 1.0, cfg.path_points)
    out = {}
    for path, stacked in (("line", ls.interpolate(a, b, ts)), ("curve", ls.bezier_point(a, ctrl, b, ts))):
        tr = _stacked_metrics(base, stacked, data.x_train, data.y_train)
        te = _stacked_metrics(base, stacked, data.x_test, data.y_test)
        out[path] = {"train_loss": tr[0], "train_error": tr[1], "test_loss": te[0], "test_error": te[1]}
    mid = (sol.theta[na] + sol.theta[nb]) / 2
    return ModeConnectivity(ts, out["line"], out["curve"], float((sol.theta[na] - sol.theta[nb]).norm()),
                            float((ls.flat_params(ctrl) - mid).norm()), time.perf_counter() - clock)


# ------------------------------------------------------------------------------------------ deep plain MLP


def deep_init(depth: int, width: int, gain: float, seed: int) -> nn.Module:
    """The plain ReLU MLP 40 -> width (x depth) -> 10 with weights N(0, gain / fan_in) and zero biases: gain 2 is
    He et al.'s initialization, which keeps the activations' scale through ReLU layers; a larger gain grows it by
    √(gain / 2) per layer."""
    net = build(lambda: mlp(width, depth), seed)
    gen = generator(int(seed))
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Linear):
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) * math.sqrt(gain / layer.in_features))
                layer.bias.zero_()
    return net


def layer_grad_norms(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """(layers,) the norm of the loss gradient with respect to each Linear layer's weight, input side first."""
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    norms = [float(m.weight.grad.norm()) for m in net if isinstance(m, nn.Linear)]
    net.zero_grad()
    return np.asarray(norms)


@dataclass(frozen=True)
class DeepBlowup:
    """The deep plain MLP for each initialization gain and seed."""

    gains: np.ndarray  # (G,)
    seeds: np.ndarray  # (S,)
    grad_norms: np.ndarray  # (G, S, layers) at initialization, input layer first
    step: np.ndarray  # (E,)
    train_loss: np.ndarray  # (G, S, E), NaN where the loss overflowed
    train_acc: np.ndarray  # (G, S, E)
    seconds: float


@cached
def deep_blowup(cfg: LossLandscapeConfig) -> DeepBlowup:
    """Per-layer gradient norms at init on the whole training set; then cfg.deep_steps steps of plain SGD (constant
    learning rate cfg.deep_lr, batch 128) for every gain x seed, all in one ensemble."""
    clock = time.perf_counter()
    data = _data()
    nets = [[deep_init(cfg.deep_depth, cfg.deep_width, g, s) for s in cfg.deep_seeds] for g in cfg.deep_gains]
    norms = np.array([[layer_grad_norms(n, data.x_train, data.y_train) for n in row] for row in nets])
    flat = [n for row in nets for n in row]
    params, _ = torch.func.stack_module_state(flat)
    ens = Ensemble(flat[0], {k: v.detach().clone() for k, v in params.items()}, {})
    seeds = [s for _ in cfg.deep_gains for s in cfg.deep_seeds]
    tc = TrainConfig(steps=cfg.deep_steps, lr=cfg.deep_lr, batch_size=128, eval_every=max(1, cfg.deep_steps // 30))
    with np.errstate(all="ignore"):
        _, hist = train_ensemble(lambda: mlp(cfg.deep_width, cfg.deep_depth), seeds, data.x_train, data.y_train, tc,
                                 ensemble=ens, desc="deep MLPs")
    G, S = len(cfg.deep_gains), len(cfg.deep_seeds)
    loss = np.where(np.isfinite(hist.train_loss), hist.train_loss, np.nan).reshape(G, S, -1)
    return DeepBlowup(np.asarray(cfg.deep_gains), np.asarray(cfg.deep_seeds), norms, hist.step, loss,
                      hist.train_acc.reshape(G, S, -1), time.perf_counter() - clock)


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
