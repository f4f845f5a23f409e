"""Chapter 2's experiments at the tiny scale: the critical-point search against exact Hessians, the spectrum
summaries on hand-made spectra and against eigvalsh, the Bezier curve's training and endpoints, the
initializations of the deep MLP, the shapes and endpoints of every cached experiment, and labelled figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.func import hessian  # noqa: E402

import dlgen_lib as dl  # noqa: E402
from dlgen_lib import landscape as ls  # noqa: E402
from dlgen_lib.chapters import ch02_loss_landscape as ch  # noqa: E402
from dlgen_lib.config import ConfigError, scaled  # noqa: E402
from dlgen_lib.train import evaluate  # noqa: E402


@pytest.fixture(scope="module")
def cfg():
    return scaled(ch.LossLandscapeConfig, "tiny")


def _tanh_net(n=30, hidden=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=gen)
    y = torch.randint(0, 3, (n,), generator=gen)
    return ch.TanhNet(x, y, hidden, n_classes=3)


def test_config_scales_and_overrides():
    small = scaled(ch.LossLandscapeConfig, "small")
    assert small.train.large_batch > 10 * small.train.small_batch and len(small.train.seeds) == 2
    assert len(small.spread.widths) >= 5 and len(small.spread.seeds) >= 5 and 2.0 in small.deep.gains
    tiny = scaled(ch.LossLandscapeConfig, "tiny", train=dict(steps=7))
    assert tiny.train.steps == 7 and tiny.train.seeds == (0, 1), "the other fields of the part keep the scale's values"
    assert tiny.hessian == scaled(ch.LossLandscapeConfig, "tiny").hessian, "the other parts too"
    assert scaled(ch.LossLandscapeConfig, "full").net.width > small.net.width
    assert ch.CONFIG is ch.LossLandscapeConfig
    with pytest.raises(ConfigError):
        scaled(ch.LossLandscapeConfig, "huge")


# one representative bad value (or more) per part: (overrides, the field the message must name)
BAD_VALUES = [
    (dict(train=dict(seeds=(0,))), "seeds"),  # mode connectivity joins two solutions
    (dict(train=dict(momentum=1.0)), "momentum"),
    (dict(train=dict(small_batch=1000)), "small_batch"),  # not smaller than the large batch
    (dict(net=dict(width=0)), "width"),
    (dict(hessian=dict(top_k=31, lanczos_iters=30)), "top_k"),
    (dict(hessian=dict(n=4001)), "n"),
    (dict(critical=dict(snapshots=(30, 300))), "snapshots"),  # no start at step 0
    (dict(spread=dict(widths=(4, 4))), "widths"),
    (dict(slices=dict(grid_points=1)), "grid_points"),
    (dict(paths=dict(lr=0.0)), "lr"),
    (dict(deep=dict(gains=(2.0, -4.0))), "gains"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_part_and_field(overrides, field):
    with pytest.raises(ConfigError) as err:
        scaled(ch.LossLandscapeConfig, "tiny", **overrides)
    message = str(err.value)
    (part,) = overrides
    assert f"LossLandscapeConfig.{part}" in message and f"{field}=" in message and "must" in message, message


# ------------------------------------------------------------------------------------------ critical points


def test_tanh_net_gradient_and_hessian_are_exact():
    net = _tanh_net()
    theta = torch.stack([net.init(0), net.init(1)])  # (2, P)
    g, H = net.grad_hessian(theta)
    for k in range(2):
        exact = hessian(lambda t: net.loss(t[None])[0])(theta[k])
        torch.testing.assert_close(H[k], exact, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(g[k], torch.func.grad(lambda t: net.loss(t[None])[0])(theta[k]))
    assert net.P == 5 * 3 + 3 + 3 * 3 + 3 and theta.dtype == torch.float64


def test_find_critical_points_reaches_zero_gradient():
    net = _tanh_net()
    start = torch.stack([net.init(s) for s in range(4)])
    points, hist = ch.find_critical_points(net, start, iters=40)
    assert hist.shape == (41, 4)
    assert (np.diff(hist, axis=0) <= 0).all(), "a step is only accepted when it lowers ||∇L||"
    assert hist[-1].max() < 1e-6 * hist[0].min(), "Levenberg-Marquardt converges on this small problem"
    _, H = net.grad_hessian(points)
    assert torch.isfinite(torch.linalg.eigvalsh(H)).all()


def test_critical_points_experiment(cfg):
    cp = ch.critical_points(cfg.critical)
    K = len(cfg.critical.seeds) * len(cfg.critical.snapshots)
    assert cp.loss.shape == cp.index.shape == cp.start_loss.shape == (K,)
    assert ((cp.index >= 0) & (cp.index <= 1)).all() and (cp.grad_norm <= cp.start_grad + 1e-12).all()
    assert (cp.min_eig <= cp.max_eig).all() and sorted(set(cp.snapshot)) == sorted(cfg.critical.snapshots)
    crit = cp.critical()
    assert crit.dtype == bool and crit.any()
    # a saddle has a negative eigenvalue: the index is positive exactly when min_eig is clearly negative
    assert ((cp.index > 0) == (cp.min_eig < -1e-3 * np.maximum(np.abs(cp.min_eig), cp.max_eig))).all()


# ------------------------------------------------------------------------------------------ spectra


def _fake_spectrum(top, nodes, weights):
    dens = ls.SpectralDensity(np.zeros(1), np.zeros(1), np.asarray(nodes, float), np.asarray(weights, float), 0.1)
    return ch.Spectrum(100, 0.0, np.asarray(top, float), -0.1, 0.0, 0.0, dens, 0.0)


def test_spectrum_summaries_on_hand_made_spectra():
    s = _fake_spectrum([50, 40, 30, 2, 1.9, 1.8], [[0.0, 0.1, -0.2, 45.0]], [[0.5, 0.3, 0.1, 0.1]])
    assert s.outliers() == 3
    assert s.mass_near_zero(rel=0.01) == pytest.approx(0.9)  # |λ| <= 0.5


def test_spectrum_matches_the_exact_hessian():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(20, 3, generator=gen, dtype=torch.float64), torch.randint(0, 2, (20,), generator=gen)
    net = dl.build(lambda: dl.MLP(3, [4], 2), seed=0).double()
    exact = torch.linalg.eigvalsh(ls.exact_hessian(net, F.cross_entropy, x, y)).flip(0).numpy()
    hessian = scaled(ch.LossLandscapeConfig, "tiny",
                     hessian=dict(top_k=5, lanczos_iters=26, slq_iters=26, trace_samples=200, slq_probes=4)).hessian
    s = ch.spectrum(net, x, y, hessian)
    np.testing.assert_allclose(s.top, exact[:5], rtol=1e-4)
    assert s.bottom == pytest.approx(exact[-1], rel=1e-4, abs=1e-10)
    assert abs(s.trace - exact.sum()) <= 4 * s.trace_se + 1e-9
    slq_trace, slq_se = s.slq_trace()
    assert slq_trace == pytest.approx((s.density.nodes * s.density.weights).sum(1).mean() * s.P)
    assert abs(slq_trace - exact.sum()) <= 4 * slq_se + 1e-9 and slq_se > 0


def test_hessian_spectra_experiment(cfg):
    spectra = ch.hessian_spectra(cfg.net, cfg.train, cfg.hessian)
    assert list(spectra) == ["init"] + [f"minimum, seed {s}" for s in cfg.train.seeds]
    for s in spectra.values():
        assert s.top.shape == (cfg.hessian.top_k,) and (np.diff(s.top) <= 1e-9).all() and s.bottom <= s.top[-1]
    # training sharpens the landscape: every minimum's top eigenvalue exceeds the one at initialization
    assert min(s.top[0] for k, s in spectra.items() if k != "init") > spectra["init"].top[0]


# ------------------------------------------------------------------------------------------ minima, slices, paths


def test_solutions_and_slices(cfg):
    sol = ch.train_solutions(cfg.net, cfg.train)
    assert len(sol.theta) == 2 * len(cfg.train.seeds)
    for name, theta in sol.theta.items():
        assert torch.equal(ls.flat_params(sol.model(name)), theta)
        assert sol.train_loss[name][-1] < sol.train_loss[name][0]
    sl = ch.slices(cfg.net, cfg.train, cfg.slices)
    data = dl.mnist1d()
    x, y = data.x_train[: cfg.slices.n], data.y_train[: cfg.slices.n]
    s = cfg.train.seeds[0]
    at = {a: i for i, a in enumerate(np.round(sl.line_alphas, 9))}
    with torch.no_grad():
        loss_init = float(F.cross_entropy(sol.model(f"init, seed {s}")(x), y))
        loss_end = float(F.cross_entropy(sol.model(f"small batch, seed {s}")(x), y))
    assert sl.line_train[at[0.0]] == pytest.approx(loss_init, rel=1e-5)
    assert sl.line_train[at[1.0]] == pytest.approx(loss_end, rel=1e-5)
    c = len(sl.alphas) // 2
    for name, values in sl.slice_1d.items():
        assert values.shape == (cfg.slices.slice_points,) and values[c] == pytest.approx(
            float(F.cross_entropy(sol.model(name)(x), y).detach()), rel=1e-5)
        g = len(sl.grid) // 2
        assert sl.slice_2d[name].shape == (cfg.slices.grid_points,) * 2 and sl.slice_2d[name][g, g] == pytest.approx(
            values[c], rel=1e-5)
    assert ch.slice_curvature(np.array([4.0, 1.0, 0.0, 1.0, 4.0]), np.linspace(-1, 1, 5)) == pytest.approx(1.0)


def test_train_bezier_lowers_the_loss_on_the_curve():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, 40, generator=gen), torch.randint(0, 10, (200,), generator=gen)
    nets = [dl.build(ch.Network(width=8).factory(), seed=s) for s in (0, 1)]
    for s, net in enumerate(nets):
        dl.train(net, x, y, dl.TrainConfig(steps=300, lr=0.05, batch_size=50, momentum=0.9), seed=s,
                 show_progress=False)
    a, b = (ls.unflatten_params(ls.flat_params(n), n) for n in nets)
    ctrl = ch.train_bezier(nets[0], a, b, x, y, steps=200, lr=0.02, batch_size=50)
    ts = np.linspace(0, 1, 11)
    mid = {n: (a[n] + b[n]) / 2 for n in a}
    before = ls.batched_loss(nets[0], F.cross_entropy, x, y, ls.bezier_point(a, mid, b, ts))
    after = ls.batched_loss(nets[0], F.cross_entropy, x, y, ls.bezier_point(a, ctrl, b, ts))
    assert after[0] == pytest.approx(before[0]) and after[-1] == pytest.approx(before[-1])  # the same endpoints
    assert after.mean() < 0.8 * before.mean() and after.max() < before.max()


def test_mode_connectivity_endpoints_are_the_two_networks(cfg):
    mc = ch.mode_connectivity(cfg.net, cfg.train, cfg.paths)
    sol = ch.train_solutions(cfg.net, cfg.train)
    data = dl.mnist1d()
    for end, s in ((0, cfg.train.seeds[0]), (-1, cfg.train.seeds[1])):
        loss, acc = evaluate(sol.model(f"small batch, seed {s}"), data.x_test, data.y_test)
        for path in (mc.line, mc.curve):
            assert path["test_loss"][end] == pytest.approx(loss, rel=1e-5)
            assert path["test_error"][end] == pytest.approx(1 - acc, abs=1e-6)
    assert mc.barrier("line") == pytest.approx(mc.line["test_error"].max() - (
        mc.line["test_error"][0] + mc.line["test_error"][-1]) / 2)
    assert mc.ts.shape == (cfg.paths.points,) and mc.distance > 0


# ------------------------------------------------------------------------------------------ width, depth


def test_width_spread(cfg):
    ws = ch.width_spread(cfg.spread)
    shape = (len(cfg.spread.widths), len(cfg.spread.seeds))
    assert ws.train_loss.shape == ws.test_error.shape == shape and list(ws.widths) == sorted(cfg.spread.widths)
    np.testing.assert_allclose(ch.spread(ws.train_loss), ws.train_loss.std(1, ddof=1))
    assert ws.train_loss.mean(1)[-1] < ws.train_loss.mean(1)[0]


def test_deep_init_scales_activations():
    x = torch.randn(2000, 40)
    x = x / x.pow(2).mean().sqrt()
    for gain, expected in ((2.0, 1.0), (4.0, 2.0 ** 8)):
        net = ch.deep_init(ch.Deep(depth=8, width=256), gain, seed=0)
        h = x
        for layer in list(net)[1:-1]:  # up to the last hidden ReLU
            h = layer(h)
        ratio = float(h.pow(2).mean()) / 1.0  # E h² after 8 ReLU layers, relative to the input's (1)
        # each layer multiplies E h² by gain / 2 (the first one sees a non-ReLU input: one more factor 2)
        assert expected / 4 < ratio < expected * 4, (gain, ratio)
        assert all(float(m.bias.abs().max()) == 0 for m in net if isinstance(m, torch.nn.Linear))


def test_deep_blowup(cfg):
    db = ch.deep_blowup(cfg.deep)
    V, S = len(cfg.deep.gains), len(cfg.deep.seeds)
    assert db.grad_norms.shape == (V, S, cfg.deep.depth + 1) and db.train_loss.shape[:2] == (V, S)
    he, naive = list(db.gains).index(2.0), list(db.gains).index(4.0)
    assert (db.grad_norms[naive] > 10 * db.grad_norms[he]).all()
    assert np.isfinite(db.train_loss[he]).all()


def test_layer_grad_norms_match_autograd():
    net = ch.deep_init(ch.Deep(depth=3, width=16), 2.0, seed=1)
    x, y = torch.randn(50, 40), torch.randint(0, 10, (50,))
    norms = ch.layer_grad_norms(net, x, y)
    F.cross_entropy(net(x), y).backward()
    expected = [float(m.weight.grad.norm()) for m in net if isinstance(m, torch.nn.Linear)]
    np.testing.assert_allclose(norms, expected, rtol=1e-6)
    assert all(p.grad is None or float(p.grad.abs().max()) > 0 for p in net.parameters())


# ------------------------------------------------------------------------------------------ figures


def test_figures_are_labelled(cfg):
    sl = ch.slices(cfg.net, cfg.train, cfg.slices)
    figs = [ch.plot_spectra(ch.hessian_spectra(cfg.net, cfg.train, cfg.hessian)),
            ch.plot_critical_points(ch.critical_points(cfg.critical)),
            ch.plot_width_spread(ch.width_spread(cfg.spread)), ch.plot_line(sl), ch.plot_slices(sl),
            ch.plot_mode_connectivity(ch.mode_connectivity(cfg.net, cfg.train, cfg.paths)),
            ch.plot_deep_blowup(ch.deep_blowup(cfg.deep))]
    for fig in figs:
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_xlabel() and ax.get_ylabel(), ax.get_title()
        plt.close(fig)
