"""dlgen_lib.landscape: Hessian-vector products against the exact Hessian (and against double backward and finite
differences), Lanczos / power iteration / Hutchinson / stochastic Lanczos quadrature against eigvalsh and the trace,
the index, filter normalization, batched slices against a loop, and the endpoints of the paths."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import dlgen_lib as dl
from dlgen_lib import landscape as ls


def _net(seed: int = 0) -> torch.nn.Module:
    return dl.build(lambda: dl.MLP(3, [4], 2), seed=seed).double()  # P = 3*4 + 4 + 4*2 + 2 = 26


@pytest.fixture(scope="module")
def problem():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 2, (10,), generator=gen)
    net = _net()
    H = ls.exact_hessian(net, F.cross_entropy, x, y)
    return net, x, y, H, torch.linalg.eigvalsh(H)


def _hand_loss(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The same MLP written out by hand, as a function of the flat parameters (no functional_call)."""
    W1, b1, W2, b2 = theta[:12].reshape(4, 3), theta[12:16], theta[16:24].reshape(2, 4), theta[24:26]
    return F.cross_entropy(torch.relu(x @ W1.T + b1) @ W2.T + b2, y)


def _loss(net, x, y) -> float:
    with torch.no_grad():
        return float(F.cross_entropy(net(x), y))


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


# ------------------------------------------------------------------------------------------ parameters


def test_flat_params_round_trip():
    net = _net()
    theta = ls.flat_params(net)
    assert theta.shape == (dl.param_count(net),) == (26,)
    params = ls.unflatten_params(theta, net)
    for (name, p), q in zip(net.named_parameters(), params.values()):
        assert torch.equal(p.detach(), params[name]) and q.shape == p.shape
    stacked = ls.unflatten_params(torch.stack([theta, 2 * theta]), net)  # (2, P) -> name -> (2, *shape)
    assert stacked["1.weight"].shape == (2, 4, 3) and torch.equal(stacked["1.weight"][1], 2 * params["1.weight"])
    other = _net(seed=1)
    ls.set_flat_params(other, theta)
    assert torch.equal(ls.flat_params(other), theta)
    with pytest.raises(ValueError, match="P = 26"):
        ls.unflatten_params(theta[:-1], net)


# ------------------------------------------------------------------------------------------ Hessian


def test_exact_hessian_against_double_backward_and_finite_differences(problem):
    net, x, y, H, _ = problem
    theta = ls.flat_params(net)
    assert H.shape == (26, 26) and H.dtype == torch.float64 and torch.equal(H, H.T)
    reference = torch.autograd.functional.hessian(lambda t: _hand_loss(t, x, y), theta)  # reverse over reverse
    assert _rel(H, reference) <= 1e-10
    h = 1e-5  # central differences of the gradient, column by column
    grad = torch.func.grad(lambda t: _hand_loss(t, x, y))
    fd = torch.stack([(grad(theta + h * e) - grad(theta - h * e)) / (2 * h) for e in torch.eye(26).double()])
    assert _rel(H, fd) <= 1e-6


def test_hvp_matches_exact_hessian(problem):
    net, x, y, H, _ = problem
    gen = torch.Generator().manual_seed(1)
    op = ls.HVP(net, F.cross_entropy, x, y)
    assert op.P == 26 and op.dtype == torch.float64
    assert float(op.loss()) == pytest.approx(_loss(net, x, y), rel=1e-12)
    for _ in range(3):
        v = torch.randn(26, generator=gen, dtype=torch.float64)
        assert _rel(op(v), H @ v) <= 1e-6
        assert _rel(ls.hvp(net, F.cross_entropy, x, y, v), H @ v) <= 1e-6
        assert _rel(ls.HVP(net, F.cross_entropy, x, y, batch_size=3)(v), H @ v) <= 1e-6  # batches 3+3+3+1
    assert op(v.float()).dtype == torch.float32  # returned in v's dtype
    assert torch.allclose(ls.exact_hessian(net, F.cross_entropy, x, y, chunk=5, batch_size=4), H, rtol=0, atol=1e-12)


def test_hvp_kept_graph_equals_the_functional_product(problem):
    net, x, y, H, _ = problem
    gen = torch.Generator().manual_seed(2)
    op = ls.HVP(net, F.cross_entropy, x, y)  # keep_graph: double backward through one stored gradient graph
    plain = ls.HVP(net, F.cross_entropy, x, y, keep_graph=False)
    assert op.keep_graph and not plain.keep_graph
    assert not ls.HVP(net, F.cross_entropy, x, y, batch_size=3).keep_graph  # several batches: no stored graph
    for _ in range(3):  # repeated products reuse the graph
        v = torch.randn(26, generator=gen, dtype=torch.float64)
        hv = op(v)
        assert not hv.requires_grad and _rel(hv, plain(v)) <= 1e-12 and _rel(hv, op.functional(v)) <= 1e-12
        assert _rel(hv, H @ v) <= 1e-10
    before = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():  # products work inside no_grad too, and leave the model untouched
        assert _rel(op(v), H @ v) <= 1e-10
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert all(p.grad is None for p in net.parameters())


def test_hvp_at_other_params(problem):
    net, x, y, _, _ = problem
    other = _net(seed=3)
    v = torch.ones(26, dtype=torch.float64)
    expected = ls.hvp(other, F.cross_entropy, x, y, v)
    assert _rel(ls.HVP(net, F.cross_entropy, x, y, params=other)(v), expected) <= 1e-12


# ------------------------------------------------------------------------------------------ spectra


def test_lanczos_top_eigs(problem):
    net, x, y, H, eigs = problem
    op = ls.HVP(net, F.cross_entropy, x, y)
    top = ls.lanczos_top_eigs(op, 26, k=3, iters=10, seed=0)  # H has 12 distinct eigenvalues; 10 steps suffice
    expected = eigs.flip(0)[:3]
    assert top.shape == (3,) and top.dtype == torch.float64
    assert float(((top - expected).abs() / expected.abs()).max()) <= 1e-4, (top, expected)
    values, vectors = ls.lanczos_top_eigs(lambda v: H @ v, 26, k=3, iters=26, return_vectors=True, seed=1)
    torch.testing.assert_close(values, expected, rtol=1e-8, atol=1e-12)
    assert vectors.shape == (3, 26)
    for lam, u in zip(values, vectors):  # Ritz pairs are eigenpairs: H u = λ u, ||u|| = 1
        assert float(u.norm()) == pytest.approx(1.0, abs=1e-8)
        assert float((H @ u - lam * u).norm()) <= 1e-6 * float(eigs.abs().max())
    bottom = ls.lanczos_top_eigs(lambda v: H @ v, 26, k=2, iters=26, which="smallest")
    torch.testing.assert_close(bottom, eigs[:2], rtol=1e-6, atol=1e-10)
    single = ls.HVP(copy.deepcopy(net).float(), F.cross_entropy, x.float(), y)  # float32 HVPs, float64 Lanczos
    assert float(ls.lanczos_top_eigs(single, 26, iters=20)[0]) == pytest.approx(float(eigs[-1]), rel=1e-4)


def test_lanczos_converges_with_few_steps():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(30, 5, generator=gen, dtype=torch.float64), torch.randint(0, 3, (30,), generator=gen)
    net = dl.build(lambda: dl.MLP(5, [10], 3), seed=0).double()  # P = 93, about 80 non-zero eigenvalues
    eigs = torch.linalg.eigvalsh(ls.exact_hessian(net, F.cross_entropy, x, y)).flip(0)
    top = ls.lanczos_top_eigs(ls.HVP(net, F.cross_entropy, x, y), 93, k=3, iters=30, seed=0)
    assert float(((top - eigs[:3]).abs() / eigs[:3].abs()).max()) <= 1e-4, (top, eigs[:3])


def test_lanczos_degenerate_spectrum_warns():
    diag = torch.tensor([3.0, 3.0, 1.0, 1.0], dtype=torch.float64)  # two distinct eigenvalues only
    with pytest.warns(UserWarning, match="only 2 distinct"):
        values = ls.lanczos_top_eigs(lambda v: diag * v, 4, k=3, iters=4)
    torch.testing.assert_close(values, torch.tensor([3.0, 1.0], dtype=torch.float64))


def test_power_iteration(problem):
    net, x, y, _, eigs = problem
    op = ls.HVP(net, F.cross_entropy, x, y)
    lam, v = ls.power_iteration(op, 26, iters=2000, tol=1e-12, seed=0)
    expected = float(eigs[eigs.abs().argmax()])
    assert lam == pytest.approx(expected, rel=1e-4)
    assert float(v.norm()) == pytest.approx(1.0) and _rel(op(v), lam * v) <= 1e-3


def test_hutchinson_trace(problem):
    net, x, y, H, _ = problem
    mean, se = ls.hutchinson_trace(ls.HVP(net, F.cross_entropy, x, y), 26, samples=100, seed=0)
    assert se > 0 and abs(mean - float(H.trace())) < 4 * se, (mean, se, float(H.trace()))
    diag = torch.tensor([1.0, -2.0, 5.0], dtype=torch.float64)  # diagonal: every probe gives the trace exactly
    assert ls.hutchinson_trace(lambda v: diag * v, 3, samples=5) == (4.0, 0.0)


def test_spectral_density(problem):
    net, x, y, H, eigs = problem
    probes = 10
    sd = ls.spectral_density(ls.HVP(net, F.cross_entropy, x, y), 26, iters=12, probes=probes, seed=0)
    assert sd.nodes.shape == sd.weights.shape == (probes, 12) and sd.grid.shape == sd.density.shape
    np.testing.assert_allclose(sd.weights.sum(1), 1.0, atol=1e-10)
    assert np.trapezoid(sd.density, sd.grid) == pytest.approx(1.0, abs=1e-3)
    assert (sd.density >= 0).all()
    moments = (sd.weights * sd.nodes).sum(1)  # (probes,) vᵀHv / P, one per probe
    se = moments.std(ddof=1) / np.sqrt(probes)
    assert abs(moments.mean() - float(H.trace()) / 26) < 4 * se + 1e-12
    # Gauss quadrature with m nodes is exact up to degree 2m - 1: the node range lies inside the spectrum
    assert sd.nodes.min() >= float(eigs[0]) - 1e-8 and sd.nodes.max() <= float(eigs[-1]) + 1e-8
    # with iters = P the nodes are eigenvalues of H, and the quadrature is exact for polynomials
    full = ls.spectral_density(lambda v: H @ v, 26, iters=26, probes=1, sigma=0.01, grid=np.linspace(-1, 1, 5))
    assert full.sigma == 0.01 and full.density.shape == (5,)
    used = full.nodes[full.weights > 1e-12]
    assert np.abs(used[:, None] - eigs.numpy()[None]).min(1).max() <= 1e-8 * float(eigs.abs().max())


def test_hessian_index():
    H = torch.diag(torch.tensor([3.0, -1.0, 2.0, -0.5, 1e-20, -1e-20, 4.0, -2.0], dtype=torch.float64))
    assert ls.hessian_index(H) == 3 / 8  # ±1e-20 are zeros at the rounding level
    assert ls.hessian_index(H, tol=0.0) == 4 / 8
    assert ls.hessian_index(H, tol=0.75) == 2 / 8
    assert ls.hessian_index(torch.tensor([-1.0, 1.0])) == 0.5  # eigenvalues directly
    Q = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64))[0]
    assert ls.hessian_index(Q @ H @ Q.T) == 3 / 8  # basis independent


# ------------------------------------------------------------------------------------------ slices


@pytest.mark.parametrize("factory", [lambda: dl.MLP(3, [4, 5], 2), lambda: dl.ConvNet1D(length=20, channels=3)],
                         ids=["mlp", "conv1d"])
def test_filter_normalization(factory):
    net = dl.build(factory, seed=0)
    state = torch.random.get_rng_state()
    d = ls.random_direction(net, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state), "the global random state must not change"
    params = dict(net.named_parameters())
    assert list(d) == list(params)
    for name, w in params.items():
        assert d[name].shape == w.shape and d[name].dtype == w.dtype
        if w.dim() <= 1:
            assert not d[name].any(), f"{name}: biases get a zero direction"
        else:  # every filter (row of a Linear weight, output channel of a conv) has its weight filter's norm
            torch.testing.assert_close(d[name].flatten(1).norm(dim=1), w.detach().flatten(1).norm(dim=1))
    assert torch.equal(ls.flat_params(ls.random_direction(net, seed=7)), ls.flat_params(d))
    assert not torch.equal(ls.flat_params(ls.random_direction(net, seed=8)), ls.flat_params(d))
    raw = ls.random_direction(net, seed=7, filter_normalize=False)
    assert all(raw[n].any() for n in raw)
    # the batched evaluation works for convolutions too: the slice at 0 is the model's loss
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 20 if isinstance(net, dl.ConvNet1D) else 3, generator=gen)
    y = torch.randint(0, 2, (6,), generator=gen)
    losses = ls.slice_1d(net, F.cross_entropy, x, y, d, [0.0, 0.5], chunk=1)
    assert losses[0] == pytest.approx(_loss(net, x, y), rel=1e-5)


def test_slices_match_a_loop(problem):
    net, x, y, _, _ = problem
    net.train()
    theta = ls.flat_params(net)
    d1, d2 = ls.random_direction(net, seed=1), ls.random_direction(net, seed=2)
    alphas, betas = np.linspace(-1.0, 1.0, 5), np.array([-0.5, 0.0, 0.5])
    one = ls.slice_1d(net, F.cross_entropy, x, y, d1, alphas, chunk=2)
    two = ls.slice_2d(net, F.cross_entropy, x, y, d1, d2, alphas, betas, chunk=4)
    assert one.shape == (5,) and two.shape == (5, 3) and one.dtype == np.float64
    assert net.training and torch.equal(ls.flat_params(net), theta), "the model is left as it was"
    assert one[2] == pytest.approx(_loss(net, x, y), rel=1e-12)  # alpha = 0
    assert two[2, 1] == pytest.approx(_loss(net, x, y), rel=1e-12)  # (0, 0)
    np.testing.assert_allclose(two[:, 1], one, rtol=1e-12)  # beta = 0 is the 1-D slice
    probe = copy.deepcopy(net)
    f1, f2 = ls.flat_params(d1), ls.flat_params(d2)
    for i, j in [(0, 0), (1, 2), (4, 1), (3, 0)]:
        ls.set_flat_params(probe, theta + alphas[i] * f1 + betas[j] * f2)
        assert two[i, j] == pytest.approx(_loss(probe, x, y), rel=1e-10)
    with pytest.raises(ValueError, match="direction"):
        ls.slice_1d(net, F.cross_entropy, x, y, {"1.weight": d1["1.weight"]}, alphas)


# ------------------------------------------------------------------------------------------ paths


def test_interpolate_and_bezier_endpoints(problem):
    _, x, y, _, _ = problem
    a, b, bend = _net(seed=0), _net(seed=1), _net(seed=2)
    pa, pb, pt = (dict(n.named_parameters()) for n in (a, b, bend))
    line = ls.interpolate(a, b, [0.0, 0.5, 1.0])
    curve = ls.bezier_point(a, bend, b, [0.0, 0.5, 1.0])
    for name in pa:
        assert line[name].shape == (3, *pa[name].shape)
        assert torch.equal(line[name][0], pa[name].detach()) and torch.equal(line[name][2], pb[name].detach())
        assert torch.equal(curve[name][0], pa[name].detach()) and torch.equal(curve[name][2], pb[name].detach())
        torch.testing.assert_close(line[name][1], (pa[name] + pb[name]).detach() / 2)
        torch.testing.assert_close(curve[name][1], (pa[name] + 2 * pt[name] + pb[name]).detach() / 4)
    point = ls.bezier_point(a, bend, b, 0.0)  # a float gives one network
    assert all(torch.equal(point[n], pa[n].detach()) for n in pa)
    assert torch.equal(ls.flat_params(ls.interpolate(pa, pb, 1.0)), ls.flat_params(b))
    losses = ls.batched_loss(a, F.cross_entropy, x, y, line, chunk=2)
    assert losses[0] == pytest.approx(_loss(a, x, y), rel=1e-12)
    assert losses[2] == pytest.approx(_loss(b, x, y), rel=1e-12)
    with pytest.raises(ValueError, match="parameter names"):
        ls.interpolate(a, {"x": torch.zeros(1)}, 0.5)


def test_bad_arguments(problem):
    _, _, _, H, _ = problem
    with pytest.raises(ValueError, match="which"):
        ls.lanczos_top_eigs(lambda v: H @ v, 26, which="middle")
    with pytest.raises(ValueError, match="k=30"):
        ls.lanczos_top_eigs(lambda v: H @ v, 26, k=30, iters=40)
    with pytest.raises(ValueError, match="samples"):
        ls.hutchinson_trace(lambda v: H @ v, 26, samples=1)


def test_top_eigenvalue_matches_the_exact_hessian():
    net = dl.build(lambda: dl.MLP(4, [5], 3), seed=1).double()
    x = torch.randn(20, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    y = torch.arange(20) % 3
    H = ls.exact_hessian(net, F.cross_entropy, x, y)
    exact = float(torch.linalg.eigvalsh(H)[-1])
    assert abs(ls.top_eigenvalue(net, x, y, iters=10 ** 6) - exact) < 1e-8  # iters capped at P


@pytest.mark.parametrize("alpha", [0.01, 0.5, 7.0])
def test_dinh_rescaling_keeps_the_function(alpha):
    net = dl.build(lambda: dl.MLP(6, [8, 8], 4), seed=0).double()
    x = torch.randn(30, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for layer in (0, 1):
        out = ls.rescale_layers(net, alpha, layer)
        assert torch.allclose(out(x), net(x), rtol=1e-12, atol=1e-12)
        assert not torch.allclose(out[1 + 2 * layer].weight, net[1 + 2 * layer].weight)
    with pytest.raises(ValueError, match="positive"):
        ls.rescale_layers(net, -1.0)
    with pytest.raises(ValueError, match="layer=2"):
        ls.rescale_layers(net, 2.0, layer=2)
