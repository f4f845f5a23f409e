"""Linear SGD's stationary state and probability current against the closed forms of the 2-D Ornstein–Uhlenbeck
process, a Monte Carlo run of the recursion itself, and the local entropy of a quadratic."""

import math

import numpy as np
import pytest
import torch

from dlgen_lib.nonequilibrium import (
    axis_gap,
    circulation,
    cross,
    local_entropy,
    principal_angle,
    stationary_covariance,
)

H = np.diag([2.0, 0.5])
C_TILTED = np.array([[1.0, 0.6], [0.6, 1.0]])  # does not commute with H


def test_isotropic_noise_gives_the_gibbs_covariance_and_no_current():
    s = stationary_covariance(H, 2 * 0.3 * np.eye(2))  # C = 2T I
    assert np.allclose(s, 0.3 * np.linalg.inv(H))
    assert circulation(H, s) == pytest.approx(0.0, abs=1e-12)


def test_noise_that_commutes_with_the_hessian_gives_no_current():
    h = np.array([[1.5, 0.4], [0.4, 0.7]])
    s = stationary_covariance(h, 0.2 * h)  # anisotropic, but proportional to H
    assert circulation(h, s) == pytest.approx(0.0, abs=1e-12)
    assert circulation(h, stationary_covariance(h, 0.2 * h, lr=0.1), lr=0.1) == pytest.approx(0.0, abs=1e-12)


def test_the_ou_current_has_its_analytic_value():
    s = stationary_covariance(H, C_TILTED)
    h1, h2 = np.diag(H)
    assert np.allclose(s, [[1 / (2 * h1), 0.6 / (h1 + h2)], [0.6 / (h1 + h2), 1 / (2 * h2)]])
    assert circulation(H, s) == pytest.approx((h1 - h2) * 0.6 / (h1 + h2))


def test_the_discrete_recursion_tends_to_the_ou_limit():
    cont = stationary_covariance(H, C_TILTED)
    for lr, tol in ((0.01, 0.02), (0.001, 0.002)):
        assert np.allclose(stationary_covariance(H, C_TILTED, lr) / lr, cont, rtol=tol, atol=tol * 0.1)
        assert circulation(H, stationary_covariance(H, C_TILTED, lr), lr) / lr ** 2 == \
            pytest.approx(circulation(H, cont), rel=tol)


def test_monte_carlo_of_the_recursion_matches_the_discrete_closed_form():
    lr, steps, reps = 0.2, 4000, 2000
    gen = torch.Generator().manual_seed(0)
    a = torch.tensor(np.eye(2) - lr * H)
    chol = torch.tensor(np.linalg.cholesky(C_TILTED))
    x = torch.zeros(reps, 2, dtype=torch.float64)
    total_cross, total_cov, count = 0.0, torch.zeros(2, 2, dtype=torch.float64), 0
    for t in range(steps):
        nxt = x @ a.T + lr * torch.randn(reps, 2, generator=gen, dtype=torch.float64) @ chol.T
        if t >= 200:
            total_cross += float(cross(x, nxt).sum())
            total_cov += x.T @ x
            count += reps
        x = nxt
    s = stationary_covariance(H, C_TILTED, lr)
    assert np.allclose(total_cov.numpy() / count, s, rtol=0.03, atol=2e-4)
    assert total_cross / count == pytest.approx(circulation(H, s, lr), rel=0.06)


def test_commuting_anisotropic_noise_has_no_current_but_is_not_gibbs():
    """Noise proportional to H: detailed balance holds (no current), yet the cloud is round, 90° from the axis of
    the Gibbs ellipse T H⁻¹ (whose major axis is H's flat direction)."""
    s = stationary_covariance(H, 0.2 * H)
    assert circulation(H, s) == pytest.approx(0.0, abs=1e-15)
    assert np.allclose(s, 0.1 * np.eye(2))  # H S + S H = 0.2 H  ->  S = 0.1 I
    s_disc = stationary_covariance(H, 0.2 * H, lr=0.2)  # round up to O(η h) corrections
    assert np.allclose(np.diag(s_disc) / 0.2, [0.1 / (1 - 0.1 * 2.0), 0.1 / (1 - 0.1 * 0.5)])


def test_axis_gap_wraps_around():
    assert axis_gap(np.diag([1.0, 2.0]), np.array([[2.0, 0.01], [0.01, 1.0]])) == pytest.approx(89.43, abs=0.01)
    tilt = np.array([[1.0, -0.02], [-0.02, 2.0]])  # major axis just past -90°: same axis as +90°
    assert axis_gap(np.diag([1.0, 2.0]), tilt) < 1.5


def test_principal_angle():
    assert principal_angle(np.diag([2.0, 1.0])) == pytest.approx(0.0)
    assert principal_angle(np.diag([1.0, 2.0])) == pytest.approx(90.0)
    assert principal_angle(np.array([[1.0, 0.5], [0.5, 1.0]])) == pytest.approx(45.0)


@pytest.mark.parametrize(("a", "gamma"), [(1.0, 1.0), (20.0, 2.0), (0.3, 5.0)])
def test_local_entropy_of_a_quadratic(a, gamma):
    x = torch.linspace(-2, 2, 9, dtype=torch.float64)
    f = local_entropy(lambda z: 0.5 * a * z ** 2, x, gamma)
    expect = -0.5 * a * gamma / (a + gamma) * x ** 2 + 0.5 * math.log(2 * math.pi / (a + gamma))
    assert torch.allclose(f, expect, atol=1e-9)


def test_bad_input_says_what_is_valid():
    with pytest.raises(ValueError, match="unstable"):
        stationary_covariance(H, C_TILTED, lr=1.2)
    with pytest.raises(ValueError, match="square matrix"):
        stationary_covariance(np.ones(3), C_TILTED)
    with pytest.raises(ValueError, match="gamma=0 must be positive"):
        local_entropy(lambda z: z ** 2, torch.zeros(3), 0)
