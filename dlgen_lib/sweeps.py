"""Train networks of many widths and seeds at once: the model-wise sweeps of double descent (and of any chapter
that asks "what changes with width?").

Networks of different widths cannot be stacked directly, but a narrow network fits inside a wide one: copy its
weights into the leading corner of the wide network's tensors and mask the rest (:meth:`.Ensemble.embed`). All
widths padded to the widest one waste arithmetic on the zeros (a width-2 MLP padded to 256 does the work of a
width-256 one), and one ensemble per width pays the per-step overhead once per width. :func:`plan_buckets` picks
the contiguous groups of widths ("buckets") that minimize a simple cost model -- each bucket costs a fixed
overhead plus its padded arithmetic -- and :func:`train_widths` trains each bucket as one masked ensemble.
Model (width w, seed s) is exactly ``train(build(lambda: factory(w), s), ..., seed=s)`` (tests/test_sweeps.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .models import build, param_count
from .train import Ensemble, TrainConfig, train_ensemble

# The fixed cost of one more ensemble per training step, in units of "parameters x models" of arithmetic
# (about 1 ms of Python and kernel launches against ~45 GFLOP/s on two cores at batch 128; measured by
# benchmarks/width_sweep.py). Only the ratio to the models' sizes matters.
DEFAULT_OVERHEAD = 60_000


def plan_buckets(widths: Sequence[int], n_params: Callable[[int], int], models_per_width: int = 1,
                 overhead: float = DEFAULT_OVERHEAD) -> tuple[tuple[int, ...], ...]:
    """Split the sorted ``widths`` into contiguous buckets minimizing
    Σ_buckets [overhead + models_per_width * len(bucket) * n_params(max width of the bucket)]
    by dynamic programming over the W + 1 cut points (exact, O(W²)).

    >>> plan_buckets([2, 4, 8, 256], lambda h: h * h + 52 * h, models_per_width=3)
    ((2, 4, 8), (256,))
    >>> plan_buckets([2, 4, 8, 256], lambda h: h * h + 52 * h, overhead=0)  # no overhead: one per width
    ((2,), (4,), (8,), (256,))
    """
    ws = sorted({int(w) for w in widths})
    if not ws or ws[0] < 1:
        raise ValueError(f"widths={list(widths)} must be positive integers (at least one)")
    best = [0.0] + [np.inf] * len(ws)  # best[j]: cheapest plan of ws[:j]
    cut = [0] * (len(ws) + 1)
    for j in range(1, len(ws) + 1):
        for i in range(j):  # bucket ws[i:j], padded to ws[j - 1]
            cost = best[i] + overhead + models_per_width * (j - i) * n_params(ws[j - 1])
            if cost < best[j]:
                best[j], cut[j] = cost, i
    buckets, j = [], len(ws)
    while j > 0:
        buckets.append(tuple(ws[cut[j]:j]))
        j = cut[j]
    return tuple(reversed(buckets))


@dataclass(frozen=True)
class WidthSweep:
    """Training histories of every (width, seed): metrics are (W, S, E) arrays, E evaluations at ``step``."""

    widths: np.ndarray  # (W,)
    seeds: np.ndarray  # (S,)
    n_params: np.ndarray  # (W,) trainable parameters of one network of each width
    step: np.ndarray  # (E,)
    train_loss: np.ndarray  # (W, S, E)
    train_acc: np.ndarray  # (W, S, E), measured with the labels the networks were trained on
    test_loss: np.ndarray  # (W, S, E)
    test_acc: np.ndarray  # (W, S, E)
    buckets: tuple[tuple[int, ...], ...]
    seconds: float  # wall time of the whole train_widths call (shared by the sweeps of one call)

    @property
    def train_error(self) -> np.ndarray:
        return 1.0 - self.train_acc

    @property
    def test_error(self) -> np.ndarray:
        return 1.0 - self.test_acc

    def final(self, metric: str = "test_error") -> np.ndarray:
        """(W, S) the metric after the last step."""
        return getattr(self, metric)[..., -1]

    def interpolation_threshold(self, tol: float = 0.01) -> int | None:
        """The smallest width whose seed-mean final training error is at most ``tol`` (None if none is)."""
        reached = self.final("train_error").mean(1) <= tol + 1e-12
        return int(self.widths[np.argmax(reached)]) if reached.any() else None


def train_widths(factory: Callable[[int], nn.Module], widths: Sequence[int], seeds: Sequence, x: torch.Tensor,
                 y: torch.Tensor, cfg: TrainConfig, x_test: torch.Tensor | None = None,
                 y_test: torch.Tensor | None = None, *, buckets: Sequence[Sequence[int]] | None = None,
                 overhead: float = DEFAULT_OVERHEAD, show_progress: bool = True) -> WidthSweep | list[WidthSweep]:
    """Train ``factory(w)`` for every width w and seed s, bucket by bucket, each bucket one masked ensemble.

    Args:
        factory: width -> a freshly built network; its parameters must grow only in their leading dimensions
            with the width (an MLP's hidden units, a CNN's channels), so that the narrow network embeds exactly.
        widths, seeds: the grid; network (w, s) is initialised as ``build(lambda: factory(w), s)`` and sees the
            minibatches of seed s (the same data order at every width).
        x, y, cfg, x_test, y_test: as :func:`.train_ensemble`, with y (n,) shared by all networks -- or (V, n),
            V label sets (e.g. with and without label noise) trained in the same buckets; then ``seeds`` may be
            one list of seeds per label set, and a list of V sweeps is returned.
        buckets: the grouping of widths (default :func:`plan_buckets` with ``overhead``).
    """
    clock = time.perf_counter()
    ws = sorted({int(w) for w in widths})
    multi = y.dim() == 2
    label_sets = y if multi else y[None]  # (V, n)
    V = len(label_sets)
    per_set = multi and len(seeds) == V and all(isinstance(s, Sequence) for s in seeds)
    seed_lists = [[int(s) for s in ss] for ss in seeds] if per_set else [[int(s) for s in seeds]] * V
    jobs = [(v, s) for v in range(V) for s in seed_lists[v]]  # the networks of one width, in order
    n_params = {w: param_count(factory(w)) for w in ws}
    if buckets is None:
        buckets = plan_buckets(ws, n_params.__getitem__, len(jobs), overhead)
    buckets = tuple(tuple(sorted(int(w) for w in b)) for b in buckets)
    if sorted(w for b in buckets for w in b) != ws:
        raise ValueError(f"buckets {buckets} must hold each of the widths {ws} exactly once")
    metrics = ("train_loss", "train_acc", "test_loss", "test_acc")
    rows: dict[int, dict[str, np.ndarray]] = {}
    step = None
    for bucket in buckets:
        wide = lambda b=bucket: factory(b[-1])  # noqa: E731
        bucket_seeds = [s for _ in bucket for _, s in jobs]
        if len(bucket) == 1:  # one width: a plain ensemble, nothing to mask
            ens, masks = Ensemble.build(wide, bucket_seeds, x.device), None
        else:
            models = [build(lambda w=w: factory(w), s).to(x.device) for w in bucket for _, s in jobs]
            ens, masks = Ensemble.embed(models, build(wide, bucket_seeds[0]).to(x.device))
        y_models = label_sets[[v for _ in bucket for v, _ in jobs]]  # (K, n)
        _, hist = train_ensemble(wide, bucket_seeds, x, y_models, cfg, x_test, y_test, ensemble=ens, masks=masks,
                                 show_progress=show_progress, desc=f"widths {bucket[0]}-{bucket[-1]}")
        step = hist.step
        for i, w in enumerate(bucket):
            part = slice(i * len(jobs), (i + 1) * len(jobs))
            rows[w] = {m: getattr(hist, m)[part] for m in metrics}
    seconds = time.perf_counter() - clock
    sweeps = []
    for v in range(V):
        mine = np.array([jv == v for jv, _ in jobs])
        arrays = {m: np.stack([rows[w][m][mine] for w in ws]) for m in metrics}
        sweeps.append(WidthSweep(np.array(ws), np.array(seed_lists[v]), np.array([n_params[w] for w in ws]), step,
                                 **arrays, buckets=buckets, seconds=seconds))
    return sweeps if multi else sweeps[0]
