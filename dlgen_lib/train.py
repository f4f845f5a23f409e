"""Training: one model (:func:`train`), or K models of one architecture at once (:func:`train_ensemble`).

Both minimise the mean cross-entropy with minibatch SGD (with momentum m) or Adam, draw minibatches from
epochs of random permutations (:class:`BatchStream`), and record a :class:`History` of train and test loss
and accuracy every ``eval_every`` steps. Callbacks add measurements of their own.

The ensemble trainer stacks the K models' parameters along a leading axis and runs forward and backward
passes of all K at once with ``torch.func.vmap``; each model has its own initial weights (seed), its own data
order, and optionally its own labels, inputs, learning rate, L2 coefficient, dropout rate
(:class:`~.models.RateDropout`) and weight mask. Its update rules are written out here and agree with
``torch.optim.SGD`` / ``torch.optim.Adam`` (tests/test_train.py checks that K models trained together equal K
separate runs).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from .config import generator, manual_seed, progress
from .models import RateDropout, build

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """How to train (the same for every model of an ensemble, but for per-model learning rates)."""

    steps: int  # number of parameter updates
    lr: float = 0.05  # learning rate eta
    batch_size: int | None = 128  # B; None (or >= n) means full-batch gradient descent
    optimizer: Literal["sgd", "adam"] = "sgd"
    momentum: float = 0.0  # m, heavy-ball momentum of SGD (as torch.optim.SGD, no dampening)
    weight_decay: float = 0.0  # L2 coefficient: weight_decay * w is added to the gradient (as torch.optim)
    eval_every: int = 100  # record the history every this many steps, and after the last step
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's moment decay rates
    eps: float = 1e-8  # Adam's epsilon
    schedule: Literal["constant", "cosine"] = "constant"  # learning rate over the run: lr, or lr * lr_factor(t)

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r} is not known; valid: {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule={self.schedule!r} is not known; valid: {', '.join(SCHEDULES)}")
        if self.steps < 1 or self.eval_every < 1:
            raise ValueError(f"steps={self.steps} and eval_every={self.eval_every} must be positive")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size} must be positive (or None for full batch)")

    def lr_factor(self, step: int) -> float:
        """The multiplier of ``lr`` for the update taken at ``step`` (0-based): 1 for "constant";
        (1 + cos(pi step / steps)) / 2 for "cosine", from 1 at the first update down towards 0 at the last.

        >>> TrainConfig(steps=4, schedule="cosine").lr_factor(2)
        0.5
        """
        if self.schedule == "constant":
            return 1.0
        return 0.5 * (1.0 + math.cos(math.pi * step / self.steps))


@dataclass
class History:
    """What was recorded during training. For one model each metric is (E,); for an ensemble (K, E), where
    E is the number of evaluations, taken at the steps in ``step`` (E,). Accuracies are fractions in [0, 1];
    the train metrics are measured on the whole training set with the labels the model was trained on."""

    step: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    extra: dict[str, list] = field(default_factory=dict)  # what callbacks recorded, one entry per evaluation

    def steps_to_fit(self, threshold: float = 1.0) -> np.ndarray:
        """First recorded step at which the train accuracy reached ``threshold`` (NaN where it never did);
        a scalar array for one model, (K,) for an ensemble."""
        reached = self.train_acc >= threshold - 1e-9
        first = np.argmax(reached, axis=-1)
        return np.where(reached.any(axis=-1), self.step[first], np.nan)


class BatchStream:
    """Minibatch indices: successive slices of random permutations of range(n), a new one every epoch
    (the last incomplete slice of an epoch is dropped). Full batch (``batch_size`` None or >= n) returns
    all indices in order.

    >>> stream = BatchStream(10, 4, seed=0)
    >>> [len(stream.next()) for _ in range(3)]
    [4, 4, 4]
    """

    def __init__(self, n: int, batch_size: int | None, seed: int):
        self.n = n
        self.batch_size = n if batch_size is None or batch_size >= n else batch_size
        self.generator = generator(int(seed))
        self._perm = torch.empty(0, dtype=torch.long)
        self._pos = 0

    def next(self) -> torch.Tensor:
        if self.batch_size == self.n:
            return torch.arange(self.n)
        if self._pos + self.batch_size > len(self._perm):
            self._perm, self._pos = torch.randperm(self.n, generator=self.generator), 0
        idx = self._perm[self._pos: self._pos + self.batch_size]
        self._pos += self.batch_size
        return idx


class _StackedStreams:
    """The :class:`BatchStream` of each seed, stepped together: ``next()`` is (S, B), row s the batch that
    ``BatchStream(n, batch_size, seeds[s]).next()`` would give (the same permutations, drawn at the same steps
    from the same generators), sliced out of one stacked (S, n) permutation per epoch instead of S Python calls
    per step."""

    def __init__(self, n: int, batch_size: int | None, seeds: Sequence[int]):
        self.streams = [BatchStream(n, batch_size, s) for s in seeds]
        self.n, self.batch_size = n, self.streams[0].batch_size
        self._perms = torch.empty(len(seeds), 0, dtype=torch.long)
        self._pos = 0

    def next(self) -> torch.Tensor:
        if self.batch_size == self.n:
            return torch.arange(self.n).expand(len(self.streams), self.n)
        if self._pos + self.batch_size > self._perms.shape[1]:
            self._perms = torch.stack([torch.randperm(self.n, generator=s.generator) for s in self.streams])
            self._pos = 0
        idx = self._perms[:, self._pos: self._pos + self.batch_size]
        self._pos += self.batch_size
        return idx


Callback = Callable[[int, object, History], None]


def _eval_points(cfg: TrainConfig) -> set[int]:
    return set(range(0, cfg.steps + 1, cfg.eval_every)) | {cfg.steps}


def _new_history() -> dict[str, list]:
    return {k: [] for k in ("step", "train_loss", "train_acc", "test_loss", "test_acc")}


def _finish(rec: dict[str, list], extra: dict[str, list], ensemble: bool) -> History:
    arrays = {k: np.asarray(v, dtype=float) for k, v in rec.items() if k != "step"}
    if ensemble:  # (E, K) -> (K, E)
        arrays = {k: v.T.copy() for k, v in arrays.items()}
    return History(step=np.asarray(rec["step"], dtype=int), extra=extra, **arrays)


# ------------------------------------------------------------------------------------------ one model


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 8192) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on (x, y), in eval mode."""
    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(y), chunk):
        logits = model(x[i: i + chunk])
        loss += F.cross_entropy(logits, y[i: i + chunk], reduction="sum").item()
        correct += (logits.argmax(-1) == y[i: i + chunk]).sum().item()
    model.train(was_training)
    return loss / len(y), correct / len(y)


def torch_optimizer(cfg: TrainConfig, params: Sequence[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    """``torch.optim.SGD`` (momentum, L2 weight decay) or ``torch.optim.Adam`` for ``cfg``, with the fused
    implementation (one kernel per step for all tensors) where the device has it, else the multi-tensor
    ``foreach`` one. Fused and foreach do the same arithmetic; fused is 2.4x (SGD) and 3x (Adam) faster on the
    stacked (K = 16, ...) parameters of an ensemble of MNIST-1D MLPs (2 threads, measured 115 against 277 us and
    195 against 598 us per step), which matters because an ensemble step is a few milliseconds. :func:`train` and
    :func:`train_ensemble` both use this, so an ensemble's model k follows model k trained alone."""
    params = list(params)
    kind = "sgd" if cfg.optimizer == "sgd" else "adam"
    for impl in ({"fused": True}, {"foreach": True}):
        try:
            if kind == "sgd":
                return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **impl)
            return torch.optim.Adam(params, lr=lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay,
                                    **impl)
        except (RuntimeError, ValueError):  # fused is not implemented for this device or dtype
            continue
    raise RuntimeError(f"no torch.optim implementation for {kind} on these parameters")


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig,
          x_test: torch.Tensor | None = None, y_test: torch.Tensor | None = None, seed: int = 0,
          callbacks: Sequence[Callback] = (), show_progress: bool = True) -> History:
    """Train ``model`` in place on (x (n, ...), y (n,)) with ``torch.optim`` and return its :class:`History`.

    ``seed`` fixes the data order (and dropout's randomness) without touching the global random state.
    Callbacks are called as ``cb(step, model, history_so_far)`` at every evaluation.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch_optimizer(cfg, params, cfg.lr)
    stream = BatchStream(len(y), cfg.batch_size, seed)
    rec, extra = _new_history(), {}
    points = _eval_points(cfg)
    devices = [x.device.index or 0] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        manual_seed(int(seed) + 1)  # dropout masks
        it = range(cfg.steps + 1)
        for step in (progress(it, desc="training") if show_progress else it):
            if step in points:
                _record_single(rec, model, x, y, x_test, y_test, step)
                for cb in callbacks:
                    cb(step, model, _finish(rec, extra, False))
            if step == cfg.steps:
                break
            idx = stream.next()
            for group in opt.param_groups:
                group["lr"] = cfg.lr * cfg.lr_factor(step)
            model.train()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return _finish(rec, extra, False)


def _record_single(rec, model, x, y, x_test, y_test, step):
    tl, ta = evaluate(model, x, y)
    vl, va = evaluate(model, x_test, y_test) if x_test is not None else (np.nan, np.nan)
    for key, value in zip(("step", "train_loss", "train_acc", "test_loss", "test_acc"), (step, tl, ta, vl, va)):
        rec[key].append(value)


# -------------------------------------------------------------------------------------------- ensemble


@dataclass
class Ensemble:
    """K models of one architecture with stacked parameters: ``params[name]`` is (K, *shape).

    ``base`` is one model used only for its structure (``functional_call``); ``masks`` (name -> (K, *shape),
    0/1) are multiplied into the weights in every forward pass, so masked weights get zero gradient.
    """

    base: nn.Module
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor]
    masks: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def build(cls, factory: Callable[[], nn.Module], seeds: Sequence[int],
              device: torch.device | str = "cpu") -> Ensemble:
        """K = len(seeds) models, model k initialised exactly as ``models.build(factory, seeds[k])``."""
        models = [build(factory, s).to(device) for s in seeds]
        params, buffers = stack_module_state(models)
        params = {k: v.detach() for k, v in params.items()}
        return cls(models[0], params, buffers)

    @classmethod
    def embed(cls, models: Sequence[nn.Module], template: nn.Module) -> tuple[Ensemble, dict[str, torch.Tensor]]:
        """Stack models of *different* sizes into one ensemble of the shape of ``template``.

        Every parameter of model k is copied into the leading corner of the template's parameter of the same
        name (e.g. a (h, 40) weight into the first h rows of a (256, 40) one); everything else is zero and
        masked. For MLPs whose hidden widths differ this is exact: a masked unit has zero weights and bias,
        outputs relu(0) = 0 and receives zero gradient, so training the ensemble trains each narrow network
        as it is (tests/test_train.py checks it against separate runs). Models keep their own initialisation
        (their own fan-in), which a max-width network with masked units would not have.

        Returns the ensemble and the masks, to pass to :func:`train_ensemble` (``ensemble=``, ``masks=``).
        """
        shapes = {n: p.shape for n, p in template.named_parameters()}
        params = {n: torch.zeros(len(models), *shape) for n, shape in shapes.items()}
        masks = {n: torch.zeros(len(models), *shape) for n, shape in shapes.items()}
        for k, model in enumerate(models):
            for name, p in model.named_parameters():
                if name not in shapes or any(a > b for a, b in zip(p.shape, shapes[name])):
                    raise ValueError(f"parameter {name} {tuple(p.shape)} of model {k} does not fit in the "
                                     f"template's {tuple(shapes.get(name, ()))}")
                corner = (k, *(slice(0, d) for d in p.shape))
                params[name][corner] = p.detach()
                masks[name][corner] = 1.0
        device = next(template.parameters()).device
        params = {n: v.to(device) for n, v in params.items()}
        return cls(template, params, {}, {}), {n: m.to(device) for n, m in masks.items()}

    @property
    def size(self) -> int:
        return next(iter(self.params.values())).shape[0]

    def effective_params(self) -> dict[str, torch.Tensor]:
        return {k: v * self.masks[k] if k in self.masks else v for k, v in self.params.items()}

    def model(self, k: int) -> nn.Module:
        """A stand-alone copy of model k (masks applied)."""
        net = copy.deepcopy(self.base)
        net.load_state_dict({**{n: p[k] for n, p in self.effective_params().items()},
                             **{n: b[k] for n, b in self.buffers.items()}})
        return net

    def forward(self, x: torch.Tensor, per_model_inputs: bool = False) -> torch.Tensor:
        """Logits of all K models: x (n, ...) shared, or (K, n, ...) with ``per_model_inputs``; returns
        (K, n, n_classes). Differentiable with respect to ``params``.

        A plain ``nn.Sequential`` of Flatten / Linear / ReLU / Dropout / :class:`~.models.RateDropout` layers
        (e.g. :class:`~.models.MLP`) runs as batched matrix products (``baddbmm``); any other model through
        ``torch.func.vmap``.
        """
        params = self.effective_params()
        if _is_plain_sequential(self.base):
            h = x if per_model_inputs else x.unsqueeze(0).expand(self.size, *x.shape)  # (K, n, ...)
            for name, layer in self.base.named_children():
                if isinstance(layer, nn.Flatten):
                    h = h.flatten(2)  # (K, n, d)
                elif isinstance(layer, nn.Linear):
                    weight, bias = params[f"{name}.weight"], params.get(f"{name}.bias")  # (K, out, in), (K, out)
                    h = torch.bmm(h, weight.transpose(1, 2)) if bias is None else \
                        torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2))  # (K, n, out)
                elif isinstance(layer, nn.ReLU):
                    h = torch.relu(h)
                elif isinstance(layer, RateDropout):  # one rate per model: the stacked buffer (K,)
                    if self.base.training:
                        p = self.buffers.get(f"{name}.p", layer.p).reshape(-1, *([1] * (h.dim() - 1)))
                        h = h * (torch.rand_like(h) >= p) / (1.0 - p)
                else:  # nn.Dropout
                    h = F.dropout(h, layer.p, self.base.training)
            return h

        def one(p, b, xx):
            return functional_call(self.base, (p, b), (xx,))
        return vmap(one, in_dims=(0, 0, 0 if per_model_inputs else None), randomness="different")(
            params, self.buffers, x)

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, per_model_inputs: bool = False,
                 chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy and accuracy of each model, both (K,). y is (n,) or (K, n)."""
        self.base.eval()
        K, n = self.size, y.shape[-1]
        loss, correct = torch.zeros(K), torch.zeros(K)
        for i in range(0, n, chunk):
            xb = x[:, i: i + chunk] if per_model_inputs else x[i: i + chunk]
            yb = y[..., i: i + chunk].expand(K, -1)
            logits = self.forward(xb, per_model_inputs)  # (K, b, C)
            loss += F.cross_entropy(logits.transpose(1, 2), yb, reduction="none").sum(1).cpu()
            correct += (logits.argmax(-1) == yb).sum(1).cpu()
        return loss / n, correct / n


def _is_plain_sequential(model: nn.Module) -> bool:
    return isinstance(model, nn.Sequential) and all(
        isinstance(m, (nn.Flatten, nn.Linear, nn.ReLU, nn.Dropout, RateDropout)) for m in model.children())


class _StackedOptimizer:
    """SGD (momentum, L2 weight decay) or Adam on the stacked (K, ...) parameters of an ensemble.

    With one learning rate and one L2 coefficient for all K models (the common case) this is ``torch.optim.SGD`` /
    ``torch.optim.Adam`` itself (:func:`torch_optimizer`, fused) on the stacked tensors: the same arithmetic as
    :func:`train`'s optimizer for each model. torch.optim takes one learning rate per parameter *group*, and a
    group per model would need K separate tensors per layer (the loop the ensemble exists to avoid), so a learning
    rate (``lrs`` (K,)) or an L2 coefficient (``wds`` (K,)) per model is applied by the hand-written path below:
    the same formulas, with the per-model factors broadcast as (K, 1, ..., 1) views. Measured side by side with
    ``benchmarks/ensemble_speed.py --compare-optimizers`` (K = 16 MLPs 40-100-100-10, SGD with momentum, 500 steps,
    2 threads): 1.35 s with torch.optim (fused) and 1.35 s hand-written in one run, 1.47 s and 1.55 s in another;
    the step is dominated by the forward and backward passes, so the hand-written path costs at most ~5 % where it
    is needed."""

    def __init__(self, cfg: TrainConfig, lrs: torch.Tensor, wds: torch.Tensor | None = None,
                 params: dict[str, torch.Tensor] | None = None, hand_written: bool = False):
        self.cfg, self.lrs, self.t = cfg, lrs, 0
        self.uniform_lr = float(lrs[0]) if bool((lrs == lrs[0]).all()) else None  # one lr: scalar fast path
        self.wds = wds
        self.state: dict[str, list[torch.Tensor]] = {}
        self._lr_views: list[torch.Tensor] | None = None
        self._wd_views: list[torch.Tensor] | None = None
        self.torch_optimizer: torch.optim.Optimizer | None = None
        if self.uniform_lr is not None and wds is None and params is not None and not hand_written:
            self.torch_optimizer = torch_optimizer(cfg, params.values(), self.uniform_lr)

    def step(self, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor]) -> None:
        cfg = self.cfg
        factor = cfg.lr_factor(self.t)
        self.t += 1
        if self.torch_optimizer is not None:
            for name, p in params.items():
                p.grad = grads[name].contiguous()  # the fused kernels need dense grads (bmm gives transposed views)
            for group in self.torch_optimizer.param_groups:
                group["lr"] = self.uniform_lr * factor
            self.torch_optimizer.step()
            for p in params.values():
                p.grad = None
            return
        ps = list(params.values())
        gs = [grads[name] for name in params]
        if self._lr_views is None:  # (K, 1, ..., 1) per parameter
            self._lr_views = [self.lrs.reshape(-1, *([1] * (p.dim() - 1))) for p in ps]
        if self.wds is not None:  # g + wd_k w, one coefficient per model
            if self._wd_views is None:
                self._wd_views = [self.wds.reshape(-1, *([1] * (p.dim() - 1))) for p in ps]
            gs = torch._foreach_add(gs, torch._foreach_mul(ps, self._wd_views))
        elif cfg.weight_decay:
            gs = torch._foreach_add(gs, ps, alpha=cfg.weight_decay)
        if cfg.optimizer == "sgd":
            if cfg.momentum:
                if "buf" not in self.state:
                    self.state["buf"] = [g.clone() for g in gs]
                else:
                    torch._foreach_mul_(self.state["buf"], cfg.momentum)
                    torch._foreach_add_(self.state["buf"], gs)
                gs = self.state["buf"]
            update = torch._foreach_mul(gs, [lr * factor for lr in self._lr_views])
        else:
            b1, b2 = cfg.betas
            if "m" not in self.state:
                self.state["m"] = [torch.zeros_like(p) for p in ps]
                self.state["v"] = [torch.zeros_like(p) for p in ps]
            m, v = self.state["m"], self.state["v"]
            torch._foreach_lerp_(m, gs, 1 - b1)  # m + (1 - b1)(g - m), as torch.optim.Adam writes it
            torch._foreach_mul_(v, b2)
            torch._foreach_addcmul_(v, gs, gs, value=1 - b2)
            denom = torch._foreach_sqrt(v)
            torch._foreach_div_(denom, (1 - b2 ** self.t) ** 0.5)
            torch._foreach_add_(denom, cfg.eps)
            update = torch._foreach_div(m, denom)
            torch._foreach_mul_(update, [lr * (factor / (1 - b1 ** self.t)) for lr in self._lr_views])
        torch._foreach_sub_(ps, update)


def train_ensemble(factory: Callable[[], nn.Module], seeds: Sequence[int], x: torch.Tensor, y: torch.Tensor,
                   cfg: TrainConfig, x_test: torch.Tensor | None = None, y_test: torch.Tensor | None = None,
                   *, data_seeds: Sequence[int] | None = None, lrs: Sequence[float] | None = None,
                   weight_decays: Sequence[float] | None = None,
                   masks: dict[str, torch.Tensor] | None = None, per_model_inputs: bool = False,
                   ensemble: Ensemble | None = None, callbacks: Sequence[Callback] = (),
                   show_progress: bool = True, desc: str = "training ensemble",
                   eval_train: bool = True, hand_written_optimizer: bool = False) -> tuple[Ensemble, History]:
    """Train K = len(seeds) models of the architecture ``factory()`` at once.

    Args:
        factory: builds one model; model k is initialised as ``models.build(factory, seeds[k])``.
        seeds: (K,) initialisation seeds.
        x: inputs, (n, ...) shared by all models, or (K, n, ...) when ``per_model_inputs``.
        y: labels, (n,) shared or (K, n), one labelling per model (e.g. different corruption levels).
        cfg: the training settings; ``cfg.lr`` unless ``lrs`` (K,) gives one learning rate per model, and
            ``cfg.weight_decay`` unless ``weight_decays`` (K,) gives one L2 coefficient per model.
        x_test, y_test: test data, (m, ...) and (m,), shared by all models.
        data_seeds: (K,) seeds of each model's minibatch order (default: ``seeds``), as ``train(seed=...)``.
        masks: name -> (K, *shape) 0/1 tensors multiplied into those weights (pruned weights stay zero).
        ensemble: continue training these parameters instead of building new ones.
        callbacks: ``cb(step, ensemble, history_so_far)`` at every evaluation.
        eval_train: measure the training loss and accuracy at every evaluation (False: record NaN, which saves
            a pass over the whole training set per evaluation when only test metrics are needed).
        hand_written_optimizer: use the hand-written stacked update even with one learning rate and one L2
            coefficient (for benchmarks; by default ``torch.optim`` runs then).

    Returns:
        The trained :class:`Ensemble` and the :class:`History` with (K, E) metrics.

    Model k's trajectory is that of ``train(models.build(factory, seeds[k]), x, y[k], cfg,
    seed=data_seeds[k])`` to float tolerance, when there is no dropout.
    """
    K = len(seeds)
    device = x.device
    ens = ensemble if ensemble is not None else Ensemble.build(factory, seeds, device)
    if masks:
        ens.masks = {k: m.to(device=device, dtype=ens.params[k].dtype) for k, m in masks.items()}
        for name, m in ens.masks.items():
            ens.params[name].mul_(m)
    n = y.shape[-1]
    y_all = y.expand(K, n) if y.dim() == 1 else y
    if y_all.shape[0] != K:
        raise ValueError(f"y has labels for {y_all.shape[0]} models but there are {K} seeds")
    if per_model_inputs and x.shape[0] != K:
        raise ValueError(f"per_model_inputs: x must be (K={K}, n, ...), got {tuple(x.shape)}")
    lr_t = torch.as_tensor(lrs if lrs is not None else [cfg.lr] * K, dtype=torch.float32, device=device)
    if lr_t.shape != (K,):
        raise ValueError(f"lrs must give one learning rate per model ({K}), got shape {tuple(lr_t.shape)}")
    wd_t = None
    if weight_decays is not None:
        wd_t = torch.as_tensor(weight_decays, dtype=torch.float32, device=device)
        if wd_t.shape != (K,):
            raise ValueError(f"weight_decays must give one L2 coefficient per model ({K}), got shape "
                             f"{tuple(wd_t.shape)}")
    order_seeds = [int(s) for s in (data_seeds if data_seeds is not None else seeds)]
    unique = list(dict.fromkeys(order_seeds))  # models sharing a seed share batches
    streams = _StackedStreams(n, cfg.batch_size, unique)
    which = torch.tensor([unique.index(s) for s in order_seeds])  # (K,) model -> its stream
    opt = _StackedOptimizer(cfg, lr_t, wd_t, ens.params, hand_written=hand_written_optimizer)
    rows = torch.arange(K, device=device)[:, None]

    rec, extra = _new_history(), {}
    points = _eval_points(cfg)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # dropout draws from the seeds, not the global state
        manual_seed(int(seeds[0]) + 1)
        it = range(cfg.steps + 1)
        for step in (progress(it, desc=desc) if show_progress else it):
            if step in points:
                tl, ta = (ens.evaluate(x, y_all, per_model_inputs) if eval_train
                          else (torch.full((K,), np.nan), torch.full((K,), np.nan)))
                vl, va = (ens.evaluate(x_test, y_test) if x_test is not None
                          else (torch.full((K,), np.nan), torch.full((K,), np.nan)))
                for key, value in zip(("step", "train_loss", "train_acc", "test_loss", "test_acc"),
                                      (step, tl.tolist(), ta.tolist(), vl.tolist(), va.tolist())):
                    rec[key].append(value)
                for cb in callbacks:
                    cb(step, ens, _finish(rec, extra, True))
            if step == cfg.steps:
                break
            idx = streams.next()[which].to(device)  # (K, B)
            xb = x[rows, idx] if per_model_inputs else x[idx]  # (K, B, ...)
            yb = y_all[rows, idx]  # (K, B)
            if not ens.base.training:  # evaluation switches to eval mode; Module.train() walks every submodule
                ens.base.train()
            for p in ens.params.values():
                p.requires_grad_(True)
            logits = ens.forward(xb, per_model_inputs=True)  # (K, B, C)
            # the sum over models of each model's mean loss: model k's gradient is that of its own loss
            loss = F.cross_entropy(logits.flatten(0, 1), yb.flatten(), reduction="sum") / yb.shape[1]
            grads = dict(zip(ens.params, torch.autograd.grad(loss, list(ens.params.values()))))
            with torch.no_grad():
                for p in ens.params.values():
                    p.requires_grad_(False)
                opt.step(ens.params, grads)
                if ens.masks:
                    torch._foreach_mul_([ens.params[name] for name in ens.masks], list(ens.masks.values()))
    return ens, _finish(rec, extra, True)
