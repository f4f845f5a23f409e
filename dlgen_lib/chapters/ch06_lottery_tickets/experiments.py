"""Chapter 6's experiments: the lottery ticket hypothesis (Frankle & Carbin 2019) and linear mode connectivity
(Frankle et al. 2020).

Five experiments, each one call that returns plain results and is cached on disk under the parts of
:class:`LotteryConfig` it reads (the pruning machinery itself is :mod:`dlgen_lib.pruning`):

* :func:`imp_mnist1d` (``imp``, ``mnist``) -- IMP with both controls on an MNIST-1D MLP;
* :func:`imp_fashion` (``imp``, ``fashion_data``, ``fashion``) -- the same on a LeNet-300-100-like MLP on
  Fashion-MNIST;
* :func:`imp_conv` (``imp``, ``fashion_data``, ``conv``) -- Frankle & Carbin's Conv-2/4/6 (full scale);
* :func:`instability` (``imp``, ``cnn``, ``instability``) -- two copies of the 1-D CNN's state at step k
  trained with different data orders, the error on the straight line between them minus the mean endpoint error;
* :func:`imp_rewinding` (``imp``, ``cnn``, ``rewinding``) -- IMP on the 1-D CNN, rewinding to init against
  rewinding to step k;

and ``PAPER``, the papers' numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import landscape
from ...cache import cached
from ...config import (
    Check,
    CheckedConfig,
    Flag,
    Integer,
    OneOf,
    OrNone,
    Real,
    TupleOf,
    get_device,
    part,
    positive_int,
    positive_real,
    seed_tuple,
)
from ...data import fashion_mnist, mnist1d
from ...models import MLP, ConvNet1D
from ...pruning import (
    FRESH_SEED,
    Params,
    PruningRun,
    Split,
    iterative_pruning,
    layer_rates,
    prunable,
    rewind,
    stack_states,
)
from ...train import Ensemble, TrainConfig, train_ensemble

__all__ = ["CNN", "CONV_ARCHS", "PAPER", "ConvFC", "ConvIMP", "FashionData", "FashionIMP", "IMP",
           "Instability", "LotteryConfig", "Mnist1dIMP", "CopySplits", "Rewinding", "conv_rates", "error_fn",
           "fashion_images", "fashion_split", "imp_conv", "imp_fashion", "imp_mnist1d", "imp_rewinding",
           "instability", "mnist1d_split", "path_error"]

MNIST1D_TRAIN = "MNIST-1D has 4 000 training examples"

# Frankle & Carbin (2019), Figure 2: 3 x 3 convolutions (a 2 x 2 max-pool after each pair), two FC layers of 256,
# Adam with batch 60; per-round prune rates of the conv and FC layers (the output layer: IMP.output_rate)
CONV_ARCHS = {
    "conv2": dict(convs=(64, 64), fc=(256, 256), lr=2e-4, steps=20_000, conv_rate=0.10, fc_rate=0.20),
    "conv4": dict(convs=(64, 64, 128, 128), fc=(256, 256), lr=3e-4, steps=25_000, conv_rate=0.10, fc_rate=0.20),
    "conv6": dict(convs=(64, 64, 128, 128, 256, 256), fc=(256, 256), lr=3e-4, steps=30_000, conv_rate=0.15,
                  fc_rate=0.20),
}


@dataclass(frozen=True)
class IMP(CheckedConfig):
    """Iterative magnitude pruning's seeds and per-round prune rates: shared by every experiment of the chapter
    (:func:`instability` reads the seeds only, :func:`imp_conv` the seeds and ``output_rate``)."""

    seeds: tuple[int, ...] = (0, 1, 2)  # one network (a ticket and its controls) per seed
    rate: float = 0.2  # fraction of the surviving weights removed per round, hidden layers
    output_rate: float = 0.1  # ... and the output layer (Frankle & Carbin)

    RULES = {
        "seeds": seed_tuple(FRESH_SEED - 1, f"the reinit control of seed s draws fresh weights from seed s + "
                                            f"{FRESH_SEED}, which must not be another seed"),
        "rate": Real(0.0, 1.0, lo_open=True, hi_open=True, note="fraction of surviving weights pruned a round"),
        "output_rate": Real(0.0, 1.0, hi_open=True, note="the same for the output layer; 0 leaves it dense"),
    }
    PRESETS = {"tiny": dict(seeds=(0, 1)), "full": dict(seeds=(0, 1, 2, 3, 4))}


@dataclass(frozen=True)
class Mnist1dIMP(CheckedConfig):
    """:func:`imp_mnist1d`: the MLP 40-h-h-10 on MNIST-1D (4 000 training / 1 000 test; validation: 1 000 of a
    fresh draw), Adam, and its pruning rounds."""

    widths: tuple[int, ...] = (100, 100)  # hidden widths of the MLP
    steps: int = 600  # Adam updates per training run (every round)
    lr: float = 5e-3  # Adam learning rate
    batch_size: int = 100  # minibatch size B
    eval_every: int = 25  # validation (and test) accuracy recorded every this many steps
    rounds: int = 12  # pruning rounds after the dense run: 0.8^12 = 6.9 % of each hidden layer remains

    RULES = {
        "widths": TupleOf(positive_int(), note="hidden widths of the MLP"),
        "steps": positive_int(),
        "lr": positive_real(),
        "batch_size": positive_int(4000, MNIST1D_TRAIN),
        "eval_every": positive_int(note="it must divide steps"),
        "rounds": positive_int(),
    }
    CHECKS = (
        Check(("steps", "eval_every"), lambda c: c.steps % c.eval_every == 0,
              "IMP rewinds to evaluation steps: steps must be a multiple of eval_every"),
    )
    # tiny networks and few steps, but enough rounds to reach the sparsities the chapter's claims are about:
    # 12 rounds take both MLPs below 10 % of their weights (a few seconds each)
    PRESETS = {"tiny": dict(widths=(32, 32), steps=60, eval_every=20),
               "full": dict(steps=4000, eval_every=100, rounds=16)}

    def factory(self) -> Callable[[], MLP]:
        """The MLP 40-h-h-10 (h = ``widths``) for MNIST-1D."""
        return lambda: MLP(40, list(self.widths), 10)

    def train_config(self) -> TrainConfig:
        return TrainConfig(steps=self.steps, lr=self.lr, batch_size=self.batch_size, optimizer="adam",
                           eval_every=self.eval_every)


@dataclass(frozen=True)
class FashionData(CheckedConfig):
    """Fashion-MNIST for :func:`imp_fashion` and :func:`imp_conv`: the shipped subset or the full set, and the
    training images held out for validation."""

    full: bool = False  # the full 60 000 / 10 000 set instead of the shipped subset
    val: int = 1000  # the last val training images are the validation set

    RULES = {
        "full": Flag(),
        "val": positive_int(59_999, "training images held out for validation, fewer than the 10 000 of the subset "
                                    "(60 000 with full)"),
    }
    CHECKS = (
        Check(("val", "full"), lambda c: c.val < (60_000 if c.full else 10_000),
              "val training images are held out for validation and some must remain to train on: fewer than the "
              "10 000 of the shipped subset (60 000 with full=True)"),
    )
    PRESETS = {"tiny": dict(val=200), "full": dict(full=True, val=5000)}


@dataclass(frozen=True)
class FashionIMP(CheckedConfig):
    """:func:`imp_fashion`: LeNet-300-100 (Adam 1.2e-3, batch 60 as the paper) on the images average-pooled by
    ``pool`` (2: 14 x 14 pixels, a quarter of the arithmetic), and its pruning rounds."""

    widths: tuple[int, ...] = (300, 100)  # hidden widths of LeNet-300-100
    pool: int = 2  # average-pooling window: 28 // pool pixels a side
    steps: int = 300
    rounds: int = 11  # 0.8^11 = 8.6 % of each hidden layer
    eval_every: int = 50
    lr: float = 1.2e-3
    batch_size: int = 60

    RULES = {
        "widths": TupleOf(positive_int(), note="hidden widths of LeNet-300-100"),
        "pool": positive_int(28, "an average-pooling window within the 28 x 28 image"),
        "steps": positive_int(),
        "rounds": positive_int(),
        "eval_every": positive_int(note="it must divide steps"),
        "lr": positive_real(),
        "batch_size": positive_int(60_000),
    }
    CHECKS = (
        Check(("steps", "eval_every"), lambda c: c.steps % c.eval_every == 0,
              "IMP rewinds to evaluation steps: steps must be a multiple of eval_every"),
    )
    # full: the paper's LeNet-300-100 on 28 x 28 images, 50 000 iterations of batch 60 (F&C)
    PRESETS = {"tiny": dict(widths=(40, 20), pool=4, steps=40, rounds=12, eval_every=20),
               "full": dict(pool=1, steps=50_000, rounds=16, eval_every=250)}

    def factory(self) -> Callable[[], MLP]:
        """LeNet-300-100 (``widths``) on the pooled, flattened Fashion-MNIST images."""
        side = 28 // self.pool
        return lambda: MLP(side * side, list(self.widths), 10)

    def train_config(self) -> TrainConfig:
        return TrainConfig(steps=self.steps, lr=self.lr, batch_size=self.batch_size, optimizer="adam",
                           eval_every=self.eval_every)


@dataclass(frozen=True)
class CNN(CheckedConfig):
    """The MNIST-1D paper's 1-D CNN and its optimizer, SGD with momentum and no warm-up (early training is
    unstable): shared by :func:`instability` and :func:`imp_rewinding`."""

    channels: int = 16  # channels per convolution
    steps: int = 800  # SGD updates per training run
    lr: float = 0.1
    momentum: float = 0.9
    batch_size: int = 64

    RULES = {
        "channels": positive_int(),
        "steps": positive_int(),
        "lr": positive_real(),
        "momentum": Real(0.0, 1.0, hi_open=True, note="heavy-ball momentum"),
        "batch_size": positive_int(4000, MNIST1D_TRAIN),
    }
    PRESETS = {"tiny": dict(channels=4, steps=40), "full": dict(channels=32, steps=6000)}

    def factory(self) -> Callable[[], ConvNet1D]:
        """The MNIST-1D paper's 1-D CNN with ``channels`` channels per convolution."""
        return lambda: ConvNet1D(40, self.channels, 10)

    def train_config(self, steps: int, eval_every: int) -> TrainConfig:
        """SGD with momentum, constant learning rate, no warm-up: the setting in which early training is unstable."""
        return TrainConfig(steps=steps, lr=self.lr, batch_size=self.batch_size, optimizer="sgd",
                           momentum=self.momentum, eval_every=eval_every)


@dataclass(frozen=True)
class CopySplits(CheckedConfig):
    """:func:`instability`: the steps k at which the two copies split, and the points on the line between them."""

    ks: tuple[int, ...] = (0, 50, 200, 500)  # copies split at these steps
    alphas: int = 11  # points on the straight line between the two copies

    RULES = {
        "ks": TupleOf(Integer(0, None), distinct=True, note="steps at which the copies split, below cnn.steps"),
        "alphas": Integer(2, None, "points on the line between the two copies, its ends included"),
    }
    PRESETS = {"tiny": dict(ks=(0, 20), alphas=5), "full": dict(ks=(0, 100, 200, 500, 1000, 2000), alphas=21)}


@dataclass(frozen=True)
class Rewinding(CheckedConfig):
    """:func:`imp_rewinding`: IMP on the 1-D CNN, rewinding to step 0 against rewinding to step ``k``."""

    rounds: int = 5
    eval_every: int = 100  # (rewind steps must be multiples of it)
    k: int = 200  # IMP with rewinding to this step, against rewinding to step 0

    RULES = {
        "rounds": positive_int(),
        "eval_every": positive_int(note="it must divide cnn.steps and k"),
        "k": positive_int(note="the late rewinding step compared with rewinding to step 0"),
    }
    # tiny: 6 rounds take the CNN below 50 % of its weights
    PRESETS = {"tiny": dict(rounds=6, eval_every=20, k=20), "full": dict(rounds=12, k=500)}


@dataclass(frozen=True)
class ConvIMP(CheckedConfig):
    """:func:`imp_conv`: Frankle & Carbin's Conv-2/4/6 (:data:`CONV_ARCHS`) on 28 x 28 Fashion-MNIST images
    (they used CIFAR-10, which is not available here), with the paper's optimizer, batch, iterations and conv/FC
    prune rates; no ``archs``: skipped (the small scale has no budget for them, the full scale runs all three on
    one GPU)."""

    archs: tuple[str, ...] = ()
    rounds: int = 10
    width_scale: float = 1.0  # channels and FC widths times this (the tests use tiny networks)
    steps: int | None = None  # None: the paper's iterations per training run
    eval_every: int = 1000

    RULES = {
        "archs": TupleOf(OneOf(tuple(CONV_ARCHS)), min_len=0, distinct=True, note="empty: not run"),
        "rounds": positive_int(),
        "width_scale": positive_real("channels and FC widths times this"),
        "steps": OrNone(positive_int(), note="None: the paper's iterations per training run"),
        "eval_every": positive_int(note="it must divide the conv runs' steps"),
    }
    CHECKS = (
        Check(("archs", "steps", "eval_every"),
              lambda c: all((c.steps or CONV_ARCHS[a]["steps"]) % c.eval_every == 0 for a in c.archs),
              "IMP rewinds to evaluation steps: the steps of each conv run (steps, or the paper's "
              f"{', '.join(str(a['steps']) for a in CONV_ARCHS.values())}) must be multiples of eval_every"),
    )
    PRESETS = {"full": dict(archs=("conv2", "conv4", "conv6"))}

    def factory(self, arch: str) -> Callable[[], ConvFC]:
        """Conv-2, -4 or -6 (``arch`` in CONV_ARCHS) for 28 x 28 grey images, widths times ``width_scale``."""
        if arch not in CONV_ARCHS:
            raise ValueError(f"arch={arch!r} is not one of {', '.join(CONV_ARCHS)}")
        a = CONV_ARCHS[arch]

        def scale(widths):
            return [max(1, round(w * self.width_scale)) for w in widths]
        return lambda: ConvFC(scale(a["convs"]), scale(a["fc"]))

    def train_config(self, arch: str) -> TrainConfig:
        """The paper's Adam, batch 60, and its iterations for ``arch`` unless ``steps``."""
        a = CONV_ARCHS[arch]
        return TrainConfig(steps=self.steps or a["steps"], lr=a["lr"], batch_size=60, optimizer="adam",
                           eval_every=self.eval_every)


@dataclass(frozen=True)
class LotteryConfig(CheckedConfig):
    """Chapter 6's settings: one part per experiment, plus the parts they share (the seeds and prune rates, the
    Fashion-MNIST data, the 1-D CNN). Steps are parameter updates per training run. Made by
    ``dl.scaled(LotteryConfig)``; every field is checked when a config is made, and a value out of range is a
    :class:`~dlgen_lib.config.ConfigError` naming it."""

    imp: IMP = part(IMP)
    mnist: Mnist1dIMP = part(Mnist1dIMP)
    fashion_data: FashionData = part(FashionData)
    fashion: FashionIMP = part(FashionIMP)
    cnn: CNN = part(CNN)
    instability: CopySplits = part(CopySplits)
    rewinding: Rewinding = part(Rewinding)
    conv: ConvIMP = part(ConvIMP)

    CHECKS = (
        Check(("instability.ks", "cnn.steps"), lambda c: max(c.instability.ks) < c.cnn.steps,
              "the copies split at the steps instability.ks, which must lie below cnn.steps"),
        Check(("cnn.steps", "rewinding.k", "rewinding.eval_every"),
              lambda c: c.cnn.steps % c.rewinding.eval_every == 0 and c.rewinding.k % c.rewinding.eval_every == 0
              and c.rewinding.k < c.cnn.steps,
              "rewind steps must be evaluation steps: rewinding.k must be a multiple of rewinding.eval_every below "
              "cnn.steps, which must be a multiple of it too"),
    )


# ------------------------------------------------------------------------------------------ data and models


def mnist1d_split() -> Split:
    """The MNIST-1D paper's 4 000 training and 1 000 test signals; validation: the 1 000 test signals of an
    independent draw of the same generator (seed 43), so the test set is the paper's."""
    data, other = mnist1d(), mnist1d(seed=43)
    dev = get_device()
    return Split("MNIST-1D", *(t.to(dev) for t in (data.x_train, data.y_train, other.x_test, other.y_test,
                                                      data.x_test, data.y_test)))


def fashion_split(fashion: FashionData, pool: int) -> Split:
    """Fashion-MNIST (the shipped subset, or the full set), images average-pooled by ``pool`` and flattened; the
    last ``fashion.val`` training images are the validation set."""
    data = fashion_mnist(full=fashion.full)

    def prep(x):
        return (F.avg_pool2d(x, pool) if pool > 1 else x).flatten(1)

    x, xt, n = prep(data.x_train), prep(data.x_test), len(data.y_train) - fashion.val
    dev = get_device()
    return Split("Fashion-MNIST", *(t.to(dev) for t in (x[:n], data.y_train[:n], x[n:], data.y_train[n:], xt,
                                                        data.y_test)))


class ConvFC(nn.Sequential):
    """Frankle & Carbin's Conv-n: pairs of 3 x 3 convolutions (padding 1, ReLU) each followed by a 2 x 2 max-pool,
    then fully connected ReLU layers and the output layer. Input (B, in_channels, size, size)."""

    def __init__(self, convs: Sequence[int], fc: Sequence[int], in_channels: int = 1, image_size: int = 28,
                 n_classes: int = 10):
        if len(convs) % 2:
            raise ValueError(f"convs={tuple(convs)} must come in pairs (a max-pool follows each pair)")
        layers: list[nn.Module] = []
        c, size = in_channels, image_size
        for i, out in enumerate(convs):
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU()]
            c = out
            if i % 2:
                layers.append(nn.MaxPool2d(2))
                size //= 2
        layers.append(nn.Flatten())
        fan_in = c * size * size
        for width in fc:
            layers += [nn.Linear(fan_in, width), nn.ReLU()]
            fan_in = width
        layers.append(nn.Linear(fan_in, n_classes))
        super().__init__(*layers)


def conv_rates(factory: Callable, arch: str, output_rate: float) -> dict[str, float]:
    """The paper's per-round rates: conv kernels at the arch's conv rate, FC weights at its FC rate, and the
    output layer at ``output_rate``."""
    a = CONV_ARCHS[arch]
    net = factory()
    names = prunable(list(dict(net.named_parameters())))
    modules = dict(net.named_modules())
    return {n: output_rate if n == names[-1] else
            a["conv_rate"] if isinstance(modules[n.rsplit(".", 1)[0]], nn.Conv2d) else a["fc_rate"] for n in names}


def fashion_images(fashion: FashionData) -> Split:
    """Fashion-MNIST as 1 x 28 x 28 images (the subset, or the full set with ``fashion.full``); the last
    ``fashion.val`` training images are the validation set."""
    data = fashion_mnist(full=fashion.full)
    n = len(data.y_train) - fashion.val
    dev = get_device()
    return Split("Fashion-MNIST 28 x 28", *(t.to(dev) for t in (
        data.x_train[:n], data.y_train[:n], data.x_train[n:], data.y_train[n:], data.x_test, data.y_test)))


# ------------------------------------------------------------------------------------------ IMP


@cached
def imp_conv(imp: IMP, fashion_data: FashionData, conv: ConvIMP) -> dict[str, PruningRun]:
    """IMP with both controls for each of ``conv.archs`` on Fashion-MNIST images, with the paper's settings
    (Adam, batch 60, its iterations unless ``conv.steps``); {} when ``conv.archs`` is empty."""
    runs = {}
    split = fashion_images(fashion_data) if conv.archs else None
    for arch in conv.archs:
        factory = conv.factory(arch)
        run = iterative_pruning(factory, split, conv.train_config(arch), imp.seeds, conv.rounds,
                                conv_rates(factory, arch, imp.output_rate))
        runs[arch] = replace(run, name=f"{arch.capitalize()}, {split.name}")
    return runs


@cached
def imp_mnist1d(imp: IMP, mnist: Mnist1dIMP) -> PruningRun:
    """IMP with both controls on MNIST-1D, MLP 40-100-100-10, Adam."""
    factory = mnist.factory()
    return iterative_pruning(factory, mnist1d_split(), mnist.train_config(), imp.seeds, mnist.rounds,
                             layer_rates(factory, imp.rate, imp.output_rate))


@cached
def imp_fashion(imp: IMP, fashion_data: FashionData, fashion: FashionIMP) -> PruningRun:
    """IMP with both controls on Fashion-MNIST, LeNet-300-100, Adam 1.2e-3, batch 60 (Frankle & Carbin)."""
    factory = fashion.factory()
    return iterative_pruning(factory, fashion_split(fashion_data, fashion.pool), fashion.train_config(),
                             imp.seeds, fashion.rounds, layer_rates(factory, imp.rate, imp.output_rate))


@cached
def imp_rewinding(imp: IMP, cnn: CNN, rewinding: Rewinding) -> PruningRun:
    """IMP on the MNIST-1D CNN, rewinding to step 0 against rewinding to step ``rewinding.k`` (no controls)."""
    factory = cnn.factory()
    data = replace(mnist1d_split(), name="MNIST-1D, 1-D CNN")
    return iterative_pruning(factory, data, cnn.train_config(cnn.steps, rewinding.eval_every), imp.seeds,
                             rewinding.rounds, layer_rates(factory, imp.rate, imp.output_rate),
                             rewind_steps={"rewind to 0": 0, f"rewind to {rewinding.k}": rewinding.k},
                             controls=False)


# ------------------------------------------------------------------------------------------ instability


@dataclass(frozen=True)
class Instability:
    """Linear mode connectivity of two copies split at step k (Frankle et al. 2020), for V split steps."""

    ks: np.ndarray  # (V,) the split steps k
    alphas: np.ndarray  # (A,)
    path_error: np.ndarray  # (V, S, A) test error at (1 - α) θ_1 + α θ_2
    seconds: float

    @property
    def instability(self) -> np.ndarray:
        """(V, S): max error on the path minus the mean of the two endpoints' errors."""
        e = self.path_error
        return e.max(-1) - 0.5 * (e[..., 0] + e[..., -1])


def error_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Classification error (fraction wrong), as a loss for :func:`dlgen_lib.landscape.batched_loss`."""
    return (logits.argmax(-1) != y).float().mean()


def path_error(factory: Callable, a: Params, b: Params, x: torch.Tensor, y: torch.Tensor, alphas) -> np.ndarray:
    """(A,) error of the networks (1 - α) a + α b (name -> shape each), evaluated together."""
    return landscape.batched_loss(factory(), error_fn, x, y, landscape.interpolate(a, b, alphas))


@cached
def instability(imp: IMP, cnn: CNN, instability: CopySplits) -> Instability:
    """For every seed of ``imp.seeds``: train the CNN to each step k of ``instability.ks`` (one run), make two
    copies of that state, train each to step ``cnn.steps`` with its own data order, and measure the test error
    along the line between them. For each k, the copies of all seeds train in one ensemble."""
    t0 = time.perf_counter()
    data, factory = mnist1d_split(), cnn.factory()
    seeds, ks = tuple(imp.seeds), tuple(instability.ks)
    if max(ks) >= cnn.steps:
        raise ValueError(f"instability.ks {ks} must lie below cnn.steps={cnn.steps}")
    saved: dict[int, Params] = {}

    def save(step, ens, hist):
        if step in ks:
            saved[step] = {n: p.detach().clone() for n, p in ens.params.items()}

    if max(ks) > 0:
        every = int(np.gcd.reduce([k for k in ks if k > 0]))
        parent = cnn.train_config(max(ks), every)
        train_ensemble(factory, seeds, data.x, data.y, parent, callbacks=[save], show_progress=False,
                       eval_train=False)
    else:
        saved[0] = Ensemble.build(factory, seeds, data.x.device).params
    alphas = np.linspace(0, 1, instability.alphas)
    S = len(seeds)
    err = np.zeros((len(ks), S, len(alphas)))  # (V, S, A)
    for i, k in enumerate(ks):  # the 2 S copies split at step k train the remaining T - k steps together
        model_seeds = list(seeds) * 2
        data_seeds = [20_000 + 2 * s for s in seeds] + [20_001 + 2 * s for s in seeds]  # every copy its own order
        ens = rewind(factory, model_seeds, stack_states(saved[k], saved[k]))
        steps = cnn.train_config(cnn.steps - k, cnn.steps - k)
        ens, _ = train_ensemble(factory, model_seeds, data.x, data.y, steps, data_seeds=data_seeds, ensemble=ens,
                                show_progress=False, eval_train=False)
        for s in range(S):
            err[i, s] = path_error(factory, {n: p[s] for n, p in ens.params.items()},
                                   {n: p[S + s] for n, p in ens.params.items()}, data.x_test, data.y_test, alphas)
    return Instability(np.asarray(ks), alphas, err, time.perf_counter() - t0)


# Frankle & Carbin (2019), LeNet-300-100 on MNIST; Greydanus & Kobak (2020), MNIST-1D lottery-ticket notebook;
# Frankle et al. (2020), linear mode connectivity
PAPER = {
    "lenet_ticket_holds_to": 0.03,  # winning tickets keep the dense accuracy down to ~3 % of the weights
    "lenet_reinit_degrades_from": 0.21,  # reinitialized tickets lose accuracy from ~21 % on
    "mnist1d_sparsity": 0.92,
    # no dense-MLP accuracy: none is stated in the sources read (for it, see Greydanus & Kobak 2020)
    "mnist1d_ticket": 0.70,
    "mnist1d_random": 0.58,
    "stable_below": 0.02,  # a network is stable when its instability is below 2 %
}
