"""Chapter 5's experiments at the tiny scale: the claims the chapter asserts hold on small inputs too, its figures
are labelled, and its config."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlgen_lib import fits  # noqa: E402
from dlgen_lib.chapters import ch05_kernel_trick as ch  # noqa: E402
from dlgen_lib.config import ConfigError, scaled  # noqa: E402


@pytest.fixture(scope="module")
def cfg():
    return scaled(ch.KernelConfig, "tiny")


def test_config_by_scale_and_overrides():
    assert scaled(ch.KernelConfig, "tiny").pixels.n_train == 500
    small = scaled(ch.KernelConfig, "small")
    assert small.pixels.n_train == 10_000 and small.pixels.gamma == 0.02
    assert scaled(ch.KernelConfig).pixels.n_train == 500  # DLGEN_SCALE=tiny in the tests
    cfg = scaled(ch.KernelConfig, "small", pixels=dict(gamma=0.05))
    assert cfg.pixels.gamma == 0.05 and cfg.pixels.n_train == 10_000, "the other fields keep the scale's values"
    full = scaled(ch.KernelConfig, "full")
    assert full.pixels.full_data and max(full.curve.sizes) <= full.pixels.n_train


# one representative bad value (or more) per part: (overrides, the field the message must name)
BAD_VALUES = [
    (dict(pixels=dict(n_test=2001)), "n_test"),  # the shipped subset has 2 000 test images
    (dict(pixels=dict(n_train=10_001)), "n_train"),
    (dict(pixels=dict(gamma=0.0)), "gamma"),
    (dict(curve=dict(sizes=(100, 20_000))), "sizes"),  # more than the shipped subset's 10 000
    (dict(curve=dict(sizes=(100, 100, 200))), "sizes"),
    (dict(norms=dict(n=600)), "n"),  # tiny loads 500 training images
    (dict(norms=dict(gabor_pool=29)), "gabor_pool"),
    (dict(least_squares=dict(n=80)), "n"),  # d = 60 at tiny: no longer overparameterized
]


@pytest.mark.parametrize(("overrides", "field"), BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_part_and_field(overrides, field):
    with pytest.raises(ConfigError) as err:
        scaled(ch.KernelConfig, "tiny", **overrides)
    message = str(err.value)
    (part,) = overrides
    assert f"{part}.{field}" in err.value.fields and f"{field}=" in message and "must" in message, message


def test_min_norm_demo_meets_the_chapter_claims(cfg):
    r = ch.min_norm_demo(cfg.least_squares)
    assert r.min_norm_gap <= 1e-6 and r.projection_gap <= 1e-6
    eig = r.hessian_eigenvalues
    assert eig.shape == (cfg.least_squares.d,) and (eig > 1e-10 * eig[0]).sum() == cfg.least_squares.n
    assert r.from_zero.off_row_space.max() <= 1e-10


def test_learning_curve_interpolates_and_improves(cfg):
    curve = ch.learning_curve(cfg.pixels, cfg.curve)
    assert list(curve.sizes) == list(cfg.curve.sizes)
    assert curve.train_acc.min() == 1.0  # interpolation: every training label
    assert curve.test_acc[-1] > curve.test_acc[0] and curve.test_acc[-1] > 0.6
    assert fits.fit_power_law(curve.sizes, 1 - curve.test_acc, floor=False).b < 0
    assert np.isfinite(fits.fit_power_law(curve.sizes, 1 - curve.test_acc, floor=True).b)  # the chapter's fit


@pytest.mark.parametrize("scale", ["tiny", "small", "full"])
def test_every_scale_has_enough_sizes_for_the_chapters_fit(scale):
    sizes = scaled(ch.KernelConfig, scale).curve.sizes  # fit_power_law(..., floor=True) needs at least 4 sizes
    assert len(sizes) >= 4 and list(sizes) == sorted(set(sizes))


def test_norm_comparison_random_labels_cost_more(cfg):
    r = ch.norm_comparison(cfg.pixels, cfg.norms)
    i_true, i_rand = r.settings.index("pixels, true labels"), r.settings.index("pixels, random labels")
    assert r.train_acc.min() == 1.0
    assert r.rkhs_norm[i_rand] > 1.5 * r.rkhs_norm[i_true]
    assert np.isnan(r.test_error[i_rand]) and np.isfinite(r.test_error[i_true])


def test_figures_are_labelled(cfg):
    curve = ch.learning_curve(cfg.pixels, cfg.curve)
    figs = [ch.plot_min_norm(ch.min_norm_demo(cfg.least_squares)),
            ch.plot_learning_curve(curve, fits.fit_power_law(curve.sizes, 1 - curve.test_acc, floor=False)),
            ch.plot_norms(ch.norm_comparison(cfg.pixels, cfg.norms))]
    for fig in figs:
        for ax in fig.axes:
            assert ax.get_title() and ax.get_ylabel()
        plt.close(fig)
