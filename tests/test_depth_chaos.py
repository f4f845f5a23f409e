"""Chapter 8's experiments at the tiny scale: random networks follow the mean-field theory, the initialization
helper draws the right variances, the figures are labelled, and the config rejects bad values."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlgen_lib import meanfield as mf  # noqa: E402
from dlgen_lib.chapters import ch08_depth_and_chaos as ch  # noqa: E402
from dlgen_lib.config import ConfigError, generator, scaled  # noqa: E402


@pytest.fixture(scope="module")
def cfg():
    return scaled(ch.DepthChaosConfig, "tiny")


BAD_VALUES = [
    (dict(phase=dict(width=5)), "width"),
    (dict(phase=dict(sigma_w2=(2.0, 1.0, 3.0))), "sigma_w2"),  # not increasing
    (dict(phase=dict(c0=1.0)), "c0"),
    (dict(phase=dict(burn_in=9)), "burn_in"),  # depth 10 at tiny: nothing left to measure
    (dict(circle=dict(points=4)), "points"),
    (dict(gradients=dict(sigma_b2=0.0)), "sigma_b2"),
    (dict(training=dict(sigma_w2=(0.5, 1.0, 8.0))), "sigma_w2"),  # the critical value is missing
    (dict(training=dict(trained_above=0.05)), "trained_above"),  # below chance
    (dict(training=dict(optimizer="lbfgs")), "optimizer"),
    (dict(robustness=dict(epsilon=0.3)), "epsilon"),  # not among the attacked radii
    (dict(robustness=dict(pgd_steps=1)), "pgd_steps"),
    (dict(robustness=dict(depths=(1,), widths=(8, 16))), "depths"),  # two architectures: too few to fit
    (dict(robustness=dict(checkpoint_every=500)), "checkpoint_every"),  # more than the 100 steps of tiny
]


@pytest.mark.parametrize(("overrides", "field"), BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_part_and_field(overrides, field):
    with pytest.raises(ConfigError) as err:
        scaled(ch.DepthChaosConfig, "tiny", **overrides)
    (part,) = overrides
    assert f"{part}.{field}" in err.value.fields and "must" in str(err.value), str(err.value)


def test_phase_diagram_follows_the_recursions(cfg):
    p = scaled(ch.Phase, "tiny", width=300, depth=16, repeats=2)
    r = ch.phase_diagram(p)
    assert r.c.shape == r.c_theory.shape == (1, 3, 17)
    assert np.abs(r.c - r.c_theory).mean() < 0.08
    assert np.abs(r.chi1 - r.chi1_theory).max() < 0.1
    assert r.chi1[0, 0] < 1 < r.chi1[0, -1]  # ordered at 1.0, chaotic at 3.0
    assert abs(r.critical_measured[0] - mf.critical_sigma_w2(0.05)) < 0.3


def test_circle_grows_in_chaos_and_shrinks_in_order(cfg):
    r = ch.circle_length(cfg.circle)
    assert r.length.shape == (3, 1, cfg.circle.depth + 1)
    assert r.growth[0, 0] < 1 < r.growth[-1, 0]
    assert np.abs(r.growth[:, 0] - np.sqrt(r.chi1_theory)).max() < 0.08
    assert r.projection.shape == (3, cfg.circle.points, 2)


def test_gradient_norms_change_by_chi1_per_layer(cfg):
    r = ch.gradient_norms(cfg.gradients)
    assert r.grad_sq.shape == (6, 1, cfg.gradients.depth)
    assert np.abs(r.rate[:, 0] / r.chi1_theory - 1).max() < 0.25  # width 64, depth 10: rough, but right
    he = r.act.index("relu") + 1  # (1.0, 2.0, 2.5): the second ReLU setting is He's
    assert abs(r.rate[he, 0] - 1) < 0.15


def test_init_scaled_draws_the_given_variances():
    params = {"0.weight": torch.zeros(3, 400, 200), "0.bias": torch.zeros(3, 400)}
    out = ch.init_scaled(params, torch.tensor([0.5, 1.76, 8.0]), torch.tensor([0.05, 0.05, 0.2]), generator(0))
    var_w = out["0.weight"].var(dim=(1, 2)) * 200  # times fan-in
    assert torch.allclose(var_w, torch.tensor([0.5, 1.76, 8.0]), rtol=0.02)
    assert torch.allclose(out["0.bias"].var(dim=1), torch.tensor([0.05, 0.05, 0.2]), rtol=0.2)


def test_trainability_runs_every_cell(cfg):
    r = ch.trainability(cfg.training)
    shape = (len(cfg.training.depths), len(cfg.training.sigma_w2), len(cfg.training.seeds))
    assert r.train_acc.shape == r.test_acc.shape == shape
    assert ((r.train_acc >= 0) & (r.train_acc <= 1)).all()
    # two hidden layers learn something within 40 steps (best cell 0.29-0.34 over seeds 0-2; chance is 0.10)
    assert r.train_acc.max() > 0.2
    assert np.isfinite(r.xi).all() and r.xi[1] > r.xi[0] and r.xi[1] > r.xi[2]  # ξ_c peaks at the critical σ_w²


def test_figures_have_labelled_axes(cfg):
    phase = ch.phase_diagram(cfg.phase)
    figs = [ch.plot_phase(phase), ch.plot_circle(ch.circle_length(cfg.circle)),
            ch.plot_gradients(ch.gradient_norms(cfg.gradients)),
            ch.plot_trainability(ch.trainability(cfg.training)), ch.plot_robustness(ch.robustness(cfg.robustness))]
    for fig in figs:
        for ax in fig.axes:
            if ax.get_label() != "<colorbar>":
                assert ax.get_xlabel() and ax.get_ylabel()
        plt.close(fig)
    fig, ax = plt.subplots()
    ch.draw_correlations(phase)(1.76, ax)
    assert ax.get_title().startswith("σ_w² = 1.76")
    plt.close(fig)


def test_robustness_attacks_every_checkpoint(cfg):
    rb = cfg.robustness
    r = ch.robustness(rb)
    arch, seeds, checkpoints = len(rb.depths) * len(rb.widths), len(rb.seeds), rb.steps // rb.checkpoint_every
    assert r.clean.shape == (arch, seeds, checkpoints)
    assert r.pgd.shape == r.fgsm.shape == (arch, seeds, checkpoints, len(rb.epsilons))
    assert list(r.step) == [50, 100, 150]
    # widths fastest: (1, 8), (1, 32), (2, 8), (2, 32); an MLP 40 -> w (x depth) -> 10 has this many parameters
    expect = [41 * w + (d - 1) * (w * w + w) + 10 * w + 10 for d in rb.depths for w in rb.widths]
    assert list(r.params) == expect == [418, 1642, 490, 2698]
    # every attack costs accuracy, a larger radius more, and PGD is at least as strong as FGSM on average
    assert (r.pgd.mean((0, 1, 2)) < r.clean.mean()).all()
    assert (np.diff(r.pgd.mean((0, 1, 2))) < 0).all()
    assert (r.pgd.mean((0, 1, 2)) <= r.fgsm.mean((0, 1, 2)) + 1e-6).all()  # float32 means
    fit = ch.robustness_fit(r, "fgsm", rb.epsilons[0])
    assert fit.points == arch * checkpoints and ch.robustness_fit(r, last_only=True).points == arch
    with pytest.raises(ValueError, match="valid: 0.05"):
        ch.robustness_fit(r, epsilon=0.07)
    with pytest.raises(ValueError, match="'pgd' and 'fgsm'"):
        ch.robustness_fit(r, "cw")


def test_robustness_fit_pairs_each_point_with_its_own_architecture():
    """Robust accuracy built as a function of size alone over (architecture, checkpoint): the fit must see R² 1 on
    size (a wrong pairing of points and parameter counts would not), and ``last_only`` reads the last column."""
    params = np.array([100, 1000, 10000])
    clean = np.array([[[0.3, 0.5, 0.6]], [[0.35, 0.4, 0.7]], [[0.2, 0.45, 0.5]]])  # (A, S=1, E)
    robust = np.broadcast_to(0.02 * np.log(params)[:, None, None, None], (3, 1, 3, 1)).copy()
    r = ch.RobustnessResult(np.array([1, 1, 2]), np.array([8, 64, 64]), params, np.array([50, 100, 150]),
                            np.array([0.05]), 0.05, clean, robust, robust, 3, 0.0)
    fit = ch.robustness_fit(r)
    assert fit.r2_size == pytest.approx(1.0) and fit.points == 9
    last = ch.robustness_fit(r, last_only=True)
    assert last.points == 3 and last.r2_size == pytest.approx(1.0)
    assert last.coef_clean[1] == pytest.approx(np.polyfit(clean[:, 0, -1], robust[:, 0, -1, 0], 1)[0])


def test_robustness_fit_separates_accuracy_from_size():
    """Robust accuracy built as 0.6 clean (+ noise), with clean accuracy independent of size: the fit gives clean
    R² near 1 and size R² near 0, the clean effect 0.6 x its range, and no size effect; and the reverse."""
    from dlgen_lib.chapters.ch08_depth_and_chaos.experiments import _fit

    rng = np.random.default_rng(0)
    clean = rng.uniform(0.3, 0.7, 200)
    size = rng.uniform(6, 12, 200)
    fit = _fit(0.6 * clean + rng.normal(0, 0.002, 200), clean, size)
    assert fit.r2_clean > 0.99 and fit.r2_size < 0.05
    assert fit.clean_effect == pytest.approx(0.6 * np.ptp(clean), rel=0.02)
    assert abs(fit.size_effect) < 0.005
    fit = _fit(0.05 * size, clean, size)  # size alone
    assert fit.r2_size == pytest.approx(1.0) and fit.r2_clean < 0.05
    assert fit.size_effect == pytest.approx(0.05 * np.ptp(size))


def test_crossing():
    assert np.isnan(ch.crossing(np.array([1.0, 2.0]), np.array([0.5, 1.0])))  # never below zero: no crossing
    assert np.isnan(ch.crossing(np.array([1.0, 2.0]), np.array([-1.0, -0.5])))  # never reaches zero
    assert ch.crossing(np.array([1.0, 2.0]), np.array([-1.0, 1.0])) == 1.5
