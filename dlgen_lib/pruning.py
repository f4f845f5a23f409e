"""Magnitude pruning and the lottery-ticket procedure, for networks trained together as one masked ensemble.

* :func:`prune_smallest` -- one round of layer-wise magnitude pruning: remove a fraction of the surviving
  weights of each layer, those of smallest magnitude (Frankle & Carbin 2019);
* :func:`random_masks` -- masks with the same number of survivors per layer, at random places (a control);
* :func:`rewind` -- an ensemble whose parameters are exactly a saved state, with masks applied;
* :func:`iterative_pruning` -- IMP: train, prune, rewind, repeat; every round trains the tickets of all seeds
  together with two controls of the same layer-wise sparsity (same mask with fresh weights; random mask with
  the original weights) in one vectorized ensemble (:func:`~dlgen_lib.train.train_ensemble` with ``masks``);
  :class:`PruningRun` holds its accuracies, early-stopping steps and masks;
* :func:`neighbour_ratio`, :func:`shuffled_neighbour_ratios` -- how local a first-layer mask is.

Masks are 0/1 tensors (K, *shape) multiplied into the weights at every forward pass and after every update, so a
pruned weight gets zero gradient and stays exactly zero. Biases are never pruned (as in the paper).
Chapter 6's experiments on top of these live in :mod:`dlgen_lib.chapters.ch06_lottery_tickets`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from .config import generator, numpy_rng
from .train import Ensemble, TrainConfig, train_ensemble

__all__ = [
    "Params",
    "VARIANTS",
    "FRESH_SEED",
    "prunable",
    "prune_smallest",
    "random_masks",
    "rewind",
    "fraction_remaining",
    "stack_states",
    "Split",
    "PruningRun",
    "iterative_pruning",
    "layer_rates",
    "neighbour_ratio",
    "shuffled_neighbour_ratios",
]

Params = dict[str, torch.Tensor]  # name -> (K, *shape), stacked over the models of an ensemble
VARIANTS = ("ticket", "reinit", "random")  # the winning ticket and its two controls
FRESH_SEED = 1000  # the reinit control of seed s draws its weights from seed s + FRESH_SEED


# ------------------------------------------------------------------------------------------ masks


def prunable(names: Sequence[str]) -> list[str]:
    """The parameters that pruning acts on: the weights (matrices and kernels), not the biases."""
    return [n for n in names if n.endswith("weight")]


def prune_smallest(weights: Params, masks: Params, rates: dict[str, float]) -> Params:
    """One round of layer-wise magnitude pruning, separately for each of the K models.

    Args:
        weights: name -> (K, *shape) trained weights.
        masks: name -> (K, *shape) 0/1, the current survivors (ones).
        rates: name -> fraction of the *surviving* weights of that layer to remove (rounded to a whole number).

    Returns:
        name -> (K, *shape) new 0/1 masks: the round(rate * survivors) survivors of smallest |w| are set to 0.

    >>> w = {"w": torch.tensor([[[1.0, -3.0], [0.5, 2.0]]])}
    >>> prune_smallest(w, {"w": torch.ones(1, 2, 2)}, {"w": 0.5})["w"].tolist()
    [[[0.0, 1.0], [0.0, 1.0]]]
    """
    out = {}
    for name, rate in rates.items():
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"prune rate {rate} of {name} must lie in [0, 1)")
        w, m = weights[name], masks[name]
        K = w.shape[0]
        score = torch.where(m.bool(), w.abs(), torch.full_like(w, -1.0)).reshape(K, -1)  # pruned ones sort first
        alive = m.reshape(K, -1).sum(1).long()  # (K,)
        order = torch.sort(score, dim=1, stable=True).indices  # (K, n) ascending |w|
        new = torch.ones_like(score)
        for k in range(K):
            drop = int(round(rate * int(alive[k])))
            dead = score.shape[1] - int(alive[k])
            new[k, order[k, :dead + drop]] = 0.0
        out[name] = new.reshape(m.shape)
    return out


def random_masks(masks: Params, seed: int) -> Params:
    """Masks with exactly as many ones as ``masks`` in each layer and model, at uniformly random places.

    >>> m = random_masks({"w": torch.tensor([[1.0, 1.0, 0.0, 0.0]])}, seed=0)
    >>> int(m["w"].sum())
    2
    """
    gen = generator(int(seed))
    out = {}
    for name, m in masks.items():
        K = m.shape[0]
        flat = torch.zeros(K, m[0].numel())
        for k in range(K):
            keep = int(m[k].sum())
            flat[k, torch.randperm(flat.shape[1], generator=gen)[:keep]] = 1.0
        out[name] = flat.reshape(m.shape).to(m)
    return out


def rewind(factory: Callable, seeds: Sequence[int], state: Params, masks: Params | None = None) -> Ensemble:
    """A fresh ensemble of ``factory()`` whose parameters are exactly (copies of) ``state``, name -> (K, *shape),
    with ``masks`` applied: the starting point of the next round of pruning."""
    device = next(iter(state.values())).device
    ens = Ensemble.build(factory, seeds, device)
    if set(ens.params) != set(state):
        raise ValueError(f"state has parameters {sorted(state)}, the model {sorted(ens.params)}")
    ens.params = {n: state[n].detach().clone() for n in ens.params}
    if masks:
        ens.masks = {n: m.to(ens.params[n]) for n, m in masks.items()}
        for n, m in ens.masks.items():
            ens.params[n].mul_(m)
    return ens


def fraction_remaining(masks: Params, names: Sequence[str]) -> tuple[float, np.ndarray]:
    """(overall fraction of the weights in ``names`` that survive, (L,) the fraction per layer), model 0."""
    alive = np.array([float(masks[n][0].sum()) for n in names])
    total = np.array([masks[n][0].numel() for n in names], dtype=float)
    return float(alive.sum() / total.sum()), alive / total


def stack_states(*parts: Params) -> Params:
    """The ensembles' states one after another along the model axis: name -> (K_1 + K_2 + ..., *shape)."""
    return {n: torch.cat([p[n] for p in parts]) for n in parts[0]}


def _take(params: Params, rows: slice) -> Params:
    return {n: p[rows].clone() for n, p in params.items()}


# ------------------------------------------------------------------------------------------ IMP


@dataclass(frozen=True)
class Split:
    """Training, validation and test data (inputs (n, ...), labels (n,))."""

    name: str
    x: torch.Tensor
    y: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True)
class PruningRun:
    """Iterative magnitude pruning with controls: round 0 is the dense network (the same for every arm).

    ``val_acc[arm]`` is (rounds + 1, S, E): round, seed, evaluation at ``step`` (E,); ``test_acc[arm]`` and
    ``best_step[arm]`` (rounds + 1, S) are the test accuracy at, and the step of, the best validation accuracy (the
    paper's early stopping: the first maximum, the untrained starting point excluded).
    """

    name: str
    arms: tuple[str, ...]  # e.g. VARIANTS, or ("rewind to 0", "rewind to 100")
    seeds: tuple[int, ...]
    fraction: np.ndarray  # (rounds + 1,) fraction of the prunable weights remaining
    layer_names: tuple[str, ...]
    layer_fraction: np.ndarray  # (rounds + 1, L)
    step: np.ndarray  # (E,)
    val_acc: dict[str, np.ndarray]
    test_acc: dict[str, np.ndarray]
    best_step: dict[str, np.ndarray]
    first_mask: dict[str, np.ndarray]  # arm -> (rounds + 1, out, in) first-layer mask of seed 0 (bool)
    seconds: float

    def early_stop(self, arm: str) -> tuple[np.ndarray, np.ndarray]:
        """(test accuracy at early stopping, its step), both (rounds + 1, S)."""
        return self.test_acc[arm], self.best_step[arm]

    def at(self, fraction: float) -> int:
        """The round whose fraction remaining is closest to ``fraction`` (in log scale)."""
        return int(np.argmin(np.abs(np.log(self.fraction) - np.log(fraction))))

    def keeping(self, fraction: float) -> int:
        """The sparsest round that still keeps at least ``fraction`` of the weights."""
        return int(np.flatnonzero(self.fraction >= fraction).max())

    def accuracy(self) -> tuple[dict[str, np.ndarray], float]:
        """Test accuracy at early stopping per arm, (rounds + 1, S), and the dense networks' mean (round 0)."""
        acc = {a: self.early_stop(a)[0] for a in self.arms}
        return acc, float(acc[self.arms[0]][0].mean())

    def mean_stop_step(self, rounds) -> dict[str, float]:
        """Per arm, the early-stopping step averaged over the given rounds and the seeds."""
        return {a: float(self.early_stop(a)[1][rounds].mean()) for a in self.arms}


def iterative_pruning(factory: Callable, data: Split, cfg: TrainConfig, seeds: Sequence[int], rounds: int,
                      rates: dict[str, float], rewind_steps: dict[str, int] | None = None,
                      controls: bool = True, show_progress: bool = False) -> PruningRun:
    """Iterative magnitude pruning (Frankle & Carbin 2019) with its controls, all trained together.

    Round 0 trains the S = len(seeds) dense networks from their initialisation (``models.build(factory, seed)``)
    and saves their states at the steps in ``rewind_steps`` (arm -> k, default {"ticket": 0}). Each arm then
    repeats ``rounds`` times: prune ``rates[name]`` of the surviving weights of each layer (smallest |w| of the
    arm's last trained networks), rewind the survivors to the saved state at step k, and train the remaining
    ``cfg.steps - k`` steps, so every network ends at the same step (Frankle et al. 2020). With ``controls`` the
    first arm gets two controls of exactly its layer-wise sparsity: "reinit" (its mask, fresh weights from
    seed + FRESH_SEED) and "random" (a random mask, its rewound weights). Every round trains the S seeds of all
    arms with the same k (a ticket and its controls: 3 S networks) in one masked ensemble; evaluations before
    step k are NaN.
    """
    t0 = time.perf_counter()
    rewind_steps = rewind_steps or {"ticket": 0}
    arms = tuple(rewind_steps) + (VARIANTS[1:] if controls else ())  # the controls: "reinit", "random"
    S, seeds = len(seeds), tuple(int(s) for s in seeds)
    names = list(dict(factory().named_parameters()))
    pnames = prunable(names)
    first = pnames[0]
    if set(rates) != set(pnames):
        raise ValueError(f"rates must name every prunable weight {pnames}, got {sorted(rates)}")

    saved: dict[int, Params] = {}

    def save(step, ens, hist):
        if step in set(rewind_steps.values()):
            saved[step] = {n: p.detach().clone() for n, p in ens.params.items()}

    val, test = {a: [] for a in arms}, {a: [] for a in arms}
    snaps: list[Params] = []

    def snapshot(step, ens, hist):
        snaps.append({n: p.detach().clone() for n, p in ens.params.items()})

    def best_on_validation(model_seeds, val_acc) -> tuple[np.ndarray, np.ndarray]:
        """Test accuracy (K,) of each network at its evaluation of best validation accuracy (K,), one pass."""
        best = np.nan_to_num(val_acc[:, 1:], nan=-1.0).argmax(1) + 1
        state = {n: torch.stack([snaps[e][n][i] for i, e in enumerate(best)]) for n in snaps[0]}
        return rewind(factory, model_seeds, state).evaluate(data.x_test, data.y_test)[1].numpy(), best

    # round 0: the dense networks (and the states to rewind to)
    ens, hist = train_ensemble(factory, seeds, data.x, data.y, cfg, data.x_val, data.y_val,
                               callbacks=[save, snapshot], show_progress=show_progress, desc="dense",
                               eval_train=False)
    late = max(rewind_steps.values()) >= cfg.steps
    if set(saved) != set(rewind_steps.values()) or cfg.steps % cfg.eval_every or late:
        raise ValueError(f"rewind steps {sorted(rewind_steps.values())} must be evaluation steps "
                         f"(multiples of eval_every={cfg.eval_every}) below steps={cfg.steps}, a multiple of it too")
    dense_test, dense_best = best_on_validation(seeds, hist.test_acc)
    best_step = {a: [hist.step[dense_best]] for a in arms}
    for a in arms:
        val[a].append(hist.test_acc)
        test[a].append(dense_test)
    ones = {n: torch.ones_like(ens.params[n]) for n in pnames}
    trained = {a: ens.params for a in rewind_steps}
    masks = {a: ones for a in rewind_steps}
    first_mask = {a: [np.ones(ens.params[first][0].shape, bool)] for a in arms}
    fractions, layer_fractions = [1.0], [np.ones(len(pnames))]
    fresh = Ensemble.build(factory, [s + FRESH_SEED for s in seeds], data.x.device).params if controls else None

    lead = next(iter(rewind_steps))
    arm_step = {**rewind_steps, **({"reinit": rewind_steps[lead], "random": rewind_steps[lead]} if controls else {})}
    E = len(hist.step)
    for r in range(1, rounds + 1):
        start, arm_mask = {}, {}
        for a, k in rewind_steps.items():
            masks[a] = prune_smallest(trained[a], masks[a], rates)
            start[a], arm_mask[a] = saved[k], masks[a]
        if controls:
            start["reinit"], arm_mask["reinit"] = fresh, masks[lead]
            start["random"], arm_mask["random"] = saved[rewind_steps[lead]], random_masks(masks[lead], seed=10_000 + r)
        for k in sorted(set(arm_step.values())):  # arms rewound to step k train the remaining T - k steps together
            group = [a for a in arms if arm_step[a] == k]
            state, mask = stack_states(*(start[a] for a in group)), stack_states(*(arm_mask[a] for a in group))
            model_seeds = list(seeds) * len(group)  # a ticket and its controls share each seed's data order
            ens = rewind(factory, model_seeds, state, mask)
            snaps.clear()
            tc = replace(cfg, steps=cfg.steps - k)
            ens, h = train_ensemble(factory, model_seeds, data.x, data.y, tc, data.x_val, data.y_val, masks=mask,
                                    ensemble=ens, callbacks=[snapshot], show_progress=show_progress,
                                    desc=f"round {r}", eval_train=False)
            pad = np.full((len(model_seeds), E - len(h.step)), np.nan)  # no evaluation before step k
            round_test, best = best_on_validation(model_seeds, h.test_acc)
            round_val = np.hstack([pad, h.test_acc])
            for i, a in enumerate(group):
                rows = slice(i * S, (i + 1) * S)
                val[a].append(round_val[rows])
                test[a].append(round_test[rows])
                best_step[a].append(k + h.step[best[rows]])
                if a in rewind_steps:
                    trained[a] = _take(ens.params, rows)
                first_mask[a].append(mask[first][i * S].bool().cpu().numpy())
        frac, per_layer = fraction_remaining(masks[lead], pnames)
        fractions.append(frac)
        layer_fractions.append(per_layer)

    stack = lambda d: {a: np.stack(v) for a, v in d.items()}  # noqa: E731
    return PruningRun(data.name, arms, seeds, np.asarray(fractions), tuple(pnames), np.asarray(layer_fractions),
                      hist.step, stack(val), stack(test), stack(best_step), stack(first_mask), time.perf_counter() - t0)


def layer_rates(factory: Callable, rate: float, output_rate: float) -> dict[str, float]:
    """``rate`` for every prunable weight but the last (the output layer), which gets ``output_rate``."""
    names = prunable(list(dict(factory().named_parameters())))
    return {n: (output_rate if n == names[-1] else rate) for n in names}


# ------------------------------------------------------------------------------------------ mask structure


def neighbour_ratio(mask: np.ndarray) -> float:
    """Local connectivity of a first-layer mask (out, in): P(input i+1 survives | input i survives, same unit),
    divided by the density. 1 for a random mask; above 1 when survivors come in runs of neighbouring inputs.

    >>> round(neighbour_ratio(np.array([[1, 1, 0, 0], [0, 0, 1, 1]], bool)), 3)  # 2 pairs / 3 survivors / 0.5
    1.333
    """
    m = np.asarray(mask, bool)
    pairs = (m[:, :-1] & m[:, 1:]).sum()
    return float(pairs / max(m[:, :-1].sum(), 1) / m.mean())


def shuffled_neighbour_ratios(mask: np.ndarray, draws: int = 200, seed: int = 0) -> np.ndarray:
    """(draws,) :func:`neighbour_ratio` of ``mask`` with each row's survivors moved to random positions: the
    null distribution of a mask with exactly the same number of connections per unit but no spatial structure."""
    rng = numpy_rng(seed)
    m = np.asarray(mask, bool)
    return np.array([neighbour_ratio(rng.permuted(m, axis=1)) for _ in range(draws)])
