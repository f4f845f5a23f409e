"""dlgen_lib.kernels: the Gaussian kernel, the interpolating solve, the minimum-norm solution and (S)GD on least
squares, Gabor features and power-law fits, each checked against a direct computation on tiny inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dlgen_lib as dl
from dlgen_lib import fits
from dlgen_lib import kernels as kn


@pytest.fixture(scope="module")
def fashion300() -> tuple[torch.Tensor, torch.Tensor]:
    data = dl.fashion_mnist().subset(n_train=300)
    return data.x_train.reshape(300, -1), data.y_train


def _gaussian_problem(n: int, d: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen, dtype=torch.float64), torch.randn(n, generator=gen, dtype=torch.float64)


# ------------------------------------------------------------------------------------------ kernel matrix


def test_gaussian_kernel_matches_cdist_and_chunking():
    gen = torch.Generator().manual_seed(0)
    x, z = torch.rand(37, 20, generator=gen) + 3.0, torch.rand(23, 20, generator=gen) + 3.0
    gamma = 0.3
    direct = torch.exp(-gamma * torch.cdist(x.double(), z.double()) ** 2)
    K = kn.gaussian_kernel(x, z, gamma=gamma)
    assert K.shape == (37, 23) and K.dtype == torch.float32
    torch.testing.assert_close(K.double(), direct, rtol=0, atol=2e-6)
    torch.testing.assert_close(kn.gaussian_kernel(x, z, gamma=gamma, chunk=5), K, rtol=0, atol=1e-6)
    K_xx = kn.gaussian_kernel(x, gamma=gamma, chunk=4)
    assert torch.equal(K_xx.diagonal(), torch.ones(37))
    torch.testing.assert_close(K_xx, K_xx.T, rtol=0, atol=1e-6)
    torch.testing.assert_close(K_xx.double(), torch.exp(-gamma * torch.cdist(x.double(), x.double()) ** 2),
                               rtol=0, atol=2e-6)
    # images (n, 1, 28, 28) are flattened
    img = torch.rand(4, 1, 6, 6, generator=gen)
    torch.testing.assert_close(kn.gaussian_kernel(img, gamma=0.1), kn.gaussian_kernel(img.reshape(4, -1), gamma=0.1))


# ---------------------------------------------------------------------------------------------- the solve


def test_solve_interpolation_matches_numpy():
    gen = torch.Generator().manual_seed(1)
    A = torch.randn(40, 40, generator=gen, dtype=torch.float64)
    K = A @ A.T / 40 + torch.eye(40, dtype=torch.float64)  # well conditioned
    Y = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    alpha = kn.solve_interpolation(K, Y)
    assert alpha.dtype == torch.float64 and alpha.shape == (40, 3)
    np.testing.assert_allclose(alpha.numpy(), np.linalg.solve(K.numpy(), Y.numpy()), rtol=1e-6, atol=1e-12)
    K_before = K.clone()
    np.testing.assert_allclose(kn.solve_interpolation(K, Y[:, 0]).numpy(), alpha[:, 0].numpy(), rtol=1e-12)
    assert torch.equal(K, K_before)  # overwrite=False leaves K alone
    # float32, factored in place: same answer, K's storage now holds the factor
    K32 = K.float().clone()
    alpha32 = kn.solve_interpolation(K32, Y.float(), dtype=torch.float32, overwrite=True)
    np.testing.assert_allclose(alpha32.numpy(), alpha.numpy(), rtol=1e-4, atol=1e-5)
    assert not torch.equal(K32, K.float())


def test_solve_interpolation_errors_and_jitter():
    with pytest.raises(ValueError, match="square"):
        kn.solve_interpolation(torch.ones(3, 4), torch.ones(3))
    with pytest.raises(ValueError, match="rows"):
        kn.solve_interpolation(torch.eye(3), torch.ones(4, 2))
    x = torch.rand(10, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    K = kn.gaussian_kernel(torch.cat([x, x[:1]]), gamma=1.0, dtype=torch.float64)  # a duplicate: singular
    with pytest.warns(RuntimeWarning, match="added"):
        alpha = kn.solve_interpolation(K, torch.ones(11, dtype=torch.float64))
    assert torch.isfinite(alpha).all()
    with pytest.raises(kn.FactorizationError, match="overwrite=False"):
        kn.solve_interpolation(K.clone(), torch.ones(11, dtype=torch.float64), overwrite=True)


def test_kernel_interpolant_fits_and_norms(fashion300):
    x, y = fashion300
    model = kn.KernelInterpolant(gamma=0.02, n_classes=10).fit(x, y)
    assert model.accuracy(x, y) == 1.0
    K = kn.gaussian_kernel(x, gamma=0.02)
    # the norm without K (trace αᵀY) is the norm with K (trace αᵀKα)
    assert model.rkhs_norm == pytest.approx(kn.rkhs_norm(model.alpha, K), rel=1e-6)
    random_labels = dl.corrupt_labels(y, 1.0, seed=0).labels
    random_model = kn.KernelInterpolant(gamma=0.02, n_classes=10).fit(x, random_labels)
    assert random_model.accuracy(x, random_labels) == 1.0
    assert random_model.rkhs_norm > 1.5 * model.rkhs_norm
    # better than chance on unseen images (300 examples: well above 10 %)
    data = dl.fashion_mnist()
    assert model.accuracy(data.x_test[:500], data.y_test[:500]) > 0.5


def test_rkhs_norm_closed_form():
    K = torch.tensor([[2.0, 1.0], [1.0, 2.0]])
    alpha = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert kn.rkhs_norm(alpha, K) == pytest.approx(4.0)  # trace(K)


# ------------------------------------------------------------------------------------------ least squares


@pytest.mark.parametrize("n,d", [(20, 60), (60, 20)])
def test_min_norm_solution_is_pinv(n, d):
    X, y = _gaussian_problem(n, d)
    w = kn.min_norm_solution(X, y)
    np.testing.assert_allclose(w.numpy(), np.linalg.pinv(X.numpy()) @ y.numpy(), rtol=1e-8, atol=1e-10)
    if d > n:  # an interpolant
        np.testing.assert_allclose((X @ w).numpy(), y.numpy(), atol=1e-9)
    Y = torch.stack([y, 2 * y], 1)
    np.testing.assert_allclose(kn.min_norm_solution(X, Y)[:, 1].numpy(), 2 * w.numpy(), rtol=1e-10)


def test_min_norm_solution_rank_deficient():
    X, y = _gaussian_problem(10, 30)
    X = torch.cat([X, X[:2]])  # repeated rows: X Xᵀ is singular
    y = torch.cat([y, y[:2]])
    np.testing.assert_allclose(kn.min_norm_solution(X, y).numpy(), np.linalg.pinv(X.numpy()) @ y.numpy(),
                               rtol=1e-7, atol=1e-9)


def _exact_lr(X: torch.Tensor) -> float:
    return 1.0 / float(torch.linalg.eigvalsh(X.T @ X / len(X))[-1])


def test_gd_from_zero_reaches_min_norm_in_row_space():
    X, y = _gaussian_problem(20, 60)
    res = kn.gradient_descent_least_squares(X, y, lr=_exact_lr(X), steps=600)
    w_star = np.linalg.pinv(X.numpy()) @ y.numpy()
    np.testing.assert_allclose(res.target, w_star, rtol=1e-8, atol=1e-10)
    assert np.linalg.norm(res.w - w_star) <= 1e-6 * np.linalg.norm(w_star)
    assert res.off_row_space.max() < 1e-10
    assert res.loss[-1] < 1e-12 and res.loss[0] == pytest.approx(float((y ** 2).sum()) / 40)
    assert res.distance[-1] < 1e-6 * res.distance[0] and len(res.step) == 601


def test_gd_from_w0_converges_to_closest_interpolant():
    X, y = _gaussian_problem(20, 60)
    w0 = torch.randn(60, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    res = kn.gradient_descent_least_squares(X, y, lr=_exact_lr(X), steps=600, w0=w0, record_every=50)
    Xn, yn, w0n = X.numpy(), y.numpy(), w0.numpy()
    projected = w0n + Xn.T @ np.linalg.solve(Xn @ Xn.T, yn - Xn @ w0n)
    assert np.linalg.norm(res.w - projected) <= 1e-6 * np.linalg.norm(projected)
    off = w0n - np.linalg.pinv(Xn) @ (Xn @ w0n)  # the part of w0 that GD never changes
    assert np.linalg.norm(res.w - np.linalg.pinv(Xn) @ yn) == pytest.approx(np.linalg.norm(off), rel=1e-5)
    assert res.off_row_space.max() < 1e-10


def test_sgd_from_zero_stays_in_row_space():
    X, y = _gaussian_problem(20, 60)
    res = kn.gradient_descent_least_squares(X, y, lr=0.5 * _exact_lr(X), steps=3000, batch_size=5, seed=3,
                                            record_every=100)
    assert res.off_row_space.max() < 1e-10
    # consistent system: SGD interpolates too, so it converges to the same minimum-norm point
    assert res.distance[-1] < 1e-3 * res.distance[0]
    again = kn.gradient_descent_least_squares(X, y, lr=0.5 * _exact_lr(X), steps=50, batch_size=5, seed=3)
    other = kn.gradient_descent_least_squares(X, y, lr=0.5 * _exact_lr(X), steps=50, batch_size=5, seed=4)
    assert np.array_equal(again.w, kn.gradient_descent_least_squares(X, y, lr=0.5 * _exact_lr(X), steps=50,
                                                                     batch_size=5, seed=3).w)
    assert not np.array_equal(again.w, other.w)


# ------------------------------------------------------------------------------------------ features, fits


def test_gabor_bank_and_features(fashion300):
    bank = kn.gabor_bank(n_orientations=8, n_scales=2, size=11)
    assert bank.shape == (16, 1, 11, 11) and bank.dtype == torch.float32
    flat = bank.reshape(16, -1)
    assert flat.mean(1).abs().max() < 1e-6
    torch.testing.assert_close(flat.norm(dim=1), torch.ones(16))
    assert not torch.allclose(bank[0], bank[1])  # orientations differ
    x = fashion300[0][:50].reshape(50, 1, 28, 28)
    feats = kn.gabor_features(x, bank, pool=4, chunk=16)
    assert feats.shape == (50, 16 * 7 * 7) and (feats >= 0).all()
    flat_image = kn.gabor_features(torch.full((1, 1, 28, 28), 0.5), bank, pool=4).reshape(16, 7, 7)
    assert flat_image[:, 2:5, 2:5].abs().max() < 1e-5  # zero-mean filters ignore a flat interior


def test_fit_power_law_recovers_exponents():
    gen = np.random.default_rng(0)
    n = np.geomspace(100, 1e5, 12)
    noise = np.exp(0.01 * gen.standard_normal(12))
    law = fits.fit_power_law(n, 3.0 * n ** -0.5 * noise, floor=False)
    assert law.b == pytest.approx(-0.5, abs=0.01) and law.a == pytest.approx(3.0, rel=0.1) and law.c == 0
    floored = fits.fit_power_law(n, (3.0 * n ** -0.5 + 0.02) * noise, floor=True)
    assert floored.b == pytest.approx(-0.5, abs=0.05) and floored.c == pytest.approx(0.02, abs=0.005)
    np.testing.assert_allclose(floored(n), 3.0 * n ** -0.5 + 0.02, rtol=0.03)
    with pytest.raises(ValueError):
        fits.fit_power_law([1, 2], [0.5, 0.4])
