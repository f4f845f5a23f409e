"""Chapter 6's figures: accuracy and early-stopping step against the fraction of weights remaining (IMP and its
controls), the error between two copies split at step k, and the masks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...plotting import COLORS, band, figure, percent_axis
from ...pruning import PruningRun
from .experiments import PAPER, Instability

__all__ = ["ARM_STYLE", "plot_imp", "plot_instability", "plot_masks"]

ARM_STYLE = {"ticket": (COLORS[0], "o", "winning ticket (rewound to init)"),
             "reinit": (COLORS[1], "s", "same mask, fresh random weights"),
             "random": (COLORS[2], "^", "random mask, original weights")}


def plot_imp(runs: Sequence[PruningRun], paper_mnist1d: bool = True):
    """Test accuracy at early stopping (a row per run) and the early-stopping step, against the fraction of
    weights remaining (log axis, decreasing to the right), mean +- std over seeds."""
    fig, axes = figure(ncols=2, nrows=len(runs), width=4.6, height=3.3)
    axes = np.atleast_1d(axes).reshape(len(runs), 2)
    for run, (a, b) in zip(runs, axes):
        dense_acc = run.accuracy()[1]
        for arm in run.arms:
            color, marker, label = ARM_STYLE.get(arm, (None, "o", arm))
            acc, it = run.early_stop(arm)
            band(a, run.fraction, acc.T, label=label, color=color, marker=marker)
            band(b, run.fraction, it.T, label=label, color=color, marker=marker)
        a.axhline(dense_acc, color="grey", linestyle=":", label="dense network")
        if paper_mnist1d and run.name == "MNIST-1D":
            f = 1 - PAPER["mnist1d_sparsity"]
            for key, color in (("mnist1d_ticket", ARM_STYLE["ticket"][0]), ("mnist1d_random", ARM_STYLE["random"][0])):
                a.plot([f], [PAPER[key]], "*", color=color, markersize=11, markeredgecolor="k")
            a.plot([], [], "k*", label="MNIST-1D notebook (92 % sparsity)")
        for ax in (a, b):
            _fraction_axis(ax, run.fraction)
        percent_axis(a)
        a.set(ylabel="test accuracy at early stopping", title=f"(a) {run.name}: accuracy after pruning")
        b.set(ylabel="step of best validation accuracy", title=f"(b) {run.name}: early-stopping step")
        a.legend(fontsize=7)
    return fig


def _fraction_axis(ax, fraction: np.ndarray) -> None:
    """A log x axis of the fraction of weights remaining, decreasing to the right, ticks in percent."""
    from matplotlib.ticker import NullFormatter  # matplotlib is imported only when a figure is drawn

    ax.set_xscale("log")
    ticks = [t for t in (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01) if fraction.min() * 0.9 <= t <= 1.0]
    ax.set_xticks(ticks)
    ax.xaxis.set_minor_formatter(NullFormatter())
    percent_axis(ax, "x")
    ax.invert_xaxis()
    ax.set_xlabel("fraction of weights remaining")


def plot_instability(inst: Instability):
    """(a) test error along the line between the two copies for each split step k (seed mean);
    (b) instability against k with the 2 % line."""
    fig, (a, b) = figure(ncols=2, width=4.6, height=3.3)
    for i, (k, color) in enumerate(zip(inst.ks, COLORS)):
        band(a, inst.alphas, inst.path_error[i], label=f"split at step {k}", color=color)
    a.set(xlabel="α on the line (1 − α) θ₁ + α θ₂", ylabel="test error", title="(a) error between the two copies")
    percent_axis(a)
    a.legend(fontsize=7)
    x = np.maximum(inst.ks, 1)
    band(b, x, inst.instability.T, color=COLORS[0], marker="o", label="instability (mean ± std over seeds)")
    b.axhline(PAPER["stable_below"], color="grey", linestyle=":", label="stable: below 2 %")
    b.set(xscale="log", xlabel="step k at which the copies split (0 plotted at 1)", ylabel="instability",
          title="(b) instability against k")
    percent_axis(b)
    b.legend(fontsize=7)
    return fig


def plot_masks(run: PruningRun, round_: int):
    """(a) fraction remaining per layer over the rounds; (b) the first layer's surviving connections of the
    seed-0 ticket at ``round_`` (units sorted by the centre of their connections), (c) a random mask of the
    same density."""
    fig, (a, b, c) = figure(ncols=3, width=4.0, height=3.3)
    for j, name in enumerate(run.layer_names):
        a.plot(np.arange(len(run.fraction)), run.layer_fraction[:, j], marker=".", label=name)
    a.set(yscale="log", xlabel="pruning round", ylabel="fraction of the layer remaining",
          title="(a) sparsity per layer")
    percent_axis(a)
    a.legend(fontsize=7)
    for ax, arm, title in ((b, "ticket", "(b) ticket"), (c, "random", "(c) random mask")):
        m = run.first_mask[arm][round_].astype(float)
        centre = (m * np.arange(m.shape[1])).sum(1) / np.maximum(m.sum(1), 1)
        ax.imshow(m[np.argsort(centre)], aspect="auto", cmap="Greys", interpolation="nearest")
        ax.set(xlabel="input position", ylabel="hidden unit (sorted)",
               title=f"{title}: first layer, {m.mean():.0%} left")
        ax.grid(False)
    return fig
