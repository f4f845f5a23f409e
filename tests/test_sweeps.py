"""dlgen_lib.sweeps: the bucket plan is optimal under its cost model, and a width sweep trained in masked
buckets equals each network trained alone."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from dlgen_lib.models import MLP, ConvNet2D, build
from dlgen_lib.sweeps import plan_buckets, train_widths
from dlgen_lib.train import TrainConfig, train


def _mlp_params(h: int) -> int:
    return h * h + 52 * h + 10  # MLP 40-h-h-10


def _brute_force(widths, n_params, k, overhead):
    """The cheapest contiguous partition by enumerating every set of cut points."""
    best = (np.inf, None)
    for r in range(len(widths)):
        for cuts in itertools.combinations(range(1, len(widths)), r):
            edges = (0, *cuts, len(widths))
            parts = [tuple(widths[a:b]) for a, b in zip(edges, edges[1:])]
            cost = sum(overhead + k * len(p) * n_params(p[-1]) for p in parts)
            best = min(best, (cost, tuple(parts)), key=lambda t: t[0])
    return best[1]


@pytest.mark.parametrize("overhead", [0, 5_000, 60_000, 1e9])
def test_plan_buckets_is_the_cheapest_partition(overhead):
    widths = (2, 4, 8, 16, 32, 64, 128, 256)
    plan = plan_buckets(widths, _mlp_params, 3, overhead)
    assert plan == _brute_force(widths, _mlp_params, 3, overhead)
    assert sorted(w for b in plan for w in b) == list(widths)


def test_plan_buckets_extremes_and_errors():
    assert plan_buckets([8, 2, 4, 4], _mlp_params, overhead=1e12) == ((2, 4, 8),)  # sorted, deduplicated
    assert plan_buckets([2, 4, 8], _mlp_params, overhead=0) == ((2,), (4,), (8,))
    with pytest.raises(ValueError, match="positive"):
        plan_buckets([0, 4], _mlp_params)


@pytest.fixture(scope="module")
def data(mnist1d_data):
    return mnist1d_data.subset(256, 128)


CFG = TrainConfig(steps=40, lr=3e-3, batch_size=64, optimizer="adam", eval_every=20, schedule="cosine")


def test_width_sweep_equals_networks_trained_alone(data):
    widths, seeds = (3, 5, 9, 17), (0, 1)
    sweep = train_widths(lambda h: MLP(40, [h, h], 10), widths, seeds, data.x_train, data.y_train, CFG,
                         data.x_test, data.y_test, buckets=((3, 5), (9, 17)), show_progress=False)
    assert sweep.test_acc.shape == (4, 2, 3) and sweep.step.tolist() == [0, 20, 40]
    assert sweep.n_params.tolist() == [_mlp_params(h) for h in widths]
    for (i, h), (j, s) in itertools.product(enumerate(widths), enumerate(seeds)):
        hist = train(build(lambda h=h: MLP(40, [h, h], 10), s), data.x_train, data.y_train, CFG, data.x_test,
                     data.y_test, seed=s, show_progress=False)
        np.testing.assert_allclose(sweep.train_loss[i, j], hist.train_loss, atol=1e-5, rtol=0)
        np.testing.assert_allclose(sweep.test_loss[i, j], hist.test_loss, atol=1e-5, rtol=0)
    assert sweep.train_loss[..., -1].mean() < sweep.train_loss[..., 0].mean() - 0.1  # guard: it trained


def test_width_sweep_of_cnn_channels_equals_narrow_cnns():
    """Channels embed too: a CNN's flatten is channel-major, so a narrow network's read-out weights are the
    leading columns of the wide one's."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 1, 12, 12, generator=gen), torch.randint(0, 10, (64,), generator=gen)
    factory = lambda c: ConvNet2D(channels=(c, 2 * c), image_size=12)  # noqa: E731
    cfg = TrainConfig(steps=15, lr=1e-2, batch_size=32, optimizer="adam", eval_every=15)
    sweep = train_widths(factory, (2, 4), (0,), x, y, cfg, x, y, buckets=((2, 4),), show_progress=False)
    for i, c in enumerate((2, 4)):
        hist = train(build(lambda c=c: factory(c), 0), x, y, cfg, x, y, seed=0, show_progress=False)
        np.testing.assert_allclose(sweep.train_loss[i, 0], hist.train_loss, atol=1e-5, rtol=0)


def test_interpolation_threshold_and_errors(data):
    sweep = train_widths(lambda h: MLP(40, [h, h], 10), (2, 64), (0,), data.x_train[:32], data.y_train[:32],
                         TrainConfig(steps=150, lr=1e-2, batch_size=None, optimizer="adam", eval_every=150),
                         show_progress=False)
    assert sweep.final("train_error")[1, 0] == 0.0 and sweep.final("train_error")[0, 0] > 0
    assert sweep.interpolation_threshold() == 64
    with pytest.raises(ValueError, match="exactly once"):
        train_widths(lambda h: MLP(40, [h], 10), (2, 4), (0,), data.x_train, data.y_train, CFG,
                     buckets=((2,),), show_progress=False)


def test_label_sets_with_their_own_seeds_equal_separate_sweeps(data):
    """y (V, n) with one seed list per label set: each returned sweep equals the sweep of that label set alone."""
    from dlgen_lib.data import corrupt_labels

    ys = torch.stack([data.y_train, corrupt_labels(data.y_train, 0.5, seed=3).labels])
    factory = lambda h: MLP(40, [h, h], 10)  # noqa: E731
    kw = dict(buckets=((3, 5), (9,)), show_progress=False)
    together = train_widths(factory, (3, 5, 9), [(0, 1), (2,)], data.x_train, ys, CFG, data.x_test, data.y_test, **kw)
    assert [s.seeds.tolist() for s in together] == [[0, 1], [2]]
    for sweep, y, seeds in zip(together, ys, [(0, 1), (2,)]):
        alone = train_widths(factory, (3, 5, 9), seeds, data.x_train, y, CFG, data.x_test, data.y_test, **kw)
        np.testing.assert_allclose(sweep.train_loss, alone.train_loss, atol=1e-5, rtol=0)
        np.testing.assert_allclose(sweep.test_acc, alone.test_acc, atol=1 / 128 + 1e-9, rtol=0)
    assert not np.allclose(together[0].train_loss[:, 0], together[1].train_loss[:, 0])  # guard: labels differ
