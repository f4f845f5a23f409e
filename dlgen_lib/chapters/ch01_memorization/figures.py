"""Chapter 1's figures: what each input corruption makes of a signal, the corruption sweep, random inputs, the
regularizers (at one strength and over a grid of strengths), and the bounds beside the measured test error."""

from __future__ import annotations

import numpy as np

from ...data import INPUT_CORRUPTIONS, Dataset, randomize_inputs
from ...plotting import COLORS, band, figure, percent_axis
from .experiments import Bounds, StrengthSweep, SweepResult

__all__ = ["plot_bounds", "plot_corruption_sweep", "plot_inputs", "plot_random_inputs", "plot_regularizer_strengths",
           "plot_regularizers"]


def plot_inputs(data: Dataset, index: int = 0, seed: int = 0):
    """One MNIST-1D training signal and what each of Zhang et al.'s input corruptions makes of it."""

    fig, axes = figure(ncols=4, width=2.6, height=2.2, sharey=True)
    variants = {"true input": data.x_train}
    variants.update({kind.replace("_", " "): randomize_inputs(data.x_train, kind, seed) for kind in INPUT_CORRUPTIONS})
    for ax, (name, x) in zip(axes, variants.items()):
        ax.plot(x[index].numpy(), color="#0072B2")
        ax.set(title=name, xlabel="position (of 40)")
    axes[0].set_ylabel("value")
    return fig


def plot_corruption_sweep(sweep: SweepResult):
    """(a) train accuracy during training for each p; (b) final train and test accuracy against p;
    (c) steps until 100 % train accuracy, relative to p = 0."""

    fig, (a, b, c) = figure(ncols=3, width=3.6, height=3.0)
    train = sweep.by_setting("train_acc")  # (P, S, E)
    for i, p in enumerate(sweep.settings):
        band(a, sweep.step, train[i], label=f"p = {p:g}")
    a.set(xlabel="step", ylabel="train accuracy", title="(a) every corruption level is fitted")
    a.legend(ncol=2)
    ps = np.asarray(sweep.settings, dtype=float)
    band(b, ps, sweep.by_setting("train_acc")[:, :, -1].T, label="train", marker="o")
    band(b, ps, sweep.by_setting("test_acc")[:, :, -1].T, label="test", marker="s")
    b.axhline(0.1, color="grey", linestyle=":", label="chance (10 %)")
    b.set(xlabel="label corruption p", ylabel="accuracy after training", title="(b) test accuracy falls to chance")
    b.legend()
    fit = sweep.steps_to_fit()
    band(c, ps, (fit / fit[0].mean()).T, marker="o", label="100 % train accuracy")
    c.axhline(1.0, color="grey", linestyle=":")
    c.set(xlabel="label corruption p", ylabel="steps to fit / steps at p = 0",
          title="(c) fitting noise is not much slower")
    c.set_ylim(0, max(2.0, np.nanmax(fit / fit[0].mean()) * 1.1))
    for ax in (a, b):
        percent_axis(ax)
    return fig


def plot_random_inputs(sweep: SweepResult, inputs: SweepResult):
    """Train accuracy during training: true data, random labels, and each kind of random input."""

    fig, ax = figure(width=5.2, height=3.2)
    train = sweep.by_setting("train_acc")
    band(ax, sweep.step, train[0], label="true labels")
    band(ax, sweep.step, train[-1], label="random labels")
    for i, kind in enumerate(inputs.settings):
        band(ax, inputs.step, inputs.by_setting("train_acc")[i], label=kind.replace("_", " "))
    ax.set(xlabel="step", ylabel="train accuracy", title="Random inputs are memorized as well")
    percent_axis(ax)
    ax.legend()
    return fig


def plot_regularizers(sweep: SweepResult, regularized: dict[str, SweepResult]):
    """For no regularizer, weight decay and dropout: final train accuracy on random labels, test accuracy with
    true labels, and the steps until 99 % train accuracy on random labels."""

    names = ["none", *regularized]
    runs = [sweep, *regularized.values()]
    last = lambda r, metric, setting: r.by_setting(metric)[list(r.settings).index(setting), :, -1]  # noqa: E731
    rand_train = [last(r, "train_acc", 1.0) for r in runs]
    true_test = [last(r, "test_acc", 0.0) for r in runs]
    fit99 = [r.steps_to_fit(0.99)[list(r.settings).index(1.0)] for r in runs]
    fig, (a, b) = figure(ncols=2, width=4.2, height=3.0)
    xs = np.arange(len(names))
    for offset, vals, label, color in ((-0.2, rand_train, "train, random labels", COLORS[1]),
                                       (0.2, true_test, "test, true labels", COLORS[0])):
        a.bar(xs + offset, [v.mean() for v in vals], 0.38, yerr=[v.std() for v in vals], label=label, color=color)
    a.set(xticks=xs, xticklabels=names, ylabel="accuracy after training", title="(a) regularized nets still memorize",
          ylim=(0, 1.3), yticks=np.linspace(0, 1, 6))
    percent_axis(a)
    a.legend(loc="upper center", ncol=2)
    finite = [v[np.isfinite(v)] for v in fit99]  # NaN: 99 % never reached
    b.bar(xs, [v.mean() if len(v) else np.nan for v in finite], 0.5,
          yerr=[v.std() if len(v) > 1 else 0.0 for v in finite], color=COLORS[2])
    b.set(xticks=xs, xticklabels=names, ylabel="steps to 99 % train accuracy", title="(b) ... only more slowly")
    return fig


def plot_regularizer_strengths(result: StrengthSweep, threshold: float = 0.99):
    """One panel per regularizer: against its strength, the final train accuracy on random labels, and the test
    (and train) accuracy on true labels; the dotted vertical line marks the weakest strength at which the random
    labels are no longer fitted (mean train accuracy below ``threshold``)."""

    names = list(result.strengths)
    fig, axes = figure(ncols=len(names), width=4.2, height=3.2, sharey=True)
    xlabels = {"weight decay": "weight decay (L2 coefficient)", "dropout": "dropout rate"}
    for ax, name, letter in zip(axes, names, "abcdefgh"):
        xs = np.arange(len(result.strengths[name]))  # evenly spaced: the grid spans decades and includes 0
        band(ax, xs, result.random_train[name].T, label="train, random labels", color=COLORS[1], marker="o")
        band(ax, xs, result.true_test[name].T, label="test, true labels", color=COLORS[0], marker="s")
        band(ax, xs, result.true_train[name].T, label="train, true labels", color=COLORS[0], marker=".",
             alpha=0.1).set_linestyle("--")
        ax.axhline(threshold, color="grey", linestyle=":", linewidth=1)
        ax.axhline(0.1, color="grey", linestyle="-.", linewidth=1, label="chance (10 %)")
        stop = result.stops(name, threshold)
        if stop is not None:
            ax.axvline(stop, color=COLORS[1], linestyle=":", label=f"random labels < {threshold:.0%}")
        ax.set(xticks=xs, xticklabels=[f"{v:g}" for v in result.strengths[name]], ylim=(0, 1.05),
               xlabel=xlabels.get(name, f"{name} strength"), ylabel="accuracy after training",
               title=f"({letter}) {name}: where memorization stops")
        percent_axis(ax)
    axes[0].legend(loc="lower left")
    return fig


def plot_bounds(b: Bounds):
    """The measured test error beside the three bounds; anything above 1 says nothing about an error rate."""

    fig, ax = figure(width=5.4, height=3.2)
    names = ["measured\ntest error", "validation\nbound", "Rademacher\nbound", "VC bound\n(d >= n)"]
    values = [b.test_error, b.validation_bound, b.rademacher_bound, b.vc]
    top = 1.5
    colors = [COLORS[0], COLORS[2], COLORS[1], COLORS[1]]
    bars = ax.bar(range(4), [min(v, top) for v in values], 0.6, color=colors)
    for bar, v in zip(bars, values):
        text = "infinite" if not np.isfinite(v) else f"{v:.2f}"
        ax.text(bar.get_x() + bar.get_width() / 2, min(v, top) + 0.03, text, ha="center", fontsize=9)
    ax.axhline(1.0, color="grey", linestyle=":", label="error rate 1 (vacuous above)")
    ax.set(xticks=range(4), xticklabels=names, ylim=(0, top + 0.15), ylabel="bound on the test error",
           title=f"Bounds at delta = {b.delta:g} (n = {b.n_train}, {b.n_params:,} parameters)")
    ax.legend(loc="upper left")
    return fig
