"""Chapter 3's figures, one function per figure, drawn from the experiments' results: the quadratic's cloud and
its 2-D anisotropic twin, the escape from the sharp well, smoothing, the gradient noise's spectrum, the noise scale
grid, the schedules, and the sharpness of small- and large-batch minima."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.ticker import NullFormatter

from ... import sde
from ...plotting import COLORS, band, figure, percent_axis
from .experiments import (
    _F64,
    AnisotropicCloud,
    BatchSharpness,
    NoiseGeometry,
    NoiseScaleGrid,
    QuadraticCloud,
    Schedules,
    Smoothing,
    WellEscape,
)

__all__ = ["plot_anisotropic", "plot_cloud", "plot_escape", "plot_noise", "plot_noise_scale", "plot_schedules",
           "plot_sharpness", "plot_smoothing"]


def _gauss(x, var, mean=0.0):
    return np.exp(-((x - mean) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)


def plot_cloud(q: QuadraticCloud):
    """(a) histogram of the widest SGD cloud, its Euler–Maruyama twin and the OU (Gibbs) density;
    (b) stationary variance against η/B for every (η, B), with the closed forms."""
    fig, (a, b) = figure(ncols=2, width=4.6, height=3.4)
    i = q.em_index
    x = np.linspace(q.final[i].min(), q.final[i].max(), 300)
    a.hist(q.final[i], bins=50, density=True, alpha=0.5, color=COLORS[0], label="SGD replicas")
    a.hist(q.em_final, bins=50, density=True, histtype="step", color=COLORS[1], label="Euler–Maruyama (SDE)")
    a.plot(x, _gauss(x, q.theory_ou[i], q.minimum), color="k", label="Gibbs / OU density")
    a.set(xlabel="θ", ylabel="density", title=f"(a) η = {q.lrs[i]:g}, B = {q.batch_sizes[i]}")
    a.legend()
    ratio = q.lrs / q.batch_sizes
    for j, lr in enumerate(np.unique(q.lrs)):
        sel = q.lrs == lr
        b.errorbar(ratio[sel], q.variance[sel], yerr=2 * q.variance_se[sel], fmt="o", color=COLORS[j % 8],
                   label=f"SGD, η = {lr:g}")
    order = np.argsort(ratio)
    b.plot(ratio[order], q.theory_ou[order], color="k", label="OU: T σ²/a, T = η/(2B)")
    b.set(xscale="log", yscale="log", xlabel="η / B", ylabel="stationary Var θ", title="(b) spread vs η/B")
    b.legend()
    return fig


def plot_anisotropic(c: AnisotropicCloud):
    """The 2-D cloud with the 2-sd ellipses of the closed form (noise that follows the curvature) and of a Gibbs law
    exp(-L/T) with a scalar T chosen to have the same total variance."""
    fig, ax = figure(width=7.0, height=4.0)
    pts = c.final[:2000]
    ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.3, color=COLORS[0], label="SGD replicas")
    t = np.linspace(0, 2 * np.pi, 200)
    centre = c.final.mean(0)
    gibbs = c.theory.sum() * (1 / c.curvature) / (1 / c.curvature).sum()  # Var θ_k ∝ 1/a_k, same trace
    for var, color, name in ((c.theory, "k", "SGD closed form (Var θ_k ∝ a_k)"),
                             (gibbs, COLORS[1], "Gibbs exp(-L/T) (Var θ_k ∝ 1/a_k)")):
        ax.plot(centre[0] + 2 * np.sqrt(var[0]) * np.cos(t), centre[1] + 2 * np.sqrt(var[1]) * np.sin(t),
                color=color, label=name)
    ax.set(xlabel=f"θ₁ (flat direction, a = {c.curvature[0]:g})",
           ylabel=f"θ₂ (sharp direction, a = {c.curvature[1]:g})",
           title="the cloud spreads along the sharp direction", aspect="equal")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def plot_escape(w: WellEscape, loss: sde.GaussianWells):
    """(a) the loss, the Gibbs density, the SGD and EM histograms at the hottest setting; (b) escape rates against
    1/T with Kramers' law; (c) share in the wide basin against η/B with the Gibbs prediction."""
    fig, (a, b, c) = figure(ncols=3, width=3.9, height=3.3)
    grid = torch.linspace(-2.5, 2.5, 1001, dtype=_F64)
    i = w.em_index
    a.plot(grid, loss.loss(grid), color="grey", label="loss L")
    ax2 = a.twinx()
    ax2.hist(w.final[i], bins=80, range=(-2.5, 2.5), density=True, alpha=0.5, color=COLORS[0], label="SGD")
    ax2.hist(w.em_final, bins=80, range=(-2.5, 2.5), density=True, histtype="step", color=COLORS[1], label="EM")
    ax2.plot(grid, sde.gibbs_density(loss.loss, grid, w.temperature[i]), color="k", label="Gibbs")
    ax2.set_ylabel("density")
    ax2.legend(loc="upper right")
    a.set(xlabel="θ", ylabel="loss", title=f"(a) T = {w.temperature[i]:.2f}")
    inv = 1 / w.temperature
    ok = w.rate > 0
    b.semilogy(inv[ok], w.rate[ok], "o", color=COLORS[0], label="SGD (escapes / time at risk)")
    order = np.argsort(inv)
    b.semilogy(inv[order], w.kramers[order], color="k", label="Kramers")
    b.set(xlabel="1 / T", ylabel="escape rate from the sharp well", title="(b) rate ∝ exp(-ΔE/T)")
    b.legend()
    ratio = w.lrs / w.batch_sizes
    c.plot(ratio, w.wide_fraction, "o", color=COLORS[0], label="SGD, end of run")
    c.plot(ratio, w.gibbs_wide, "x", color="k", label="Gibbs (equilibrium)")
    c.set(xlabel="η / B", ylabel="share in the wide basin", title="(c) hotter SGD picks the wide well")
    c.legend()
    return fig


def plot_smoothing(s: Smoothing):
    """Mean of the SGD cloud (solid) and GD on the smoothed loss (dashed) for each B; GD on L (grey)."""
    fig, ax = figure(width=5.2, height=3.4)
    for j, (b, w) in enumerate(zip(s.batch_sizes, s.widths)):
        ax.plot(s.steps, s.sgd_mean[j], color=COLORS[j], label=f"SGD mean, B = {b} (s = {w:.2f})")
        ax.plot(s.steps, s.gd_smoothed[j], "--", color=COLORS[j])
    ax.plot(s.steps, s.gd, color="grey", linewidth=2, label="GD on L")
    ax.set(xlabel="step", ylabel="θ", title="SGD mean (solid) vs GD on the smoothed loss (dashed)")
    ax.legend()
    return fig


def plot_noise(geo: NoiseGeometry):
    """(a) eigenvalues of Σ, with the 90 % rank (the spectrum ends at the sample bound M - 1); (b) cumulative share
    of tr Σ against the number of directions as a fraction of P."""
    fig, (a, b) = figure(ncols=2, width=4.4, height=3.2)
    k = np.arange(1, len(geo.eigenvalues) + 1)
    a.loglog(k, geo.eigenvalues, color=COLORS[0])
    a.axvline(geo.rank90, color="grey", linestyle=":", label=f"90 % of the variance: {geo.rank90} directions")
    a.set(xlabel="index", ylabel="eigenvalue of Σ", title=f"(a) spectrum (P = {geo.n_params})",
          ylim=(geo.eigenvalues[0] * 1e-6, geo.eigenvalues[0] * 2))  # below: the sample bound M - 1, rounding
    a.legend()
    b.semilogx(k / geo.n_params, np.cumsum(geo.eigenvalues) / geo.eigenvalues.sum(), color=COLORS[0])
    b.axhline(0.9, color="grey", linestyle=":")
    b.set(xlabel="directions / P", ylabel="share of tr Σ", title="(b) cumulative variance")
    return fig


def plot_noise_scale(r: NoiseScaleGrid):
    """Test accuracy against ε (a) and against g = εN/(B(1-m)) (b), one curve per (B, m)."""
    fig, (a, b) = figure(ncols=2, width=4.4, height=3.3)
    for j, (bs, m) in enumerate(r.settings):
        lab = f"B = {bs}" + (f", m = {m:g}" if m else "")
        band(a, r.lrs[j], r.test_acc[j].T, label=lab, color=COLORS[j], marker="o")
        band(b, r.g, r.test_acc[j].T, label=lab, color=COLORS[j], marker="o")
    a.set(xscale="log", xlabel="learning rate ε", ylabel="test accuracy", title="(a) against ε")
    b.set(xscale="log", xlabel="g = εN / (B(1-m))", ylabel="test accuracy", title="(b) against the noise scale")
    for ax in (a, b):
        percent_axis(ax)
    b.legend()
    return fig


def plot_schedules(s: Schedules):
    """Test accuracy per epoch of the two schedules, mean +- std over seeds; dotted: the switches."""
    fig, ax = figure(width=5.0, height=3.3)
    band(ax, s.epochs, s.decay_lr, label=f"decay ε ÷{s.factor} ({s.decay_updates} updates)", color=COLORS[0])
    band(ax, s.epochs, s.grow_batch, label=f"grow B ×{s.factor} ({s.grow_updates} updates)", color=COLORS[1])
    for e in (s.phase_epochs, 2 * s.phase_epochs):
        ax.axvline(e, color="grey", linestyle=":")
    ax.set(xlabel="epoch", ylabel="test accuracy", title="decay the learning rate or grow the batch")
    percent_axis(ax)
    ax.legend()
    return fig


def plot_sharpness(s: BatchSharpness):
    """(a) test accuracy against λ_max for small- and large-batch runs, with the stability limit 2/ε;
    (b) λ_max of one network rescaled by α (Dinh et al.): the function does not change."""
    fig, (a, b) = figure(ncols=2, width=4.4, height=3.3)
    for j, (name, b_) in enumerate(zip(("small batch", "large batch"), s.batch_sizes)):
        a.scatter(s.lam_max[j], s.test_acc[j], color=COLORS[j], label=f"{name} (B = {b_})")
    a.axvline(2 / s.lr, color="grey", linestyle=":", label="2 / ε (stability limit)")
    a.set(xscale="log", xlabel="λ_max of the training-loss Hessian", ylabel="test accuracy",
          title="(a) sharpness of SGD's minima")
    a.xaxis.set_minor_formatter(NullFormatter())
    percent_axis(a)
    a.legend()
    b.loglog(s.alphas, s.dinh_lam_max, "o-", color=COLORS[2], label="λ_max after rescaling")
    b.set(xlabel="α (layer 1 × α, layer 2 × 1/α)", ylabel="λ_max",
          title=f"(b) same function, test acc {s.dinh_test_acc[0]:.1%}")
    b.legend()
    return fig
