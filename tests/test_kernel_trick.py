"""Chapter 5's experiments at the tiny scale: the claims the chapter asserts hold on small inputs too, and
its figures are labelled."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlgen_lib import fits  # noqa: E402
from dlgen_lib import kernel_trick as kt  # noqa: E402


@pytest.fixture(scope="module")
def cfg():
    return kt.kernel_config("tiny")


def test_min_norm_demo_meets_the_chapter_claims(cfg):
    r = kt.min_norm_demo(cfg)
    assert r.min_norm_gap <= 1e-6 and r.projection_gap <= 1e-6
    eig = r.hessian_eigenvalues
    assert eig.shape == (cfg.ls_d,) and (eig > 1e-10 * eig[0]).sum() == cfg.ls_n
    assert r.from_zero.off_row_space.max() <= 1e-10


def test_learning_curve_interpolates_and_improves(cfg):
    curve = kt.learning_curve(cfg)
    assert list(curve.sizes) == list(cfg.sizes)
    assert curve.train_acc.min() == 1.0  # interpolation: every training label
    assert curve.test_acc[-1] > curve.test_acc[0] and curve.test_acc[-1] > 0.6
    assert fits.fit_power_law(curve.sizes, 1 - curve.test_acc, floor=False).b < 0
    assert np.isfinite(fits.fit_power_law(curve.sizes, 1 - curve.test_acc, floor=True).b)  # the chapter's fit


@pytest.mark.parametrize("scale", ["tiny", "small", "full"])
def test_every_scale_has_enough_sizes_for_the_chapters_fit(scale):
    sizes = kt.kernel_config(scale).sizes  # fit_power_law(..., floor=True) needs at least 4 sizes
    assert len(sizes) >= 4 and list(sizes) == sorted(set(sizes))


def test_norm_comparison_random_labels_cost_more(cfg):
    r = kt.norm_comparison(cfg)
    i_true, i_rand = r.settings.index("pixels, true labels"), r.settings.index("pixels, random labels")
    assert r.train_acc.min() == 1.0
    assert r.rkhs_norm[i_rand] > 1.5 * r.rkhs_norm[i_true]
    assert np.isnan(r.test_error[i_rand]) and np.isfinite(r.test_error[i_true])


def test_figures_are_labelled(cfg):
    curve = kt.learning_curve(cfg)
    figs = [kt.plot_min_norm(kt.min_norm_demo(cfg)),
            kt.plot_learning_curve(curve, fits.fit_power_law(curve.sizes, 1 - curve.test_acc, floor=False)),
            kt.plot_norms(kt.norm_comparison(cfg))]
    for fig in figs:
        for ax in fig.axes:
            assert ax.get_title() and ax.get_ylabel()
        plt.close(fig)
