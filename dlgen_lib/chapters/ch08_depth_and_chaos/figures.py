"""Chapter 8's figures and the drawing of its explorer."""

from __future__ import annotations

import numpy as np

from ... import meanfield as mf
from ...plotting import COLORS, figure
from .experiments import CircleResult, GradientResult, PhaseResult, RobustnessResult, TrainabilityResult, robustness_fit

__all__ = ["draw_correlations", "plot_circle", "plot_gradients", "plot_phase", "plot_robustness", "plot_trainability"]


def _phase_names(chi1: np.ndarray) -> list[str]:
    return ["ordered" if x < 0.97 else "chaotic" if x > 1.03 else "critical" for x in chi1]


def _nearest(values: np.ndarray, value: float) -> int:
    return int(np.argmin(np.abs(np.asarray(values) - value)))


def draw_correlations(r: PhaseResult, sigma_b2: float = 0.05):
    """For the explorer: ``draw(sigma_w2, ax)`` shows the measured correlation c^l of the two inputs and the
    mean-field prediction at that σ_w² (and the σ_b² of the grid nearest ``sigma_b2``)."""
    i = _nearest(r.sigma_b2, sigma_b2)

    def draw(sigma_w2, ax):
        j = _nearest(r.sigma_w2, sigma_w2)
        layers = np.arange(r.c.shape[-1])
        ax.plot(layers, r.c[i, j], "o", ms=3, color=COLORS[0], label=f"measured (N = {r.width})")
        ax.plot(layers, r.c_theory[i, j], "-", color="k", label="mean-field recursion")
        ax.axhline(1.0, color="grey", linestyle=":")
        ax.set(xlabel="layer l", ylabel="correlation c of two inputs", ylim=(0, 1.05),
               title=f"σ_w² = {r.sigma_w2[j]:g}, σ_b² = {r.sigma_b2[i]:g}: χ₁ = {r.chi1_theory[i, j]:.2f} "
                     f"({_phase_names([r.chi1_theory[i, j]])[0]})")
        ax.legend(loc="lower left")

    return draw


def plot_phase(r: PhaseResult, sigma_b2: float = 0.05):
    """(a) correlations through depth in the three phases, measured vs mean field (at the σ_b² of the grid nearest
    ``sigma_b2``); (b) the measured per-layer stretch ln χ₁ over (σ_w², σ_b²), with the theory's critical line
    and the measured crossings."""
    fig, (a, b) = figure(2, width=4.6, height=3.4)
    i = _nearest(r.sigma_b2, sigma_b2)
    layers = np.arange(r.c.shape[-1])
    picks = [_nearest(r.sigma_w2, w) for w in (1.0, r.critical_theory[i], 4.0)]
    for color, j in zip(COLORS, picks):
        a.plot(layers, r.c[i, j], "o", ms=2.5, color=color)
        a.plot(layers, r.c_theory[i, j], "-", color=color,
               label=f"σ_w² = {r.sigma_w2[j]:g} ({_phase_names([r.chi1_theory[i, j]])[0]})")
    a.set(xlabel="layer l", ylabel="correlation c", ylim=(0, 1.05),
          title=f"(a) two inputs, σ_b² = {r.sigma_b2[i]:g}: dots measured, lines theory")
    a.legend(loc="lower right", fontsize=7)
    extent = np.log(r.chi1)
    lim = np.abs(extent).max()
    im = b.imshow(extent, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                  extent=(-0.5, len(r.sigma_w2) - 0.5, -0.5, len(r.sigma_b2) - 0.5))
    b.set_xticks(range(len(r.sigma_w2)), [f"{w:g}" for w in r.sigma_w2], rotation=90, fontsize=7)
    b.set_yticks(range(len(r.sigma_b2)), [f"{v:g}" for v in r.sigma_b2])
    to_x = lambda w: np.interp(w, r.sigma_w2, np.arange(len(r.sigma_w2)))  # noqa: E731
    fine = np.linspace(r.sigma_b2.min(), r.sigma_b2.max(), 40)
    crit = [mf.critical_sigma_w2(float(v)) for v in fine]
    b.plot(to_x(np.array(crit)), np.interp(fine, r.sigma_b2, np.arange(len(r.sigma_b2))), "k-",
           label="theory: χ₁ = 1")
    b.plot(to_x(r.critical_measured), np.arange(len(r.sigma_b2)), "o", mfc="white", mec="k",
           label="measured: ln χ₁ = 0")
    b.set(xlabel="σ_w²", ylabel="σ_b²", title="(b) measured ln χ₁: blue ordered, red chaotic")
    b.grid(False)
    b.legend(loc="upper left", fontsize=7)
    fig.colorbar(im, ax=b, label="ln χ₁ (per layer)")
    return fig


def plot_circle(r: CircleResult):
    """(a) the length of the circle's image against depth, with the prediction χ₁^{l/2}; (b) the image at the last
    layer, projected on its top two principal axes."""
    fig, (a, b) = figure(2, width=4.4, height=3.4)
    layers = np.arange(r.length.shape[-1])
    for color, w, ell, chi in zip(COLORS, r.sigma_w2, r.length, r.chi1_theory):
        for rep in ell:
            a.plot(layers, rep, "o", ms=3, color=color, alpha=0.6)
        a.plot(layers, ell[:, 0].mean() * chi ** (layers / 2), "-", color=color,
               label=f"σ_w² = {w:g}: χ₁^(l/2), χ₁ = {chi:.2f}")
    a.set(yscale="log", xlabel="layer l", ylabel="length of the image / √N", title="(a) length through depth")
    a.legend(fontsize=7)
    for color, w, proj in zip(COLORS, r.sigma_w2, r.projection):
        closed = np.vstack([proj, proj[:1]])
        b.plot(closed[:, 0], closed[:, 1], "-", color=color, lw=0.8, label=f"σ_w² = {w:g}")
    b.set(xlabel="first principal axis", ylabel="second", title=f"(b) the image at layer {layers[-1]}")
    b.set_aspect("equal", adjustable="datalim")
    b.legend(fontsize=7)
    return fig


def plot_gradients(r: GradientResult):
    """Squared gradient norm per layer (log scale) for each setting, with the prediction χ₁ per layer."""
    fig, axes = figure(2, width=4.4, height=3.4)
    layers = np.arange(1, r.grad_sq.shape[-1] + 1)
    for ax, act in zip(axes, ("tanh", "relu")):
        idx = [k for k, a in enumerate(r.act) if a == act]
        for color, k in zip(COLORS, idx):
            g = r.grad_sq[k]
            for rep in g:
                ax.plot(layers, rep, "-", color=color, alpha=0.5, lw=1)
            top = g[:, -1].mean()
            ax.plot(layers, top * r.chi1_theory[k] ** (layers[-1] - layers), "k:", lw=1)
            ax.plot([], [], "-", color=color, label=f"σ_w² = {r.sigma_w2[k]:g}: χ₁ = {r.chi1_theory[k]:.2f}")
        ax.set(yscale="log", xlabel="layer l (input side left)", ylabel="‖∂loss/∂h_l‖²",
               title=f"{act}: dotted lines χ₁ per layer")
        ax.legend(fontsize=7)
    return fig


def plot_trainability(r: TrainabilityResult):
    """Training accuracy after the run over (σ_w², depth), with 6 ξ_c: Schoenholz et al.'s limit of trainable
    depth."""
    fig, ax = figure(1, width=5.4, height=3.6)
    acc = r.train_acc.mean(-1)
    im = ax.imshow(acc, origin="lower", aspect="auto", cmap="viridis", vmin=0.1, vmax=max(0.5, acc.max()),
                   extent=(-0.5, len(r.sigma_w2) - 0.5, -0.5, len(r.depths) - 0.5))
    for d in range(len(r.depths)):
        for w in range(len(r.sigma_w2)):
            ax.text(w, d, f"{acc[d, w]:.0%}", ha="center", va="center", fontsize=8,
                    color="white" if acc[d, w] < 0.4 else "black")
    ax.set_xticks(range(len(r.sigma_w2)), [f"{w:g}\nξ_c={x:.0f}" if np.isfinite(x) and x < 1e3 else f"{w:g}\nξ_c=∞"
                                            for w, x in zip(r.sigma_w2, r.xi)], fontsize=7)
    ax.set_yticks(range(len(r.depths)), [str(d) for d in r.depths])
    limit = np.log2(np.clip(6 * r.xi, 1, 1e4))
    ax.plot(np.arange(len(r.sigma_w2)), np.interp(limit, np.log2(r.depths), np.arange(len(r.depths))), "w--",
            label="depth = 6 ξ_c")
    ax.set(xlabel="σ_w² (σ_b² = 0.05)", ylabel="hidden layers", ylim=(-0.5, len(r.depths) - 0.5),
           title="training accuracy after the same budget")
    ax.grid(False)
    ax.legend(loc="upper right", fontsize=7)
    fig.colorbar(im, ax=ax, label="training accuracy")
    return fig


def plot_robustness(r: RobustnessResult):
    """(a) PGD robust accuracy against clean accuracy at every checkpoint of every architecture, coloured by
    parameter count, with the straight-line fit; (b) the same points against parameter count, coloured by
    clean accuracy; (c) how much of the variance of robust accuracy clean accuracy and size explain, at each
    radius."""
    import matplotlib as mpl

    fig, (a, b, c) = figure(3, width=3.5, height=3.3)
    i = int(np.flatnonzero(np.isclose(r.epsilons, r.epsilon))[0])
    clean = r.clean.mean(1)  # (A, E)
    robust = r.pgd[..., i].mean(1)
    size = np.repeat(r.params[:, None], clean.shape[1], 1)
    markers = dict(zip(sorted(set(r.depth.tolist())), "os^Dv<>p"))
    norm = mpl.colors.LogNorm(r.params.min(), r.params.max())
    for k in range(len(r.params)):
        a.scatter(clean[k], robust[k], c=size[k], cmap="viridis", norm=norm, marker=markers[r.depth[k]], s=18)
    fit = robustness_fit(r)
    line = np.linspace(clean.min(), clean.max(), 2)
    a.plot(line, fit.coef_clean[0] + fit.coef_clean[1] * line, "k--", lw=1)
    for d, m in markers.items():
        a.plot([], [], m, color="grey", label=f"{d} hidden layer{'s' if d > 1 else ''}")
    a.legend(fontsize=7, loc="upper left")
    a.set(xlabel="clean test accuracy", ylabel=f"accuracy under PGD, ε = {r.epsilon:g}",
          title=f"(a) robust vs clean: R² = {fit.r2_clean:.2f}")
    fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=a, label="parameters")
    sc = b.scatter(size.ravel(), robust.ravel(), c=clean.ravel(), cmap="plasma", s=14)
    b.set(xscale="log", xlabel="parameters", ylabel=f"accuracy under PGD, ε = {r.epsilon:g}",
          title=f"(b) robust vs size: R² = {fit.r2_size:.2f}")
    fig.colorbar(sc, ax=b, label="clean test accuracy")
    fits = [(robustness_fit(r, "pgd", e), robustness_fit(r, "fgsm", e)) for e in r.epsilons]
    c.plot(r.epsilons, [p.r2_clean for p, _ in fits], "o-", color=COLORS[0], label="clean accuracy (PGD)")
    c.plot(r.epsilons, [p.r2_size for p, _ in fits], "s-", color=COLORS[1], label="parameter count (PGD)")
    c.plot(r.epsilons, [f.r2_clean for _, f in fits], "o:", color=COLORS[0], label="clean accuracy (FGSM)")
    c.plot(r.epsilons, [f.r2_size for _, f in fits], "s:", color=COLORS[1], label="parameter count (FGSM)")
    c.set(xscale="log", xlabel="radius ε", ylabel="R² of robust accuracy", ylim=(0, 1),
          title="(c) R² at each radius")
    c.minorticks_off()
    c.set_xticks(r.epsilons, [f"{e:g}" for e in r.epsilons])
    c.legend(fontsize=7)
    return fig
