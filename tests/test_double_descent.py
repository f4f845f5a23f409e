"""Chapter 7's experiments at the tiny scale: the closed-form claims hold on small inputs too, the summaries
compute what they say on hand-made curves, bad input gets a clear error, and every figure is labelled."""

import dataclasses

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlgen_lib import double_descent as dd  # noqa: E402
from dlgen_lib.config import ConfigError  # noqa: E402
from dlgen_lib.models import param_count  # noqa: E402
from dlgen_lib.sweeps import WidthSweep  # noqa: E402


@pytest.fixture(scope="module")
def cfg():
    return dd.double_descent_config("tiny")


def test_config_scales_and_overrides():
    small = dd.double_descent_config("small")
    assert 1.0 in small.rf_ratios and len(small.rf_ratios) >= 30 and min(small.rf_ratios) <= 0.1
    assert max(small.rf_ratios) >= 20 and len(small.widths) >= 12 and min(small.widths) <= 2
    assert max(small.widths) >= 192 and len(small.deep_seeds) >= 10  # the widest well past h* (about 64 here)
    full = dd.double_descent_config("full")
    assert full.deep_noise == 0.15 and max(full.widths) >= 512  # the MNIST-1D notebook's noise and range
    assert small.deep_noise >= full.deep_noise  # more noise at the small scale: a peak that holds on every run
    assert all(1.0 in c.rf_ratios and 1.0 in c.fashion_ratios for c in map(dd.double_descent_config, ("tiny", "full")))
    assert dd.double_descent_config("tiny", steps=7).steps == 7
    with pytest.raises(ConfigError):
        dd.double_descent_config("huge")
    tc = dd.train_config(small)
    assert tc.schedule == "cosine" and tc.optimizer == "adam" and tc.steps == small.steps


def test_rf_curves_peak_at_the_threshold(cfg):
    curves = dd.rf_curves(cfg)
    assert sorted(curves) == sorted(cfg.rf_noises)
    r = curves[0.0]
    assert r.test_error.shape == (len(cfg.rf_seeds), len(cfg.rf_ratios), len(cfg.rf_lams))
    mse, norm = r.test_mse[..., 0].mean(0), r.coef_norm[..., 0].mean(0)
    assert r.ratios[mse.argmax()] == 1.0 and r.ratios[norm.argmax()] == 1.0
    assert r.ratios[r.s_min.mean(0).argmin()] == 1.0
    at = list(r.ratios).index(1.0)
    assert (r.test_mse[:, at, 1:].mean(0) < mse[at]).all(), "every ridge lowers the peak"
    # label noise hurts the fit at the largest N (the test labels are clean)
    assert curves[0.3].test_error[:, -1, 0].mean() > r.test_error[:, -1, 0].mean()


def test_rf_curves_fashion_and_bad_dataset(cfg):
    r = dd.rf_curves(cfg, "fashion")
    assert list(r) == [0.0] and r[0.0].n_train == cfg.fashion_n
    assert r[0.0].ratios[r[0.0].test_mse[..., 0].mean(0).argmax()] == 1.0
    with pytest.raises(ValueError, match="valid: 'mnist1d', 'fashion'"):
        dd.rf_curves.uncached(cfg, "cifar")
    with pytest.raises(ValueError, match="rf_n=1000000 is out of range"):  # the config refuses it at once
        dd.double_descent_config("tiny", rf_n=10**6)
    with pytest.raises(ValueError, match="examples, asked for"):
        dd._dataset("mnist1d", 10**6, 10)


def test_isotropic_check_matches_theory(cfg):
    iso = dd.isotropic_check(cfg)
    z = (iso.mc_mean - iso.theory) / iso.mc_se
    assert len(iso.ps) == len(cfg.iso_gammas) and np.abs(z).max() < 4


def test_sample_wise_peaks_at_n_equal_N(cfg):
    sw = dd.sample_wise(cfg)
    assert sw.test_mse.shape == (len(cfg.sw_features), len(cfg.sw_seeds), len(cfg.sw_ns))
    for f, N in enumerate(sw.n_features):
        assert sw.ns[sw.test_mse[f].mean(0).argmax()] == N


def _sweep(test_final, train_final, widths=(2, 4, 8, 16, 32, 64)):
    """A hand-made WidthSweep with 2 seeds and 3 evaluations; the final values are as given."""
    W = len(widths)
    test = np.stack([np.full((2, 3), 0.9) for _ in range(W)])
    test[:, :, 1] = 0.3  # the middle evaluation is the best one
    test[:, :, -1] = np.asarray(test_final)[:, None]
    train = np.zeros((W, 2, 3))
    train[:, :, -1] = np.asarray(train_final)[:, None]
    return WidthSweep(np.array(widths), np.array([0, 1]), np.array(widths) ** 2, np.array([0, 50, 100]), train,
                      1 - train, test, 1 - test, ((widths),), 0.0)


def test_summaries_on_hand_made_curves():
    peaked = _sweep([0.6, 0.5, 0.55, 0.62, 0.45, 0.4], [0.5, 0.3, 0.05, 0.0, 0.0, 0.0])
    bump, h = dd.threshold_bump(peaked)
    assert h == 16 and bump == pytest.approx(0.62 - 0.5)  # window [8, 32]: max 0.62; below 8: min 0.5
    assert dd.first_minimum_and_peak(peaked) == (1, 3, 16)  # 0.5 at h = 4; 0.62 at h = 16
    late = _sweep([0.6, 0.5, 0.55, 0.5, 0.45, 0.7], [0.5, 0.3, 0.05, 0.0, 0.0, 0.0])
    assert dd.first_minimum_and_peak(late)[1] == 5, "the peak may lie beyond 2 h*: it is found, not assumed"
    falling = _sweep([0.6, 0.5, 0.45, 0.42, 0.4, 0.38], [0.5, 0.3, 0.05, 0.0, 0.0, 0.0])
    assert dd.threshold_bump(falling)[0] < 0
    np.testing.assert_allclose(dd.early_stopped(peaked), 0.3)
    assert dd.rise_above_running_min([3, 2, 2.5, 1, 1.2]) == pytest.approx(0.5)
    assert dd.rise_above_running_min([3, 2, 1]) == 0.0
    assert dd.first_minimum(np.array([0.1, 0.5, 1, 2]), np.array([0.5, 0.4, 0.9, 0.1]), before=1.0) == (0.5, 0.4)
    with pytest.raises(ValueError, match="no width reached zero training error"):
        dd.threshold_bump(_sweep([0.5] * 6, [0.2] * 6))
    with pytest.raises(ValueError, match="no width below"):
        dd.threshold_bump(_sweep([0.5] * 6, [0.0] * 6))
    with pytest.raises(ValueError, match="no width below"):
        dd.first_minimum_and_peak(_sweep([0.5] * 6, [0.0] * 6))


def test_deep_double_descent_runs_every_width_and_seed(cfg):
    cfg = dataclasses.replace(cfg, deep_n_train=4000)  # the chapter's data: on tiny's 400 every width fits the noise
    sweeps = dd.deep_double_descent(cfg)
    assert sorted(sweeps) == [0.0, cfg.deep_noise]
    sweep, clean = sweeps[cfg.deep_noise], sweeps[0.0]
    n_evals = cfg.steps // cfg.eval_every + 1
    assert sweep.test_error.shape == (len(cfg.widths), len(cfg.deep_seeds), n_evals)
    assert sweep.widths.tolist() == list(cfg.widths)
    assert sweep.n_params.tolist() == [h * h + 52 * h + 10 for h in cfg.widths]
    assert sweep.final("train_error")[-1].mean() < sweep.final("train_error")[0].mean()  # wider fits better
    assert clean.test_error.shape[1] == len(cfg.clean_seeds)
    # labels with 15 % noise are harder to fit than clean ones
    assert sweep.final("train_error").mean() > clean.final("train_error").mean()


def _assert_labelled(fig):
    for ax in fig.axes:
        assert ax.get_xlabel(), f"panel {ax.get_title()!r} has no x label"
        assert ax.get_title(), "every panel has a title saying what to see"
        assert ax.get_ylabel(), f"panel {ax.get_title()!r} has no y label"


def test_figures_are_labelled(cfg):
    curves = dd.rf_curves(cfg)
    sweeps = dd.deep_double_descent(cfg)
    noisy, clean = sweeps[cfg.deep_noise], sweeps[0.0]
    figs = [dd.plot_rf_curve({"MNIST-1D": curves[0.0]}), dd.plot_rf_explain(curves[0.0]),
            dd.plot_ridge(curves[0.0]), dd.plot_isotropic(dd.isotropic_check(cfg)),
            dd.plot_sample_wise(dd.sample_wise(cfg)), dd.plot_deep(noisy, clean),
            dd.plot_epoch_wise(noisy, (2, 64))]
    for fig in figs:
        _assert_labelled(fig)
    plt.close("all")


def test_cnn_sweep_is_a_full_scale_experiment_that_runs_on_small_inputs(cfg):
    with pytest.raises(ValueError, match="full scale"):
        dd.cnn_double_descent.uncached(cfg)
    assert dd.double_descent_config("full").cnn_widths, "the full scale runs the Fashion-MNIST CNN sweep"
    small = dd.double_descent_config("tiny", cnn_widths=(1, 2), cnn_seeds=(0,), cnn_n_train=64, cnn_n_test=64,
                                     cnn_steps=20, eval_every=10)
    sweeps = dd.cnn_double_descent.uncached(small)
    assert sorted(sweeps) == [0.0, small.deep_noise]
    noisy = sweeps[small.deep_noise]
    assert noisy.test_error.shape == (2, 1, 3) and noisy.widths.tolist() == [1, 2]
    assert noisy.n_params.tolist() == [param_count(dd.cnn(c)) for c in (1, 2)]
    plt.close(dd.plot_deep(noisy, sweeps[0.0], paper=None, xlabel="channels c"))
