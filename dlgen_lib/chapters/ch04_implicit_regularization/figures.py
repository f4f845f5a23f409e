"""Chapter 4's figures: the regularizers against early stopping, the phase diagram over label noise and training
time, the learning curves, curvature at init against the final gap, flatness of SGD minima against test error, and
the critical period of a blur deficit."""

from __future__ import annotations

import numpy as np

from ... import flatness
from ...plotting import COLORS, band, figure, percent_axis
from .experiments import (
    ControlSummary,
    CriticalPeriods,
    FlatMinima,
    LearningCurves,
    MainEnsemble,
    RegularizationRuns,
    phase_grid,
)

__all__ = ["plot_controls", "plot_critical", "plot_flatness", "plot_init_curvature", "plot_learning_curves",
           "plot_phase"]


def plot_controls(runs: RegularizationRuns, summary: dict[str, ControlSummary], main: MainEnsemble):
    """(a) final test error against strength for each explicit regularizer (seed mean ± std), the baseline and
    early stopping as horizontal lines; (b) one baseline run over training: training, validation and test error,
    and the step early stopping picks."""
    fig, (a, b) = figure(ncols=2, width=4.8, height=3.6)
    none, stop = summary["none (train to the end)"], summary["early stopping"]
    a.axhline(none.chosen_test.mean(), color="black", linestyle="--", label="no regularizer, trained to the end")
    a.axhline(stop.chosen_test.mean(), color=COLORS[2], linewidth=2, label="early stopping (validation)")
    for name, color, marker in (("weight decay", COLORS[0], "o"), ("dropout", COLORS[1], "s"),
                                ("input noise", COLORS[3], "^")):
        s = summary[name]
        band(a, np.arange(len(s.strengths)), s.final_test, label=f"{name} ({', '.join(f'{v:g}' for v in s.strengths)})",
             color=color, marker=marker)
    a.set(xlabel="strength (index into the grid in the legend)", ylabel="test error at the end of training",
          title=f"(a) regularizers, {main.reg_noise:.0%} label noise")
    a.set_xticks(range(max(len(s.strengths) for s in summary.values())))
    percent_axis(a)
    a.legend(fontsize=7)
    k = int(runs.select("plain", main.reg_noise)[0])
    for values, label, color in ((runs.train_error[k], "training (noisy labels)", COLORS[0]),
                                 (runs.val_error[k], "validation (noisy labels)", COLORS[4]),
                                 (runs.test_error[k], "test (clean labels)", COLORS[1])):
        b.plot(runs.step, values, label=label, color=color)
    at = flatness.early_stopping_index(runs.val_error[k])
    b.axvline(runs.step[at], color=COLORS[2], linestyle=":", label=f"validation minimum (step {runs.step[at]})")
    b.set(xlabel="training step (Adam)", ylabel="error", title="(b) one run: stop where validation is lowest")
    percent_axis(b)
    b.legend(fontsize=7)
    return fig


def plot_phase(runs: RegularizationRuns, main: MainEnsemble):
    """Heat maps over label noise (load-like, rows) and training step (temperature-like, log axis): (a) test
    error, (b) generalization gap = test error - training error; the dots mark each row's validation minimum."""
    fig, axes = figure(ncols=2, width=4.6, height=3.6)
    step = runs.step[1:]
    for ax, metric, title, cmap in ((axes[0], "test_error", "(a) test error (clean labels)", "viridis"),
                                    (axes[1], "gap", "(b) gap: test - training error", "magma")):
        grid = phase_grid(runs, main, metric)[:, 1:]
        mesh = ax.pcolormesh(step, np.arange(len(main.noises)), grid, shading="nearest", cmap=cmap)
        fig.colorbar(mesh, ax=ax, label="error" if metric == "test_error" else "gap")
        ax.set(xscale="log", xlabel="training step", ylabel="label noise p", title=title)
        ax.set_yticks(range(len(main.noises)), [f"{p:.0%}" for p in main.noises])
        val = phase_grid(runs, main, "val_error")[:, 1:]
        ax.plot(step[flatness.early_stopping_index(val)], np.arange(len(main.noises)), "w.", markersize=8,
                label="validation minimum")
    axes[0].legend(fontsize=7, loc="lower left")
    return fig


def plot_learning_curves(curves: LearningCurves, fits: dict):
    """Test error against n (log-log) per architecture, seed mean ± std, with the fitted a n^b + c."""
    fig, ax = figure(width=5.6, height=3.8)
    grid = np.geomspace(curves.ns.min(), curves.ns.max(), 100)
    for (name, err), color in zip(curves.test_error.items(), COLORS):
        band(ax, curves.ns, err, label=f"{name} ({curves.n_params[name]:,} parameters)", color=color, marker="o")
        law = fits[name]
        ax.plot(grid, law(grid), linestyle="--", color=color,
                label=f"fit {law.a:.2g} n^({law.b:.2f}) + {law.c:.2f}")
    ax.set(xscale="log", yscale="log", xlabel="training examples n", ylabel="test error (log scale)",
           title="Learning curves on MNIST-1D")
    _plain_log_ticks(ax, x=curves.ns)
    ax.legend(fontsize=7)
    return fig


def _plain_log_ticks(ax, x=None) -> None:
    """Log axes without the crowded minor labels: x ticks at the given values, y in percent."""
    from matplotlib.ticker import NullFormatter, PercentFormatter

    if x is not None:
        ax.set_xticks(list(x), [f"{int(v):,}" for v in x])
        ax.xaxis.set_minor_formatter(NullFormatter())
    if ax.get_yscale() == "log":
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.yaxis.set_minor_formatter(PercentFormatter(1.0, decimals=0))


def plot_init_curvature(runs: RegularizationRuns, main: MainEnsemble):
    """Top Hessian eigenvalue at initialization against the final generalization gap, one point per network."""
    fig, ax = figure(width=5.2, height=3.6)
    for a, color in zip(main.init_scales, COLORS):
        idx = runs.select(None, main.reg_noise, init_scale=a)
        idx = idx[np.isfinite(runs.init_curvature[idx]) & (runs.weight_decay[idx] == 0)]
        idx = np.asarray([k for k in idx if runs.specs[k].kind in ("plain", "init scale")])
        gap = runs.test_error[idx, -1] - runs.train_error[idx, -1]
        ax.plot(runs.init_curvature[idx], gap, "o", color=color, label=f"initial weights x {a:g}")
    ax.set(xscale="log", xlabel="top Hessian eigenvalue at initialization", ylabel="final gap (test - train error)",
           title=f"Curvature at init vs final gap ({main.reg_noise:.0%} noise)")
    percent_axis(ax)
    ax.legend(fontsize=7)
    return fig


def plot_flatness(fm: FlatMinima):
    """Test error against (a) the top eigenvalue, (b) the Occam factor, (c) the effective dimensionality; one
    point per minimum, coloured by batch size, filled for the larger learning rate."""
    fig, axes = figure(ncols=3, width=3.4, height=3.2)
    panels = ((fm.eigenvalues[:, 0], "top eigenvalue λ₁", "(a) sharpness", "log"),
              (fm.occam, f"Occam factor -½ Σ log λᵢ (top {fm.eigenvalues.shape[1]})", "(b) Occam factor", "linear"),
              (fm.n_eff, f"N_eff = Σ λ/(λ + {fm.z:g})", "(c) effective dimensionality", "linear"))
    for ax, (values, label, title, scale) in zip(axes, panels):
        for B, color in zip(np.unique(fm.batch_size), COLORS):
            for lr in np.unique(fm.lr):
                keep = (fm.batch_size == B) & (fm.lr == lr)
                ax.plot(values[keep], fm.test_error[keep], "o", color=color,
                        fillstyle="full" if lr == fm.lr.max() else "none", label=f"B = {B}, η = {lr:g}")
        ax.set(xscale=scale, xlabel=label, ylabel="test error", title=title)
        percent_axis(ax)
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    axes[0].xaxis.set_major_formatter(ScalarFormatter())
    axes[0].xaxis.set_minor_formatter(NullFormatter())
    axes[0].legend(fontsize=6.5)
    return fig


def plot_critical(cp: CriticalPeriods):
    """(a) test error after post_steps clean steps against the step the blur deficit ended; (b) the trace of the
    Fisher information of the deficit-free networks over training."""
    fig, (a, b) = figure(ncols=2, width=4.6, height=3.5)
    band(a, cp.deficit_ends, cp.test_error, color=COLORS[1], marker="o", label="deficit removed at this step")
    a.axhline(cp.test_error[:, 0].mean(), color="grey", linestyle="--", label="no deficit")
    a.set(xlabel="step at which the blur is removed", ylabel=f"test error {cp.post_steps} steps later",
          title="(a) the deficit's damage outlasts it")
    percent_axis(a)
    a.legend(fontsize=7)
    band(b, cp.step, cp.fisher, color=COLORS[0], marker=".")
    b.set(xlabel="training step (no deficit)", ylabel="tr F (Fisher information)",
          title="(b) Fisher information over training")
    return fig
