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
    entropy_sgd_step,
    local_entropy,
    principal_angle,
    smoothed_grad_point,
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


def _quadratic_grad(a, calls):
    def grad_fn(params):
        calls.append(1)
        return {k: a[k] * v for k, v in params.items()}  # f = Σ ½ a x²

    return grad_fn


def test_entropy_sgd_step_follows_the_local_entropy_gradient_of_a_quadratic():
    """Deterministic inner run: x' settles at the minimum of ½ a x'² + (γ/2)(x' − x)², γx/(a + γ), which for a
    quadratic is also the mean ⟨x'⟩ of the local measure (mode = mean only because it is Gaussian), so with
    outer_lr = 1 the step is x − γ(x − μ) = x − ∇(−F)(x), the exact local-entropy gradient aγ/(a + γ) x."""
    a = {"w": torch.tensor([0.5, 2.0, 8.0], dtype=torch.float64), "b": torch.tensor([1.0], dtype=torch.float64)}
    x = {"w": torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64), "b": torch.tensor([3.0], dtype=torch.float64)}
    gamma, calls = 2.0, []
    new = entropy_sgd_step(x, _quadratic_grad(a, calls), gamma, inner_steps=20_000, inner_lr=0.05, outer_lr=1.0)
    assert len(calls) == 20_000  # its cost: one gradient per inner step
    for k in x:
        expect = x[k] - a[k] * gamma / (a[k] + gamma) * x[k]
        assert torch.allclose(new[k], expect, rtol=0, atol=1e-3), k  # the transient biases the mean by O(1/steps)
    moved = entropy_sgd_step(x, _quadratic_grad(a, []), gamma, inner_steps=20_000, inner_lr=0.05)  # outer_lr = 1/γ
    assert torch.allclose(moved["w"], gamma * x["w"] / (a["w"] + gamma), atol=1e-3)  # to ⟨x'⟩
    assert x["w"][0] == 1.0  # the input is not modified


def test_entropy_sgd_step_noise_has_the_exact_variance_and_no_bias():
    """On a flat f the inner run is x'_t − x = Σ_j r^(t−j) √η s ξ_j with r = 1 − ηγ, so the mean μ of the L iterates
    has variance η s² Σ_j c_j² / L², c_j = (1 − r^(L−j+1)) / (1 − r): a check of the √η · noise scaling. On a
    quadratic the noise adds no bias: the mean over many runs is the noise-free step."""
    n, eta, gamma, s, big_l = 40_000, 0.05, 2.0, 0.5, 30
    x = {"w": torch.full((n,), 1.0, dtype=torch.float64)}
    gen = torch.Generator().manual_seed(0)
    flat = entropy_sgd_step(x, lambda p: {"w": torch.zeros_like(p["w"])}, gamma, big_l, eta, noise=s, gen=gen)
    r = 1 - eta * gamma
    c = torch.tensor([(1 - r ** (big_l - j + 1)) / (1 - r) for j in range(1, big_l + 1)], dtype=torch.float64)
    expect = eta * s ** 2 * float((c ** 2).sum()) / big_l ** 2
    assert float(flat["w"].mean()) == pytest.approx(1.0, abs=5 * math.sqrt(expect / n))
    assert float(flat["w"].var()) == pytest.approx(expect, rel=0.03)  # sampling error of a variance: ~0.7 %
    a = {"w": torch.full((n,), 3.0, dtype=torch.float64)}
    noisy = entropy_sgd_step(x, _quadratic_grad(a, []), gamma, big_l, eta, noise=s, gen=gen)
    clean = entropy_sgd_step(x, _quadratic_grad(a, []), gamma, big_l, eta)
    se = float(noisy["w"].std()) / math.sqrt(n)
    assert float(noisy["w"].mean()) == pytest.approx(float(clean["w"][0]), abs=5 * se)


def test_smoothed_grad_point_draws_independent_gaussians_for_every_tensor():
    x = {"w": torch.full((300, 200), 2.0, dtype=torch.float64), "b": torch.full((60_000,), -1.0, dtype=torch.float64)}
    gen = torch.Generator().manual_seed(1)
    p = smoothed_grad_point(x, 0.3, gen)
    assert p["w"].shape == x["w"].shape and p["b"].shape == x["b"].shape and (x["w"] == 2.0).all()
    dw, db = (p["w"] - 2.0).flatten(), p["b"] + 1.0
    for d in (dw, db):
        assert float(d.mean()) == pytest.approx(0.0, abs=0.005) and float(d.std()) == pytest.approx(0.3, rel=0.01)
    assert abs(float(torch.corrcoef(torch.stack([dw, db]))[0, 1])) < 0.02  # not one draw reused
    # for a quadratic f = ½ Σ h_i x_i², E f(x + σε) − f(x) = (σ²/2) tr H exactly
    h = torch.linspace(0.5, 4.0, 5, dtype=torch.float64)
    q = {"v": torch.tensor([1.0, -2.0, 0.0, 0.5, 3.0], dtype=torch.float64).expand(100_000, 5).clone()}
    f = lambda v: 0.5 * (h * v ** 2).sum(-1)  # noqa: E731
    gain = f(smoothed_grad_point(q, 0.2, gen)["v"]) - f(q["v"])
    assert float(gain.mean()) == pytest.approx(0.5 * 0.04 * float(h.sum()), rel=0.03)
    assert torch.equal(smoothed_grad_point(x, 0.0)["w"], x["w"])


def test_bad_input_says_what_is_valid():
    with pytest.raises(ValueError, match="unstable"):
        stationary_covariance(H, C_TILTED, lr=1.2)
    with pytest.raises(ValueError, match="square matrix"):
        stationary_covariance(np.ones(3), C_TILTED)
    with pytest.raises(ValueError, match="gamma=0 must be positive"):
        local_entropy(lambda z: z ** 2, torch.zeros(3), 0)
    grad = _quadratic_grad({"w": torch.ones(2)}, [])
    with pytest.raises(ValueError, match="gamma=0.0 must be positive"):
        entropy_sgd_step({"w": torch.ones(2)}, grad, 0.0, 5, 0.1)
    with pytest.raises(ValueError, match="inner_steps=0 must be an integer >= 1"):
        entropy_sgd_step({"w": torch.ones(2)}, grad, 1.0, 0, 0.1)
    with pytest.raises(ValueError, match="must be < 2"):
        entropy_sgd_step({"w": torch.ones(2)}, grad, 25.0, 5, 0.1)
    with pytest.raises(ValueError, match="non-empty dict"):
        entropy_sgd_step({}, grad, 1.0, 5, 0.1)
    with pytest.raises(ValueError, match="sigma=-1 must be >= 0"):
        smoothed_grad_point({"w": torch.ones(2)}, -1)
