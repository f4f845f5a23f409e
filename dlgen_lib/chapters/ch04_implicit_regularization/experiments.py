"""Chapter 4's experiments: implicit regularization, early stopping and learning curves.

Four experiments, each one call that returns plain numpy results and is cached on disk under the parts of
:class:`ImplicitRegularizationConfig` it reads:

* :func:`regularization_runs` (``net``, ``split``, ``curvature``, ``main``) -- one vectorized ensemble of MLPs
  40-h-h-10 on MNIST-1D with label noise: every noise level x seed (the phase diagram, Martin & Mahoney 2017),
  dropout and input-noise strengths at one noise level (per-model rates held in buffers), and scaled
  initializations (their curvature at init is measured before training); plus one small ensemble per weight-decay
  strength. Validation error (noisy labels, like the training set) and error on a noisy copy of the test set are
  recorded at every evaluation;
* :func:`learning_curves` (``net``, ``curves``) -- test error against the number of examples for the MLP and the
  MNIST-1D CNN, all sizes in one ensemble (each model's examples tiled to a common length), for power-law fits
  (Hestness et al.);
* :func:`flat_minima` (``net``, ``split``, ``curvature``, ``flat``) -- SGD minima from several batch sizes and
  learning rates: top Hessian eigenvalues by Lanczos, the Laplace Occam factor and the effective dimensionality
  (Maddox et al. 2020) against test error; Dinh et al.'s (2017) function-preserving rescaling is
  :func:`dlgen_lib.landscape.rescale_layers`;
* :func:`critical_periods` (``net``, ``split``, ``critical``) -- a blur deficit removed at different times, with
  the trace of the Fisher information tracked during normal training (Achille et al. 2019);

and the analysis helpers :func:`compare_controls`, :func:`phase_grid`, :func:`validation_bounds` (the bound
itself is :func:`dlgen_lib.bounds.validation_bound`), :func:`clean_error_from_noisy`, :func:`rise_then_fall`.

The numerical cores are :mod:`dlgen_lib.train` (ensembles), :mod:`dlgen_lib.landscape` (Hessian-vector
products, Lanczos) and :mod:`dlgen_lib.flatness` (Fisher trace, Occam factor, effective dimensionality).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import stack_module_state

from ... import flatness
from ...bounds import validation_bound
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
    seed_int,
    seed_tuple,
)
from ...data import Dataset, corrupt_labels, mnist1d
from ...landscape import HVP, lanczos_top_eigs, top_eigenvalue
from ...models import MLP, ConvNet1D, InputNoise, RateDropout, build, param_count
from ...train import Ensemble, TrainConfig, train_ensemble

__all__ = [
    "N_CLASSES",
    "ImplicitRegularizationConfig",
    "Network",
    "SplitSizes",
    "Curvature",
    "MainEnsemble",
    "Curves",
    "Flat",
    "Critical",
    "regularized_mlp",
    "RunSpec",
    "build_ensemble",
    "RegularizationRuns",
    "regularization_runs",
    "ControlSummary",
    "compare_controls",
    "phase_grid",
    "validation_bounds",
    "clean_error_from_noisy",
    "LearningCurves",
    "learning_curves",
    "FlatMinima",
    "flat_minima",
    "blur",
    "CriticalPeriods",
    "critical_periods",
    "rise_then_fall",
    "HESTNESS_EXPONENTS",
]

N_CLASSES = 10
BLUR_WINDOWS = (2, 4, 5, 8, 10, 20, 40)  # the divisors > 1 of MNIST-1D's signal length 40
MNIST1D_TRAIN = "MNIST-1D has 4 000 training signals"


@dataclass(frozen=True)
class Network(CheckedConfig):
    """The MLP 40-h-h-10 and its Adam optimizer: shared by every experiment of the chapter (the learning curves
    and the critical periods take its batch size; the learning curves its learning rate too)."""

    width: int = 96  # hidden units h per layer
    lr: float = 2.5e-3  # Adam learning rate
    batch_size: int = 128  # minibatch size B

    RULES = {
        "width": positive_int(),
        "lr": positive_real("Adam's learning rate"),
        "batch_size": positive_int(4000, MNIST1D_TRAIN),
    }
    PRESETS = {"tiny": dict(width=32), "full": dict(width=256)}

    def train_config(self, steps: int, eval_every: int, weight_decay: float = 0.0) -> TrainConfig:
        """How the networks of the main ensemble train: Adam, constant learning rate (no schedule: the only thing
        that stops training is the step budget, so memorization has time to happen)."""
        return TrainConfig(steps=steps, lr=self.lr, batch_size=self.batch_size, optimizer="adam",
                           eval_every=eval_every, weight_decay=weight_decay)

    def factory(self):
        """The plain MLP 40-h-h-10 (what :func:`regularized_mlp` computes without noise)."""
        return lambda: MLP(40, [self.width, self.width], N_CLASSES)


@dataclass(frozen=True)
class SplitSizes(CheckedConfig):
    """The data (MNIST-1D: 4 000 training signals, 1 000 test signals, 40 features): the first ``n_train``
    training signals train, the last ``n_val`` validate; the 1 000 test signals test."""

    n_train: int = 2000
    n_val: int = 1000

    RULES = {
        "n_train": positive_int(4000, "MNIST-1D has 4 000 training signals; n_train + n_val of them are used"),
        "n_val": positive_int(4000, "MNIST-1D has 4 000 training signals; n_train + n_val of them are used"),
    }
    CHECKS = (
        Check(("n_train", "n_val"), lambda c: c.n_train + c.n_val <= 4000,
              "the first n_train training signals train and the last n_val validate, so n_train + n_val must not "
              "exceed MNIST-1D's 4 000"),
    )
    PRESETS = {"tiny": dict(n_train=300, n_val=200), "full": dict(n_train=3000)}


@dataclass(frozen=True)
class Curvature(CheckedConfig):
    """Where the Hessians of :func:`regularization_runs` (at init) and :func:`flat_minima` (at the minima) are
    taken: the first ``examples`` training signals; ``iters`` Lanczos steps for a top eigenvalue at init."""

    examples: int = 1000  # training examples of the Hessian
    iters: int = 20  # Lanczos steps for the top eigenvalue at init

    RULES = {
        "examples": positive_int(4000, "the first examples of the n_train training signals"),
        "iters": positive_int(),
    }
    PRESETS = {"tiny": dict(examples=200, iters=8), "full": dict(examples=3000, iters=40)}


@dataclass(frozen=True)
class MainEnsemble(CheckedConfig):
    """:func:`regularization_runs`: the main ensemble, Adam at a constant learning rate, trained well past the
    point of fitting every label -- every label noise x seed, and the regularizers at the noise ``reg_noise``."""

    steps: int = 1200
    eval_every: int = 60
    seeds: tuple[int, ...] = (0, 1, 2)
    noises: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8)  # label noise p: the load-like axis
    reg_noise: float = 0.3  # the label noise at which the regularizers are compared
    dropouts: tuple[float, ...] = (0.1, 0.3, 0.5)  # dropout rate after each hidden layer
    input_noises: tuple[float, ...] = (0.2, 0.5, 1.0)  # std of Gaussian noise added to the inputs (data std 1)
    weight_decays: tuple[float, ...] = (1e-3, 1e-2, 1e-1)  # L2 coefficient added to the gradient (Adam)
    init_scales: tuple[float, ...] = (0.5, 1.0, 2.0)  # initial weights multiplied by this (1.0: the baseline)
    label_seed: int = 0  # label noise draws: noise level i of the sorted levels uses label_seed + i (+ 100, + 200)

    RULES = {
        "steps": positive_int(),
        "eval_every": positive_int(),
        "seeds": seed_tuple(),
        "noises": TupleOf(probability(), distinct=True, note="label-noise probabilities p"),
        "reg_noise": probability("the label noise of the regularizer comparison, one of noises"),
        "dropouts": TupleOf(Real(0.0, 1.0, hi_open=True), distinct=True, note="dropout rates"),
        "input_noises": TupleOf(nonnegative_real(), distinct=True, note="std of the Gaussian input noise"),
        "weight_decays": TupleOf(nonnegative_real(), distinct=True, note="L2 coefficients"),
        "init_scales": TupleOf(positive_real(), distinct=True, note="factors of the initial weights"),
        "label_seed": seed_int(),
    }
    CHECKS = (
        Check(("reg_noise", "noises"), lambda c: c.reg_noise in c.noises,
              "reg_noise must be one of the noise levels in noises"),
    )
    PRESETS = {
        "tiny": dict(steps=150, eval_every=25, seeds=(0, 1), noises=(0.0, 0.3, 0.8), dropouts=(0.3,),
                     input_noises=(0.5,), weight_decays=(1e-2,), init_scales=(1.0, 2.0)),
        "full": dict(steps=6000, eval_every=100, seeds=tuple(range(8)),
                     noises=(0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                     dropouts=(0.1, 0.2, 0.3, 0.5, 0.7), input_noises=(0.1, 0.2, 0.5, 1.0, 2.0),
                     weight_decays=(1e-4, 1e-3, 1e-2, 3e-2, 1e-1), init_scales=(0.25, 0.5, 1.0, 2.0, 4.0)),
    }


@dataclass(frozen=True)
class Curves(CheckedConfig):
    """:func:`learning_curves`: n examples (the first n training signals, clean labels), MLP and CNN."""

    ns: tuple[int, ...] = (125, 250, 500, 1000, 2000, 4000)  # training-set sizes n
    seeds: tuple[int, ...] = (0, 1)
    steps: int = 1000  # Adam updates per network, whatever its n
    cnn_channels: int = 16

    RULES = {
        "ns": TupleOf(positive_int(4000), distinct=True, note=MNIST1D_TRAIN),
        "seeds": seed_tuple(999, "size i and seed s initialize their network with seed 1000 i + s"),
        "steps": positive_int(),
        "cnn_channels": positive_int(),
    }
    PRESETS = {"tiny": dict(ns=(50, 100, 200, 400), seeds=(0,), steps=100, cnn_channels=4),
               "full": dict(seeds=(0, 1, 2, 3), steps=6000, cnn_channels=32)}

    def cnn_factory(self):
        """The MNIST-1D CNN with ``cnn_channels`` channels."""
        return lambda: ConvNet1D(40, self.cnn_channels, N_CLASSES)


@dataclass(frozen=True)
class Flat(CheckedConfig):
    """:func:`flat_minima`: SGD with momentum, clean labels, batch sizes x learning rates x seeds."""

    batch_sizes: tuple[int, ...] = (16, 64, 256)
    lrs: tuple[float, ...] = (0.01, 0.03)
    momentum: float = 0.9
    seeds: tuple[int, ...] = (0, 1)
    steps: int = 1200
    top_k: int = 8  # top Hessian eigenvalues per minimum (Lanczos)
    iters: int = 30  # Lanczos steps
    z: float = 1.0  # prior precision z of the effective dimensionality

    RULES = {
        "batch_sizes": TupleOf(positive_int(4000), distinct=True, note=MNIST1D_TRAIN),
        "lrs": TupleOf(positive_real(), distinct=True),
        "momentum": Real(0.0, 1.0, hi_open=True, note="heavy-ball momentum"),
        "seeds": seed_tuple(),
        "steps": positive_int(),
        "top_k": positive_int(),
        "iters": positive_int(),
        "z": positive_real("prior precision"),
    }
    CHECKS = (
        Check(("top_k", "iters"), lambda c: c.top_k <= c.iters,
              "top_k must not exceed iters (Lanczos finds at most as many eigenvalues as it takes steps)"),
    )
    PRESETS = {"tiny": dict(batch_sizes=(16, 128), lrs=(0.05,), seeds=(0,), steps=100, top_k=3, iters=8),
               "full": dict(batch_sizes=(8, 32, 128, 512, 2048), lrs=(0.01, 0.03, 0.1), seeds=(0, 1, 2), steps=8000,
                            top_k=20, iters=60)}


@dataclass(frozen=True)
class Critical(CheckedConfig):
    """:func:`critical_periods`: plain SGD, clean labels, a blur deficit removed at each of ``deficit_ends``, then
    ``post_steps`` clean steps."""

    deficit_ends: tuple[int, ...] = (0, 300, 600, 1200)
    post_steps: int = 900
    lr: float = 0.1  # SGD learning rate
    seeds: tuple[int, ...] = (0, 1)
    segment: int = 150  # steps between switches and evaluations
    blur: int = 8  # the deficit: average over windows of this many features (40 -> 5 values), then upsample
    fisher_examples: int = 256

    RULES = {
        "deficit_ends": TupleOf(Integer(0, None), distinct=True, contains=(0,),
                                note="steps; 0 is the deficit-free control whose Fisher trace is followed"),
        "post_steps": positive_int(),
        "lr": positive_real(),
        "seeds": seed_tuple(),
        "segment": positive_int(),
        "blur": OneOf(BLUR_WINDOWS, "a blur window must divide the 40 samples of a signal and average two at least"),
        "fisher_examples": positive_int(4000, "the first fisher_examples of the n_train training signals"),
    }
    CHECKS = (
        Check(("deficit_ends", "post_steps", "segment"),
              lambda c: all(e % c.segment == 0 for e in c.deficit_ends) and c.post_steps % c.segment == 0,
              "deficit_ends and post_steps must be multiples of segment (inputs switch and errors are measured "
              "every segment steps)"),
    )
    PRESETS = {"tiny": dict(deficit_ends=(0, 100), post_steps=100, seeds=(0,), segment=50, fisher_examples=32),
               "full": dict(deficit_ends=(0, 250, 500, 1000, 2000, 4000), post_steps=4000, segment=250,
                            seeds=(0, 1, 2, 3), fisher_examples=1000)}


@dataclass(frozen=True)
class ImplicitRegularizationConfig(CheckedConfig):
    """Chapter 4's settings: one part per experiment, plus the parts they share (the network and its optimizer,
    the data split, where the Hessians are taken). Made by ``dl.scaled(ImplicitRegularizationConfig)``; every
    field is checked when a config is made, and a value out of range is a :class:`~dlgen_lib.config.ConfigError`
    naming it."""

    net: Network = part(Network)
    split: SplitSizes = part(SplitSizes)
    curvature: Curvature = part(Curvature)
    main: MainEnsemble = part(MainEnsemble)
    curves: Curves = part(Curves)
    flat: Flat = part(Flat)
    critical: Critical = part(Critical)

    CHECKS = (
        Check(("curvature.examples", "split.n_train"), lambda c: c.curvature.examples <= c.split.n_train,
              "curvature.examples must be at most split.n_train (the curvature is taken on the first "
              "curvature.examples of the n_train training signals)"),
        Check(("critical.fisher_examples", "split.n_train"),
              lambda c: c.critical.fisher_examples <= c.split.n_train,
              "critical.fisher_examples must be at most split.n_train (the Fisher trace is taken on the first "
              "fisher_examples of the n_train training signals)"),
    )


# ------------------------------------------------------------------------------------------ models


def regularized_mlp(width: int, input_noise: float = 0.0, dropout: float = 0.0) -> nn.Sequential:
    """InputNoise(σ) -> Linear(40, h) -> ReLU -> RateDropout(p) -> Linear(h, h) -> ReLU -> RateDropout(p) ->
    Linear(h, 10). With σ = p = 0 (or in eval mode) it computes what ``MLP(40, [h, h], 10)`` computes, and its
    Linear layers are initialised the same way for the same seed."""
    return nn.Sequential(InputNoise(input_noise), nn.Linear(40, width), nn.ReLU(), RateDropout(dropout),
                         nn.Linear(width, width), nn.ReLU(), RateDropout(dropout), nn.Linear(width, N_CLASSES))


@dataclass(frozen=True)
class RunSpec:
    """One network of the main ensemble."""

    noise: float  # label noise p of its training and validation labels
    seed: int
    dropout: float = 0.0
    input_noise: float = 0.0
    init_scale: float = 1.0

    @property
    def kind(self) -> str:
        if self.dropout:
            return "dropout"
        if self.input_noise:
            return "input noise"
        if self.init_scale != 1.0:
            return "init scale"
        return "plain"


def build_ensemble(specs: list[RunSpec], width: int, device: torch.device | str = "cpu") -> Ensemble:
    """The ensemble of :func:`regularized_mlp` networks, model k with its own rates (buffers) and its initial
    weights (seed ``specs[k].seed``) multiplied by ``specs[k].init_scale``."""
    models = []
    for s in specs:
        net = build(lambda s=s: regularized_mlp(width, s.input_noise, s.dropout), s.seed)
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(s.init_scale)
        models.append(net.to(device))
    params, buffers = stack_module_state(models)
    return Ensemble(models[0], {k: v.detach() for k, v in params.items()}, buffers)


# ------------------------------------------------------------------------------------------ the main ensemble


@dataclass
class RegularizationRuns:
    """Every network of the main ensemble (and the weight-decay runs): histories (K, E) at the steps (E,).

    Errors are fractions. ``train_error`` and ``val_error`` are measured with each model's own noisy labels,
    ``test_error`` on the clean test labels, ``noisy_test_error`` on a copy of the test set whose labels were
    corrupted like the training set's (the distribution the validation bound speaks about)."""

    specs: list[RunSpec]
    weight_decay: np.ndarray  # (K,) 0 except in the weight-decay runs
    step: np.ndarray  # (E,)
    train_error: np.ndarray  # (K, E)
    val_error: np.ndarray  # (K, E)
    test_error: np.ndarray  # (K, E)
    noisy_test_error: np.ndarray  # (K, E)
    init_curvature: np.ndarray  # (K,) top Hessian eigenvalue of the training loss at init (NaN if not measured)
    n_params: int
    n_val: int
    seconds: float

    def select(self, kind: str | None = None, noise: float | None = None, **fields) -> np.ndarray:
        """Indices of the models of a kind ("plain", "dropout", "input noise", "init scale", "weight decay")
        and a label noise, with given RunSpec fields (e.g. ``dropout=0.3``)."""
        keep = []
        for k, s in enumerate(self.specs):
            kk = "weight decay" if self.weight_decay[k] > 0 else s.kind
            if kind is not None and kk != kind:
                continue
            if noise is not None and not np.isclose(s.noise, noise):
                continue
            if any(not np.isclose(getattr(s, f), v) for f, v in fields.items()):
                continue
            keep.append(k)
        return np.asarray(keep, dtype=int)

    def at_best_validation(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(test error, step index) of the models ``idx`` at the evaluation where their validation error is
        lowest (:func:`~dlgen_lib.flatness.early_stopping_index`)."""
        at = np.atleast_1d(flatness.early_stopping_index(self.val_error[idx]))
        return self.test_error[idx, at], at


def _data(split: SplitSizes) -> Dataset:
    data = mnist1d()
    if split.n_train + split.n_val > len(data.y_train):
        raise ValueError(f"n_train + n_val = {split.n_train + split.n_val} exceeds the {len(data.y_train)} MNIST-1D "
                         "training signals")
    return data


def _noisy(labels: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    return corrupt_labels(labels, p, N_CLASSES, seed=seed).labels


def _specs(main: MainEnsemble) -> list[RunSpec]:
    specs = [RunSpec(p, s) for p in main.noises for s in main.seeds]
    q = main.reg_noise
    specs += [RunSpec(q, s, dropout=d) for d in main.dropouts for s in main.seeds]
    specs += [RunSpec(q, s, input_noise=v) for v in main.input_noises for s in main.seeds]
    specs += [RunSpec(q, s, init_scale=a) for a in main.init_scales if a != 1.0 for s in main.seeds]
    return specs


@cached
def regularization_runs(net: Network, split: SplitSizes, curvature: Curvature,
                        main: MainEnsemble) -> RegularizationRuns:
    """Train the main ensemble (:func:`_specs`: noise levels x seeds, dropout, input noise, init scales) and one
    ensemble of plain MLPs per weight-decay strength at ``main.reg_noise``; see :class:`RegularizationRuns`."""
    if main.reg_noise not in main.noises:
        raise ValueError(f"reg_noise={main.reg_noise} must be one of the noise levels {main.noises}")
    t0 = time.perf_counter()
    device = get_device()
    data = _data(split)
    x, y = data.x_train[: split.n_train].to(device), data.y_train[: split.n_train]
    x_val, y_val = data.x_train[-split.n_val:].to(device), data.y_train[-split.n_val:]
    x_test, y_test = data.x_test.to(device), data.y_test.to(device)
    levels = sorted({*main.noises})
    # one labelling per noise level, shared by the seeds (train, validation and a noisy copy of the test set)
    seed = main.label_seed
    lab = {p: (_noisy(y, p, seed + i), _noisy(y_val, p, seed + 100 + i), _noisy(data.y_test, p, seed + 200 + i))
           for i, p in enumerate(levels)}

    def run(specs: list[RunSpec], weight_decay: float) -> dict[str, np.ndarray]:
        ys, yv, yt = (torch.stack([lab[s.noise][j] for s in specs]).to(device) for j in range(3))  # (K, n)
        ens = build_ensemble(specs, net.width, device)
        curv = np.full(len(specs), np.nan)
        for k, s in enumerate(specs):  # curvature at init, for the runs at the regularizers' noise level
            if weight_decay == 0 and s.kind in ("plain", "init scale") and np.isclose(s.noise, main.reg_noise):
                m = curvature.examples
                curv[k] = top_eigenvalue(ens.model(k), x[:m], ys[k, :m], curvature.iters, seed=s.seed)
        extra: dict[str, list] = {"val": [], "noisy_test": []}

        def record(step, e, history):
            extra["val"].append((1 - e.evaluate(x_val, yv)[1]).tolist())
            extra["noisy_test"].append((1 - e.evaluate(x_test, yt)[1]).tolist())

        tcfg = net.train_config(main.steps, main.eval_every, weight_decay)
        _, hist = train_ensemble(None, [s.seed for s in specs], x, ys, tcfg, x_test, y_test, ensemble=ens,
                                 callbacks=[record],
                                 desc=f"{len(specs)} MLPs" + (f", weight decay {weight_decay:g}" if weight_decay
                                                              else ""))
        return dict(step=hist.step, train=1 - hist.train_acc, test=1 - hist.test_acc, curv=curv,
                    val=np.asarray(extra["val"]).T, noisy_test=np.asarray(extra["noisy_test"]).T)

    specs = _specs(main)
    parts = [(specs, 0.0, run(specs, 0.0))]
    for wd in main.weight_decays:
        wd_specs = [RunSpec(main.reg_noise, s) for s in main.seeds]
        parts.append((wd_specs, wd, run(wd_specs, wd)))
    cat = lambda key: np.concatenate([r[key] for _, _, r in parts])  # noqa: E731
    return RegularizationRuns(
        specs=[s for sp, _, _ in parts for s in sp],
        weight_decay=np.concatenate([np.full(len(sp), wd) for sp, wd, _ in parts]),
        step=parts[0][2]["step"], train_error=cat("train"), val_error=cat("val"), test_error=cat("test"),
        noisy_test_error=cat("noisy_test"), init_curvature=cat("curv"),
        n_params=param_count(net.factory()()), n_val=split.n_val,
        seconds=time.perf_counter() - t0)


@dataclass(frozen=True)
class ControlSummary:
    """One regularizer at the regularizers' noise level: the test error of each strength at the end of training
    (seeds, strengths), the strength validation picks, and its final test error per seed."""

    name: str
    strengths: tuple[float, ...]
    final_test: np.ndarray  # (S, V): seeds x strengths
    chosen: float  # the strength with the lowest mean final validation error
    chosen_test: np.ndarray  # (S,)


def compare_controls(runs: RegularizationRuns, main: MainEnsemble) -> dict[str, ControlSummary]:
    """Training to convergence, early stopping, and each explicit regularizer with its strength picked on the
    validation set (the same information early stopping uses), all at ``main.reg_noise``."""
    q = main.reg_noise
    base = runs.select("plain", q)
    out = {"none (train to the end)": ControlSummary("none", (0.0,), runs.test_error[base, -1][:, None], 0.0,
                                                      runs.test_error[base, -1])}
    stopped, _ = runs.at_best_validation(base)
    out["early stopping"] = ControlSummary("early stopping", (0.0,), stopped[:, None], 0.0, stopped)
    for name, field_name, values in (("weight decay", None, main.weight_decays), ("dropout", "dropout", main.dropouts),
                                     ("input noise", "input_noise", main.input_noises)):
        cols, vals = [], []
        for v in values:
            idx = (np.flatnonzero(np.isclose(runs.weight_decay, v)) if field_name is None
                   else runs.select(name, q, **{field_name: v}))
            cols.append(runs.test_error[idx, -1])
            vals.append(runs.val_error[idx, -1].mean())
        final = np.stack(cols, 1)  # (S, V)
        j = int(np.argmin(vals))
        out[name] = ControlSummary(name, tuple(values), final, float(values[j]), final[:, j])
    return out


def phase_grid(runs: RegularizationRuns, main: MainEnsemble, metric: str = "test_error") -> np.ndarray:
    """(V, E): the seed mean of a metric for the plain runs at each of the V noise levels (rows) and evaluation step;
    ``metric="gap"`` gives test error (clean labels) minus training error (on the noisy labels trained on)."""
    rows = []
    for p in main.noises:
        idx = runs.select("plain", p)
        values = runs.test_error[idx] - runs.train_error[idx] if metric == "gap" else getattr(runs, metric)[idx]
        rows.append(values.mean(0))
    return np.stack(rows)


def validation_bounds(val_error: float, m_val: int, deltas, looks) -> np.ndarray:
    """Kawaguchi et al.'s bound val_error + sqrt(ln(|F_val| / δ) / (2 m_val)) for each δ of ``deltas`` (rows) and
    each number of validation looks |F_val| of ``looks`` (columns): a (len(deltas), len(looks)) array
    (:func:`dlgen_lib.bounds.validation_bound`)."""
    return np.array([[validation_bound(val_error, int(n), m_val, d) for n in looks] for d in deltas])


def clean_error_from_noisy(noisy_error, p: float, n_classes: int = N_CLASSES):
    """Error on clean labels implied by the error on labels of which a fraction p was redrawn uniformly:
    e_noisy = (1 - p) e + p (1 - 1/C), so e = (e_noisy - p (1 - 1/C)) / (1 - p) (the noise is independent of the
    prediction)."""
    return (np.asarray(noisy_error) - p * (1 - 1 / n_classes)) / (1 - p)


# ------------------------------------------------------------------------------------------ learning curves


@dataclass(frozen=True)
class LearningCurves:
    """Final test error (clean labels) of each architecture at each of the V training-set sizes: {name: (S, V)}."""

    ns: np.ndarray  # (V,)
    test_error: dict[str, np.ndarray]
    n_params: dict[str, int]
    seconds: float


@cached
def learning_curves(net: Network, curves: Curves) -> LearningCurves:
    """Every size x seed of each architecture in one ensemble: model (n, seed) trains on the first n training
    signals, tiled to max(ns) rows (``per_model_inputs``), so that an epoch of the ensemble is max(ns)/n epochs
    of that model; Adam with a cosine schedule, the same number of steps for every n."""
    t0 = time.perf_counter()
    device = get_device()
    data = mnist1d()
    ns, n_max = np.asarray(curves.ns), max(curves.ns)
    if n_max > len(data.y_train):
        raise ValueError(f"curves.ns reach {n_max}, but MNIST-1D has {len(data.y_train)} training signals")
    reps = [-(-n_max // int(n)) for n in ns]
    xs = torch.stack([data.x_train[:n].repeat(r, 1)[:n_max] for n, r in zip(ns, reps)])  # (V, n_max, 40)
    ys = torch.stack([data.y_train[:n].repeat(r)[:n_max] for n, r in zip(ns, reps)])  # (V, n_max)
    S = len(curves.seeds)
    x_all = xs.repeat_interleave(S, 0).to(device)  # (V S, n_max, 40), size-major
    y_all = ys.repeat_interleave(S, 0).to(device)
    seeds = [1000 * i + s for i in range(len(ns)) for s in curves.seeds]
    tc = TrainConfig(steps=curves.steps, lr=net.lr, batch_size=net.batch_size, optimizer="adam",
                     eval_every=curves.steps, schedule="cosine")
    errors, counts = {}, {}
    for name, factory in (("MLP", net.factory()), ("CNN", curves.cnn_factory())):
        _, hist = train_ensemble(factory, seeds, x_all, y_all, tc, data.x_test.to(device), data.y_test.to(device),
                                 per_model_inputs=True, desc=f"learning curve, {name}")
        errors[name] = (1 - hist.test_acc[:, -1]).reshape(len(ns), S).T
        counts[name] = param_count(factory())
    return LearningCurves(ns, errors, counts, time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------ flat minima


@dataclass(frozen=True)
class FlatMinima:
    """SGD minima (clean labels): K rows, one per (batch size, learning rate, seed)."""

    batch_size: np.ndarray  # (K,)
    lr: np.ndarray  # (K,)
    seed: np.ndarray  # (K,)
    eigenvalues: np.ndarray  # (K, top_k) top Hessian eigenvalues of the training loss, largest first
    train_error: np.ndarray  # (K,)
    test_error: np.ndarray  # (K,)
    train_loss: np.ndarray  # (K,)
    z: float
    seconds: float

    @property
    def temperature(self) -> np.ndarray:
        """η / B, the SGD noise scale of chapter 3 (with momentum m the noise scale is η / (B (1 - m)): the
        same factor for every run here)."""
        return self.lr / self.batch_size

    @property
    def occam(self) -> np.ndarray:
        """(K,) -½ Σ log λᵢ over the top k eigenvalues (larger: flatter)."""
        return np.array([flatness.occam_factor(e) for e in self.eigenvalues])

    @property
    def n_eff(self) -> np.ndarray:
        """(K,) Σ λᵢ / (λᵢ + z) over the top k eigenvalues."""
        return np.array([flatness.effective_dimensionality(e, self.z) for e in self.eigenvalues])


@cached
def flat_minima(net: Network, split: SplitSizes, curvature: Curvature, flat: Flat) -> FlatMinima:
    """SGD with momentum on the first n_train clean training signals: one ensemble per batch size, with a learning rate
    per model (``flat.lrs``); then the top ``flat.top_k`` Hessian eigenvalues of each network's training loss
    (on ``curvature.examples`` signals) by Lanczos."""
    t0 = time.perf_counter()
    device = get_device()
    data = _data(split)
    x, y = data.x_train[: split.n_train].to(device), data.y_train[: split.n_train].to(device)
    m = curvature.examples
    rows: dict[str, list] = {k: [] for k in ("B", "lr", "seed", "eigs", "train", "test", "loss")}
    for B in flat.batch_sizes:
        lrs = [lr for lr in flat.lrs for _ in flat.seeds]
        seeds = [s for _ in flat.lrs for s in flat.seeds]
        tc = TrainConfig(steps=flat.steps, lr=flat.lrs[0], batch_size=B, momentum=flat.momentum,
                         eval_every=flat.steps)
        ens, hist = train_ensemble(net.factory(), seeds, x, y, tc, data.x_test.to(device),
                                   data.y_test.to(device), lrs=lrs, desc=f"SGD, batch {B}")
        for k, (lr, s) in enumerate(zip(lrs, seeds)):
            op = HVP(ens.model(k), F.cross_entropy, x[:m], y[:m])
            eigs = lanczos_top_eigs(op, op.P, k=flat.top_k, iters=flat.iters, seed=s).numpy()
            for key, v in zip(rows, (B, lr, s, eigs, 1 - hist.train_acc[k, -1], 1 - hist.test_acc[k, -1],
                                     hist.train_loss[k, -1])):
                rows[key].append(v)
    a = {k: np.asarray(v) for k, v in rows.items()}
    return FlatMinima(a["B"], a["lr"], a["seed"], a["eigs"], a["train"], a["test"], a["loss"], flat.z,
                      time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------ critical periods


def blur(x: torch.Tensor, window: int) -> torch.Tensor:
    """(n, D) -> (n, D): each signal averaged over consecutive windows of ``window`` features and held constant
    in each window (D must be a multiple of ``window``): the 1-D version of Achille et al.'s down- and up-sampled
    images."""
    n, d = x.shape
    if d % window:
        raise ValueError(f"the signal length {d} is not a multiple of the blur window {window}")
    return x.reshape(n, d // window, window).mean(-1, keepdim=True).expand(n, d // window, window).reshape(n, d)


@dataclass(frozen=True)
class CriticalPeriods:
    """Blur deficits removed at the V ``deficit_ends`` (steps), each followed by ``post_steps`` steps on clean inputs.

    ``test_error`` (S, V): the clean test error of each seed at its own end (deficit end + post_steps);
    ``step`` (E,) the global clock of the evaluations, ``curves`` (V, S, E) the test error on the way;
    ``fisher`` (S, E) the trace of the Fisher information of the deficit-free runs (deficit end 0)."""

    deficit_ends: np.ndarray
    post_steps: int
    step: np.ndarray
    test_error: np.ndarray
    curves: np.ndarray
    fisher: np.ndarray
    seconds: float


@cached
def critical_periods(net: Network, split: SplitSizes, critical: Critical) -> CriticalPeriods:
    """Plain SGD (no momentum: no optimizer state, so training in segments equals training in one go up to the
    minibatch order), all deficits x seeds in one ensemble with per-model inputs; every ``critical.segment`` steps the
    inputs of the models whose deficit has ended switch to the clean signals. The Fisher trace (exact, on
    ``critical.fisher_examples`` training signals) of the deficit-free models is taken at every segment boundary."""
    t0 = time.perf_counter()
    device = get_device()
    data = _data(split)
    x, y = data.x_train[: split.n_train].to(device), data.y_train[: split.n_train].to(device)
    x_blur = blur(x, critical.blur)
    ends = np.asarray(critical.deficit_ends)
    if (ends % critical.segment).any() or critical.post_steps % critical.segment:
        raise ValueError(f"deficit_ends {critical.deficit_ends} and post_steps {critical.post_steps} must be "
                         f"multiples of segment={critical.segment}")
    specs = [(int(e), s) for e in ends for s in critical.seeds]  # deficit-major
    total = int(ends.max()) + critical.post_steps
    tc = TrainConfig(steps=critical.segment, lr=critical.lr, batch_size=net.batch_size, eval_every=critical.segment)
    ens = Ensemble.build(net.factory(), [s for _, s in specs], device)
    fisher_idx = [k for k, (e, _) in enumerate(specs) if e == 0]
    xf = x[: critical.fisher_examples]
    steps, errors, fisher = [0], [], []

    def measure():
        errors.append((1 - ens.evaluate(data.x_test.to(device), data.y_test.to(device))[1]).numpy())
        fisher.append([flatness.fisher_trace(ens.model(k), xf, chunk=64) for k in fisher_idx])

    measure()
    for seg, clock in enumerate(range(0, total, critical.segment)):
        inputs = torch.stack([x_blur if clock < e else x for e, _ in specs])  # (K, n, 40)
        ens, _ = train_ensemble(None, [s for _, s in specs], inputs, y, tc, ensemble=ens, per_model_inputs=True,
                                data_seeds=[10_000 * s + seg for _, s in specs], show_progress=False)
        steps.append(clock + critical.segment)
        measure()
    step = np.asarray(steps)
    err = np.stack(errors, 1)  # (K, E)
    curves = err.reshape(len(ends), len(critical.seeds), -1)
    final = np.stack([curves[i, :, int(np.flatnonzero(step == e + critical.post_steps)[0])]
                      for i, e in enumerate(ends)], 1)
    return CriticalPeriods(ends, critical.post_steps, step, final, curves, np.asarray(fisher).T,
                           time.perf_counter() - t0)


def rise_then_fall(curve) -> tuple[int, float, float]:
    """(index of the maximum, max / first value, last / max) of a curve: both ratios beyond 1 / below 1 mean the
    curve rose and then fell."""
    c = np.asarray(curve, dtype=float)
    i = int(c.argmax())
    return i, float(c[i] / c[0]), float(c[-1] / c[i])


# ------------------------------------------------------------------------------------------ paper numbers

HESTNESS_EXPONENTS = (-0.35, -0.07)  # Hestness et al. 2017: generalization error ~ n^b across their domains
