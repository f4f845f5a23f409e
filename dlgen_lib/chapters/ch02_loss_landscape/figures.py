"""Chapter 2's figures: the Hessian spectra, the critical points, the spread of minima over widths, the line from
initialization to solution, the 1-D and 2-D slices, the paths between two minima and the deep plain MLP."""

from __future__ import annotations

import numpy as np

from ...plotting import COLORS, figure, percent_axis, use_style
from .experiments import CriticalPoints, DeepBlowup, ModeConnectivity, Slices, Spectrum, WidthSpread, spread

__all__ = ["plot_critical_points", "plot_deep_blowup", "plot_line", "plot_mode_connectivity", "plot_slices",
           "plot_spectra", "plot_width_spread"]


def plot_spectra(spectra: dict[str, Spectrum]):
    """(a) the SLQ eigenvalue densities; (b) the top eigenvalues by Lanczos, the outliers marked."""
    fig, (a, b) = figure(ncols=2, width=4.8, height=3.5)
    for (name, s), color in zip(spectra.items(), COLORS):
        dens = s.density
        a.plot(dens.grid, np.maximum(dens.density, 1e-6), color=color, label=f"{name} (loss {s.loss:.2f})")
        k = np.arange(1, len(s.top) + 1)
        b.plot(k, s.top, "o-", color=color, markersize=3, label=name)
        if name != "init":
            b.axvline(s.outliers() + 0.5, color=color, linestyle=":")
    a.set(yscale="log", ylim=(1e-5, None), xlabel="eigenvalue λ of the Hessian", ylabel="density (SLQ, smoothed)",
          title="(a) a bulk at zero, a few outliers")
    b.set(yscale="log", xlabel="rank i", ylabel="λ_i (Lanczos)",
          title="(b) top eigenvalues; dotted: edge of the outliers")
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    return fig


def plot_critical_points(cp: CriticalPoints):
    """(a) index against loss at the points found, approximate critical points filled; (b) ||∇L|| per iteration."""
    fig, (a, b) = figure(ncols=2, width=4.6, height=3.5)
    crit = cp.critical()
    a.scatter(cp.loss[crit], cp.index[crit], color=COLORS[0], label="||∇L|| < 1 % of its value at init")
    a.scatter(cp.loss[~crit], cp.index[~crit], facecolors="none", edgecolors=COLORS[1], label="not converged")
    a.set(xlabel="training loss at the point", ylabel="index (fraction of negative eigenvalues)",
          title=f"(a) critical points of a tanh net, P = {cp.P}")
    a.legend(fontsize=7)
    it = np.arange(len(cp.grad_history))
    for k in range(cp.grad_history.shape[1]):
        b.plot(it, cp.grad_history[:, k], color=COLORS[0] if crit[k] else COLORS[1], alpha=0.4, linewidth=0.8)
    b.set(yscale="log", xlabel="Levenberg-Marquardt iteration", ylabel="||∇L||",
          title="(b) minimizing ||∇L||² from each start")
    return fig


def plot_width_spread(ws: WidthSpread):
    """(a) final training loss of every seed against width; (b) the spread over seeds."""
    fig, (a, b) = figure(ncols=2, width=4.4, height=3.4)
    for j in range(ws.train_loss.shape[1]):
        a.scatter(ws.widths, ws.train_loss[:, j], color=COLORS[0], s=10, alpha=0.6)
    a.set(xscale="log", xlabel="hidden width h (MLP 40-h-10)", ylabel="final training loss",
          title=f"(a) {ws.train_loss.shape[1]} seeds per width")
    b.plot(ws.widths, spread(ws.train_loss), "o-", color=COLORS[0], label="training loss")
    b.plot(ws.widths, spread(ws.test_error), "s--", color=COLORS[1], label="test error")
    b.set(xscale="log", yscale="log", xlabel="hidden width h", ylabel="std over seeds",
          title="(b) the spread shrinks with width")
    b.legend()
    return fig


def plot_line(sl: Slices):
    """Training and test loss along θ(α) = (1 - α) θ_0 + α θ*."""
    fig, ax = figure(width=5.4, height=3.4)
    ax.plot(sl.line_alphas, sl.line_train, color=COLORS[0], label="training loss")
    ax.plot(sl.line_alphas, sl.line_test, color=COLORS[1], linestyle="--", label="test loss")
    for a, name in ((0.0, "init"), (1.0, "solution")):
        ax.axvline(a, color="grey", linestyle=":")
        ax.annotate(name, (a, ax.get_ylim()[1]), ha="center", va="top", fontsize=8)
    ax.set(xlabel="α (0: initialization, 1: SGD solution)", ylabel="cross-entropy",
           title="The straight line from init to solution")
    ax.legend()
    return fig


def plot_slices(sl: Slices):
    """Top: the 1-D filter-normalized slices of both solutions; bottom: their 2-D slices as contour plots (log10 of
    the loss, the same levels for both)."""
    import matplotlib.pyplot as plt  # matplotlib is imported only when a figure is drawn

    use_style()
    fig, axes = plt.subplot_mosaic([["top", "top"], ["b", "c"]], figsize=(10.0, 8.0), constrained_layout=True,
                                   height_ratios=[1.0, 1.4])
    top = axes["top"]
    for (name, values), color in zip(sl.slice_1d.items(), COLORS):
        top.plot(sl.alphas, values, color=color, label=name)
    top.set(yscale="log", xlabel="α along a filter-normalized random direction", ylabel="training loss",
            title="(a) 1-D slices: the large-batch minimum is sharper")
    top.legend()
    levels = np.linspace(np.log10(min(v.min() for v in sl.slice_2d.values())),
                         np.log10(max(v.max() for v in sl.slice_2d.values())), 25)
    for key, (name, values) in zip("bc", sl.slice_2d.items()):
        ax = axes[key]
        cs = ax.contourf(sl.grid, sl.grid, np.log10(values).T, levels=levels, cmap="viridis")
        ax.contour(sl.grid, sl.grid, np.log10(values).T, levels=levels[::3], colors="white", linewidths=0.5)
        ax.plot(0, 0, "r*", markersize=10)
        ax.set(xlabel="α (direction 1)", ylabel="β (direction 2)", title=f"({key}) {name}", aspect="equal")
    fig.colorbar(cs, ax=[axes["b"], axes["c"]], label="log10 training loss", shrink=0.8)
    return fig


def plot_mode_connectivity(mc: ModeConnectivity):
    """(a) test error and (b) training loss along the straight segment and along the Bezier curve."""
    fig, (a, b) = figure(ncols=2, width=4.6, height=3.4)
    for path, color, style in (("line", COLORS[1], "--"), ("curve", COLORS[0], "-")):
        label = "straight segment" if path == "line" else "quadratic Bezier curve (trained)"
        a.plot(mc.ts, getattr(mc, path)["test_error"], style, color=color, label=label)
        b.plot(mc.ts, getattr(mc, path)["train_loss"], style, color=color, label=label)
    a.set(xlabel="t (0: network A, 1: network B)", ylabel="test error", title="(a) test error along the path")
    b.set(xlabel="t", ylabel="training loss", title="(b) training loss along the path")
    percent_axis(a)
    a.legend(fontsize=7)
    return fig


def plot_deep_blowup(db: DeepBlowup):
    """(a) per-layer gradient norms at initialization; (b) training loss against step (missing once it overflows)."""
    fig, (a, b) = figure(ncols=2, width=4.6, height=3.5)
    layers = np.arange(1, db.grad_norms.shape[-1] + 1)
    for g, (gain, color) in enumerate(zip(db.gains, COLORS)):
        name = f"σ_w² = {gain:g}" + (" (He)" if gain == 2 else " (naive)")
        for s in range(len(db.seeds)):
            a.plot(layers, db.grad_norms[g, s], "o-", color=color, markersize=3, alpha=0.7,
                   label=name if s == 0 else None)
            b.plot(db.step, db.train_loss[g, s], ".-", color=color, alpha=0.8, markersize=4,
                   label=name if s == 0 else None)
            dead = np.flatnonzero(~np.isfinite(db.train_loss[g, s]))
            if len(dead):
                b.axvline(db.step[dead[0]], color=color, linestyle=":")
    a.set(yscale="log", xlabel="layer (1 = input side)", ylabel="||∂L/∂W_l|| at init", title="(a) gradients per layer")
    b.set(yscale="log", xlabel="SGD step", ylabel="training loss", title="(b) training; dotted: loss overflowed")
    b.axhline(np.log(10), color="grey", linestyle="--", linewidth=0.8)
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    return fig
