"""dlgen_lib.random_features: the Gram-side ridge / minimum-norm solve against numpy's pseudo-inverse and normal
equations, nested features, the isotropic closed-form risk against Monte Carlo, and a small double-descent sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dlgen_lib as dl
from dlgen_lib import random_features as rf


def _problem(n: int, N: int, c: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, N, generator=gen, dtype=torch.float64),
            torch.randn(n, c, generator=gen, dtype=torch.float64))


def _rank_deficient(n: int, N: int, rank: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(n, rank, generator=gen, dtype=torch.float64)
    return A @ torch.randn(rank, N, generator=gen, dtype=torch.float64)


# ------------------------------------------------------------------------------------------ the solve


@pytest.mark.parametrize("n, N", [(20, 60), (60, 20), (30, 30)])
def test_min_norm_equals_pinv(n, N):
    Phi, Y = _problem(n, N)
    expected = np.linalg.pinv(Phi.numpy()) @ Y.numpy()
    sol = rf.ridge_solve(Phi, Y)
    assert sol.coef.shape == (N, 3) and sol.side == ("n" if N > n else "N")
    np.testing.assert_allclose(sol.coef.numpy(), expected, rtol=1e-7, atol=1e-9)
    vector = rf.ridge_solve(Phi, Y[:, 0])  # Y of shape (n,) gives coefficients of shape (N,)
    assert vector.coef.shape == (N,)
    np.testing.assert_allclose(vector.coef.numpy(), expected[:, 0], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("side", ["auto", "n", "N"])
def test_min_norm_rank_deficient_equals_pinv(side):
    Phi = _rank_deficient(30, 50, rank=12)
    Y = _problem(30, 1)[1]
    expected = np.linalg.pinv(Phi.numpy()) @ Y.numpy()
    sol = rf.ridge_solve(Phi, Y, side=side)
    np.testing.assert_allclose(sol.coef.numpy(), expected, rtol=1e-6, atol=1e-8)
    s = np.linalg.svd(Phi.numpy(), compute_uv=False)
    assert sol.s_min == pytest.approx(s[11], rel=1e-8)  # the 12th singular value, not the zeros after it


@pytest.mark.parametrize("n, N", [(20, 60), (60, 20)])
def test_sides_agree(n, N):
    Phi, Y = _problem(n, N, seed=1)
    for lam in (0.0, 1e-3, 0.5):
        a_n, a_N = rf.ridge_solve(Phi, Y, lam, side="n"), rf.ridge_solve(Phi, Y, lam, side="N")
        np.testing.assert_allclose(a_n.coef.numpy(), a_N.coef.numpy(), rtol=1e-8, atol=1e-10)
        assert a_n.coef_norm == pytest.approx(a_N.coef_norm, rel=1e-8)
        assert a_n.s_min == pytest.approx(a_N.s_min, rel=1e-8)


@pytest.mark.parametrize("n, N", [(20, 60), (60, 20)])
def test_ridge_equals_normal_equations(n, N):
    Phi, Y = _problem(n, N, seed=2)
    lam = 0.1
    P, T = Phi.numpy(), Y.numpy()
    expected = np.linalg.solve(P.T @ P + lam * n * np.eye(N), P.T @ T)
    sol = rf.ridge_solve(Phi, Y, lam)
    np.testing.assert_allclose(sol.coef.numpy(), expected, rtol=1e-9, atol=1e-12)
    assert sol.coef_norm == pytest.approx(np.linalg.norm(expected), rel=1e-9)


@pytest.mark.parametrize("n, N", [(20, 60), (60, 20), (40, 40)])
def test_s_min_is_smallest_singular_value(n, N):
    Phi = rf.relu_features(torch.randn(n, 8, generator=torch.Generator().manual_seed(3)), N, seed=0)
    s = np.linalg.svd(Phi.double().numpy(), compute_uv=False)
    assert rf.ridge_solve(Phi, torch.zeros(n)).s_min == pytest.approx(s[-1], rel=1e-6)


def test_bad_arguments():
    Phi, Y = _problem(5, 8)
    with pytest.raises(ValueError, match="side"):
        rf.ridge_solve(Phi, Y, side="x")
    with pytest.raises(ValueError, match="lam"):
        rf.ridge_solve(Phi, Y, -1.0)
    with pytest.raises(ValueError, match="rows"):
        rf.ridge_solve(Phi, Y[:4])


# ------------------------------------------------------------------------------------------ features


def test_nested_features_and_seeding():
    x = torch.randn(25, 7, generator=torch.Generator().manual_seed(0))
    W = rf.draw_weights(7, 50, seed=4)
    full = rf.features(x, W)
    assert full.shape == (25, 50) and full.dtype == torch.float32 and bool((full >= 0).all())
    for N in (1, 13, 50):
        torch.testing.assert_close(rf.features(x, W[:, :N]), full[:, :N], rtol=1e-6, atol=1e-6)  # up to rounding
    for n_max in (1, 20, 64, 65):  # drawing fewer columns gives the same prefix
        assert torch.equal(rf.draw_weights(7, n_max, seed=4), rf.draw_weights(7, 150, seed=4)[:, :n_max])
    assert torch.equal(rf.relu_features(x, 50, seed=4), full)
    assert not torch.equal(rf.draw_weights(7, 20, seed=5), W[:, :20])
    expected = torch.relu(x.double() @ W.double() / np.sqrt(7))
    torch.testing.assert_close(full.double(), expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------ theory


@pytest.mark.parametrize("p, n", [(20, 50), (10, 50), (100, 50), (200, 50)])
def test_isotropic_risk_matches_monte_carlo(p, n):
    mean, se = rf.isotropic_monte_carlo(p, n, sigma2=1.0, beta_norm2=1.0, trials=400, seed=1)
    risk = rf.isotropic_risk(p, n, sigma2=1.0, beta_norm2=1.0)
    assert abs(mean - risk) < 4 * se, f"p={p}, n={n}: Monte Carlo {mean:.4f} ± {se:.4f} vs closed form {risk:.4f}"


def test_isotropic_risk_shape_and_threshold():
    risk = rf.isotropic_risk(np.array([10, 49, 50, 51, 100]), 50, sigma2=0.5, beta_norm2=2.0)
    assert np.isinf(risk[1:4]).all() and np.isfinite(risk[[0, 4]]).all()
    assert risk[0] == pytest.approx(0.5 * 10 / 39)
    assert risk[4] == pytest.approx(2.0 * 0.5 + 0.5 * 50 / 49)


# ------------------------------------------------------------------------------------------ the sweep


@pytest.fixture(scope="module")
def small_sweep() -> rf.RFSweep:
    data = dl.mnist1d()
    n = 200
    return rf.rf_sweep(data.x_train[:n], data.y_train[:n], data.x_test[:500], data.y_test[:500],
                       ratios=[0.3, 0.6, 1.0, 1.5, 3.0, 10.0], lams=[0.0, 1e-2], seeds=[0, 1])


def test_sweep_double_descent(small_sweep):
    r = small_sweep
    assert r.test_mse.shape == (2, 6, 2) and r.s_min.shape == (2, 6)
    assert list(r.n_features) == [60, 120, 200, 300, 600, 2000]
    mse, norm = r.test_mse.mean(0), r.coef_norm.mean(0)
    peak = 2  # N = n
    assert mse[peak, 0] > mse[0, 0] and mse[peak, 0] > mse[5, 0], mse[:, 0]
    assert norm[:, 0].argmax() == peak, norm[:, 0]
    assert r.s_min.mean(0).argmin() == peak, r.s_min.mean(0)
    assert mse[peak, 1] < mse[peak, 0], "ridge should lower the peak"
    assert (r.train_mse[:, 3:, 0] < 1e-12).all(), "beyond N = n the minimum-norm fit interpolates"
    assert (r.best_lam().mean(0) <= mse[:, 0] + 1e-12).all()


def test_sweep_matches_ridge_solve():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 6, generator=gen), torch.randint(0, 3, (40,), generator=gen)
    x_test, y_test = torch.randn(15, 6, generator=gen), torch.randint(0, 3, (15,), generator=gen)
    r = rf.rf_sweep(x, y, x_test, y_test, ratios=[0.5, 2.0], lams=[0.0, 1e-2], seeds=[3])
    W = rf.draw_weights(6, 80, seed=3)
    Y, Y_test = torch.nn.functional.one_hot(y, 3).double(), torch.nn.functional.one_hot(y_test, 3).double()
    for ri, N in enumerate((20, 80)):
        Phi, Phi_test = rf.features(x.double(), W[:, :N]), rf.features(x_test.double(), W[:, :N])
        for li, lam in enumerate((0.0, 1e-2)):
            sol = rf.ridge_solve(Phi, Y, lam * float((Phi ** 2).sum()) / 40)
            test_mse = float(((Phi_test @ sol.coef - Y_test) ** 2).sum(1).mean())
            assert r.test_mse[0, ri, li] == pytest.approx(test_mse, rel=1e-6)
            assert r.coef_norm[0, ri, li] == pytest.approx(sol.coef_norm, rel=1e-6)
        assert r.s_min[0, ri] == pytest.approx(sol.s_min, rel=1e-8)


def test_sweep_label_variants_equal_separate_sweeps():
    """y_train (V, n): V labellings share the features; each result equals the sweep of that labelling alone."""
    gen = torch.Generator().manual_seed(1)
    x, x_test = torch.randn(50, 5, generator=gen), torch.randn(20, 5, generator=gen)
    y_test = torch.randint(0, 4, (20,), generator=gen)
    ys = torch.stack([torch.randint(0, 4, (50,), generator=gen) for _ in range(3)])
    kw = dict(ratios=[0.4, 1.0, 3.0], lams=[0.0, 1e-3], seeds=[0, 5], n_classes=4)
    together = rf.rf_sweep(x, ys, x_test, y_test, **kw)
    assert isinstance(together, list) and len(together) == 3
    for v in range(3):
        alone = rf.rf_sweep(x, ys[v], x_test, y_test, **kw)
        for metric in ("test_mse", "test_error", "train_mse", "coef_norm"):
            np.testing.assert_allclose(getattr(together[v], metric), getattr(alone, metric), rtol=1e-9, atol=1e-12)
    assert not np.allclose(together[0].test_mse, together[1].test_mse)  # guard: the labellings differ
    with pytest.raises(ValueError, match="labels per labelling"):
        rf.rf_sweep(x, ys[:, :10], x_test, y_test, **kw)
