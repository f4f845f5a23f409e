"""The evidence of Bayesian linear regression against a direct computation: the Gaussian log-density of the
targets under N(0, ΦΦᵀ/α + σ² I), and the weight-space form of the data-fit / Occam split (Bishop's eq. 3.86)."""

import math

import pytest
import torch

from dlgen_lib.evidence import gram_spectrum, log_evidence, posterior_mean


def _problem(n=30, d=50, c=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    phi = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randn(n, c, generator=gen, dtype=torch.float64)
    return phi, y


@pytest.mark.parametrize(("n", "d"), [(30, 50), (40, 10)])  # more features than examples, and fewer
@pytest.mark.parametrize(("alpha", "noise"), [(1.0, 0.1), (0.05, 2.0), (30.0, 0.01)])
def test_log_evidence_is_the_gaussian_density_of_the_targets(n, d, alpha, noise):
    phi, y = _problem(n, d)
    cov = phi @ phi.T / alpha + noise * torch.eye(n, dtype=torch.float64)
    direct = sum(torch.distributions.MultivariateNormal(torch.zeros(n, dtype=torch.float64), cov).log_prob(y[:, c])
                 for c in range(y.shape[1]))
    ev = log_evidence(gram_spectrum(phi), y, alpha, noise)
    assert ev.log_z == pytest.approx(float(direct), rel=1e-9, abs=1e-8)
    assert ev.data_fit + ev.occam == pytest.approx(ev.log_z, rel=1e-9, abs=1e-8)


def test_the_split_matches_the_weight_space_formula():
    phi, y = _problem(25, 12)
    alpha, noise = 0.7, 0.3
    m = posterior_mean(phi, y, alpha, noise)  # (d, C)
    a = alpha * torch.eye(12, dtype=torch.float64) + phi.T @ phi / noise  # posterior precision
    assert torch.allclose(m, torch.linalg.solve(a, phi.T @ y / noise))  # the kernel form is the usual mean
    n, d, c = 25, 12, 3
    fit = -((y - phi @ m) ** 2).sum() / (2 * noise) - n * c / 2 * math.log(2 * math.pi * noise)
    occam = -alpha / 2 * (m ** 2).sum() - c / 2 * torch.logdet(a) + c * d / 2 * math.log(alpha)
    spec = gram_spectrum(phi)
    ev = log_evidence(spec, y, alpha, noise)
    assert ev.data_fit == pytest.approx(float(fit), rel=1e-10)
    assert ev.occam == pytest.approx(float(occam), rel=1e-10)
    x_new = torch.randn(7, 12, dtype=torch.float64)
    assert torch.allclose(spec.predict(x_new @ phi.T, y, alpha, noise), x_new @ m)


def test_random_targets_cost_more_occam_factor_than_structured_ones():
    """Targets that a few features explain need a small posterior mean; random ones need a large one."""
    phi, _ = _problem(40, 80)
    y_true = phi[:, :2] @ torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    y_rand = torch.randn(40, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * y_true.std()
    ev_t = log_evidence(gram_spectrum(phi), y_true, 1.0, 0.01)
    ev_r = log_evidence(gram_spectrum(phi), y_rand, 1.0, 0.01)
    assert ev_t.log_z > ev_r.log_z and ev_t.occam > ev_r.occam


def test_bad_input_says_what_is_valid():
    phi, y = _problem()
    with pytest.raises(ValueError, match="must both be > 0"):
        log_evidence(gram_spectrum(phi), y, 0.0, 0.1)
    with pytest.raises(ValueError, match="one target row per example"):
        log_evidence(gram_spectrum(phi), y[:5], 1.0, 0.1)
    with pytest.raises(ValueError, match=r"phi must be \(n, d\)"):
        gram_spectrum(phi[0])
