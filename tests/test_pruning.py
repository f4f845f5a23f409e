"""Magnitude pruning (dlgen_lib.pruning): exactly the requested smallest survivors go, per layer and model; random
masks keep the layer-wise counts; masks keep pruned weights at zero through training; rewinding restores the saved
state exactly; mask locality is measured against its shuffled null."""

import numpy as np
import pytest
import torch

from dlgen_lib import pruning as pr
from dlgen_lib.models import MLP
from dlgen_lib.train import Ensemble, TrainConfig, train_ensemble


def _reference_prune(w: torch.Tensor, m: torch.Tensor, rate: float) -> torch.Tensor:
    """Plain-Python reference: drop the round(rate * alive) surviving entries of smallest |w|."""
    w, m = w.flatten().tolist(), m.flatten().tolist()
    alive = [i for i, v in enumerate(m) if v]
    drop = sorted(alive, key=lambda i: abs(w[i]))[: int(round(rate * len(alive)))]
    return torch.tensor([0.0 if (not m[i] or i in drop) else 1.0 for i in range(len(m))])


def test_pruning_removes_exactly_the_smallest_survivors():
    gen = torch.Generator().manual_seed(0)
    w = {"a.weight": torch.randn(3, 20, 10, generator=gen), "b.weight": torch.randn(3, 10, 20, generator=gen)}
    masks = {n: torch.ones_like(t) for n, t in w.items()}
    rates = {"a.weight": 0.2, "b.weight": 0.1}
    for _ in range(4):  # several rounds, with already-pruned weights present
        new = pr.prune_smallest(w, masks, rates)
        for n, t in w.items():
            for k in range(3):
                alive, now = int(masks[n][k].sum()), int(new[n][k].sum())
                assert alive - now == round(rates[n] * alive), "exactly the requested fraction per layer and model"
                assert torch.equal(new[n][k].flatten(), _reference_prune(t[k], masks[n][k], rates[n]))
                assert (new[n][k] <= masks[n][k]).all(), "a pruned weight never comes back"
                kept, gone = t[k][new[n][k].bool()].abs(), t[k][(masks[n][k] - new[n][k]).bool()].abs()
                assert kept.min() >= gone.max(), "every removed survivor is smaller than every kept one"
        masks = new
    with pytest.raises(ValueError, match="must lie in"):
        pr.prune_smallest(w, masks, {"a.weight": 1.0, "b.weight": 0.1})


def test_random_masks_keep_the_layerwise_counts():
    masks = pr.prune_smallest({"w": torch.randn(2, 8, 9)}, {"w": torch.ones(2, 8, 9)}, {"w": 0.6})
    rnd = pr.random_masks(masks, seed=3)
    assert torch.equal(rnd["w"].sum((1, 2)), masks["w"].sum((1, 2)))
    assert not torch.equal(rnd["w"], masks["w"])
    assert torch.equal(pr.random_masks(masks, seed=3)["w"], rnd["w"]), "the seed fixes the draw"


def test_pruned_weights_stay_zero_through_training_and_rewinding_is_exact():
    torch.manual_seed(0)
    factory = lambda: MLP(6, [8], 3)  # noqa: E731
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    init = Ensemble.build(factory, [0, 1]).params
    saved = {n: p.clone() for n, p in init.items()}
    masks = pr.prune_smallest(init, {n: torch.ones_like(init[n]) for n in pr.prunable(list(init))},
                              {"1.weight": 0.5, "3.weight": 0.3})
    ens = pr.rewind(factory, [0, 1], saved, masks)
    for n, m in masks.items():
        assert torch.equal(ens.params[n], saved[n] * m), "rewinding restores exactly the saved state, masked"
    assert torch.equal(ens.params["1.bias"], saved["1.bias"]) and ens.params["1.bias"] is not saved["1.bias"]
    cfg = TrainConfig(steps=30, lr=0.1, batch_size=16, optimizer="adam", eval_every=30)
    ens, _ = train_ensemble(factory, [0, 1], x, y, cfg, masks=masks, ensemble=ens, show_progress=False)
    for n, m in masks.items():
        assert (ens.params[n][m == 0] == 0).all(), "pruned weights stay exactly zero"
        assert (ens.params[n][m == 1] != saved[n][m == 1]).float().mean() > 0.9, "survivors did train"
    for k in range(2):  # the stand-alone model k has the masked weights too
        assert (ens.model(k)[1].weight[masks["1.weight"][k] == 0] == 0).all()
    assert torch.equal(saved["1.weight"], init["1.weight"]), "training never touched the saved state"
    # eval_train=False skips only the measurement on the training set, not the training
    again = pr.rewind(factory, [0, 1], saved, masks)
    again, hist = train_ensemble(factory, [0, 1], x, y, cfg, x, y, masks=masks, ensemble=again, show_progress=False,
                                 eval_train=False)
    assert np.isnan(hist.train_acc).all() and not np.isnan(hist.test_acc).any()
    for n in ens.params:
        torch.testing.assert_close(again.params[n], ens.params[n])
    with pytest.raises(ValueError, match="state has parameters"):
        pr.rewind(factory, [0, 1], {"1.weight": saved["1.weight"]})


def test_neighbour_ratio_measures_runs_of_neighbouring_inputs():
    assert pr.neighbour_ratio(np.eye(4, dtype=bool)) == 0.0, "no unit keeps two neighbours"
    bands = np.zeros((20, 60), bool)
    for i in range(20):
        bands[i, 3 * i:3 * i + 6] = True  # each unit keeps a run of 6 neighbouring inputs
    assert pr.neighbour_ratio(bands) > 5
    null = pr.shuffled_neighbour_ratios(bands, draws=100)
    # without spatial structure a survivor's neighbour survives with probability (k - 1) / (n - 1): k = 6 of n = 60
    assert null.shape == (100,) and null.mean() == pytest.approx(5 / 59 / (6 / 60), rel=0.1)
    assert (null < pr.neighbour_ratio(bands)).all()
