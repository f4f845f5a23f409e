"""Fisher trace (exact and sampled) against an explicit Fisher matrix; Occam factor, effective dimensionality and
the early-stopping index against hand computations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlgen_lib import flatness


def _tiny_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)).double()


def _fisher_by_loops(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Σ_c p(c|x) g g^T averaged over x, one autograd call per (example, class)."""
    params = list(net.parameters())
    P = sum(p.numel() for p in params)
    out = torch.zeros(P, P, dtype=torch.float64)
    for xi in x:
        logp = F.log_softmax(net(xi[None])[0], -1)
        for c in range(logp.numel()):
            g = torch.cat([gi.reshape(-1) for gi in torch.autograd.grad(logp[c], params, retain_graph=True)])
            out += logp[c].exp().detach() * torch.outer(g, g)
    return out / len(x)


def test_fisher_matrix_and_trace_match_loops():
    net, x = _tiny_net(), torch.randn(7, 3, dtype=torch.float64)
    ref = _fisher_by_loops(net, x)
    F_mat = flatness.fisher_matrix(net, x)
    assert torch.allclose(F_mat, ref, rtol=1e-10, atol=1e-12)
    assert flatness.fisher_trace(net, x, chunk=3) == pytest.approx(float(ref.trace()), rel=1e-10)


def test_sampled_fisher_trace_is_unbiased():
    net, x = _tiny_net(1), torch.randn(20, 3, dtype=torch.float64)
    exact = flatness.fisher_trace(net, x)
    draws = np.array([flatness.fisher_trace(net, x, samples=20, seed=s) for s in range(20)])
    se = draws.std(ddof=1) / np.sqrt(len(draws))
    assert abs(draws.mean() - exact) < 4 * se + 1e-12
    assert draws.std() > 0  # it really samples
    with pytest.raises(ValueError, match="samples"):
        flatness.fisher_trace(net, x, samples=0)


def test_fisher_trace_restores_train_mode_and_ignores_dropout():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    a, b = flatness.fisher_trace(net, x), flatness.fisher_trace(net, x)
    assert a == b and net.training


def test_occam_factor_and_effective_dimensionality():
    lam = np.array([4.0, 1.0, 0.25, -0.1, 0.0])
    assert flatness.occam_factor(lam) == pytest.approx(-0.5 * np.log(4.0 * 1.0 * 0.25))
    assert flatness.occam_factor(lam, floor=0.5) == pytest.approx(-0.5 * np.log(4.0))
    # a flatter minimum (every eigenvalue halved) has a larger Occam factor and a smaller N_eff
    assert flatness.occam_factor(lam[:3] / 2) > flatness.occam_factor(lam[:3])
    assert flatness.effective_dimensionality(lam, z=1.0) == pytest.approx(4 / 5 + 1 / 2 + 0.25 / 1.25)
    assert flatness.effective_dimensionality(lam[:3] / 2, 1.0) < flatness.effective_dimensionality(lam[:3], 1.0)
    assert flatness.effective_dimensionality([1e9] * 3, z=1.0) == pytest.approx(3.0, rel=1e-6)
    with pytest.raises(ValueError, match="z="):
        flatness.effective_dimensionality(lam, z=0.0)


def test_early_stopping_index():
    assert flatness.early_stopping_index([0.5, 0.2, 0.2, 0.9]) == 1
    assert flatness.early_stopping_index(np.array([[3, 2, 1], [1, 2, 3]])).tolist() == [2, 0]
    with pytest.raises(ValueError, match="NaN"):
        flatness.early_stopping_index([0.1, np.nan])
    with pytest.raises(ValueError, match="shape"):
        flatness.early_stopping_index(np.zeros((2, 2, 2)))


def test_per_example_grads_match_autograd():
    net, x = _tiny_net(2), torch.randn(6, 3, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    G = flatness.per_example_grads(net, x, y, chunk=4)  # two chunks
    for i in range(6):
        net.zero_grad()
        F.cross_entropy(net(x[i:i + 1]), y[i:i + 1]).backward()
        assert torch.allclose(G[i], torch.cat([p.grad.flatten() for p in net.parameters()]), atol=1e-12)
