"""Chapter 7's figures: the random-features curves and why they peak, ridge, the isotropic closed form, the
sample-wise peak, and the model-wise and epoch-wise curves of the width sweeps."""

from __future__ import annotations

import numpy as np

from ... import random_features as rf
from ...plotting import COLORS, band, figure, percent_axis
from ...sweeps import WidthSweep
from .experiments import MNIST1D_PAPER, IsotropicCheck, SampleWise, early_stopped_error

__all__ = ["plot_width_sweep", "plot_epoch_wise", "plot_isotropic", "plot_rf_curve", "plot_rf_explain", "plot_ridge",
           "plot_sample_wise"]


def plot_rf_curve(sweeps: dict[str, rf.RFSweep]):
    """Test error (a) and test MSE (b), λ = 0, against N/n for each named sweep, mean +- std over seeds."""
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
    fig, ax = figure(width=5.4, height=3.6)
    for f, (N, color) in enumerate(zip(s.n_features, COLORS)):
        band(ax, s.ns, s.test_error[f], label=f"N = {N} features", color=color, marker=".")
        ax.axvline(N, color=color, linestyle=":")
    ax.set(xscale="log", xlabel="training examples n", ylabel="test error",
           title="Sample-wise: the peak sits at n = N")
    percent_axis(ax)
    ax.legend()
    return fig


def plot_width_sweep(noisy: WidthSweep, clean: WidthSweep | None = None, paper: dict | None = MNIST1D_PAPER,
              xlabel: str = "hidden width h (MLP 40-h-h-10)", noise: float = 0.15):
    """(a) final test error against width with and without label noise, the paper's points; (b) train error."""
    fig, (a, b) = figure(ncols=2, width=4.8, height=3.6)
    runs = [(noisy, f"{noise:.0%} label noise", COLORS[1])] + ([(clean, "clean labels", COLORS[0])] if clean else [])
    for sweep, name, color in runs:
        band(a, sweep.widths, sweep.final("test_error").T, label=f"{name}", color=color, marker="o")
        band(b, sweep.widths, sweep.final("train_error").T, label=name, color=color, marker="o")
        h = sweep.interpolation_threshold()
        if h is not None:
            for ax in (a, b):
                ax.axvline(h, color=color, linestyle=":")
    a.plot(noisy.widths, early_stopped_error(noisy), "s--", color=COLORS[2], markersize=4,
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
    fig, ax = figure(width=5.8, height=3.8)
    for h, color in zip(widths, COLORS):
        i = int(np.flatnonzero(sweep.widths == h)[0])
        band(ax, sweep.step, sweep.test_error[i], label=f"h = {h}: test", color=color)
        ax.plot(sweep.step, sweep.train_error[i].mean(0), linestyle="--", color=color, label=f"h = {h}: train")
    ax.set(xlabel="training step (Adam, cosine learning rate)", ylabel="error", title="Epoch-wise curves")
    percent_axis(ax)
    ax.legend(fontsize=7, ncol=2)
    return fig
