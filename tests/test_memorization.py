"""Chapter 1's experiments at the tiny scale, and its config."""

import math

import numpy as np
import pytest

from dlgen_lib.chapters import ch01_memorization as ch
from dlgen_lib.config import ConfigError, scaled
from dlgen_lib.data import mnist1d


def test_config_by_scale_and_overrides():
    assert scaled(ch.MemorizationConfig, "small").net.width == 256
    cfg = scaled(ch.MemorizationConfig, "tiny", net=dict(width=8))
    assert cfg.net.width == 8 and cfg.net.seeds == (0,), "the other fields of the part keep the scale's values"
    assert scaled(ch.MemorizationConfig, "full").corruption.levels[-1] == 1.0
    assert scaled(ch.MemorizationConfig, "full").corruption.steps == 4000


# one representative bad value (or more) per part: (overrides, the field the message must name)
BAD_VALUES = [
    (dict(split=dict(n_val=5000)), "n_val"),  # only 1 000 test examples exist
    (dict(split=dict(n_val=-100)), "n_val"),
    (dict(split=dict(n_train=4001)), "n_train"),
    (dict(corruption=dict(levels=(0.0, 1.5))), "levels"),
    (dict(corruption=dict(levels=(0.0, 0.5))), "levels"),  # the bounds need the random-label pole p = 1
    (dict(net=dict(seeds=())), "seeds"),
    (dict(net=dict(lr=0.0)), "lr"),
    (dict(strengths=dict(wd_grid=(1e-3, 1e-2))), "wd_grid"),  # no unregularized baseline
    (dict(strengths=dict(dropout_grid=(0.0, 0.5, 0.3))), "dropout_grid"),  # not increasing
    (dict(strengths=dict(dropout_grid=(0.0, 1.0))), "dropout_grid"),  # a rate of 1 drops everything
    (dict(strengths=dict(wd_grid=(0.0, -1e-3))), "wd_grid"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_part_and_field(overrides, field):
    with pytest.raises(ConfigError) as err:
        scaled(ch.MemorizationConfig, "tiny", **overrides)
    message = str(err.value)
    (part,) = overrides
    assert f"MemorizationConfig.{part}" in message and f"{field}=" in message and "must" in message, message


@pytest.mark.parametrize("bad", [5000, -100, 0, 1000])
def test_n_val_must_leave_both_halves_of_the_test_set(bad):
    with pytest.raises(ConfigError) as err:
        scaled(ch.MemorizationConfig, "tiny", split=dict(n_val=bad))
    message = str(err.value)
    assert f"n_val={bad} is out of range" in message
    assert "from 1 to 999" in message and "1 000 MNIST-1D test examples" in message
    assert scaled(ch.MemorizationConfig, "tiny", split=dict(n_val=999)).split.n_val == 999


@pytest.fixture(scope="module")
def tiny():
    return scaled(ch.MemorizationConfig, "tiny")


@pytest.fixture(scope="module")
def tiny_sweep(tiny):
    return ch.corruption_sweep(tiny.net, tiny.split, tiny.corruption)


def test_tiny_sweep_shapes_and_test_split(tiny, tiny_sweep):
    net, split, corruption = tiny.net, tiny.split, tiny.corruption
    K, E = len(corruption.levels) * len(net.seeds), corruption.steps // corruption.eval_every + 1
    assert tiny_sweep.train_acc.shape == (K, E) and tiny_sweep.step[-1] == corruption.steps
    # the test accuracy is the size-weighted mean of its validation and held-out halves
    n_test = len(mnist1d().y_test)
    combined = (split.n_val * tiny_sweep.val_acc + (n_test - split.n_val) * tiny_sweep.holdout_acc) / n_test
    np.testing.assert_allclose(tiny_sweep.test_acc, combined)
    assert tiny_sweep.by_setting("train_acc").shape == (len(corruption.levels), len(net.seeds), E)


def test_tiny_sweep_memorizes(tiny_sweep):
    """Even at the tiny scale (400 examples, width 64) every corruption level is fitted, and random labels
    test at chance level while clean labels do much better."""
    final_train = tiny_sweep.by_setting("train_acc")[:, :, -1]
    final_test = tiny_sweep.by_setting("test_acc")[:, :, -1]
    assert final_train.min() >= 0.99
    assert final_test[0].mean() > final_test[-1].mean() + 0.1
    assert abs(final_test[-1].mean() - 0.1) < 0.06


def test_bound_table_from_sweep(tiny_sweep):
    b = ch.bound_table(tiny_sweep)
    assert b.n_candidates == tiny_sweep.val_acc.shape[1] * 1  # one p = 0 network at the tiny scale
    assert b.vc == math.inf and b.rademacher_bound > 1.0
    assert b.val_error <= b.validation_bound
    # the chosen checkpoint is the one with the best validation accuracy
    assert 1 - b.val_error == pytest.approx(tiny_sweep.by_setting("val_acc")[0].max())


def test_tiny_regularizer_strengths(tiny):
    net, strengths = tiny.net, tiny.strengths
    result = ch.regularizer_strengths(net, strengths)
    assert result.strengths == {"weight decay": tuple(strengths.wd_grid), "dropout": tuple(strengths.dropout_grid)}
    for name, grid in result.strengths.items():
        assert list(grid) == sorted(grid) and grid[0] == 0.0  # recorded in the order of the grid, from 0 up
        for values in (result.random_train, result.true_test, result.true_train):
            assert values[name].shape == (len(grid), len(net.seeds))
            assert ((values[name] >= 0) & (values[name] <= 1)).all()
    # strength 0 is the same unregularized networks for both regularizers
    np.testing.assert_array_equal(result.random_train["weight decay"][0], result.random_train["dropout"][0])
    wd_random = result.random_train["weight decay"]
    assert wd_random[-1].mean() < wd_random[0].mean() - 0.1  # the strongest weight decay stops memorization
    assert result.stops("weight decay") is not None and result.steps == strengths.steps
