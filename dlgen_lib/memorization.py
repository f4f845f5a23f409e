"""Chapter 1: networks memorize random labels and random inputs (Zhang et al. 2017), and what follows for
generalization bounds.

Three experiments, each one call that returns plain numpy results and is cached on disk:

* :func:`corruption_sweep` -- MLPs trained on MNIST-1D whose labels are corrupted with probability p,
  all corruption levels and seeds trained together with the ensemble trainer;
* :func:`random_inputs` -- the same networks trained on inputs replaced by noise (Gaussian, shuffled or
  randomly permuted features), still with the original labels;
* :func:`regularized_memorization` -- true and random labels with weight decay or dropout switched on;
* :func:`regularizer_strengths` -- the same over a grid of strengths of each, to find where memorization stops.

and the bounds of the chapter's last section: :func:`vc_bound`, :func:`rademacher_bound` (with the
Rademacher complexity read off the random-label fits, :func:`rademacher_from_fit`) and
:func:`validation_bound` (Kawaguchi et al. 2017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .cache import cached
from .config import (
    Check,
    CheckedConfig,
    Integer,
    OneOf,
    Real,
    TupleOf,
    get_device,
    nonnegative_real,
    positive_int,
    positive_real,
    probability,
    scaled,
    seed_tuple,
)
from .data import INPUT_CORRUPTIONS, Dataset, corrupt_labels, mnist1d, randomize_inputs
from .models import MLP, RateDropout, build, param_count
from .train import Ensemble, History, TrainConfig, train_ensemble


@dataclass(frozen=True)
class MemorizationConfig(CheckedConfig):
    """Sizes of chapter 1's experiments (MNIST-1D, MLP 40-w-...-w-10, Adam). Every field is checked when a config
    is made (``RULES``): a value out of range is a :class:`~dlgen_lib.config.ConfigError` naming it."""

    n_train: int = 4000  # training examples used (MNIST-1D has 4 000)
    width: int = 256  # hidden units per layer
    depth: int = 2  # hidden layers
    steps: int = 1500  # Adam updates per network
    lr: float = 2e-3  # Adam learning rate
    batch_size: int = 128  # minibatch size B
    eval_every: int = 100  # steps between measurements of train/test accuracy
    corruptions: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # label-corruption fractions p
    seeds: tuple[int, ...] = (0, 1)  # one network per seed and setting
    input_kinds: tuple[str, ...] = INPUT_CORRUPTIONS  # random-input variants
    weight_decay: float = 1e-3  # L2 coefficient of the regularized runs
    dropout: float = 0.1  # dropout rate of the regularized runs
    reg_steps: int = 2000  # steps of the regularized runs (regularizers slow memorization down)
    n_val: int = 500  # the first n_val test examples serve as a validation set, the rest as a held-out set
    strength_n_train: int = 1000  # training examples of the strength sweep (the first ones: fewer, to keep it cheap)
    strength_steps: int = 400  # Adam updates per network of the strength sweep (about 50 epochs of 1 000)
    wd_grid: tuple[float, ...] = (0.0, 1e-3, 1e-2, 3e-2)  # L2 coefficients of the strength sweep, from 0 up
    dropout_grid: tuple[float, ...] = (0.0, 0.2, 0.5)  # dropout rates of the strength sweep, from 0 up

    RULES = {  # MNIST-1D has 4 000 training and 1 000 test examples
        "n_train": positive_int(4000, "MNIST-1D has 4 000 training examples"),
        "width": positive_int(),
        "depth": Integer(0, None, "hidden layers; 0 is a linear classifier"),
        "steps": positive_int(),
        "lr": positive_real("Adam's learning rate"),
        "batch_size": positive_int(4000, "4 000 or more is full-batch on all of MNIST-1D"),
        "eval_every": positive_int(),
        "corruptions": TupleOf(probability(), distinct=True, note="label-corruption probabilities p"),
        "seeds": seed_tuple(999, "seed s of setting i initializes its network with seed 1000 i + s"),
        "input_kinds": TupleOf(OneOf(INPUT_CORRUPTIONS), distinct=True),
        "weight_decay": nonnegative_real("an L2 coefficient"),
        "dropout": Real(0.0, 1.0, hi_open=True, note="a dropout rate"),
        "reg_steps": positive_int(),
        "n_val": positive_int(999, "the first n_val of the 1 000 MNIST-1D test examples validate, the other "
                            "1 000 - n_val (at least one) are held out"),
        "strength_n_train": positive_int(4000, "MNIST-1D has 4 000 training examples"),
        "strength_steps": positive_int(),
        "wd_grid": TupleOf(nonnegative_real(), distinct=True, contains=(0.0,),
                           note="L2 coefficients; 0 is the unregularized baseline"),
        "dropout_grid": TupleOf(Real(0.0, 1.0, hi_open=True), distinct=True, contains=(0.0,),
                                note="dropout rates; 0 is the unregularized baseline"),
    }
    CHECKS = (
        Check(("wd_grid",), lambda c: list(c.wd_grid) == sorted(c.wd_grid), "the strengths must increase"),
        Check(("dropout_grid",), lambda c: list(c.dropout_grid) == sorted(c.dropout_grid),
              "the rates must increase"),
    )

    def train_config(self, steps: int | None = None, weight_decay: float = 0.0) -> TrainConfig:
        return TrainConfig(steps=steps or self.steps, lr=self.lr, batch_size=self.batch_size, optimizer="adam",
                           eval_every=self.eval_every, weight_decay=weight_decay)

    def factory(self, dropout: float = 0.0):
        widths = [self.width] * self.depth
        return lambda: MLP(40, widths, 10, dropout=dropout)


def memorization_config(scale: str | None = None, **overrides) -> MemorizationConfig:
    """The config for the scale (``$DLGEN_SCALE`` by default); keyword arguments override single fields."""
    return scaled(
        tiny=MemorizationConfig(n_train=400, width=64, steps=300, eval_every=50, corruptions=(0.0, 0.5, 1.0),
                                seeds=(0,), reg_steps=300, n_val=500, strength_n_train=400, strength_steps=300,
                                wd_grid=(0.0, 1e-3, 1e-2, 3e-2), dropout_grid=(0.0, 0.5)),
        small=MemorizationConfig(),
        full=MemorizationConfig(width=512, steps=4000, reg_steps=6000, eval_every=50,
                                corruptions=tuple(np.round(np.linspace(0, 1, 11), 2)), seeds=(0, 1, 2, 3, 4),
                                strength_n_train=4000, strength_steps=6000, wd_grid=(0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2),
                                dropout_grid=(0.0, 0.1, 0.3, 0.5, 0.7)),
        scale=scale, overrides=overrides)


@dataclass(frozen=True)
class SweepResult:
    """Histories of K networks with the settings that produced them.

    ``labels[k]`` names network k's setting (a corruption level, an input kind, a regularizer); metrics are
    (K, E) arrays at the steps ``step`` (E,); ``val_acc``/``holdout_acc`` split the test set in two halves
    (for the validation bound); ``n_params`` is the parameter count of one network.
    """

    settings: tuple
    seeds: tuple[int, ...]
    step: np.ndarray
    train_acc: np.ndarray
    train_loss: np.ndarray
    test_acc: np.ndarray
    test_loss: np.ndarray
    val_acc: np.ndarray
    holdout_acc: np.ndarray
    n_params: int
    n_train: int
    n_val: int

    def by_setting(self, metric: str) -> np.ndarray:
        """``metric`` reshaped to (n_settings, n_seeds, E)."""
        values = getattr(self, metric)
        return values.reshape(len(self.settings), len(self.seeds), -1)

    def steps_to_fit(self, threshold: float = 1.0) -> np.ndarray:
        """(n_settings, n_seeds) first recorded step with train accuracy >= threshold (NaN if never)."""
        hist = History(self.step, self.train_loss, self.train_acc, self.test_loss, self.test_acc)
        return hist.steps_to_fit(threshold).reshape(len(self.settings), len(self.seeds))


def _data(cfg: MemorizationConfig) -> Dataset:
    return mnist1d().subset(n_train=cfg.n_train)


def _split_callback(data: Dataset, n_val: int):
    """A callback recording accuracy on the validation half and the held-out half of the test set."""
    x_val, y_val = data.x_test[:n_val], data.y_test[:n_val]
    x_hold, y_hold = data.x_test[n_val:], data.y_test[n_val:]

    def record(step, ens, history):
        for name, (x, y) in (("val", (x_val, y_val)), ("holdout", (x_hold, y_hold))):
            loss, acc = ens.evaluate(x, y)
            history.extra.setdefault(f"{name}_loss", []).append(loss.tolist())
            history.extra.setdefault(f"{name}_acc", []).append(acc.tolist())
    return record


def _run(cfg: MemorizationConfig, data: Dataset, settings: tuple, x: torch.Tensor, y: torch.Tensor,
         tcfg: TrainConfig, dropout: float = 0.0, per_model_inputs: bool = False, desc: str = "") -> SweepResult:
    """Train len(settings) * len(cfg.seeds) networks together on x/y (stacked in that order), measured on
    ``data``'s test set."""
    device = get_device()
    seeds = [1000 * i + s for i in range(len(settings)) for s in cfg.seeds]
    # the test set is measured by the callback, in its validation and held-out halves
    _, hist = train_ensemble(cfg.factory(dropout), seeds, x.to(device), y.to(device), tcfg,
                             per_model_inputs=per_model_inputs,
                             callbacks=[_split_callback(data.to(device), cfg.n_val)], desc=desc)
    extra = {k: np.asarray(v).T for k, v in hist.extra.items()}  # each (K, E)
    n_val, n_hold = cfg.n_val, len(data.y_test) - cfg.n_val
    test_acc = (n_val * extra["val_acc"] + n_hold * extra["holdout_acc"]) / (n_val + n_hold)
    test_loss = (n_val * extra["val_loss"] + n_hold * extra["holdout_loss"]) / (n_val + n_hold)
    return SweepResult(tuple(settings), tuple(cfg.seeds), hist.step, hist.train_acc, hist.train_loss,
                       test_acc, test_loss, extra["val_acc"], extra["holdout_acc"],
                       param_count(build(cfg.factory(), 0)), cfg.n_train, cfg.n_val)


def _rate_dropout_factory(cfg: MemorizationConfig):
    """The MLP of ``cfg.factory()`` with a :class:`~.models.RateDropout` after every hidden layer: the same
    parameters, initialised the same way for a seed, but the dropout rate is a buffer, so that each network of
    an ensemble can have its own (rate 0: the plain MLP)."""
    def factory():
        layers: list[torch.nn.Module] = [torch.nn.Flatten()]
        fan_in = 40
        for _ in range(cfg.depth):
            layers += [torch.nn.Linear(fan_in, cfg.width), torch.nn.ReLU(), RateDropout(0.0)]
            fan_in = cfg.width
        return torch.nn.Sequential(*layers, torch.nn.Linear(fan_in, 10))
    return factory


@cached
def corruption_sweep(cfg: MemorizationConfig) -> SweepResult:
    """Networks trained on labels corrupted with probability p (Zhang et al.'s "partially corrupted labels"),
    one per (p, seed); the corruption of seed s is drawn with seed 100 + s."""
    data = _data(cfg)
    ys = torch.stack([corrupt_labels(data.y_train, p, seed=100 + s).labels
                      for p in cfg.corruptions for s in cfg.seeds])  # (K, n)
    return _run(cfg, data, cfg.corruptions, data.x_train, ys, cfg.train_config(), desc="corruption sweep")


@cached
def random_inputs(cfg: MemorizationConfig) -> SweepResult:
    """Networks trained on inputs replaced by noise of each kind in ``cfg.input_kinds``, with the original
    labels, which no longer have anything to do with the inputs. (Test accuracies of these networks mean
    nothing: the test inputs are the clean ones.)"""
    data = _data(cfg)
    settings = tuple(cfg.input_kinds)
    xs = torch.stack([randomize_inputs(data.x_train, kind, seed=200 + s)
                      for kind in settings for s in cfg.seeds])  # (K, n, 40)
    ys = data.y_train.expand(len(xs), -1)
    return _run(cfg, data, settings, xs, ys, cfg.train_config(), per_model_inputs=True, desc="random inputs")


@cached
def regularized_memorization(cfg: MemorizationConfig) -> dict[str, SweepResult]:
    """True labels (p = 0) and random labels (p = 1), trained with weight decay, and with dropout (the runs
    without a regularizer are the p = 0 and p = 1 networks of :func:`corruption_sweep`)."""
    data = _data(cfg)
    ys = torch.stack([corrupt_labels(data.y_train, p, seed=100 + s).labels
                      for p in (0.0, 1.0) for s in cfg.seeds])
    runs = {f"weight decay {cfg.weight_decay:g}": (cfg.weight_decay, 0.0),
            f"dropout {cfg.dropout:g}": (0.0, cfg.dropout)}
    return {name: _run(cfg, data, (0.0, 1.0), data.x_train, ys, cfg.train_config(cfg.reg_steps, wd), dropout=drop,
                       desc=name)
            for name, (wd, drop) in runs.items()}


REGULARIZERS = ("weight decay", "dropout")


@dataclass(frozen=True)
class StrengthSweep:
    """Final accuracies of networks trained with one regularizer at each strength of a grid, on random labels
    (p = 1) and on true labels (p = 0).

    ``strengths[name]`` (V,) increases from 0 for each regularizer name in :data:`REGULARIZERS`;
    ``random_train[name]`` (V, S) is the train accuracy on the random labels after ``steps`` updates,
    ``true_test[name]`` and ``true_train[name]`` (V, S) the test and train accuracy of the true-label networks.
    Strength 0 is the same networks for both regularizers.
    """

    strengths: dict[str, tuple[float, ...]]
    seeds: tuple[int, ...]
    steps: int
    n_train: int
    random_train: dict[str, np.ndarray]
    true_test: dict[str, np.ndarray]
    true_train: dict[str, np.ndarray]

    def stops(self, name: str, threshold: float = 0.99) -> int | None:
        """Index of the weakest strength of ``name`` at which the random labels are no longer fitted (mean train
        accuracy over seeds below ``threshold``); None if they are fitted at every strength."""
        below = np.flatnonzero(self.random_train[name].mean(1) < threshold)
        return int(below[0]) if len(below) else None


@cached
def regularizer_strengths(cfg: MemorizationConfig) -> StrengthSweep:
    """Random labels (p = 1) and true labels (p = 0) of the first ``cfg.strength_n_train`` training examples,
    trained for ``cfg.strength_steps`` with weight decay at every strength of ``cfg.wd_grid`` and with dropout at
    every rate of ``cfg.dropout_grid``: one network per (strength, labels, seed), all in one ensemble, each with
    its own L2 coefficient and dropout rate. Only the final accuracies are measured (test: all 1 000 test
    examples). The random labels of seed s are drawn with seed 100 + s, as in :func:`corruption_sweep`."""
    data = mnist1d().subset(n_train=cfg.strength_n_train)
    device = get_device()
    # (L2 coefficient, dropout rate) per setting; strength 0 of both grids is one setting
    settings = [(0.0, 0.0)] + [(wd, 0.0) for wd in cfg.wd_grid if wd > 0] + [(0.0, r) for r in cfg.dropout_grid
                                                                                if r > 0]
    labels = {p: [corrupt_labels(data.y_train, p, seed=100 + s).labels for s in cfg.seeds] for p in (0.0, 1.0)}
    runs = [(i, p, j) for i in range(len(settings)) for p in (0.0, 1.0) for j in range(len(cfg.seeds))]
    seeds = [1000 * (2 * i + int(p)) + cfg.seeds[j] for i, p, j in runs]
    ys = torch.stack([labels[p][j] for _, p, j in runs]).to(device)  # (K, n)
    ens = Ensemble.build(_rate_dropout_factory(cfg), seeds, device)
    rates = torch.tensor([settings[i][1] for i, _, _ in runs], dtype=torch.float32, device=device)
    for name in ens.buffers:  # every RateDropout layer gets each network's rate
        if name.endswith(".p"):
            ens.buffers[name] = rates
    tcfg = TrainConfig(steps=cfg.strength_steps, lr=cfg.lr, batch_size=cfg.batch_size, optimizer="adam",
                       eval_every=cfg.strength_steps)  # measured at the start and the end only
    _, hist = train_ensemble(None, seeds, data.x_train.to(device), ys, tcfg, data.x_test.to(device),
                             data.y_test.to(device), ensemble=ens,
                             weight_decays=[settings[i][0] for i, _, _ in runs], desc="regularizer strengths")
    train_acc = hist.train_acc[:, -1].reshape(len(settings), 2, len(cfg.seeds))  # (settings, p, seeds)
    test_acc = hist.test_acc[:, -1].reshape(len(settings), 2, len(cfg.seeds))
    grids = {"weight decay": tuple(float(v) for v in cfg.wd_grid),
             "dropout": tuple(float(v) for v in cfg.dropout_grid)}
    rows = {name: [settings.index((v, 0.0) if name == "weight decay" else (0.0, v)) for v in grid]
            for name, grid in grids.items()}
    return StrengthSweep(strengths=grids, seeds=tuple(cfg.seeds), steps=cfg.strength_steps,
                         n_train=cfg.strength_n_train,
                         random_train={n: train_acc[r, 1] for n, r in rows.items()},
                         true_test={n: test_acc[r, 0] for n, r in rows.items()},
                         true_train={n: train_acc[r, 0] for n, r in rows.items()})


# ------------------------------------------------------------------------------------------------ bounds


def vc_bound(train_error: float, vc_dim: float, n: int, delta: float = 0.05) -> float:
    """Vapnik's bound on the test error of a class of VC dimension d, with probability >= 1 - delta:

        test_error <= train_error + sqrt( (d (ln(2n/d) + 1) + ln(4/delta)) / n ),

    valid for n > d. When d >= n the class can shatter the training set and the bound says nothing:
    we return ``inf`` then, rather than a formula outside its range.
    """
    if vc_dim >= n:
        return math.inf
    return train_error + math.sqrt((vc_dim * (math.log(2 * n / vc_dim) + 1) + math.log(4 / delta)) / n)


def rademacher_from_fit(random_label_train_acc: np.ndarray) -> float:
    """A lower bound on the empirical Rademacher complexity of the network class on the training inputs,
    read off networks that were trained on uniformly random labels among 10 classes.

    The parity of a uniform random class is a uniform random sign sigma_i; a network that predicts the class
    with accuracy a predicts the sign with accuracy >= a, so sup_f (1/n) sum_i sigma_i f(x_i) >= 2a - 1 for
    that draw of sigma. Averaged over draws (seeds) this estimates a lower bound of
    R_n = E_sigma sup_f (1/n) sum_i sigma_i f(x_i).
    """
    return float(np.mean(2 * np.asarray(random_label_train_acc) - 1))


def rademacher_bound(train_error: float, rademacher: float, n: int, delta: float = 0.05) -> float:
    """The Rademacher bound for binary classifiers with values +-1 (Bartlett & Mendelson 2002; Mohri et al.,
    Thm. 3.5 with R(loss class) = R/2), with probability >= 1 - delta:

        test_error <= train_error + R_n + 3 sqrt( ln(2/delta) / (2n) ).
    """
    return train_error + rademacher + 3 * math.sqrt(math.log(2 / delta) / (2 * n))


def validation_bound(val_error: float, n_models: int, m_val: int, delta: float = 0.05) -> float:
    """Kawaguchi, Kaelbling & Bengio's (2017) validation bound: if the final model is chosen among
    ``n_models`` = |F_val| candidates by their error on ``m_val`` validation examples, then with probability
    >= 1 - delta, for the chosen model (and every candidate),

        test_error <= val_error + sqrt( ln(|F_val| / delta) / (2 m_val) ).

    >>> round(validation_bound(0.3, n_models=1, m_val=1000, delta=0.05), 4)
    0.3387
    """
    return val_error + math.sqrt(math.log(n_models / delta) / (2 * m_val))


# ------------------------------------------------------------------------------------------------ figures


def plot_inputs(data: Dataset, index: int = 0, seed: int = 0):
    """One MNIST-1D training signal and what each of Zhang et al.'s input corruptions makes of it."""
    from .plotting import figure

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
    from .plotting import band, figure, percent_axis

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
    from .plotting import band, figure, percent_axis

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
    from .plotting import COLORS, figure, percent_axis

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
    from .plotting import COLORS, band, figure, percent_axis

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


@dataclass(frozen=True)
class Bounds:
    """Bounds on the test error of the trained networks, each computed from measured numbers."""

    n_train: int
    n_params: int
    test_error: float  # measured, held-out half of the test set, of the model chosen on validation
    val_error: float  # validation error of that model
    n_candidates: int  # |F_val|: models compared on the validation set
    m_val: int
    delta: float
    rademacher: float  # lower bound on the Rademacher complexity, from the random-label fits
    vc: float  # the VC bound (inf: vacuous, the class shatters the training set)
    rademacher_bound: float
    validation_bound: float


def bounds(sweep: SweepResult, delta: float = 0.05) -> Bounds:
    """The three bounds of the chapter for the networks trained on true labels (p = 0).

    Model selection: every recorded checkpoint of every p = 0 network is a candidate; the one with the best
    accuracy on the validation half of the test set is chosen, and its error on the held-out half is the
    "test error" the bounds must cover.
    """
    i0, i1 = list(sweep.settings).index(0.0), list(sweep.settings).index(1.0)
    val = sweep.by_setting("val_acc")[i0].ravel()  # (S * E,)
    hold = sweep.by_setting("holdout_acc")[i0].ravel()
    best = int(np.argmax(val))
    m_val = sweep.n_val
    train_error = 1 - float(sweep.by_setting("train_acc")[i0, :, -1].mean())
    rad = rademacher_from_fit(sweep.by_setting("train_acc")[i1, :, -1])
    return Bounds(n_train=sweep.n_train, n_params=sweep.n_params, test_error=1 - float(hold[best]),
                  val_error=1 - float(val[best]), n_candidates=len(val), m_val=m_val, delta=delta,
                  rademacher=rad, vc=vc_bound(train_error, max(sweep.n_train, sweep.n_params), sweep.n_train, delta),
                  rademacher_bound=rademacher_bound(train_error, rad, sweep.n_train, delta),
                  validation_bound=validation_bound(1 - float(val[best]), len(val), m_val, delta))


def plot_bounds(b: Bounds):
    """The measured test error beside the three bounds; anything above 1 says nothing about an error rate."""
    from .plotting import COLORS, figure

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
