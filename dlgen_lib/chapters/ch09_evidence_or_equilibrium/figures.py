"""Chapter 9's figures and the drawing of its explorer."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from ...plotting import COLORS, figure
from .experiments import (
    CurrentResult,
    EntropyResult,
    EntropySGDResult,
    EvidenceResult,
    NoiseKindsResult,
    PlateauResult,
)

__all__ = ["draw_local_entropy", "plot_current", "plot_entropy", "plot_entropy_sgd", "plot_evidence",
           "plot_noise_kinds", "plot_plateau"]


def plot_evidence(r: EvidenceResult):
    """(a) ln Z per example against α for each corruption level, with the no-feature model's level; (b) the best
    evidence and the test accuracy of the model it picks, against the corruption; (c) at the small noise where
    every labelling is fitted, how much of the evidence gap between true and random labels is data fit and how
    much Occam factor."""
    fig, (a, b, c) = figure(3, width=3.9, height=3.3)
    cmap = __import__("matplotlib").colormaps["viridis"]
    for i, p in enumerate(r.corruption):
        a.plot(r.alphas, r.log_z[i] - r.null, "-", color=cmap(i / max(1, len(r.corruption) - 1)),
               label=f"{p:.0%} random")
    a.axhline(0, color="k", ls=":", lw=1, label="no features (α → ∞)")
    a.set(xscale="log", xlabel="prior precision α", ylabel="ln Z / n − null (nats)",
          title=f"(a) evidence, σ² = {r.noise:g}")
    a.set_ylim(max(a.get_ylim()[0], (r.log_z - r.null).max() * -3), None)
    a.legend(fontsize=7, loc="upper left")
    best = r.log_z.argmax(1)
    rows = np.arange(len(r.corruption))
    b.plot(r.corruption, r.log_z[rows, best] - r.null, "o-", color=COLORS[0], label="best evidence")
    b.set(xlabel="fraction of random labels", ylabel="max over α of ln Z / n − null", title="(b) evidence vs test")
    b2 = b.twinx()
    b2.plot(r.corruption, r.test_acc[rows, best], "s--", color=COLORS[1], label="test accuracy at that α")
    b2.set_ylabel("test accuracy", color=COLORS[1])
    b2.grid(False)
    lines = b.get_lines()[:1] + b2.get_lines()[:1]
    b.legend(lines, [ln.get_label() for ln in lines], fontsize=7, loc="upper right")
    j = int(r.fit_log_z[0].argmax())
    gaps = [r.fit_data[0, j] - r.fit_data[-1, j], r.fit_occam[0, j] - r.fit_occam[-1, j],
            r.fit_log_z[0, j] - r.fit_log_z[-1, j]]
    c.bar(range(3), gaps, color=[COLORS[2], COLORS[0], "grey"])
    for k, g in enumerate(gaps):
        c.text(k, g, f"{g:+.2f}", ha="center", va="bottom", fontsize=8)
    c.set_xticks(range(3), ["fit", "Occam", "ln Z"])
    c.axhline(0, color="k", lw=0.8)
    c.set(xlabel="part of the log-evidence", ylabel="true − random (nats/example)",
          title=f"(c) the gap, σ² = {r.fit_noise:g}")
    return fig


def _ellipse(ax, cov, color, label, ls="-"):
    t = np.linspace(0, 2 * np.pi, 200)
    vals, vecs = np.linalg.eigh(cov)
    pts = vecs @ (2 * np.sqrt(vals)[:, None] * np.stack([np.cos(t), np.sin(t)]))
    ax.plot(pts[0], pts[1], ls, color=color, lw=1.5, label=label)


def plot_current(r: CurrentResult):
    """The stationary clouds of SGD (a) and of GD with isotropic noise (b): one position per replica, the
    measured probability current as arrows, the exact 2σ ellipse, and the Gibbs ellipse of the loss."""
    fig, axes = figure(2, width=4.0, height=3.8)
    lim = r.grid.max() * 1.05
    scale = max(np.abs(r.current[k]).max() for k in r.current)
    xs, ys = np.meshgrid(r.grid, r.grid, indexing="ij")
    for ax, kind, title in zip(axes, ("sgd", "iso"), ("(a) minibatch SGD", "(b) GD + isotropic noise")):
        pts = r.snapshot[kind]
        ax.plot(pts[:, 0], pts[:, 1], ".", ms=1.5, color="grey", alpha=0.4)
        j = r.current[kind]
        seen = np.hypot(j[..., 0], j[..., 1]) > 0.02 * scale  # bins the cloud visits
        ax.quiver(xs[seen], ys[seen], j[..., 0][seen], j[..., 1][seen], color=COLORS[0], scale=scale * 12,
                  width=0.006)
        _ellipse(ax, r.cov_exact[kind], COLORS[1], "exact stationary cloud (2σ)")
        if kind == "sgd":
            _ellipse(ax, r.cov_gibbs, "k", "Gibbs density of the loss (same spread)", ls="--")
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="w₁ − w₁* (steep direction)",
               ylabel="w₂ − w₂* (flat direction)",
               title=f"{title}: circulation {r.circulation[kind]:.2e}")
        ax.set_aspect("equal")
        ax.legend(fontsize=7, loc="lower right")
    return fig


def plot_plateau(r: PlateauResult):
    """(a) the gradient signal-to-noise ratio along training (log-log), with the training loss; (b) once the loss
    is flat, the distance travelled from the weights halfway through, and the weights' norm."""
    fig, (a, b) = figure(2, width=4.8, height=3.4)
    k0 = np.flatnonzero(r.weight_decay == 0)
    k1 = np.flatnonzero(r.weight_decay > 0)
    for ks, color, label in ((k0, COLORS[0], "no weight decay"), (k1, COLORS[1], "weight decay")):
        for n, k in enumerate(ks):
            a.plot(np.maximum(r.snr_step, 1), r.snr[k], "o-", ms=3, color=color, alpha=0.8,
                   label=f"SNR, {label}" if n == 0 else None)
    a.axhline(1, color="k", ls=":", lw=1)
    a.set(xscale="log", yscale="log", xlabel="step (step 0 drawn at 1)",
          ylabel=f"‖∇L‖² / (tr Σ / B), B = {r.batch_size}", title="(a) signal-to-noise ratio")
    a2 = a.twinx()
    a2.plot(np.maximum(r.step, 1), r.train_loss[k0].mean(0), "-", color="grey", lw=1, label="training loss")
    a2.set(yscale="log", ylabel="training loss (grey)")
    a2.grid(False)
    a.legend(fontsize=7, loc="lower left")
    half = r.step >= r.step[np.argmax(r.distance[k1[0]] == 0)]
    for n, k in enumerate(k1):
        b.plot(r.step[half], r.distance[k, half], "-", color=COLORS[1], label="distance from step " +
               f"{r.step[half][0]}" if n == 0 else None)
        b.plot(r.step[half], r.norm[k, half] - r.norm[k, half][0], ":", color=COLORS[2],
               label="change of ‖w‖" if n == 0 else None)
    b.set(xlabel="step", ylabel="weight-space distance", title="(b) weight decay: moving, loss nearly flat")
    b2 = b.twinx()
    b2.plot(r.step[half], r.train_loss[k1][:, half].mean(0), "-", color="grey", lw=1)
    b2.set(ylabel="training loss (grey)", ylim=(0, 2 * r.train_loss[k1][:, half].max()))
    b2.grid(False)
    b.legend(fontsize=7, loc="upper left")
    return fig


def plot_entropy(r: EntropyResult, gammas=(1.0, 10.0, 1000.0)):
    """The loss and the local free energy −F(x; γ) at a few couplings (each shifted to start at the loss's
    level), with their minimizers."""
    fig, ax = figure(1, width=5.6, height=3.4)
    ax.plot(r.x, r.loss, "k-", lw=2, label="loss f(x)")
    for color, g in zip(COLORS, gammas):
        i = int(np.argmin(np.abs(r.gammas - g)))
        v = r.free[i] - r.free[i].max() + r.loss.max()
        ax.plot(r.x, v, "-", color=color, label=f"−F(x; γ = {r.gammas[i]:g}), minimum at {r.argmin_free[i]:+.2f}")
    ax.axvline(r.argmin_loss, color="k", ls=":", lw=1)
    ax.set(xlabel="x", ylabel="loss, local free energy (shifted)",
           title=f"the loss's minimum is at {r.argmin_loss:+.2f} (narrow well)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return fig


def draw_local_entropy(r: EntropyResult):
    """For the explorer: ``draw(gamma, ax)`` shows the loss and −F(x; γ) at the γ of the grid nearest ``gamma``."""

    def draw(gamma, ax):
        i = int(np.argmin(np.abs(r.gammas - gamma)))
        ax.plot(r.x, r.loss, "k-", lw=2, label="loss f(x)")
        v = r.free[i] - r.free[i].max() + r.loss.max()
        ax.plot(r.x, v, "-", color=COLORS[0], label="−F(x; γ), shifted")
        ax.axvline(r.argmin_free[i], color=COLORS[0], ls=":")
        ax.set(xlabel="x", ylabel="loss / local free energy", ylim=(r.loss.min() - 0.5, r.loss.max() + 0.5),
               title=f"γ = {r.gammas[i]:g} (scale 1/√γ = {1 / np.sqrt(r.gammas[i]):.2f}): "
                     f"minimum at {r.argmin_free[i]:+.2f}")
        ax.legend(loc="lower left")

    return draw


def plot_noise_kinds(r: NoiseKindsResult):
    """(a) the sharpness λ_max after each dynamics, one line per seed (paired), with the GD solution's; (b) the
    test accuracy, likewise. GD with dropout, whose noise is not matched in size, stands apart on the right."""
    fig, (a, b) = figure(2, width=4.4, height=3.4)
    names = ["GD", "GD + isotropic", "GD + covariance", "SGD", f"GD + dropout {r.dropout:g}"]
    xs = np.arange(len(r.kinds))
    for s in range(r.sharpness.shape[1]):
        color = COLORS[s % len(COLORS)]
        a.plot(xs, r.sharpness[:, s], "o-", color=color, label=f"seed {s}")
        a.plot(len(xs), r.dropout_sharpness[s], "D", color=color)
        a.axhline(r.sharpness_start[s], color=color, ls=":", lw=1)
        b.plot(xs, r.test_acc[:, s], "o-", color=color, label=f"seed {s}")
        b.plot(len(xs), r.dropout_test_acc[s], "D", color=color)
        b.axhline(r.test_acc_start[s], color=color, ls=":", lw=1)
    for ax in (a, b):
        ax.axvline(len(xs) - 0.5, color="grey", lw=0.8)
        ax.text(len(xs), 0.98, "noise not\nsize-matched", ha="center", va="top", fontsize=7, color="grey",
                transform=ax.get_xaxis_transform())
        ax.set_xticks(np.arange(len(names)), names, rotation=25, fontsize=8)
        ax.set_xlabel("dynamics from the GD solution")
    a.set(ylabel="sharpness λ_max of the Hessian", title="(a) after the noise and the quench (dotted: GD start)")
    b.set(ylabel="test accuracy", title="(b) test accuracy (dotted: GD start)")
    a.legend(fontsize=7)
    return fig


METHOD_NAMES = {"sgd": "SGD", "smoothed": "smoothed SGD", "entropy_sgd": "Entropy-SGD"}


def plot_entropy_sgd(r: EntropySGDResult):
    """(a) the training loss against gradient evaluations, one line per seed, with the target loss and where each
    run first reached it; (b) λ_max there (equal loss) and after the whole budget, one line per seed; (c) the test
    accuracy at the same two points."""
    fig, (a, b, c) = figure(3, width=3.9, height=3.3)
    names = [METHOD_NAMES[m] for m in r.methods]
    for i, name in enumerate(names):
        color = COLORS[i % len(COLORS)]
        for s in range(r.train_loss.shape[1]):
            a.plot(r.step, r.train_loss[i, s], "-", color=color, lw=1, alpha=0.8,
                   label=name if s == 0 else None)
            if np.isfinite(r.reach[i, s]):
                a.plot(r.reach[i, s], r.loss_target[i, s], "o", color=color, ms=4)
    a.axhline(r.target_loss, color="k", ls=":", lw=1, label=f"target loss {r.target_loss:g}")
    a.set(yscale="log", xlabel="gradient evaluations (one minibatch each)", ylabel="training loss",
          title="(a) the same cost per gradient")
    a.legend(fontsize=7, loc="lower left")
    xs = np.arange(len(names))
    for s in range(r.train_loss.shape[1]):
        color = COLORS[s % len(COLORS)]
        b.plot(xs, r.sharpness_target[:, s], "o-", color=color)
        b.plot(xs, r.sharpness_end[:, s], "s:", color=color, ms=4)
        c.plot(xs, r.test_target[:, s], "o-", color=color)
        c.plot(xs, r.test_acc[:, s, -1], "s:", color=color, ms=4)
    for ax in (b, c):
        ax.set_xticks(xs, names, fontsize=8)
        ax.set_xlabel("method (colours: seeds)")
    b.set(yscale="log", ylabel="λ_max of the Hessian", title="(b) sharpness at equal loss")
    b.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    b.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    lo, hi = b.get_ylim()
    b.set_ylim(lo, hi * 2.5)  # room for the legend above the lines
    c.set(ylabel="test accuracy", title="(c) test accuracy")
    styles = [Line2D([], [], color="grey", marker="o", ls="-", label=f"at training loss {r.target_loss:g}"),
              Line2D([], [], color="grey", marker="s", ls=":", ms=4, label="after the whole budget")]
    b.legend(handles=styles, fontsize=7, loc="upper center")
    return fig
