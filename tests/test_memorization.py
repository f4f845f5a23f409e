"""Chapter 1's science module: the bounds against their closed forms, and the sweeps at the tiny scale."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from dlgen_lib import memorization as mem
from dlgen_lib.config import ConfigError
from dlgen_lib.data import corrupt_labels, mnist1d


def test_validation_bound_closed_form():
    # sqrt(ln(|F|/delta) / (2m)) with |F| = 20, delta = 0.05, m = 1000: sqrt(ln(400) / 2000)
    assert mem.validation_bound(0.25, 20, 1000, 0.05) == pytest.approx(0.25 + math.sqrt(math.log(400) / 2000))
    # more candidates, or fewer validation examples, can only loosen it
    assert mem.validation_bound(0.25, 200, 1000) > mem.validation_bound(0.25, 20, 1000)
    assert mem.validation_bound(0.25, 20, 100) > mem.validation_bound(0.25, 20, 1000)


def test_validation_bound_covers_selection_by_simulation():
    """Monte Carlo check of the bound itself: choose the best of |F| classifiers with equal true error on m
    validation examples; the chosen one's true error exceeds val error + slack in at most delta of trials."""
    gen = np.random.default_rng(0)
    true_error, n_models, m, delta, trials = 0.3, 50, 200, 0.1, 2000
    val_errors = gen.binomial(m, true_error, size=(trials, n_models)).min(axis=1) / m
    slack = mem.validation_bound(0.0, n_models, m, delta)
    assert np.mean(true_error > val_errors + slack) <= delta


def test_vc_bound_vacuous_when_dimension_reaches_n():
    assert mem.vc_bound(0.0, vc_dim=5000, n=4000) == math.inf
    d, n, delta = 10, 100_000, 0.05
    expected = math.sqrt((d * (math.log(2 * n / d) + 1) + math.log(4 / delta)) / n)
    assert mem.vc_bound(0.01, d, n, delta) == pytest.approx(0.01 + expected)


def test_rademacher_from_fit_and_bound():
    assert mem.rademacher_from_fit([1.0, 1.0]) == pytest.approx(1.0)
    assert mem.rademacher_from_fit([0.55, 0.65]) == pytest.approx(0.2)
    slack = 3 * math.sqrt(math.log(2 / 0.05) / (2 * 4000))
    assert mem.rademacher_bound(0.0, 1.0, 4000, 0.05) == pytest.approx(1.0 + slack)


def test_parity_of_random_classes_is_a_fair_sign():
    """The argument behind rademacher_from_fit: random labels mod 2 are unbiased signs."""
    labels = corrupt_labels(torch.zeros(100_000, dtype=torch.long), p=1.0, seed=3).labels
    assert (labels % 2).float().mean().item() == pytest.approx(0.5, abs=0.01)


def test_config_by_scale_and_overrides():
    assert mem.memorization_config("small").width == 256
    assert mem.memorization_config("tiny", width=8).width == 8
    assert mem.memorization_config("full").corruptions[-1] == 1.0


@pytest.fixture(scope="module")
def tiny_sweep():
    return mem.corruption_sweep(mem.memorization_config("tiny"))


def test_tiny_sweep_shapes_and_test_split(tiny_sweep):
    cfg = mem.memorization_config("tiny")
    K, E = len(cfg.corruptions) * len(cfg.seeds), cfg.steps // cfg.eval_every + 1
    assert tiny_sweep.train_acc.shape == (K, E) and tiny_sweep.step[-1] == cfg.steps
    # the test accuracy is the size-weighted mean of its validation and held-out halves
    n_test = len(mnist1d().y_test)
    combined = (cfg.n_val * tiny_sweep.val_acc + (n_test - cfg.n_val) * tiny_sweep.holdout_acc) / n_test
    np.testing.assert_allclose(tiny_sweep.test_acc, combined)
    assert tiny_sweep.by_setting("train_acc").shape == (len(cfg.corruptions), len(cfg.seeds), E)


def test_tiny_sweep_memorizes(tiny_sweep):
    """Even at the tiny scale (400 examples, width 64) every corruption level is fitted, and random labels
    test at chance level while clean labels do much better."""
    final_train = tiny_sweep.by_setting("train_acc")[:, :, -1]
    final_test = tiny_sweep.by_setting("test_acc")[:, :, -1]
    assert final_train.min() >= 0.99
    assert final_test[0].mean() > final_test[-1].mean() + 0.1
    assert abs(final_test[-1].mean() - 0.1) < 0.06


def test_bounds_from_sweep(tiny_sweep):
    b = mem.bounds(tiny_sweep)
    assert b.n_candidates == tiny_sweep.val_acc.shape[1] * 1  # one p = 0 network at the tiny scale
    assert b.vc == math.inf and b.rademacher_bound > 1.0
    assert b.val_error <= b.validation_bound
    # the chosen checkpoint is the one with the best validation accuracy
    assert 1 - b.val_error == pytest.approx(tiny_sweep.by_setting("val_acc")[0].max())


def test_strength_grids_are_validated():
    cfg = mem.memorization_config("tiny")
    with pytest.raises(ConfigError, match="wd_grid"):
        dataclasses.replace(cfg, wd_grid=(1e-3, 1e-2))  # no unregularized baseline
    with pytest.raises(ConfigError, match="dropout_grid"):
        dataclasses.replace(cfg, dropout_grid=(0.0, 0.5, 0.3))  # not increasing
    with pytest.raises(ConfigError, match="dropout_grid"):
        dataclasses.replace(cfg, dropout_grid=(0.0, 1.0))  # a rate of 1 drops everything
    with pytest.raises(ConfigError, match="wd_grid"):
        dataclasses.replace(cfg, wd_grid=(0.0, -1e-3))


def test_tiny_regularizer_strengths():
    cfg = mem.memorization_config("tiny")
    result = mem.regularizer_strengths(cfg)
    assert result.strengths == {"weight decay": tuple(cfg.wd_grid), "dropout": tuple(cfg.dropout_grid)}
    for name, grid in result.strengths.items():
        assert list(grid) == sorted(grid) and grid[0] == 0.0  # recorded in the order of the grid, from 0 up
        for values in (result.random_train, result.true_test, result.true_train):
            assert values[name].shape == (len(grid), len(cfg.seeds))
            assert ((values[name] >= 0) & (values[name] <= 1)).all()
    # strength 0 is the same unregularized networks for both regularizers
    np.testing.assert_array_equal(result.random_train["weight decay"][0], result.random_train["dropout"][0])
    wd_random = result.random_train["weight decay"]
    assert wd_random[-1].mean() < wd_random[0].mean() - 0.1  # the strongest weight decay stops memorization
    assert result.stops("weight decay") is not None and result.steps == cfg.strength_steps
