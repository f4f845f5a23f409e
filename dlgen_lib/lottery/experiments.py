"""Chapter 6, the lottery ticket hypothesis:
the experiments -- sizes by scale, the cached runs and their results.

The package docstring (:mod:`dlgen_lib.lottery`) maps them; the figures are in :mod:`.figures`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import landscape
from ..cache import cached
from ..config import (
    Check,
    CheckedConfig,
    Flag,
    Integer,
    OneOf,
    OrNone,
    Real,
    TupleOf,
    get_device,
    positive_int,
    positive_real,
    scaled,
    seed_tuple,
)
from ..data import fashion_mnist, mnist1d
from ..models import MLP, ConvNet1D
from ..pruning import (
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
from ..train import Ensemble, TrainConfig, train_ensemble

__all__ = [
    "LotteryConfig",
    "lottery_config",
    "mnist1d_split",
    "fashion_split",
    "mnist1d_mlp",
    "fashion_mlp",
    "cnn",
    "CONV_ARCHS",
    "ConvFC",
    "conv_net",
    "conv_rates",
    "fashion_images",
    "imp_conv",
    "cnn_train_config",
    "imp_mnist1d",
    "imp_fashion",
    "imp_rewinding",
    "Instability",
    "error_fn",
    "path_error",
    "instability",
    "PAPER",
]

# Frankle & Carbin (2019), Figure 2: 3 x 3 convolutions (a 2 x 2 max-pool after each pair), two FC layers of 256,
# Adam with batch 60; per-round prune rates of the conv and FC layers (the output layer: prune_rate_output)
CONV_ARCHS = {
    "conv2": dict(convs=(64, 64), fc=(256, 256), lr=2e-4, steps=20_000, conv_rate=0.10, fc_rate=0.20),
    "conv4": dict(convs=(64, 64, 128, 128), fc=(256, 256), lr=3e-4, steps=25_000, conv_rate=0.10, fc_rate=0.20),
    "conv6": dict(convs=(64, 64, 128, 128, 256, 256), fc=(256, 256), lr=3e-4, steps=30_000, conv_rate=0.15,
                  fc_rate=0.20),
}


@dataclass(frozen=True)
class LotteryConfig(CheckedConfig):
    """Sizes of chapter 6's experiments (steps are parameter updates per training run). Every field is checked when
    a config is made (``RULES``, ``CHECKS``): a value out of range is a :class:`~dlgen_lib.config.ConfigError`
    naming it."""

    seeds: tuple[int, ...] = (0, 1, 2)
    rounds: int = 12  # pruning rounds after the dense run: 0.8^12 = 6.9 % of each hidden layer remains
    prune_rate: float = 0.2  # fraction of the surviving weights removed per round, hidden layers
    prune_rate_output: float = 0.1  # ... and the output layer (Frankle & Carbin)
    eval_every: int = 25  # MNIST-1D: validation (and test) accuracy recorded every this many steps
    # MNIST-1D, MLP 40-100-100-10, Adam (4 000 training / 1 000 test; validation: 1 000 of a fresh draw)
    mnist_widths: tuple[int, ...] = (100, 100)
    mnist_steps: int = 600
    mnist_lr: float = 5e-3
    mnist_batch: int = 100
    # Fashion-MNIST subset, LeNet-300-100 (Adam 1.2e-3, batch 60 as the paper); images average-pooled by
    # fashion_pool (2: 14 x 14 pixels, a quarter of the arithmetic), fashion_val training images held out
    fashion_widths: tuple[int, ...] = (300, 100)
    fashion_pool: int = 2
    fashion_full: bool = False  # the full 60 000 / 10 000 set instead of the shipped subset
    fashion_val: int = 1000
    fashion_steps: int = 300
    fashion_rounds: int = 11  # 0.8^11 = 8.6 % of each hidden layer
    fashion_eval_every: int = 50
    fashion_lr: float = 1.2e-3
    fashion_batch: int = 60
    # the 1-D CNN of MNIST-1D (channels per layer), SGD with momentum, no warm-up
    cnn_channels: int = 16
    cnn_steps: int = 800
    cnn_lr: float = 0.1
    cnn_momentum: float = 0.9
    cnn_batch: int = 64
    cnn_ks: tuple[int, ...] = (0, 50, 200, 500)  # instability: copies split at these steps
    cnn_alphas: int = 11  # points on the straight line between the two copies
    cnn_rounds: int = 5
    cnn_eval_every: int = 100  # (rewind steps must be multiples of it)
    cnn_rewind: int = 200  # IMP with rewinding to this step, against rewinding to step 0
    # Frankle & Carbin's Conv-2/4/6 (CONV_ARCHS) on 28 x 28 Fashion-MNIST images (they used CIFAR-10, which is
    # not available here), with the paper's optimizer, batch, iterations and conv/FC prune rates; empty: skipped
    # (the small scale has no budget for them, the full scale runs all three on one GPU)
    conv_archs: tuple[str, ...] = ()
    conv_rounds: int = 10
    conv_width_scale: float = 1.0  # channels and FC widths times this (the tests use tiny networks)
    conv_steps: int | None = None  # None: the paper's iterations per training run
    conv_eval_every: int = 1000

    RULES = {
        "seeds": seed_tuple(FRESH_SEED - 1, f"the reinit control of seed s draws fresh weights from seed s + "
                                            f"{FRESH_SEED}, which must not be another seed"),
        "rounds": positive_int(),
        "prune_rate": Real(0.0, 1.0, lo_open=True, hi_open=True, note="fraction of surviving weights pruned a round"),
        "prune_rate_output": Real(0.0, 1.0, hi_open=True, note="the same for the output layer; 0 leaves it dense"),
        "eval_every": positive_int(note="it must divide mnist_steps"),
        "mnist_widths": TupleOf(positive_int(), note="hidden widths of the MLP"),
        "mnist_steps": positive_int(),
        "mnist_lr": positive_real(),
        "mnist_batch": positive_int(4000, "MNIST-1D has 4 000 training examples"),
        "fashion_widths": TupleOf(positive_int(), note="hidden widths of LeNet-300-100"),
        "fashion_pool": positive_int(28, "an average-pooling window within the 28 x 28 image"),
        "fashion_full": Flag(),
        "fashion_val": positive_int(59_999, "training images held out for validation, fewer than the 10 000 of "
                                            "the subset (60 000 with fashion_full)"),
        "fashion_steps": positive_int(),
        "fashion_rounds": positive_int(),
        "fashion_eval_every": positive_int(note="it must divide fashion_steps"),
        "fashion_lr": positive_real(),
        "fashion_batch": positive_int(60_000),
        "cnn_channels": positive_int(),
        "cnn_steps": positive_int(),
        "cnn_lr": positive_real(),
        "cnn_momentum": Real(0.0, 1.0, hi_open=True, note="heavy-ball momentum"),
        "cnn_batch": positive_int(4000, "MNIST-1D has 4 000 training examples"),
        "cnn_ks": TupleOf(Integer(0, None), distinct=True, note="steps at which the copies split, below cnn_steps"),
        "cnn_alphas": Integer(2, None, "points on the line between the two copies, its ends included"),
        "cnn_rounds": positive_int(),
        "cnn_eval_every": positive_int(note="it must divide cnn_steps and cnn_rewind"),
        "cnn_rewind": positive_int(note="the late rewinding step compared with rewinding to step 0"),
        "conv_archs": TupleOf(OneOf(tuple(CONV_ARCHS)), min_len=0, distinct=True, note="empty: not run"),
        "conv_rounds": positive_int(),
        "conv_width_scale": positive_real("channels and FC widths times this"),
        "conv_steps": OrNone(positive_int(), note="None: the paper's iterations per training run"),
        "conv_eval_every": positive_int(note="it must divide the conv runs' steps"),
    }
    CHECKS = (
        Check(("mnist_steps", "eval_every"), lambda c: c.mnist_steps % c.eval_every == 0,
              "IMP rewinds to evaluation steps: mnist_steps must be a multiple of eval_every"),
        Check(("fashion_val", "fashion_full"), lambda c: c.fashion_val < (60_000 if c.fashion_full else 10_000),
              "fashion_val training images are held out for validation and some must remain to train on: fewer "
              "than the 10 000 of the shipped subset (60 000 with fashion_full=True)"),
        Check(("fashion_steps", "fashion_eval_every"), lambda c: c.fashion_steps % c.fashion_eval_every == 0,
              "IMP rewinds to evaluation steps: fashion_steps must be a multiple of fashion_eval_every"),
        Check(("cnn_ks", "cnn_steps"), lambda c: max(c.cnn_ks) < c.cnn_steps,
              "the copies split at the steps cnn_ks, which must lie below cnn_steps"),
        Check(("cnn_steps", "cnn_rewind", "cnn_eval_every"),
              lambda c: c.cnn_steps % c.cnn_eval_every == 0 and c.cnn_rewind % c.cnn_eval_every == 0
              and c.cnn_rewind < c.cnn_steps,
              "rewind steps must be evaluation steps: cnn_rewind must be a multiple of cnn_eval_every below "
              "cnn_steps, which must be a multiple of it too"),
        Check(("conv_archs", "conv_steps", "conv_eval_every"),
              lambda c: all((c.conv_steps or CONV_ARCHS[a]["steps"]) % c.conv_eval_every == 0 for a in c.conv_archs),
              "IMP rewinds to evaluation steps: the steps of each conv run (conv_steps, or the paper's "
              f"{', '.join(str(a['steps']) for a in CONV_ARCHS.values())}) must be multiples of conv_eval_every"),
    )


def lottery_config(scale: str | None = None, **overrides) -> LotteryConfig:
    """The config for the scale (``$DLGEN_SCALE`` by default); keyword arguments override single fields."""
    return scaled(
        # tiny networks and few steps, but enough rounds to reach the sparsities the chapter's claims are about:
        # 12 rounds take both MLPs below 10 % of their weights, 6 take the CNN below 50 % (a few seconds each)
        tiny=LotteryConfig(seeds=(0, 1), rounds=12, eval_every=20, mnist_widths=(32, 32), mnist_steps=60,
                           fashion_widths=(40, 20), fashion_pool=4, fashion_steps=40, fashion_val=200,
                           fashion_rounds=12, fashion_eval_every=20, cnn_eval_every=20,
                           cnn_channels=4, cnn_steps=40, cnn_ks=(0, 20), cnn_alphas=5, cnn_rounds=6, cnn_rewind=20),
        small=LotteryConfig(),
        # the papers' settings: LeNet-300-100 on 28 x 28 Fashion-MNIST, 50 000 iterations of batch 60 (F&C);
        # MNIST-1D with 5 seeds and longer training; the CNN wider and trained longer
        full=LotteryConfig(seeds=(0, 1, 2, 3, 4), rounds=16, eval_every=100, mnist_steps=4000, fashion_pool=1,
                           fashion_full=True, fashion_val=5000, fashion_steps=50_000, fashion_rounds=16,
                           fashion_eval_every=250, cnn_channels=32, cnn_steps=6000, cnn_eval_every=100,
                           cnn_ks=(0, 100, 200, 500, 1000, 2000), cnn_alphas=21, cnn_rounds=12, cnn_rewind=500,
                           conv_archs=("conv2", "conv4", "conv6")),
        scale=scale, overrides=overrides)


# ------------------------------------------------------------------------------------------ data and models


def mnist1d_split() -> Split:
    """The MNIST-1D paper's 4 000 training and 1 000 test signals; validation: the 1 000 test signals of an
    independent draw of the same generator (seed 43), so the test set is the paper's."""
    data, other = mnist1d(), mnist1d(seed=43)
    dev = get_device()
    return Split("MNIST-1D", *(t.to(dev) for t in (data.x_train, data.y_train, other.x_test, other.y_test,
                                                      data.x_test, data.y_test)))


def fashion_split(cfg: LotteryConfig) -> Split:
    """Fashion-MNIST (the shipped subset, or the full set), images average-pooled by ``cfg.fashion_pool`` and
    flattened; the last ``cfg.fashion_val`` training images are the validation set."""
    data = fashion_mnist(full=cfg.fashion_full)

    def prep(x):
        return (F.avg_pool2d(x, cfg.fashion_pool) if cfg.fashion_pool > 1 else x).flatten(1)

    x, xt, n = prep(data.x_train), prep(data.x_test), len(data.y_train) - cfg.fashion_val
    dev = get_device()
    return Split("Fashion-MNIST", *(t.to(dev) for t in (x[:n], data.y_train[:n], x[n:], data.y_train[n:], xt,
                                                        data.y_test)))


def mnist1d_mlp(cfg: LotteryConfig) -> Callable[[], MLP]:
    """The MLP 40-h-h-10 (h = cfg.mnist_widths) for MNIST-1D."""
    return lambda: MLP(40, list(cfg.mnist_widths), 10)


def fashion_mlp(cfg: LotteryConfig) -> Callable[[], MLP]:
    """LeNet-300-100 (cfg.fashion_widths) on the pooled, flattened Fashion-MNIST images."""
    side = 28 // cfg.fashion_pool
    return lambda: MLP(side * side, list(cfg.fashion_widths), 10)


def cnn(cfg: LotteryConfig) -> Callable[[], ConvNet1D]:
    """The MNIST-1D paper's 1-D CNN with cfg.cnn_channels channels per convolution."""
    return lambda: ConvNet1D(40, cfg.cnn_channels, 10)


class ConvFC(nn.Sequential):
    """Frankle & Carbin's Conv-n: pairs of 3 x 3 convolutions (padding 1, ReLU) each followed by a 2 x 2 max-pool,
    then fully connected ReLU layers and the output layer. Input (N, in_channels, size, size)."""

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


def conv_net(cfg: LotteryConfig, arch: str) -> Callable[[], ConvFC]:
    """Conv-2, -4 or -6 (``arch`` in CONV_ARCHS) for 28 x 28 grey images, widths times ``cfg.conv_width_scale``."""
    if arch not in CONV_ARCHS:
        raise ValueError(f"arch={arch!r} is not one of {', '.join(CONV_ARCHS)}")
    a = CONV_ARCHS[arch]

    def scale(widths):
        return [max(1, round(w * cfg.conv_width_scale)) for w in widths]
    return lambda: ConvFC(scale(a["convs"]), scale(a["fc"]))


def conv_rates(factory: Callable, arch: str, output_rate: float) -> dict[str, float]:
    """The paper's per-round rates: conv kernels at the arch's conv rate, FC weights at its FC rate, and the
    output layer at ``output_rate``."""
    a = CONV_ARCHS[arch]
    net = factory()
    names = prunable(list(dict(net.named_parameters())))
    modules = dict(net.named_modules())
    return {n: output_rate if n == names[-1] else
            a["conv_rate"] if isinstance(modules[n.rsplit(".", 1)[0]], nn.Conv2d) else a["fc_rate"] for n in names}


def fashion_images(cfg: LotteryConfig) -> Split:
    """Fashion-MNIST as 1 x 28 x 28 images (the subset, or the full set with ``cfg.fashion_full``); the last
    ``cfg.fashion_val`` training images are the validation set."""
    data = fashion_mnist(full=cfg.fashion_full)
    n = len(data.y_train) - cfg.fashion_val
    dev = get_device()
    return Split("Fashion-MNIST 28 x 28", *(t.to(dev) for t in (
        data.x_train[:n], data.y_train[:n], data.x_train[n:], data.y_train[n:], data.x_test, data.y_test)))


@cached
def imp_conv(cfg: LotteryConfig) -> dict[str, PruningRun]:
    """IMP with both controls for each of ``cfg.conv_archs`` on Fashion-MNIST images, with the paper's settings
    (Adam, batch 60, its iterations unless ``cfg.conv_steps``); {} when ``cfg.conv_archs`` is empty."""
    runs = {}
    split = fashion_images(cfg) if cfg.conv_archs else None
    for arch in cfg.conv_archs:
        factory, a = conv_net(cfg, arch), CONV_ARCHS[arch]
        tc = TrainConfig(steps=cfg.conv_steps or a["steps"], lr=a["lr"], batch_size=60, optimizer="adam",
                         eval_every=cfg.conv_eval_every)
        run = iterative_pruning(factory, split, tc, cfg.seeds, cfg.conv_rounds,
                                conv_rates(factory, arch, cfg.prune_rate_output))
        runs[arch] = replace(run, name=f"{arch.capitalize()}, {split.name}")
    return runs


def cnn_train_config(cfg: LotteryConfig, eval_every: int | None = None) -> TrainConfig:
    """SGD with momentum, constant learning rate, no warm-up: the setting in which early training is unstable."""
    return TrainConfig(steps=cfg.cnn_steps, lr=cfg.cnn_lr, batch_size=cfg.cnn_batch, optimizer="sgd",
                       momentum=cfg.cnn_momentum, eval_every=eval_every or cfg.cnn_eval_every)


@cached
def imp_mnist1d(cfg: LotteryConfig) -> PruningRun:
    """IMP with both controls on MNIST-1D, MLP 40-100-100-10, Adam."""
    factory = mnist1d_mlp(cfg)
    tc = TrainConfig(steps=cfg.mnist_steps, lr=cfg.mnist_lr, batch_size=cfg.mnist_batch, optimizer="adam",
                     eval_every=cfg.eval_every)
    return iterative_pruning(factory, mnist1d_split(), tc, cfg.seeds, cfg.rounds,
                             layer_rates(factory, cfg.prune_rate, cfg.prune_rate_output))


@cached
def imp_fashion(cfg: LotteryConfig) -> PruningRun:
    """IMP with both controls on Fashion-MNIST, LeNet-300-100, Adam 1.2e-3, batch 60 (Frankle & Carbin)."""
    factory = fashion_mlp(cfg)
    tc = TrainConfig(steps=cfg.fashion_steps, lr=cfg.fashion_lr, batch_size=cfg.fashion_batch, optimizer="adam",
                     eval_every=cfg.fashion_eval_every)
    return iterative_pruning(factory, fashion_split(cfg), tc, cfg.seeds, cfg.fashion_rounds,
                             layer_rates(factory, cfg.prune_rate, cfg.prune_rate_output))


@cached
def imp_rewinding(cfg: LotteryConfig) -> PruningRun:
    """IMP on the MNIST-1D CNN, rewinding to step 0 against rewinding to step ``cfg.cnn_rewind`` (no controls)."""
    factory = cnn(cfg)
    data = replace(mnist1d_split(), name="MNIST-1D, 1-D CNN")
    return iterative_pruning(factory, data, cnn_train_config(cfg), cfg.seeds, cfg.cnn_rounds,
                             layer_rates(factory, cfg.prune_rate, cfg.prune_rate_output),
                             rewind_steps={"rewind to 0": 0, f"rewind to {cfg.cnn_rewind}": cfg.cnn_rewind},
                             controls=False)


# ------------------------------------------------------------------------------------------ instability


@dataclass(frozen=True)
class Instability:
    """Linear mode connectivity of two copies split at step k (Frankle et al. 2020)."""

    ks: np.ndarray  # (k,)
    alphas: np.ndarray  # (A,)
    path_error: np.ndarray  # (k, S, A) test error at (1 - α) θ_1 + α θ_2
    seconds: float

    @property
    def instability(self) -> np.ndarray:
        """(k, S): max error on the path minus the mean of the two endpoints' errors."""
        e = self.path_error
        return e.max(-1) - 0.5 * (e[..., 0] + e[..., -1])


def error_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Classification error (fraction wrong), as a loss for :func:`dlgen_lib.landscape.batched_loss`."""
    return (logits.argmax(-1) != y).float().mean()


def path_error(factory: Callable, a: Params, b: Params, x: torch.Tensor, y: torch.Tensor, alphas) -> np.ndarray:
    """(A,) error of the networks (1 - α) a + α b (name -> shape each), evaluated together."""
    return landscape.batched_loss(factory(), error_fn, x, y, landscape.interpolate(a, b, alphas))


@cached
def instability(cfg: LotteryConfig) -> Instability:
    """For every seed: train the CNN to each step k of ``cfg.cnn_ks`` (one run), make two copies of that state,
    train each to step ``cfg.cnn_steps`` with its own data order, and measure the test error along the line
    between them. For each k, the copies of all seeds train in one ensemble."""
    t0 = time.perf_counter()
    data, factory, tc = mnist1d_split(), cnn(cfg), cnn_train_config(cfg)
    seeds, ks = tuple(cfg.seeds), tuple(cfg.cnn_ks)
    if max(ks) >= cfg.cnn_steps:
        raise ValueError(f"cnn_ks {ks} must lie below cnn_steps={cfg.cnn_steps}")
    saved: dict[int, Params] = {}

    def save(step, ens, hist):
        if step in ks:
            saved[step] = {n: p.detach().clone() for n, p in ens.params.items()}

    if max(ks) > 0:
        every = int(np.gcd.reduce([k for k in ks if k > 0]))
        parent = replace(tc, steps=max(ks), eval_every=every)
        train_ensemble(factory, seeds, data.x, data.y, parent, callbacks=[save], show_progress=False,
                       eval_train=False)
    else:
        saved[0] = Ensemble.build(factory, seeds, data.x.device).params
    alphas = np.linspace(0, 1, cfg.cnn_alphas)
    S = len(seeds)
    err = np.zeros((len(ks), S, len(alphas)))
    for i, k in enumerate(ks):  # the 2 S copies split at step k train the remaining T - k steps together
        model_seeds = list(seeds) * 2
        data_seeds = [20_000 + 2 * s for s in seeds] + [20_001 + 2 * s for s in seeds]  # every copy its own order
        ens = rewind(factory, model_seeds, stack_states(saved[k], saved[k]))
        steps = replace(tc, steps=cfg.cnn_steps - k, eval_every=cfg.cnn_steps - k)
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
