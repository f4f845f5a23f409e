"""Chapter 8's experiments: depth, order and chaos in deep random networks, and what they mean for training.

Four experiments, each one call that returns plain numpy results and is cached on disk under the parts of
:class:`DepthChaosConfig` it reads:

* :func:`phase_diagram` (``phase``) -- pairs of inputs and a small perturbation pushed through random deep tanh
  networks over a grid of (σ_w², σ_b²): the measured length q, correlation c and per-layer stretch χ₁, beside the
  mean-field recursions of :mod:`dlgen_lib.meanfield`;
* :func:`circle_length` (``circle``) -- a circle of inputs mapped through random networks in the ordered, critical
  and chaotic phases: the length of its image layer by layer;
* :func:`gradient_norms` (``gradients``) -- backpropagated gradient norms per layer of deep tanh and ReLU networks
  at initialization, beside χ₁ per layer;
* :func:`trainability` (``training``) -- deep tanh MLPs of many depths and initialization scales trained on
  MNIST-1D, one ensemble per depth (every σ_w² at once), beside the depth scale ξ_c;
* :func:`robustness` (``robustness``) -- ReLU MLPs of several depths and widths trained on MNIST-1D and attacked
  with FGSM and PGD (:mod:`dlgen_lib.adversarial`) at checkpoints along training: robust against clean accuracy
  and parameter count (:func:`robustness_fit`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ... import meanfield as mf
from ...adversarial import robust_accuracy
from ...cache import cached
from ...config import (
    Check,
    CheckedConfig,
    Integer,
    OneOf,
    Real,
    TupleOf,
    generator,
    get_device,
    part,
    positive_int,
    positive_real,
    progress,
    seed_int,
    seed_tuple,
)
from ...data import mnist1d
from ...models import MLP, param_count
from ...train import Ensemble, TrainConfig, train_ensemble

__all__ = ["PAPERS", "Circle", "CircleResult", "DepthChaosConfig", "Gradients", "GradientResult", "Phase",
           "PhaseResult", "Robustness", "RobustnessFit", "RobustnessResult", "Training", "TrainabilityResult",
           "TanhMLP", "circle_length", "gradient_norms", "init_scaled", "phase_diagram", "robustness",
           "robustness_fit", "trainability"]

# The papers' numbers this chapter is set beside.
PAPERS = {
    "critical_sw2_at_0.05": 1.76,  # Poole et al. 2016 / Schoenholz et al. 2017: tanh, σ_b² = 0.05 (their figures)
    "trainable_depth_in_xi": 6.0,  # Schoenholz et al. 2017: networks train up to about 6 ξ_c
    "relu_critical_sw2": 2.0,  # He et al. 2015: ReLU preserves the signal at σ_w² = 2
    # Cubuk et al. 2017 (qualitative): over thousands of architectures, the size of a model does not correlate
    # with its adversarial robustness; its clean accuracy does, strongly.
}

_variance = positive_real("a variance (times fan-in for weights)")
_sw2_grid = TupleOf(Real(0.0, 20.0, lo_open=True), min_len=3, distinct=True, note="σ_w² values, increasing")


def _increasing(values) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))


@dataclass(frozen=True)
class Phase(CheckedConfig):
    """:func:`phase_diagram`: random tanh networks over a grid of weight and bias variances."""

    width: int = 500  # N units per layer
    depth: int = 30  # L layers
    sigma_w2: tuple[float, ...] = (1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5, 4.0)
    sigma_b2: tuple[float, ...] = (0.01, 0.05, 0.1, 0.3)
    q0: float = 1.0  # length of both inputs (pre-activations of the first layer)
    c0: float = 0.6  # their correlation
    burn_in: int = 6  # layers left out before χ₁ is measured (q has reached q* by then)
    tangents: int = 16  # tangent vectors pushed through each network (their stretches are averaged)
    repeats: int = 2  # random networks per grid point
    seed: int = 0

    RULES = {
        "width": Integer(10, 4096, "units per layer"),
        "depth": Integer(2, 500),
        "sigma_w2": _sw2_grid,
        "sigma_b2": TupleOf(Real(0.0, 5.0, lo_open=True), distinct=True, note="σ_b² values (> 0)"),
        "q0": _variance,
        "c0": Real(-1.0, 1.0, hi_open=True, note="a correlation below 1"),
        "burn_in": Integer(0, 499),
        "tangents": positive_int(512),
        "repeats": positive_int(),
        "seed": seed_int(),
    }
    CHECKS = (
        Check(("sigma_w2",), lambda c: _increasing(c.sigma_w2), "sigma_w2 must be increasing"),
        Check(("burn_in", "depth"), lambda c: c.burn_in < c.depth - 1,
              "burn_in must leave at least two layers of depth to measure χ₁ on"),
    )
    PRESETS = {"tiny": dict(width=100, depth=10, sigma_w2=(1.0, 1.76, 3.0), sigma_b2=(0.05,), burn_in=3,
                            repeats=1),
               "full": dict(width=2000, depth=50, repeats=4,
                            sigma_w2=tuple(float(v) for v in np.round(np.arange(0.5, 4.01, 0.125), 3)),
                            sigma_b2=(0.01, 0.03, 0.05, 0.1, 0.2, 0.3))}


@dataclass(frozen=True)
class Circle(CheckedConfig):
    """:func:`circle_length`: a great circle of inputs through random tanh networks (Poole et al.'s Fig. 2)."""

    width: int = 500
    depth: int = 12
    points: int = 1000  # points along the circle (the length is the sum of the chords between them)
    sigma_w2: tuple[float, ...] = (1.0, 1.76, 4.0)  # ordered, near critical, chaotic
    sigma_b2: float = 0.05
    repeats: int = 2
    seed: int = 1

    RULES = {
        "width": Integer(10, 4096),
        "depth": Integer(1, 100),
        "points": Integer(16, 100_000),
        "sigma_w2": _sw2_grid,
        "sigma_b2": Real(0.0, 5.0, lo_open=True),
        "repeats": positive_int(),
        "seed": seed_int(),
    }
    CHECKS = (Check(("sigma_w2",), lambda c: _increasing(c.sigma_w2), "sigma_w2 must be increasing"),)
    PRESETS = {"tiny": dict(width=100, depth=6, points=200, repeats=1),
               "full": dict(width=2000, depth=20, points=4000, repeats=4)}


@dataclass(frozen=True)
class Gradients(CheckedConfig):
    """:func:`gradient_norms`: per-layer gradient norms of deep networks at initialization."""

    width: int = 400
    depth: int = 30
    tanh_sigma_w2: tuple[float, ...] = (1.0, 1.76, 4.0)
    relu_sigma_w2: tuple[float, ...] = (1.0, 2.0, 2.5)  # PyTorch's default is about 1/3; He's is 2
    sigma_b2: float = 0.05  # tanh only (ReLU's critical point has no bias)
    batch: int = 64  # MNIST-1D inputs the loss is averaged over
    repeats: int = 4
    seed: int = 2

    RULES = {
        "width": Integer(10, 4096),
        "depth": Integer(4, 500),
        "tanh_sigma_w2": _sw2_grid,
        "relu_sigma_w2": _sw2_grid,
        "sigma_b2": Real(0.0, 5.0, lo_open=True),
        "batch": positive_int(4000),
        "repeats": positive_int(),
        "seed": seed_int(),
    }
    PRESETS = {"tiny": dict(width=64, depth=10, batch=16, repeats=1),
               "full": dict(width=1000, depth=60, batch=256, repeats=4)}


@dataclass(frozen=True)
class Training(CheckedConfig):
    """:func:`trainability`: deep tanh MLPs on MNIST-1D over (depth, σ_w²), each depth one ensemble."""

    depths: tuple[int, ...] = (8, 16, 32)
    sigma_w2: tuple[float, ...] = (0.5, 1.0, 1.76, 4.0, 8.0)  # ordered, critical (σ_b² = 0.05), chaotic
    sigma_b2: float = 0.05
    width: int = 64
    n_train: int = 4000
    steps: int = 600
    lr: float = 0.05
    optimizer: str = "sgd"
    batch_size: int = 128
    seeds: tuple[int, ...] = (0, 1)
    trained_above: float = 0.35  # "trains": final training accuracy above this (chance is 0.10)

    RULES = {
        "depths": TupleOf(Integer(1, 500), distinct=True, note="hidden layers"),
        "sigma_w2": _sw2_grid,
        "sigma_b2": Real(0.0, 5.0, lo_open=True),
        "width": Integer(4, 4096),
        "n_train": Integer(100, 4000, "MNIST-1D has 4 000 training signals"),
        "steps": positive_int(),
        "lr": positive_real(),
        "optimizer": OneOf(("sgd", "adam")),
        "batch_size": positive_int(4000),
        "seeds": seed_tuple(),
        "trained_above": Real(0.1, 1.0, lo_open=True, hi_open=True, note="an accuracy above chance (0.1)"),
    }
    CHECKS = (Check(("sigma_w2",), lambda c: _increasing(c.sigma_w2), "sigma_w2 must be increasing"),
              Check(("sigma_w2", "sigma_b2"), lambda c: any(abs(w - _critical(c.sigma_b2)) < 0.05 for w in c.sigma_w2),
                    "sigma_w2 must include the critical value for sigma_b2 (1.76 at sigma_b2 = 0.05)"))
    PRESETS = {"tiny": dict(depths=(2, 6), sigma_w2=(0.5, 1.76, 8.0), width=16, n_train=400, steps=40),
               "full": dict(depths=(4, 8, 16, 32, 64, 128, 200), width=256, steps=3000, seeds=(0, 1, 2),
                            sigma_w2=(0.5, 0.75, 1.0, 1.25, 1.5, 1.76, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0))}


@dataclass(frozen=True)
class Robustness(CheckedConfig):
    """:func:`robustness`: ReLU MLPs over (depth, width) trained on MNIST-1D, attacked at checkpoints."""

    depths: tuple[int, ...] = (1, 2, 4)  # hidden layers
    widths: tuple[int, ...] = (16, 64, 256)  # units per hidden layer
    seeds: tuple[int, ...] = (0, 1)  # one model per seed for each architecture, trained as one ensemble
    n_train: int = 4000
    steps: int = 2000
    lr: float = 1e-3
    optimizer: str = "adam"
    batch_size: int = 128
    checkpoint_every: int = 250  # attack every this many steps (not at initialization)
    epsilons: tuple[float, ...] = (0.05, 0.1, 0.2)  # L∞ radii, in the units of the inputs (per-feature std ≈ 1)
    epsilon: float = 0.05  # the radius the claims are made at (one of ``epsilons``)
    pgd_steps: int = 7
    n_attack: int = 1000  # test signals attacked (MNIST-1D has 1 000)

    RULES = {
        "depths": TupleOf(Integer(1, 64), distinct=True, note="hidden layers"),
        "widths": TupleOf(Integer(1, 4096), distinct=True, note="units per hidden layer"),
        "seeds": seed_tuple(),
        "n_train": Integer(100, 4000, "MNIST-1D has 4 000 training signals"),
        "steps": positive_int(),
        "lr": positive_real(),
        "optimizer": OneOf(("sgd", "adam")),
        "batch_size": positive_int(4000),
        "checkpoint_every": positive_int(),
        "epsilons": TupleOf(Real(0.0, 10.0, lo_open=True), distinct=True, note="L∞ radii (> 0)"),
        "epsilon": Real(0.0, 10.0, lo_open=True),
        "pgd_steps": Integer(2, 1000, "PGD steps (1 would be FGSM)"),
        "n_attack": Integer(10, 1000, "MNIST-1D has 1 000 test signals"),
    }
    CHECKS = (
        Check(("epsilon", "epsilons"), lambda c: c.epsilon in c.epsilons, "epsilon must be one of epsilons"),
        Check(("checkpoint_every", "steps"), lambda c: c.checkpoint_every <= c.steps,
              "checkpoint_every must be at most steps (there must be a checkpoint to attack)"),
        Check(("depths", "widths"), lambda c: len(c.depths) * len(c.widths) >= 3,
              "depths x widths must give at least 3 architectures (the fits need several sizes)"),
    )
    PRESETS = {"tiny": dict(depths=(1, 2), widths=(8, 32), steps=150, checkpoint_every=50, n_train=500,
                            n_attack=200, pgd_steps=3),
               "full": dict(depths=(1, 2, 4, 8), widths=(16, 32, 64, 128, 256, 512, 1024), seeds=(0, 1, 2),
                            steps=6000, checkpoint_every=500)}


def _critical(sigma_b2: float) -> float:
    try:
        return mf.critical_sigma_w2(sigma_b2)
    except ValueError:
        return math.nan


@dataclass(frozen=True)
class DepthChaosConfig(CheckedConfig):
    """Every size of chapter 8, one part per experiment."""

    phase: Phase = part(Phase)
    circle: Circle = part(Circle)
    gradients: Gradients = part(Gradients)
    training: Training = part(Training)
    robustness: Robustness = part(Robustness)


# ----------------------------------------------------------------------------------------------------- networks
def _layers(width: int, depth: int, sigma_w2: torch.Tensor, sigma_b2: torch.Tensor, gen: torch.Generator,
            device):
    """``depth`` layers of G random networks at once, drawn one layer at a time (only one is ever in memory):
    W (G, N, N) ~ N(0, σ_w²/N), b (G, N) ~ N(0, σ_b²)."""
    g = len(sigma_w2)
    sw = (sigma_w2 / width).sqrt().view(g, 1, 1).to(device)
    sb = sigma_b2.sqrt().view(g, 1).to(device)
    for _ in range(depth):
        w = torch.randn(g, width, width, generator=gen).to(device).mul_(sw)
        b = torch.randn(g, width, generator=gen).to(device).mul_(sb)
        yield w, b


@dataclass(frozen=True)
class PhaseResult:
    """Measured and mean-field propagation over the (σ_b², σ_w²) grid; index 0 of a layer axis is the input."""

    sigma_w2: np.ndarray  # (W,)
    sigma_b2: np.ndarray  # (V,)
    q: np.ndarray  # (V, W, L + 1) measured length, mean over repeats
    c: np.ndarray  # (V, W, L + 1) measured correlation
    chi1: np.ndarray  # (V, W) measured per-layer stretch of a small perturbation (geometric mean after burn-in)
    chi1_spread: np.ndarray  # (V, W) its standard deviation over repeats
    q_theory: np.ndarray  # (V, W, L + 1)
    c_theory: np.ndarray  # (V, W, L + 1)
    chi1_theory: np.ndarray  # (V, W)
    critical_theory: np.ndarray  # (V,) σ_w² with χ₁ = 1
    critical_measured: np.ndarray  # (V,) where the measured ln χ₁ crosses 0 (linear interpolation in σ_w²)
    width: int
    repeats: int


def crossing(x: np.ndarray, y: np.ndarray) -> float:
    """Where y (increasing through 0 somewhere) first crosses 0, by linear interpolation; NaN if it never does.

    >>> crossing(np.array([1.0, 2.0, 3.0]), np.array([-1.0, -0.5, 0.5]))
    2.5
    """
    above = np.flatnonzero(y >= 0)
    if len(above) == 0 or above[0] == 0:
        return float("nan")
    i = above[0]
    return float(x[i - 1] + (x[i] - x[i - 1]) * (0 - y[i - 1]) / (y[i] - y[i - 1]))


@cached
def phase_diagram(phase: Phase) -> PhaseResult:
    """Two inputs of length q0 and correlation c0, and tangent vectors at the first, through R random networks
    per grid point; the tangent's squared norm grows by χ₁ per layer once q has settled (it is the Jacobian-vector
    product, exact, with no finite difference)."""
    device = get_device()
    gen = generator(phase.seed)
    sw2 = np.array(phase.sigma_w2)
    sb2 = np.array(phase.sigma_b2)
    grid_w = torch.tensor(np.tile(sw2, len(sb2)).repeat(phase.repeats), dtype=torch.float32)
    grid_b = torch.tensor(np.repeat(sb2, len(sw2)).repeat(phase.repeats), dtype=torch.float32)
    g, n = len(grid_w), phase.width
    # two inputs (pre-activations of layer 0) with the given length and correlation, and a unit tangent
    z1, z2 = (torch.randn(g, n, generator=gen) for _ in range(2))
    t = torch.randn(g, n, phase.tangents, generator=gen)
    h1 = math.sqrt(phase.q0) * z1
    h2 = math.sqrt(phase.q0) * (phase.c0 * z1 + math.sqrt(1 - phase.c0 ** 2) * z2)
    h1, h2, t = h1.to(device), h2.to(device), t.to(device)
    t = t / t.norm(dim=1, keepdim=True)
    q = [torch.stack([(h1 ** 2).mean(1), (h2 ** 2).mean(1)]).mean(0)]
    c = [(h1 * h2).mean(1) / ((h1 ** 2).mean(1) * (h2 ** 2).mean(1)).sqrt()]
    log_stretch = []
    with torch.no_grad():
        for w, b in progress(_layers(n, phase.depth, grid_w, grid_b, gen, device), desc="random networks",
                             total=phase.depth):
            t = torch.bmm(w, (1 - torch.tanh(h1) ** 2).unsqueeze(-1) * t)
            h1 = torch.bmm(w, torch.tanh(h1).unsqueeze(-1)).squeeze(-1) + b
            h2 = torch.bmm(w, torch.tanh(h2).unsqueeze(-1)).squeeze(-1) + b
            norm = t.norm(dim=1, keepdim=True)  # (G, 1, m)
            log_stretch.append(2 * norm.log().mean((1, 2)))  # mean ln squared stretch of this layer's tangents
            t = t / norm
            q.append(torch.stack([(h1 ** 2).mean(1), (h2 ** 2).mean(1)]).mean(0))
            c.append((h1 * h2).mean(1) / ((h1 ** 2).mean(1) * (h2 ** 2).mean(1)).sqrt())
    shape = (len(sb2), len(sw2), phase.repeats)
    q_m = torch.stack(q, -1).cpu().numpy().reshape(*shape, -1).mean(2)
    c_m = torch.stack(c, -1).cpu().numpy().reshape(*shape, -1).mean(2)
    per_net = torch.stack(log_stretch, -1)[:, phase.burn_in:].mean(-1).cpu().numpy().reshape(shape)
    chi = np.exp(per_net.mean(-1))
    chi_sd = np.exp(per_net).std(-1, ddof=1) if phase.repeats > 1 else np.zeros_like(chi)
    q_t = np.zeros_like(q_m)
    c_t = np.zeros_like(c_m)
    chi_t = np.zeros(shape[:2])
    for i, b in enumerate(sb2):
        for j, w in enumerate(sw2):
            traj = mf.propagate(phase.q0, phase.c0, phase.depth, float(w), float(b))
            q_t[i, j], c_t[i, j] = traj.q, traj.c
            chi_t[i, j] = mf.chi1(float(w), float(b))
    crit_t = np.array([mf.critical_sigma_w2(float(b)) for b in sb2])
    crit_m = np.array([crossing(sw2, np.log(chi[i])) for i in range(len(sb2))])
    return PhaseResult(sw2, sb2, q_m, c_m, chi, chi_sd, q_t, c_t, chi_t, crit_t, crit_m, n, phase.repeats)


@dataclass(frozen=True)
class CircleResult:
    """The length of the image of a circle, layer by layer (index 0: the input circle)."""

    sigma_w2: np.ndarray  # (W,)
    length: np.ndarray  # (W, R, L + 1) length / sqrt(N), the root-mean-square length per unit
    chi1_theory: np.ndarray  # (W,)
    growth: np.ndarray  # (W, R) measured per-layer growth factor (geometric mean over the layers)
    xi_theory: np.ndarray  # (W,)
    q_star: np.ndarray  # (W,)
    projection: np.ndarray  # (W, A, 2) the image at the last layer projected on its two top principal axes


@cached
def circle_length(circle: Circle) -> CircleResult:
    """h⁰(θ) = √(q*) √N (u cos θ + v sin θ) for orthonormal u, v: an input circle of per-unit length √q* at the
    fixed point, so that the layers only stretch it. The length is the sum of the chords between neighbours."""
    device = get_device()
    gen = generator(circle.seed)
    sw2 = np.array(circle.sigma_w2)
    n, a, r = circle.width, circle.points, circle.repeats
    qs = np.array([mf.q_star(float(w), circle.sigma_b2) for w in sw2])
    grid_w = torch.tensor(np.repeat(sw2, r), dtype=torch.float32)
    grid_b = torch.full_like(grid_w, circle.sigma_b2)
    uv = torch.linalg.qr(torch.randn(len(grid_w), n, 2, generator=gen))[0]  # (G, N, 2) orthonormal
    theta = torch.linspace(0, 2 * math.pi, a + 1)[:-1]
    ring = torch.stack([theta.cos(), theta.sin()])  # (2, A)
    scale = torch.tensor(np.repeat(np.sqrt(qs * n), r), dtype=torch.float32).view(-1, 1, 1)
    h = (scale * torch.bmm(uv, ring.expand(len(grid_w), 2, a))).to(device)  # (G, N, A)

    def length(x):
        return (x - x.roll(1, dims=2)).norm(dim=1).sum(1) / math.sqrt(n)

    lengths = [length(h)]
    with torch.no_grad():
        for w, b in _layers(n, circle.depth, grid_w, grid_b, gen, device):
            h = torch.bmm(w, torch.tanh(h)) + b.unsqueeze(-1)
            lengths.append(length(h))
    ell = torch.stack(lengths, -1).cpu().numpy().reshape(len(sw2), r, -1)
    growth = np.exp(np.log(ell[..., -1] / ell[..., 0]) / circle.depth)
    last = h.view(len(sw2), r, n, a)[:, 0].cpu()  # first repeat
    centred = last - last.mean(2, keepdim=True)
    _, _, vh = torch.linalg.svd(centred.transpose(1, 2), full_matrices=False)  # (W, A, N) -> axes
    proj = torch.einsum("wan,wkn->wak", centred.transpose(1, 2), vh[:, :2]).numpy() / math.sqrt(n)
    return CircleResult(sw2, ell, np.array([mf.chi1(float(w), circle.sigma_b2) for w in sw2]), growth,
                        np.array([mf.xi_c(float(w), circle.sigma_b2) for w in sw2]), qs, proj)


class TanhMLP(nn.Sequential):
    """in_features -> depth hidden layers of ``width`` units -> n_classes, with ``act`` after every hidden layer."""

    def __init__(self, in_features: int, width: int, depth: int, n_classes: int = 10, act: str = "tanh"):
        if act not in ("tanh", "relu"):
            raise ValueError(f"act={act!r}: valid are 'tanh' and 'relu'")
        layers: list[nn.Module] = []
        fan_in = in_features
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.Tanh() if act == "tanh" else nn.ReLU()]
            fan_in = width
        layers.append(nn.Linear(fan_in, n_classes))
        super().__init__(*layers)


def init_scaled(params: dict[str, torch.Tensor], sigma_w2: torch.Tensor, sigma_b2: torch.Tensor,
                gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Stacked parameters (K, ...) of K networks redrawn with weights N(0, σ_w²[k] / fan_in), biases N(0, σ_b²[k])."""
    out = {}
    k = len(sigma_w2)
    for name, p in params.items():
        draw = torch.randn(p.shape, generator=gen).to(p.device, p.dtype)
        if p.dim() == 3:  # a weight (K, out, in)
            var = sigma_w2.to(p.device, p.dtype) / p.shape[-1]
            out[name] = draw * var.sqrt().view(k, 1, 1)
        else:  # a bias (K, out)
            out[name] = draw * sigma_b2.to(p.device, p.dtype).sqrt().view(k, 1)
    return out


@dataclass(frozen=True)
class GradientResult:
    """Squared norms of the loss gradient with respect to each hidden layer's pre-activations, at initialization."""

    act: tuple[str, ...]  # (S,) the activation of each setting
    sigma_w2: np.ndarray  # (S,)
    grad_sq: np.ndarray  # (S, R, L) mean over the batch of ||∂loss/∂h^l||², layer 1 .. L
    chi1_theory: np.ndarray  # (S,)
    rate: np.ndarray  # (S, R) measured per-layer factor: exp of the slope of ln grad_sq against depth


@cached
def gradient_norms(gradients: Gradients) -> GradientResult:
    """Backpropagate the cross-entropy of MNIST-1D signals through deep tanh and ReLU networks at initialization;
    the squared gradient norm at layer l, from the output back, changes by χ₁ per layer."""
    device = get_device()
    gen = generator(gradients.seed)
    data = mnist1d()
    x = data.x_train[:gradients.batch].to(device)
    y = data.y_train[:gradients.batch].to(device)
    settings = [("tanh", w) for w in gradients.tanh_sigma_w2] + [("relu", w) for w in gradients.relu_sigma_w2]
    grads, rates, chis = [], [], []
    for act, sw2 in settings:
        sb2 = gradients.sigma_b2 if act == "tanh" else 0.0
        chis.append(mf.chi1(sw2, sb2, act))
        per_rep = []
        for _ in range(gradients.repeats):
            net = TanhMLP(x.shape[1], gradients.width, gradients.depth, act=act).to(device)
            with torch.no_grad():
                for m in net:
                    if isinstance(m, nn.Linear):
                        m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(sw2 / m.in_features))
                        m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * math.sqrt(sb2))
            pre = []
            h = x
            for m in net:
                h = m(h)
                if isinstance(m, nn.Linear) and len(pre) < gradients.depth:
                    h.retain_grad()
                    pre.append(h)
            nn.functional.cross_entropy(h, y, reduction="sum").backward()
            per_rep.append([float((p.grad ** 2).sum(1).mean()) for p in pre])
        g = np.array(per_rep)  # (R, L)
        layers = np.arange(1, gradients.depth + 1)
        slope = np.polyfit(layers, np.log(g).T, 1)[0]  # d ln ||g||² / d layer, from input to output
        grads.append(g)
        rates.append(np.exp(-slope))  # per layer from the output back towards the input
    return GradientResult(tuple(a for a, _ in settings), np.array([w for _, w in settings]), np.array(grads),
                          np.array(chis), np.array(rates))


@dataclass(frozen=True)
class TrainabilityResult:
    """Final training and test accuracy over (depth, σ_w², seed), and the depth scale ξ_c of each σ_w²."""

    depths: np.ndarray  # (D,)
    sigma_w2: np.ndarray  # (W,)
    train_acc: np.ndarray  # (D, W, S) at the end of training
    test_acc: np.ndarray  # (D, W, S)
    curves: np.ndarray  # (D, W, S, E) training accuracy over training
    step: np.ndarray  # (E,)
    xi: np.ndarray  # (W,) mean-field ξ_c
    chi1: np.ndarray  # (W,)
    trained_above: float
    seconds: np.ndarray  # (D,)


@cached
def trainability(training: Training) -> TrainabilityResult:
    """For each depth, one ensemble of len(σ_w²) x len(seeds) tanh MLPs, each redrawn at its σ_w², trained together
    with the same batches."""
    import time

    device = get_device()
    data = mnist1d().subset(n_train=training.n_train)
    x, y = data.x_train.to(device), data.y_train.to(device)
    sw2 = np.array(training.sigma_w2)
    grid = torch.tensor(np.repeat(sw2, len(training.seeds)), dtype=torch.float32)
    k = len(grid)
    tcfg = TrainConfig(steps=training.steps, lr=training.lr, batch_size=training.batch_size,
                       optimizer=training.optimizer, eval_every=max(1, training.steps // 10))
    train_acc, test_acc, curves, seconds = [], [], [], []
    for depth in training.depths:
        start = time.perf_counter()
        gen = generator(1000 * depth + training.seeds[0])
        factory = lambda d=depth: TanhMLP(x.shape[1], training.width, d)  # noqa: E731
        ens = Ensemble.build(factory, list(range(k)), device)
        ens.params = init_scaled(ens.params, grid, torch.full((k,), training.sigma_b2), gen)
        ens, hist = train_ensemble(factory, list(range(k)), x, y, tcfg, data.x_test.to(device),
                                   data.y_test.to(device), ensemble=ens, data_seeds=[depth] * k,
                                   desc=f"depth {depth}")
        shape = (len(sw2), len(training.seeds))
        train_acc.append(np.nan_to_num(hist.train_acc[:, -1]).reshape(shape))
        test_acc.append(np.nan_to_num(hist.test_acc[:, -1]).reshape(shape))
        curves.append(np.nan_to_num(hist.train_acc).reshape(*shape, -1))
        seconds.append(time.perf_counter() - start)
    xi = np.array([mf.xi_c(float(w), training.sigma_b2) for w in sw2])
    chi = np.array([mf.chi1(float(w), training.sigma_b2) for w in sw2])
    return TrainabilityResult(np.array(training.depths), sw2, np.array(train_acc), np.array(test_acc),
                              np.array(curves), hist.step, xi, chi, training.trained_above, np.array(seconds))


@dataclass(frozen=True)
class RobustnessResult:
    """Clean and robust test accuracy of every (architecture, seed) at every checkpoint; architectures run over
    (depth, width) with width fastest."""

    depth: np.ndarray  # (A,)
    width: np.ndarray  # (A,)
    params: np.ndarray  # (A,) parameter count
    step: np.ndarray  # (E,) checkpoints
    epsilons: np.ndarray  # (P,)
    epsilon: float  # the radius of the claims
    clean: np.ndarray  # (A, S, E) test accuracy
    fgsm: np.ndarray  # (A, S, E, P) accuracy under FGSM at each radius
    pgd: np.ndarray  # (A, S, E, P) under PGD
    pgd_steps: int
    seconds: float


@dataclass(frozen=True)
class RobustnessFit:
    """Robust accuracy regressed on clean accuracy and on log parameter count, over every (architecture,
    checkpoint) (seed means): how much of its variance each explains, and the effect of each over its range
    with the other held fixed."""

    r2_clean: float  # R² of robust ~ a + b clean
    r2_size: float  # R² of robust ~ a + b ln(params)
    coef_clean: np.ndarray  # (2,) robust ≈ coef_clean[0] + coef_clean[1] clean (the clean-only line)
    clean_effect: float  # change of robust accuracy across the range of clean accuracy, at fixed size
    size_effect: float  # change across the range of parameter counts, at fixed clean accuracy
    coef: np.ndarray  # (3,) robust ≈ coef[0] + coef[1] clean + coef[2] ln(params)
    points: int


def robustness_fit(r: RobustnessResult, attack: str = "pgd", epsilon: float | None = None,
                   last_only: bool = False) -> RobustnessFit:
    """The regressions of :class:`RobustnessFit` for one attack ("pgd" or "fgsm") at one radius (default the
    claims' radius), on seed means, over every (architecture, checkpoint), or with ``last_only`` over the
    architectures at the end of training only (where clean accuracy and size go together, so their effects are
    hard to separate)."""
    if attack not in ("pgd", "fgsm"):
        raise ValueError(f"attack={attack!r}: valid are 'pgd' and 'fgsm'")
    eps = r.epsilon if epsilon is None else epsilon
    hits = np.flatnonzero(np.isclose(r.epsilons, eps))
    if len(hits) == 0:
        raise ValueError(f"epsilon={eps} was not attacked; valid: {', '.join(f'{e:g}' for e in r.epsilons)}")
    robust = getattr(r, attack)[..., hits[0]].mean(1)  # (A, E)
    clean = r.clean.mean(1)
    if last_only:
        robust, clean = robust[:, -1:], clean[:, -1:]
    size = np.repeat(np.log(r.params), clean.shape[-1])  # architecture-major, as ravel() below
    return _fit(robust.ravel(), clean.ravel(), size)


def _fit(robust: np.ndarray, clean: np.ndarray, size: np.ndarray) -> RobustnessFit:
    def r2(*cols):
        design = np.column_stack([np.ones_like(robust), *cols])
        coef = np.linalg.lstsq(design, robust, rcond=None)[0]
        resid = robust - design @ coef
        return 1.0 - resid.var() / robust.var(), coef

    r2_clean, coef_clean = r2(clean)
    r2_size, _ = r2(size)
    _, coef = r2(clean, size)
    return RobustnessFit(float(r2_clean), float(r2_size), coef_clean, float(coef[1] * np.ptp(clean)),
                         float(coef[2] * np.ptp(size)), coef, len(robust))


@cached
def robustness(robustness: Robustness) -> RobustnessResult:
    """For each (depth, width), one ensemble of len(seeds) ReLU MLPs trained with the same settings; at every
    checkpoint all of them are attacked at once, on the first ``n_attack`` test signals, with FGSM and PGD at each
    radius."""
    import time

    start = time.perf_counter()
    device = get_device()
    data = mnist1d().subset(n_train=robustness.n_train)
    x, y = data.x_train.to(device), data.y_train.to(device)
    xa, ya = data.x_test[:robustness.n_attack].to(device), data.y_test[:robustness.n_attack].to(device)
    tcfg = TrainConfig(steps=robustness.steps, lr=robustness.lr, batch_size=robustness.batch_size,
                       optimizer=robustness.optimizer, eval_every=robustness.checkpoint_every)
    k = len(robustness.seeds)
    arch = [(d, w) for d in robustness.depths for w in robustness.widths]
    clean, fgsm, pgd, params, steps = [], [], [], [], []
    for depth, width in arch:
        factory = lambda d=depth, w=width: MLP(x.shape[1], [w] * d)  # noqa: E731
        params.append(param_count(factory()))
        rec: dict[str, list] = {"step": [], "clean": [], "fgsm": [], "pgd": []}

        def checkpoint(step, ens, hist, rec=rec):
            if step == 0:
                return
            ens.base.eval()
            forward = lambda inputs: ens.forward(inputs, per_model_inputs=True)  # noqa: E731
            shared = xa.unsqueeze(0).expand(k, *xa.shape)
            rec["step"].append(step)
            rec["clean"].append(hist.test_acc[:, -1])
            rec["fgsm"].append([robust_accuracy(forward, shared, ya, e, 1).cpu().numpy()
                                for e in robustness.epsilons])
            rec["pgd"].append([robust_accuracy(forward, shared, ya, e, robustness.pgd_steps).cpu().numpy()
                               for e in robustness.epsilons])

        seeds = [1000 * depth + width + s for s in robustness.seeds]
        train_ensemble(factory, seeds, x, y, tcfg, xa, ya, callbacks=[checkpoint], eval_train=False,
                       desc=f"depth {depth}, width {width}")
        clean.append(np.array(rec["clean"]).T)  # (S, E)
        fgsm.append(np.array(rec["fgsm"]).transpose(2, 0, 1))  # (E, P, S) -> (S, E, P)
        pgd.append(np.array(rec["pgd"]).transpose(2, 0, 1))
        steps = rec["step"]  # the same checkpoints for every architecture
    return RobustnessResult(np.array([d for d, _ in arch]), np.array([w for _, w in arch]), np.array(params),
                            np.array(steps), np.array(robustness.epsilons), robustness.epsilon, np.array(clean),
                            np.array(fgsm), np.array(pgd), robustness.pgd_steps, time.perf_counter() - start)
