"""Chapter 5's figures: gradient descent on least squares and the Hessian's spectrum, the kernel interpolant's
learning curve beside Xiao et al.'s peers, and the RKHS norms of the interpolants."""

from __future__ import annotations

import numpy as np

from ...plotting import COLORS, figure, percent_axis
from .experiments import XIAO_PEERS, CurveResult, MinNormResult, NormResult

__all__ = ["plot_learning_curve", "plot_min_norm", "plot_norms"]


def plot_min_norm(r: MinNormResult):
    """(a) distance to the limit and the component outside the row space during GD; (b) Hessian spectrum."""

    fig, (a, b) = figure(ncols=2, width=4.4, height=3.2)
    for res, name in ((r.from_zero, "from w = 0"), (r.from_w0, "from w = w0")):
        (line,) = a.semilogy(res.step, res.distance, label=f"{name}: distance to its limit")
        a.semilogy(res.step, np.maximum(res.off_row_space, 1e-17), linestyle="--", color=line.get_color(),
                   label=f"{name}: part of w - w0 outside the row space")
    a.set(xlabel="gradient step", ylabel="norm", title="(a) GD never leaves w0 + row space of X")
    a.legend(fontsize=7)
    b.semilogy(np.arange(1, r.d + 1), np.maximum(r.hessian_eigenvalues, 1e-18), ".", markersize=3)
    b.axvline(r.n, color="grey", linestyle=":", label=f"n = {r.n}")
    b.set(xlabel="index of eigenvalue", ylabel="eigenvalue of XᵀX / n (floored at 1e-18)",
          title=f"(b) Hessian: {r.n} curved, {r.d - r.n} flat directions")
    b.legend()
    return fig


def plot_learning_curve(curve: CurveResult, law):
    """Test error against n (log-log) with the fitted power law, and the 60 000-image peers of Xiao et al."""

    fig, ax = figure(width=5.6, height=3.6)
    err = 1 - curve.test_acc
    ax.loglog(curve.sizes, err, "o", color=COLORS[0], label="kernel interpolation (this run)")
    grid = np.geomspace(curve.sizes[0], 60_000, 100)
    ax.loglog(grid, law(grid), "-", color=COLORS[0], alpha=0.6,
              label=f"fit: {law.a:.2f} n^{law.b:.2f} + {law.c:.3f}")
    for (name, acc), color in zip(XIAO_PEERS.items(), COLORS[1:]):
        ax.loglog([60_000], [1 - acc], "s", color=color, label=f"{name} (Xiao et al., n = 60 000)")
    ax.set(xlabel="training images n", ylabel="test error", title="Learning curve of the kernel interpolant")
    ax.legend(fontsize=7)
    return fig


def plot_norms(r: NormResult):
    """RKHS norm of each interpolant and test error where there is something to predict."""

    fig, (a, b) = figure(ncols=2, width=4.4, height=3.2)
    labels = [s.replace(", ", "\n") for s in r.settings]
    a.bar(range(len(labels)), r.rkhs_norm, color=COLORS[:len(labels)])
    a.set(xticks=range(len(labels)), xticklabels=labels, ylabel="RKHS norm² αᵀKα",
          title="(a) norm of the interpolant")
    keep = [i for i, e in enumerate(r.test_error) if np.isfinite(e)]
    b.bar(range(len(keep)), r.test_error[keep], color=[COLORS[i] for i in keep])
    b.set(xticks=range(len(keep)), xticklabels=[labels[i] for i in keep], ylabel="test error",
          title="(b) test error")
    percent_axis(b)
    return fig
