"""Chapter 3's experiments at the tiny scale: the replica grid against single runs, the OU variance, escape rates
against Kramers, per-example gradients and Hessian-vector products against autograd and an exact Hessian, Dinh et
al.'s rescaling, the noise-scale summaries, and labelled figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlgen_lib import sde  # noqa: E402
from dlgen_lib.chapters import ch03_sgd_as_sde as ch  # noqa: E402
from dlgen_lib.config import ConfigError, scaled  # noqa: E402

F64 = torch.float64


@pytest.fixture(scope="module")
def cfg():
    return scaled(ch.SgdAsSdeConfig, "tiny")


pytestmark = pytest.mark.usefixtures("one_thread")  # small tensors: see conftest.one_thread


def test_config_scales_and_overrides():
    small = scaled(ch.SgdAsSdeConfig, "small")
    assert small.sim.replicas >= 1000 and len(small.cloud.lrs) * len(small.cloud.batches) >= 16
    assert max(small.cloud.lrs) <= 0.1 and len(small.well.lrs) == len(small.well.batches)
    assert any(m > 0 for _, m in small.grid.settings) and len({b for b, _ in small.grid.settings}) >= 3
    tiny = scaled(ch.SgdAsSdeConfig, "tiny")
    cfg = scaled(ch.SgdAsSdeConfig, "tiny", sim=dict(replicas=7))
    assert cfg.sim.replicas == 7 and cfg.sim.seed == tiny.sim.seed and cfg.well == tiny.well
    with pytest.raises(ConfigError):
        scaled(ch.SgdAsSdeConfig, "huge")


# one representative bad value (or more) per part: (overrides, the field the error must name, as part.field)
BAD_VALUES = [
    (dict(sim=dict(replicas=1)), "sim.replicas"),
    (dict(quad=dict(burn=10.0, time=8.0)), "quad.burn"),  # measured after the burn-in
    (dict(cloud=dict(lrs=(0.1, -0.1))), "cloud.lrs"),
    (dict(cloud=dict(batches=(1, 4000))), "cloud.batches"),  # above quad.n
    (dict(aniso=dict(lr=0.5)), "aniso.lr"),  # η a_2 = 2: gradient descent diverges
    (dict(well=dict(lrs=(0.004,))), "well.lrs"),  # paired with three batch sizes
    (dict(ripple=dict(batches=(1, 2000))), "ripple.batches"),  # the rippled bowl has 1 000 examples
    (dict(net=dict(n_train=4001)), "net.n_train"),
    (dict(noise=dict(examples=2000)), "noise.examples"),  # tiny net.n_train is 1 000
    (dict(noise=dict(hessian_k=30)), "noise.hessian_k"),  # more than lanczos_iters
    (dict(grid=dict(settings=((32, 1.0),))), "grid.settings"),
    (dict(grid=dict(settings=((2000, 0.0),))), "grid.settings"),  # above tiny net.n_train
    (dict(sched=dict(batch=128)), "sched.batch"),  # 128 x 4² > 1 000
    (dict(sharp=dict(small_batch=500)), "sharp.small_batch"),  # not smaller than the large batch
    (dict(sharp=dict(large_batch=2000)), "sharp.large_batch"),  # above tiny net.n_train
]


@pytest.mark.parametrize(("overrides", "field"), BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_field(overrides, field):
    with pytest.raises(ConfigError) as err:
        scaled(ch.SgdAsSdeConfig, "tiny", **overrides)
    message = str(err.value)
    part, name = field.split(".")
    # a field's own rule, or a relation inside its part, names the part and the field; a relation between parts
    # (checked by SgdAsSdeConfig itself) names the dotted field
    assert f"SgdAsSdeConfig.{part}: " in message and f"{name}=" in message or f"{field}=" in message, message
    assert "must" in message and field in err.value.fields, (message, err.value.fields)


# ------------------------------------------------------------------------------------------ simulators


def test_replica_grid_equals_separate_runs_and_loop():
    """Every setting equal: the grid is sgd_replicas(replace=True) number for number, and that is the loop."""
    loss = sde.double_well(n=30, data_std=2.0, noise="tilt")
    grid = sde.sgd_replica_grid(loss, 0.3, [0.02] * 3, [5] * 3, 20, n_replicas=2, seed=4, record_every=1)
    ref = sde.sgd_replicas(loss, 0.3, 0.02, 5, 20, n_replicas=6, seed=4, replace=True, record_every=1)
    loop = sde.sgd_loop(loss, torch.full((6,), 0.3, dtype=F64), 0.02, 5, 20, seed=4, replace=True)
    assert grid.theta.shape == (21, 3, 2)
    assert torch.allclose(grid.theta.reshape(21, 6), ref.theta, rtol=0, atol=1e-12)
    assert torch.allclose(ref.theta, loop.theta, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="equally long"):
        sde.sgd_replica_grid(loss, 0.0, [0.1, 0.2], [1], 5, n_replicas=2)


def test_replica_grid_settings_have_their_own_variance():
    """Different (η, B) in one simulation: each setting's stationary variance is its own closed form."""
    q = sde.quadratic(n=500, curvature=2.0)
    s2 = float(q.noise_variance(torch.tensor(0.0, dtype=F64)))
    lrs, bs = [0.05, 0.05, 0.02], [1, 8, 2]
    g = sde.sgd_replica_grid(q, q.z.mean(), lrs, bs, 400, n_replicas=3000, record_every=50)
    var = g.theta[4:].var(2).mean(0).numpy()
    theory = sde.ou_stationary_variance(np.array(lrs), np.array(bs), 2.0, s2)
    np.testing.assert_allclose(var, theory, rtol=0.08)


def test_tilt_fast_path_matches_generic_gradient():
    loss = sde.double_well(n=50, data_std=3.0, noise="tilt")
    theta = torch.linspace(-2, 2, 7, dtype=F64)
    batch = torch.randint(0, 50, (7, 4), generator=torch.Generator().manual_seed(0))
    w = torch.rand(7, 4, generator=torch.Generator().manual_seed(1), dtype=F64)
    generic = sde.FiniteSumLoss.weighted_minibatch_grad(loss, theta, batch, w)
    assert torch.allclose(loss.weighted_minibatch_grad(theta, batch, w), generic, atol=1e-12)
    # the tilted loss and its gradient are linear in z: evaluated at z̄ they equal the means over examples
    assert torch.allclose(loss.loss(theta), sde.FiniteSumLoss.loss(loss, theta), atol=1e-12)
    assert torch.allclose(loss.grad(theta), sde.FiniteSumLoss.grad(loss, theta), atol=1e-12)


# ------------------------------------------------------------------------------------------ chapter experiments


def test_quadratic_cloud_matches_ou(cfg):
    q = ch.quadratic_cloud(cfg.sim, cfg.quad, cfg.cloud)
    assert q.final.shape == (len(q.lrs), cfg.cloud.replicas)
    z = (q.variance - q.theory) / np.maximum(q.variance_se, 0.02 * q.theory)
    assert np.abs(z).max() < 5, z
    assert abs(sde.loglog_slope(q.lrs / q.batch_sizes, q.variance) - 1) < 0.1
    assert abs(q.em_final.var() / q.theory_ou[q.em_index] - 1) < 0.25


def test_anisotropic_cloud_is_not_gibbs(cfg):
    c = ch.anisotropic_cloud(cfg.sim, cfg.quad, cfg.aniso)
    np.testing.assert_allclose(c.variance, c.theory, rtol=0.12)
    assert c.variance[1] / c.variance[0] > 4 * c.gibbs_ratio  # wider along the sharp direction
    assert c.final.shape == (cfg.sim.replicas, 2)


def test_well_escape_follows_kramers(cfg):
    w = ch.well_escape(cfg.sim, cfg.well)
    hot, cold = np.argmax(w.temperature), np.argmin(w.temperature)
    assert w.rate[hot] > 5 * w.rate[cold] > 0
    assert 0.3 < w.rate[hot] / w.kramers[hot] < 2
    assert abs(ch.fit_barrier(w.temperature, w.rate) / w.barrier - 1) < 0.35
    assert abs(w.wide_fraction[hot] - w.gibbs_wide[hot]) < 0.12
    assert w.wide_fraction[hot] > w.wide_fraction[cold]


def test_smoothing_tracks_sgd_mean_for_wide_kernels(cfg):
    s = ch.smoothing(cfg.sim, cfg.ripple)
    rms_s = np.sqrt(((s.sgd_mean - s.gd_smoothed) ** 2).mean(1))
    rms_gd = np.sqrt(((s.sgd_mean - s.gd) ** 2).mean(1))
    assert rms_s[0] < 0.3 * rms_gd[0]  # B = 1: the widest kernel
    assert abs(s.gd[-1] - s.theta0) < 0.5  # GD on L stops in a dimple near the start


def test_sharpness_vs_batch_and_noise_geometry(cfg):
    s = ch.sharpness_vs_batch(cfg.net, cfg.sharp)
    assert s.lam_max.shape == (2, len(cfg.sharp.seeds)) and (s.lam_max > 0).all()
    assert s.dinh_max_logit_change.max() < 1e-10 and np.ptp(s.dinh_test_acc) == 0
    assert s.dinh_lam_max.max() / s.dinh_lam_max.min() > 10
    geo = ch.noise_geometry(cfg.net, cfg.sharp, cfg.noise)
    assert geo.n_params == 51 * cfg.net.hidden + 10 and len(geo.eigenvalues) == cfg.noise.examples
    assert 1 <= geo.rank90 < cfg.noise.examples and np.all(np.diff(geo.eigenvalues) <= 1e-12)
    assert geo.captured > 10 * geo.captured_random
    assert np.isclose(geo.captured_random, cfg.noise.hessian_k / geo.n_params, rtol=0.5)


def test_noise_scale_and_schedules(cfg):
    r = ch.noise_scale_grid(cfg.net, cfg.grid)
    V, G = len(cfg.grid.settings), len(cfg.grid.g)
    assert r.test_acc.shape == (V, G, len(cfg.grid.seeds))
    for j, (b, m) in enumerate(r.settings):
        np.testing.assert_allclose(ch.noise_scale(r.lrs[j], r.n_train, b, m), r.g)
    s = ch.schedules(cfg.net, cfg.sched)
    assert s.decay_lr.shape == s.grow_batch.shape == (len(cfg.sched.seeds), 3 * cfg.sched.phase_epochs + 1)
    assert s.grow_updates < s.decay_updates
    first = cfg.sched.phase_epochs + 1  # the first phase is the same for both schedules
    np.testing.assert_allclose(s.decay_lr[:, :first], s.grow_batch[:, :first])


def test_collapse_spread():
    x = np.array([[1.0, 2.0, 4.0], [2.0, 4.0, 8.0]])
    same = np.log(x)  # y a function of x alone: the curves collapse
    assert ch.collapse_spread(x, same) < 1e-12
    assert ch.collapse_spread(x, np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])) > 0.3
    with pytest.raises(ValueError, match="overlap"):
        ch.collapse_spread(np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2)))


def test_figures_are_labelled(cfg):
    figs = [ch.plot_cloud(ch.quadratic_cloud(cfg.sim, cfg.quad, cfg.cloud)),
            ch.plot_anisotropic(ch.anisotropic_cloud(cfg.sim, cfg.quad, cfg.aniso)),
            ch.plot_escape(ch.well_escape(cfg.sim, cfg.well), ch.well_loss(cfg.sim, cfg.well)),
            ch.plot_smoothing(ch.smoothing(cfg.sim, cfg.ripple)),
            ch.plot_noise(ch.noise_geometry(cfg.net, cfg.sharp, cfg.noise)),
            ch.plot_noise_scale(ch.noise_scale_grid(cfg.net, cfg.grid)),
            ch.plot_schedules(ch.schedules(cfg.net, cfg.sched)),
            ch.plot_sharpness(ch.sharpness_vs_batch(cfg.net, cfg.sharp))]
    for fig in figs:
        for ax in fig.axes:
            if not ax.has_data():
                continue
            twin = any(other is not ax and other.get_shared_x_axes().joined(ax, other) for other in fig.axes)
            assert ax.get_ylabel(), f"a panel without a y label in {fig.axes[0].get_title()!r}"
            assert ax.get_xlabel() or twin, f"a panel without an x label: {ax.get_title()!r}"
            assert ax.get_title() or twin, f"a panel without a title: y = {ax.get_ylabel()!r}"
        plt.close(fig)
