"""The bounds on the test error (dlgen_lib.bounds) against their closed forms and a simulation."""

import math

import numpy as np
import pytest
import torch

from dlgen_lib import bounds
from dlgen_lib.data import corrupt_labels


def test_validation_bound_closed_form():
    # sqrt(ln(|F|/delta) / (2m)) with |F| = 20, delta = 0.05, m = 1000: sqrt(ln(400) / 2000)
    assert bounds.validation_bound(0.25, 20, 1000, 0.05) == pytest.approx(0.25 + math.sqrt(math.log(400) / 2000))
    # more candidates, or fewer validation examples, can only loosen it
    assert bounds.validation_bound(0.25, 200, 1000) > bounds.validation_bound(0.25, 20, 1000)
    assert bounds.validation_bound(0.25, 20, 100) > bounds.validation_bound(0.25, 20, 1000)


def test_validation_bound_covers_selection_by_simulation():
    """Monte Carlo check of the bound itself: choose the best of |F| classifiers with equal true error on m
    validation examples; the chosen one's true error exceeds val error + slack in at most delta of trials."""
    gen = np.random.default_rng(0)
    true_error, n_models, m, delta, trials = 0.3, 50, 200, 0.1, 2000
    val_errors = gen.binomial(m, true_error, size=(trials, n_models)).min(axis=1) / m
    slack = bounds.validation_bound(0.0, n_models, m, delta)
    assert np.mean(true_error > val_errors + slack) <= delta


def test_vc_bound_vacuous_when_dimension_reaches_n():
    assert bounds.vc_bound(0.0, vc_dim=5000, n=4000) == math.inf
    d, n, delta = 10, 100_000, 0.05
    expected = math.sqrt((d * (math.log(2 * n / d) + 1) + math.log(4 / delta)) / n)
    assert bounds.vc_bound(0.01, d, n, delta) == pytest.approx(0.01 + expected)


def test_rademacher_from_fit_and_bound():
    assert bounds.rademacher_from_fit([1.0, 1.0]) == pytest.approx(1.0)
    assert bounds.rademacher_from_fit([0.55, 0.65]) == pytest.approx(0.2)
    slack = 3 * math.sqrt(math.log(2 / 0.05) / (2 * 4000))
    assert bounds.rademacher_bound(0.0, 1.0, 4000, 0.05) == pytest.approx(1.0 + slack)


def test_parity_of_random_classes_is_a_fair_sign():
    """The argument behind rademacher_from_fit: random labels mod 2 are unbiased signs."""
    labels = corrupt_labels(torch.zeros(100_000, dtype=torch.long), p=1.0, seed=3).labels
    assert (labels % 2).float().mean().item() == pytest.approx(0.5, abs=0.01)
