"""dlgen_lib.sde: the minibatch sampler, vectorized SGD replicas against a loop over replicas, the stationary variance
of SGD on a quadratic against its exact discrete-time closed form (and its η/B scaling), Euler–Maruyama against the
Ornstein–Uhlenbeck variance, Gibbs densities, barrier heights, Gaussian smoothing and first-passage times."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dlgen_lib import sde

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: see conftest.one_thread


def _stationary_var(loss, lr, batch_size, *, burn=100, every=25, snapshots=10, replicas=4000, seed=0,
                    replace=False, simulate=sde.sgd_replicas) -> torch.Tensor:
    """Var over replicas started at the minimum z̄, averaged over snapshots after a burn-in (one per coordinate)."""
    paths = simulate(loss, loss.z.mean(0), lr, batch_size, burn + every * snapshots, n_replicas=replicas,
                     seed=seed, replace=replace, record_every=every)
    return paths.theta[burn // every + 1:].var(1).mean(0)


# ------------------------------------------------------------------------------------------ losses and sampler


@pytest.mark.parametrize("loss", [sde.double_well(n=40), sde.double_well(n=40, data_std=2.0, noise="tilt"),
                                  sde.quadratic(n=40, curvature=[1.0, 3.0])],
                         ids=["double-well-shift", "double-well-tilt", "quadratic-2d"])
def test_gradients_match_autograd(loss):
    d = loss.z.shape[1:]
    theta = torch.linspace(-1.5, 1.5, 7, dtype=F64).reshape(7, *([1] * len(d))).expand(7, *d).clone()
    theta.requires_grad_(True)
    per_example = loss.per_example_losses(theta)  # (7, n)
    assert per_example.shape == (7, loss.n)
    (auto,) = torch.autograd.grad(loss.loss(theta).sum(), theta)
    torch.testing.assert_close(loss.grad(theta), auto, rtol=1e-12, atol=1e-12)
    (auto_i,) = torch.autograd.grad(per_example[:, 3].sum(), theta)
    torch.testing.assert_close(loss.per_example_grads(theta)[:, 3], auto_i, rtol=1e-12, atol=1e-12)


def test_quadratic_noise_is_constant():
    q = sde.quadratic(n=100, curvature=2.0, data_std=0.5, seed=1)
    theta = torch.linspace(-3, 3, 5, dtype=F64)
    expected = 4.0 * q.z.var(correction=0)  # Σ = a² Var z, whatever θ
    torch.testing.assert_close(q.noise_variance(theta), expected.expand(5), rtol=1e-12, atol=0)
    torch.testing.assert_close(q.grad(theta), 2.0 * (theta - q.z.mean()), rtol=1e-12, atol=1e-12)


def test_tilted_wells_have_constant_noise_and_bad_arguments_fail():
    dw = sde.double_well(n=80, data_std=2.0, noise="tilt")
    theta = torch.linspace(-2, 2, 9, dtype=F64)
    torch.testing.assert_close(dw.noise_variance(theta), dw.z.var(correction=0).expand(9), rtol=1e-12, atol=0)
    moved = dw.to("cpu")
    assert isinstance(moved, sde.GaussianWells) and moved.noise == "tilt" and torch.equal(moved.z, dw.z)
    with pytest.raises(ValueError, match="noise"):
        sde.double_well(noise="scale")
    with pytest.raises(ValueError, match="1-D"):
        sde.GaussianWells(torch.zeros(5, 2), dw.centers, dw.widths, dw.depths)
    with pytest.raises(ValueError, match="diverges"):
        sde.ou_stationary_variance(1.0, 4, 2.5, 1.0)
    with pytest.raises(ValueError, match="n_replicas"):
        sde.sgd_replicas(dw, 0.0, 0.01, 2, 3)
    with pytest.raises(ValueError, match="replicas"):
        sde.sgd_replicas(dw, torch.zeros(4), 0.01, 2, 3, n_replicas=5)


def test_batches_uniform_without_replacement():
    gen = torch.Generator().manual_seed(0)
    batches = sde.draw_batches(30_000, 5, 2, gen)
    assert (batches[:, 0] != batches[:, 1]).all()
    pairs = batches.sort(1).values
    counts = torch.bincount(pairs[:, 0] * 5 + pairs[:, 1], minlength=25).reshape(5, 5)
    counts = counts[torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)].double()  # the 10 subsets
    assert (counts - 3000).abs().max() < 5 * math.sqrt(3000 * 0.9), counts  # 5 binomial standard errors
    big = sde.draw_batches(500, 50, 20, gen)
    assert big.min() >= 0 and big.max() < 50
    assert all(len(set(row)) == 20 for row in big.tolist())
    assert (sde.draw_batches(10, 6, 6, gen).sort(1).values == torch.arange(6)).all()  # B = n: every example
    with pytest.raises(ValueError, match="batch_size"):
        sde.draw_batches(3, 5, 6, gen)
    assert sde.draw_batches(4, 5, 6, gen, replace=True).shape == (4, 6)


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("loss", [sde.double_well(n=30), sde.quadratic(n=30, curvature=[1.0, 3.0])],
                         ids=["double-well", "quadratic-2d"])
def test_vectorized_replicas_equal_loop(loss, replace):
    theta0 = torch.linspace(-1.2, 1.2, 5, dtype=F64)
    if loss.z.ndim == 2:
        theta0 = torch.stack([theta0, -theta0], 1)  # (5, 2)
    fast = sde.sgd_replicas(loss, theta0, 0.02, 7, 25, seed=3, replace=replace, record_every=1)
    slow = sde.sgd_loop(loss, theta0, 0.02, 7, 25, seed=3, replace=replace)
    assert fast.theta.shape == (26, *theta0.shape)
    assert torch.equal(fast.steps, slow.steps) and torch.equal(fast.theta, slow.theta)
    other = sde.sgd_replicas(loss, theta0, 0.02, 7, 25, seed=4, replace=replace)
    assert not torch.equal(other.final, fast.final)


# ------------------------------------------------------------------------------------------ stationary variance


@pytest.mark.parametrize("replace", [False, True])
def test_sgd_variance_matches_discrete_closed_form(replace):
    q = sde.quadratic(n=100, curvature=1.0, seed=0)
    lr, batch = 0.2, 4  # η a = 0.2: the discrete and continuous forms differ by 1/(1 - ηa/2) = 11 %
    sigma2 = float(q.noise_variance(torch.tensor(0.0)))
    measured = float(_stationary_var(q, lr, batch, burn=50, every=10, snapshots=20, replace=replace))
    n = None if replace else q.n
    exact = sde.ou_stationary_variance(lr, batch, 1.0, sigma2, n=n)
    continuous = sde.ou_stationary_variance(lr, batch, 1.0, sigma2, n=n, discrete=False)
    assert abs(measured / exact - 1) < 0.05, (measured, exact)
    assert abs(measured - exact) < abs(measured - continuous) / 3, (measured, exact, continuous)


def test_sgd_variance_scales_as_lr_over_batch():
    q = sde.quadratic(n=1000, curvature=1.0, seed=1)
    sigma2 = float(q.noise_variance(torch.tensor(0.0)))
    grid = [(0.05, 2), (0.05, 8), (0.05, 32), (0.2, 2), (0.2, 8), (0.2, 32)]
    ratios = [lr / b for lr, b in grid]
    variances = [float(_stationary_var(q, lr, b, burn=100, every=25, snapshots=8, replicas=2000)) for lr, b in grid]
    for (lr, b), v in zip(grid, variances):
        assert v == pytest.approx(sde.ou_stationary_variance(lr, b, 1.0, sigma2, n=q.n), rel=0.06), (lr, b)
    slope = sde.loglog_slope(ratios, variances)
    assert abs(slope - 1) < 0.1, slope


def test_same_lr_over_batch_same_variance():
    q = sde.quadratic(n=1000, curvature=1.0, seed=2)
    small = float(_stationary_var(q, 0.025, 2, burn=200, every=40, snapshots=15))
    large = float(_stationary_var(q, 0.05, 4, burn=200, every=40, snapshots=15, seed=1))
    # exact values differ by the O(ηa) correction (2 - 0.025)/(2 - 0.05) = 1.3 %; sampling error is about 1 %
    assert small == pytest.approx(large, rel=0.04)


def test_anisotropic_noise_is_not_gibbs():
    """2-D diagonal quadratic with isotropic data: Σ_k = a_k² Var z_k, so Var θ_k ∝ a_k (the sharper direction moves
    more), where the Gibbs law exp(-L/T) would give Var θ_k = T / a_k (Chaudhari & Soatto 2018)."""
    q = sde.quadratic(n=500, curvature=[1.0, 4.0], seed=3)
    lr, batch = 0.05, 4
    sigma2 = q.noise_variance(torch.zeros(2))
    measured = _stationary_var(q, lr, batch, burn=100, every=25, snapshots=16, replicas=3000)
    exact = torch.tensor([sde.ou_stationary_variance(lr, batch, a, float(s), n=q.n) for a, s in zip([1, 4], sigma2)],
                         dtype=F64)
    torch.testing.assert_close(measured, exact, rtol=0.05, atol=0)
    assert measured[1] > 2 * measured[0]


# ------------------------------------------------------------------------------------------ the SDE


def test_euler_maruyama_ornstein_uhlenbeck():
    a, T, D, dt = 2.0, 0.05, 3.0, 0.005
    paths = sde.euler_maruyama(lambda th: a * th, 1.0, dt, 1500, T, D, n_replicas=4000, seed=1, record_every=100)
    assert paths.theta.shape == (16, 4000)
    measured = float(paths.theta[6:].var(1).mean())  # after 500 steps = 5 relaxation times 1/(2a)
    assert measured == pytest.approx(T * D / a, rel=0.03)  # continuous OU; EM's own bias is a dt / 2 = 0.5 %
    state_dependent = sde.euler_maruyama(lambda th: a * th, 0.0, dt, 600, T, lambda th: D + 0 * th,
                                         n_replicas=50, seed=1)
    constant = sde.euler_maruyama(lambda th: a * th, 0.0, dt, 600, T, D, n_replicas=50, seed=1)
    torch.testing.assert_close(state_dependent.final, constant.final, rtol=0, atol=0)


def test_sgd_sde_matches_sgd_on_quadratic():
    """Euler–Maruyama with dt = η has the first two moments of an SGD step: on the quadratic the same stationary
    variance η c σ² / (B a (2 - ηa)) (Gaussian instead of minibatch noise)."""
    q = sde.quadratic(n=100, curvature=1.0, seed=0)
    lr, batch = 0.2, 4
    exact = sde.ou_stationary_variance(lr, batch, 1.0, float(q.noise_variance(torch.tensor(0.0))), n=q.n)
    measured = float(_stationary_var(q, lr, batch, burn=50, every=10, snapshots=20, simulate=sde.sgd_sde))
    assert measured == pytest.approx(exact, rel=0.05)


# ------------------------------------------------------------------------------------------ closed forms


def test_gibbs_density():
    q = sde.quadratic(n=50, curvature=2.0, seed=4)
    grid = torch.linspace(-4, 4, 4001, dtype=F64)
    T = 0.1
    p = sde.gibbs_density(q.loss, grid, T)
    assert float(torch.trapezoid(p, grid)) == pytest.approx(1.0, abs=1e-12)
    mean = float(torch.trapezoid(p * grid, grid))
    assert mean == pytest.approx(float(q.z.mean()), abs=1e-9)
    assert float(torch.trapezoid(p * (grid - mean) ** 2, grid)) == pytest.approx(T / 2.0, rel=1e-8)  # N(z̄, T/a)
    dw = sde.double_well()
    saddle = float(sde.barrier_heights(dw.loss, grid).saddles[0])
    for T, sharp_wins in [(0.02, True), (0.2, False)]:  # depth wins when cold, width (entropy) when warm
        p = sde.gibbs_density(dw.loss, grid, T)
        assert float(torch.trapezoid(p, grid)) == pytest.approx(1.0, abs=1e-12)
        left = grid <= saddle
        sharp_mass = float(torch.trapezoid(p[left], grid[left]))
        assert (sharp_mass > 0.5) == sharp_wins, (T, sharp_mass)


def test_barrier_heights_tilted_quartic():
    tilt = 0.3
    grid = torch.linspace(-2, 2, 4001, dtype=F64)
    b = sde.barrier_heights(lambda x: x**4 - 2 * x**2 + tilt * x, grid)
    roots = np.sort(np.roots([4, 0, -4, tilt]).real)  # L' = 4x³ - 4x + tilt: minimum, maximum, minimum
    L = lambda x: x**4 - 2 * x**2 + tilt * x  # noqa: E731
    np.testing.assert_allclose(b.minima, roots[[0, 2]], atol=1e-6)
    np.testing.assert_allclose(b.saddles, roots[[1]], atol=1e-6)
    np.testing.assert_allclose(b.barriers, L(roots[1]) - L(roots[[0, 2]]), rtol=1e-8)
    np.testing.assert_allclose(b.curvature_min, 12 * roots[[0, 2]] ** 2 - 4, rtol=3e-3)  # O(h) curvatures
    np.testing.assert_allclose(b.exit_curvature, abs(12 * roots[1] ** 2 - 4), rtol=3e-3)
    assert b.barriers[0] > b.barriers[1]  # a positive tilt raises the left minimum's barrier
    rate = sde.kramers_rate(b.barriers, 0.25, b.curvature_min, b.exit_curvature)
    expected = np.sqrt(b.curvature_min * b.exit_curvature) / (2 * np.pi) * np.exp(-b.barriers / 0.25)
    np.testing.assert_allclose(rate, expected, rtol=1e-12)
    single = sde.barrier_heights(lambda x: (x - 0.5) ** 2, grid)
    assert single.minima.tolist() == pytest.approx([0.5]) and np.isinf(single.barriers).all()


def test_smoothed_quadratic_is_quadratic_plus_constant():
    q = sde.quadratic(n=60, curvature=3.0, seed=5)
    theta = torch.linspace(-2, 2, 41, dtype=F64)
    for s in (0.0, 0.1, 0.7):
        torch.testing.assert_close(sde.smoothed_loss(q.loss, theta, s), q.loss(theta) + 0.5 * 3.0 * s**2,
                                   rtol=0, atol=1e-12)
    torch.testing.assert_close(sde.smoothed_loss(q.grad, theta, 0.7), q.grad(theta), rtol=0, atol=1e-12)


def test_smoothed_double_well_closed_form_and_gd():
    """A Gaussian well of width w smoothed by s is a Gaussian well of width sqrt(w² + s²) and depth h w/sqrt(w² + s²):
    the sharp well flattens first (Kleinberg, Li & Yuan 2018)."""
    dw = sde.double_well(n=50)
    theta = torch.linspace(-2.5, 2.5, 101, dtype=F64)
    for s in (0.05, 0.3):
        x = theta[:, None] - dw.z  # (101, n)
        r2 = dw.widths**2 + s**2  # (k,)
        wells = dw.depths * dw.widths / r2.sqrt() * torch.exp(-((x[..., None] - dw.centers) ** 2) / (2 * r2))
        exact = (0.5 * dw.confinement * (x**2 + s**2) - wells.sum(-1)).mean(-1)
        torch.testing.assert_close(sde.smoothed_loss(dw.loss, theta, s), exact, rtol=0, atol=1e-10)
    def smoothed(fn, s):
        return lambda t: sde.smoothed_loss(fn, t, s, n_nodes=101)

    grid = torch.linspace(-3, 3, 301, dtype=F64)
    plain, smooth = (sde.barrier_heights(smoothed(dw.loss, s), grid).min_loss for s in (0.0, 0.2))
    assert plain[0] < plain[1] and smooth[0] > smooth[1]  # smoothing makes the wide minimum the deeper one
    # GD from the sharp minimum (lr L'' = 0.02 x 34 < 2: stable) stays; on the loss smoothed by s = 0.7 it goes wide
    gd, smoothed_gd = (sde.gradient_descent(smoothed(dw.grad, s), -1.0, 0.02, 800) for s in (0.0, 0.7))
    assert float(gd.final) < -0.9 and float(smoothed_gd.final) > 0.5, (gd.final, smoothed_gd.final)
    assert sde.smoothing_width(0.1, 4, 16.0) == pytest.approx(0.2)


# ------------------------------------------------------------------------------------------ helpers


def test_first_passage_times_and_escape_clock():
    theta = torch.tensor([[-1.0, -1.0, -1.0, 0.5],  # step 0: the last replica starts outside
                          [-0.5, 0.2, -1.0, 0.5],  # step 5: replica 1 escapes
                          [0.3, -0.4, -1.0, 0.5],  # step 10: replica 0 escapes, replica 1 has come back
                          [0.0, 0.4, -1.0, 0.5]])  # step 15: exactly on the boundary is not past it
    steps = torch.tensor([0, 5, 10, 15])
    times = sde.first_passage_times(theta, steps, boundary=0.0)
    assert times.tolist() == [10.0, 5.0, math.inf, 0.0]
    assert sde.first_passage_times(theta, steps, boundary=-0.8, side=-1).tolist() == [0.0, 0.0, 0.0, math.inf]
    clock = sde.EscapeClock(0.0)
    for step, th in zip(steps.tolist(), theta):
        clock(step, th)
    assert torch.equal(clock.times, times)


def test_escape_clock_as_callback_and_basin_fractions():
    dw = sde.double_well(n=50, data_std=10.0, noise="tilt")  # additive noise: T_eff = T Var z ≈ 0.25 at η = 0.005
    saddle = float(sde.barrier_heights(dw.loss, torch.linspace(-3, 3, 601, dtype=F64)).saddles[0])
    clock = sde.EscapeClock(boundary=saddle)
    paths = sde.sgd_replicas(dw, -1.0, 0.005, 1, 400, n_replicas=300, seed=0, record_every=1, callback=clock)
    assert torch.equal(clock.times, sde.first_passage_times(paths.theta, paths.steps, saddle))
    escaped = torch.isfinite(clock.times)
    assert 0 < int(escaped.sum()) < 300, int(escaped.sum())  # some replicas have left the sharp basin, not all
    fractions = sde.basin_fractions(paths.theta, [saddle])  # (K, 2)
    assert fractions.shape == (401, 2) and torch.allclose(fractions.sum(1), torch.ones(401, dtype=F64))
    assert fractions[0].tolist() == [1.0, 0.0] and float(fractions[-1, 1]) > 0
    assert float(fractions[-1, 1]) <= float(escaped.double().mean())  # a replica now right has escaped once


def test_loglog_slope():
    x = np.array([0.01, 0.02, 0.05, 0.1])
    assert sde.loglog_slope(x, 7 * x**1.5) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        sde.loglog_slope([1.0], [2.0])
