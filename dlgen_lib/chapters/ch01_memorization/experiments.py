"""Chapter 1's experiments: networks memorize random labels and random inputs (Zhang et al. 2017), and what
follows for generalization bounds.

Four experiments, each one call that returns plain numpy results and is cached on disk under the parts of
:class:`MemorizationConfig` it reads:

* :func:`corruption_sweep` (``net``, ``split``, ``corruption``) -- MLPs trained on MNIST-1D whose labels are
  corrupted with probability p, all corruption levels and seeds trained together with the ensemble trainer;
* :func:`random_inputs` (``net``, ``split``, ``inputs``) -- the same networks trained on inputs replaced by noise
  (Gaussian, shuffled or randomly permuted features), still with the original labels;
* :func:`regularized_memorization` (``net``, ``split``, ``regularized``) -- true and random labels with weight
  decay or dropout switched on;
* :func:`regularizer_strengths` (``net``, ``strengths``) -- the same over a grid of strengths of each, to find
  where memorization stops;

and :func:`bound_table`, the bounds of the chapter's last section computed from the corruption sweep (the bounds
themselves are in :mod:`dlgen_lib.bounds`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...bounds import rademacher_bound, rademacher_from_fit, validation_bound, vc_bound
from ...cache import cached
from ...config import (
    Check,
    CheckedConfig,
    Integer,
    OneOf,
    Real,
    TupleOf,
    get_device,
    nonnegative_real,
    part,
    positive_int,
    positive_real,
    probability,
    seed_tuple,
)
from ...data import INPUT_CORRUPTIONS, Dataset, corrupt_labels, mnist1d, randomize_inputs
from ...models import MLP, RateDropout, build, param_count
from ...train import Ensemble, History, TrainConfig, train_ensemble

__all__ = ["REGULARIZERS", "Bounds", "Corruption", "MemorizationConfig", "Network", "RandomInputs", "Regularized",
           "SplitSizes", "StrengthSweep", "Strengths", "SweepResult", "bound_table", "corruption_sweep",
           "random_inputs", "regularized_memorization", "regularizer_strengths"]

MNIST1D_TRAIN = "MNIST-1D has 4 000 training examples"


@dataclass(frozen=True)
class Network(CheckedConfig):
    """The MLP 40-w-...-w-10, its Adam optimizer and the seeds: shared by every experiment of the chapter."""

    width: int = 256  # hidden units per layer
    depth: int = 2  # hidden layers
    lr: float = 2e-3  # Adam learning rate
    batch_size: int = 128  # minibatch size B
    seeds: tuple[int, ...] = (0, 1)  # one network per seed and setting

    RULES = {
        "width": positive_int(),
        "depth": Integer(0, None, "hidden layers; 0 is a linear classifier"),
        "lr": positive_real("Adam's learning rate"),
        "batch_size": positive_int(4000, "4 000 or more is full-batch on all of MNIST-1D"),
        "seeds": seed_tuple(999, "seed s of setting i initializes its network with seed 1000 i + s"),
    }
    PRESETS = {"tiny": dict(width=64, seeds=(0,)), "full": dict(width=512, seeds=(0, 1, 2, 3, 4))}

    def train_config(self, steps: int, eval_every: int, weight_decay: float = 0.0) -> TrainConfig:
        return TrainConfig(steps=steps, lr=self.lr, batch_size=self.batch_size, optimizer="adam",
                           eval_every=eval_every, weight_decay=weight_decay)

    def factory(self, dropout: float = 0.0):
        widths = [self.width] * self.depth
        return lambda: MLP(40, widths, 10, dropout=dropout)


@dataclass(frozen=True)
class SplitSizes(CheckedConfig):
    """The training set, and the split of the test set into a validation half and a held-out half."""

    n_train: int = 4000  # training examples used (MNIST-1D has 4 000)
    n_val: int = 500  # the first n_val test examples serve as a validation set, the rest as a held-out set

    RULES = {
        "n_train": positive_int(4000, MNIST1D_TRAIN),
        "n_val": positive_int(999, "the first n_val of the 1 000 MNIST-1D test examples validate, the other "
                                   "1 000 - n_val (at least one) are held out"),
    }
    PRESETS = {"tiny": dict(n_train=400)}


@dataclass(frozen=True)
class Corruption(CheckedConfig):
    """:func:`corruption_sweep`: networks trained on labels corrupted with probability p."""

    levels: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # label-corruption probabilities p
    steps: int = 1500  # Adam updates per network
    eval_every: int = 100  # steps between measurements of train/test accuracy

    RULES = {
        "levels": TupleOf(probability(), distinct=True, contains=(0.0, 1.0),
                          note="label-corruption probabilities p; 0 (true labels) and 1 (random labels) are the "
                               "chapter's two poles"),
        "steps": positive_int(),
        "eval_every": positive_int(),
    }
    PRESETS = {"tiny": dict(levels=(0.0, 0.5, 1.0), steps=300, eval_every=50),
               "full": dict(levels=tuple(float(p) for p in np.round(np.linspace(0, 1, 11), 2)), steps=4000,
                            eval_every=50)}


@dataclass(frozen=True)
class RandomInputs(CheckedConfig):
    """:func:`random_inputs`: networks trained on inputs replaced by noise, with the original labels."""

    kinds: tuple[str, ...] = INPUT_CORRUPTIONS  # random-input variants
    steps: int = 1500
    eval_every: int = 100

    RULES = {
        "kinds": TupleOf(OneOf(INPUT_CORRUPTIONS), distinct=True),
        "steps": positive_int(),
        "eval_every": positive_int(),
    }
    PRESETS = {"tiny": dict(steps=300, eval_every=50), "full": dict(steps=4000, eval_every=50)}


@dataclass(frozen=True)
class Regularized(CheckedConfig):
    """:func:`regularized_memorization`: true and random labels with one weak regularizer switched on."""

    weight_decay: float = 1e-3  # L2 coefficient
    dropout: float = 0.1  # dropout rate
    steps: int = 2000  # regularizers slow memorization down: more steps than the sweep
    eval_every: int = 100

    RULES = {
        "weight_decay": nonnegative_real("an L2 coefficient"),
        "dropout": Real(0.0, 1.0, hi_open=True, note="a dropout rate"),
        "steps": positive_int(),
        "eval_every": positive_int(),
    }
    PRESETS = {"tiny": dict(steps=300, eval_every=50), "full": dict(steps=6000, eval_every=50)}


@dataclass(frozen=True)
class Strengths(CheckedConfig):
    """:func:`regularizer_strengths`: a grid of strengths of each regularizer, on fewer examples to stay cheap."""

    n_train: int = 1000  # training examples (the first ones)
    steps: int = 400  # Adam updates per network (about 50 epochs of 1 000)
    wd_grid: tuple[float, ...] = (0.0, 1e-3, 1e-2, 3e-2)  # L2 coefficients, from 0 up
    dropout_grid: tuple[float, ...] = (0.0, 0.2, 0.5)  # dropout rates, from 0 up

    RULES = {
        "n_train": positive_int(4000, MNIST1D_TRAIN),
        "steps": positive_int(),
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
    PRESETS = {"tiny": dict(n_train=400, steps=300, dropout_grid=(0.0, 0.5)),
               "full": dict(n_train=4000, steps=6000, wd_grid=(0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2),
                            dropout_grid=(0.0, 0.1, 0.3, 0.5, 0.7))}


@dataclass(frozen=True)
class MemorizationConfig(CheckedConfig):
    """Chapter 1's settings: one part per experiment, plus the parts they share (the network and its optimizer,
    the data split). Made by ``dl.scaled(MemorizationConfig)``; every field is checked when a config is made, and
    a value out of range is a :class:`~dlgen_lib.config.ConfigError` naming it."""

    net: Network = part(Network)
    split: SplitSizes = part(SplitSizes)
    corruption: Corruption = part(Corruption)
    inputs: RandomInputs = part(RandomInputs)
    regularized: Regularized = part(Regularized)
    strengths: Strengths = part(Strengths)


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


def _data(split: SplitSizes) -> Dataset:
    return mnist1d().subset(n_train=split.n_train)


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


def _run(net: Network, split: SplitSizes, data: Dataset, settings: tuple, x: torch.Tensor, y: torch.Tensor,
         tcfg: TrainConfig, dropout: float = 0.0, per_model_inputs: bool = False, desc: str = "") -> SweepResult:
    """Train len(settings) * len(net.seeds) networks together on x/y (stacked in that order), measured on
    ``data``'s test set."""
    device = get_device()
    seeds = [1000 * i + s for i in range(len(settings)) for s in net.seeds]
    # the test set is measured by the callback, in its validation and held-out halves
    _, hist = train_ensemble(net.factory(dropout), seeds, x.to(device), y.to(device), tcfg,
                             per_model_inputs=per_model_inputs,
                             callbacks=[_split_callback(data.to(device), split.n_val)], desc=desc)
    extra = {k: np.asarray(v).T for k, v in hist.extra.items()}  # each (K, E)
    n_val, n_hold = split.n_val, len(data.y_test) - split.n_val
    test_acc = (n_val * extra["val_acc"] + n_hold * extra["holdout_acc"]) / (n_val + n_hold)
    test_loss = (n_val * extra["val_loss"] + n_hold * extra["holdout_loss"]) / (n_val + n_hold)
    return SweepResult(tuple(settings), tuple(net.seeds), hist.step, hist.train_acc, hist.train_loss,
                       test_acc, test_loss, extra["val_acc"], extra["holdout_acc"],
                       param_count(build(net.factory(), 0)), split.n_train, split.n_val)


def _rate_dropout_factory(net: Network):
    """The MLP of ``net.factory()`` with a :class:`~dlgen_lib.models.RateDropout` after every hidden layer: the
    same parameters, initialised the same way for a seed, but the dropout rate is a buffer, so that each network of
    an ensemble can have its own (rate 0: the plain MLP)."""
    def factory():
        layers: list[torch.nn.Module] = [torch.nn.Flatten()]
        fan_in = 40
        for _ in range(net.depth):
            layers += [torch.nn.Linear(fan_in, net.width), torch.nn.ReLU(), RateDropout(0.0)]
            fan_in = net.width
        return torch.nn.Sequential(*layers, torch.nn.Linear(fan_in, 10))
    return factory


@cached
def corruption_sweep(net: Network, split: SplitSizes, corruption: Corruption) -> SweepResult:
    """Networks trained on labels corrupted with probability p (Zhang et al.'s "partially corrupted labels"),
    one per (p, seed); the corruption of seed s is drawn with seed 100 + s."""
    data = _data(split)
    ys = torch.stack([corrupt_labels(data.y_train, p, seed=100 + s).labels
                      for p in corruption.levels for s in net.seeds])  # (K, n)
    return _run(net, split, data, corruption.levels, data.x_train, ys,
                net.train_config(corruption.steps, corruption.eval_every), desc="corruption sweep")


@cached
def random_inputs(net: Network, split: SplitSizes, inputs: RandomInputs) -> SweepResult:
    """Networks trained on inputs replaced by noise of each kind in ``inputs.kinds``, with the original labels,
    which no longer have anything to do with the inputs. (Test accuracies of these networks mean nothing: the test
    inputs are the clean ones.)"""
    data = _data(split)
    settings = tuple(inputs.kinds)
    xs = torch.stack([randomize_inputs(data.x_train, kind, seed=200 + s)
                      for kind in settings for s in net.seeds])  # (K, n, 40)
    ys = data.y_train.expand(len(xs), -1)
    return _run(net, split, data, settings, xs, ys, net.train_config(inputs.steps, inputs.eval_every),
                per_model_inputs=True, desc="random inputs")


@cached
def regularized_memorization(net: Network, split: SplitSizes, regularized: Regularized) -> dict[str, SweepResult]:
    """True labels (p = 0) and random labels (p = 1), trained with weight decay, and with dropout (the runs
    without a regularizer are the p = 0 and p = 1 networks of :func:`corruption_sweep`)."""
    data = _data(split)
    ys = torch.stack([corrupt_labels(data.y_train, p, seed=100 + s).labels
                      for p in (0.0, 1.0) for s in net.seeds])
    runs = {f"weight decay {regularized.weight_decay:g}": (regularized.weight_decay, 0.0),
            f"dropout {regularized.dropout:g}": (0.0, regularized.dropout)}
    return {name: _run(net, split, data, (0.0, 1.0), data.x_train, ys,
                       net.train_config(regularized.steps, regularized.eval_every, wd), dropout=drop, desc=name)
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
def regularizer_strengths(net: Network, strengths: Strengths) -> StrengthSweep:
    """Random labels (p = 1) and true labels (p = 0) of the first ``strengths.n_train`` training examples,
    trained for ``strengths.steps`` with weight decay at every strength of ``strengths.wd_grid`` and with dropout at
    every rate of ``strengths.dropout_grid``: one network per (strength, labels, seed), all in one ensemble, each with
    its own L2 coefficient and dropout rate. Only the final accuracies are measured (test: all 1 000 test
    examples). The random labels of seed s are drawn with seed 100 + s, as in :func:`corruption_sweep`."""
    data = mnist1d().subset(n_train=strengths.n_train)
    device = get_device()
    # (L2 coefficient, dropout rate) per setting; strength 0 of both grids is one setting
    settings = ([(0.0, 0.0)] + [(wd, 0.0) for wd in strengths.wd_grid if wd > 0]
                + [(0.0, r) for r in strengths.dropout_grid if r > 0])
    labels = {p: [corrupt_labels(data.y_train, p, seed=100 + s).labels for s in net.seeds] for p in (0.0, 1.0)}
    runs = [(i, p, j) for i in range(len(settings)) for p in (0.0, 1.0) for j in range(len(net.seeds))]
    seeds = [1000 * (2 * i + int(p)) + net.seeds[j] for i, p, j in runs]
    ys = torch.stack([labels[p][j] for _, p, j in runs]).to(device)  # (K, n)
    ens = Ensemble.build(_rate_dropout_factory(net), seeds, device)
    rates = torch.tensor([settings[i][1] for i, _, _ in runs], dtype=torch.float32, device=device)
    for name in ens.buffers:  # every RateDropout layer gets each network's rate
        if name.endswith(".p"):
            ens.buffers[name] = rates
    tcfg = TrainConfig(steps=strengths.steps, lr=net.lr, batch_size=net.batch_size, optimizer="adam",
                       eval_every=strengths.steps)  # measured at the start and the end only
    _, hist = train_ensemble(None, seeds, data.x_train.to(device), ys, tcfg, data.x_test.to(device),
                             data.y_test.to(device), ensemble=ens,
                             weight_decays=[settings[i][0] for i, _, _ in runs], desc="regularizer strengths")
    train_acc = hist.train_acc[:, -1].reshape(len(settings), 2, len(net.seeds))  # (settings, p, seeds)
    test_acc = hist.test_acc[:, -1].reshape(len(settings), 2, len(net.seeds))
    grids = {"weight decay": tuple(float(v) for v in strengths.wd_grid),
             "dropout": tuple(float(v) for v in strengths.dropout_grid)}
    rows = {name: [settings.index((v, 0.0) if name == "weight decay" else (0.0, v)) for v in grid]
            for name, grid in grids.items()}
    return StrengthSweep(strengths=grids, seeds=tuple(net.seeds), steps=strengths.steps,
                         n_train=strengths.n_train,
                         random_train={n: train_acc[r, 1] for n, r in rows.items()},
                         true_test={n: test_acc[r, 0] for n, r in rows.items()},
                         true_train={n: train_acc[r, 0] for n, r in rows.items()})


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


def bound_table(sweep: SweepResult, delta: float = 0.05) -> Bounds:
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


