"""Chapter 7's experiments at the tiny scale: the closed-form claims hold on small inputs too, the summaries
compute what they say on hand-made curves, bad input gets a clear error, and every figure is labelled."""

import dataclasses

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlgen_lib.chapters import ch07_double_descent as ch  # noqa: E402
from dlgen_lib.chapters.ch07_double_descent.experiments import _dataset  # noqa: E402
from dlgen_lib.config import ConfigError, scaled  # noqa: E402
from dlgen_lib.models import param_count  # noqa: E402
from dlgen_lib.sweeps import WidthSweep  # noqa: E402


@pytest.fixture(scope="module")
def cfg():
    return scaled(ch.DoubleDescentConfig, "tiny")


def test_config_scales_and_overrides():
    small = scaled(ch.DoubleDescentConfig, "small")
    assert 1.0 in small.rf.ratios and len(small.rf.ratios) >= 30 and min(small.rf.ratios) <= 0.1
    assert max(small.rf.ratios) >= 20 and len(small.deep.widths) >= 12 and min(small.deep.widths) <= 2
    assert max(small.deep.widths) >= 192 and len(small.deep.seeds) >= 10  # the widest well past h* (about 64 here)
    full = scaled(ch.DoubleDescentConfig, "full")
    assert full.train.label_noise == 0.15 and max(full.deep.widths) >= 512  # the MNIST-1D notebook's noise, range
    assert small.train.label_noise >= full.train.label_noise  # more noise at the small scale: a peak on every run
    assert all(1.0 in c.rf.ratios and 1.0 in c.fashion.ratios
               for c in (scaled(ch.DoubleDescentConfig, s) for s in ("tiny", "full")))
    cfg = scaled(ch.DoubleDescentConfig, "tiny", deep=dict(steps=7))
    assert cfg.deep.steps == 7 and cfg.deep.widths == (2, 8, 64), "the other fields of the part keep the scale's"
    assert all(c.rf.n_test == c.sample_wise.n_test
               for c in (scaled(ch.DoubleDescentConfig, s) for s in ("tiny", "small", "full")))
    with pytest.raises(ConfigError):
        scaled(ch.DoubleDescentConfig, "huge")
    tc = small.train.train_config(small.deep.steps)
    assert tc.schedule == "cosine" and tc.optimizer == "adam" and tc.steps == small.deep.steps


# one representative bad value (or more) per part: (overrides, the field the message must name)
BAD_VALUES = [
    (dict(rf=dict(n_test=4000)), "n_test"),  # MNIST-1D has 1 000 test examples
    (dict(rf=dict(n=10**6)), "n"),
    (dict(sample_wise=dict(n_test=4000)), "n_test"),
    (dict(sample_wise=dict(ns=(20, 8000))), "ns"),  # MNIST-1D has 4 000 training examples
    (dict(fashion=dict(n=70_000)), "n"),
    (dict(ridge=dict(lams=(0.0, -1.0))), "lams"),
    (dict(isotropic=dict(gammas=(0.001, 2.0))), "gammas"),  # p = round(γ n) = 0 features
    (dict(isotropic=dict(trials=1)), "trials"),
    (dict(train=dict(label_noise=0.0)), "label_noise"),  # the noisy sweep is compared with a clean one
    (dict(deep=dict(widths=(2, 2))), "widths"),
    (dict(cnn=dict(n_test=20_000)), "n_test"),
    (dict(draws=dict(seed=-1)), "seed"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_part_and_field(overrides, field):
    with pytest.raises(ConfigError) as err:
        scaled(ch.DoubleDescentConfig, "tiny", **overrides)
    message = str(err.value)
    (part,) = overrides
    assert f"DoubleDescentConfig.{part}" in message and f"{field}=" in message and "must" in message, message


def test_rf_curves_peak_at_the_threshold(cfg):
    curves = ch.rf_curves(cfg.rf, cfg.ridge, cfg.draws)
    assert sorted(curves) == sorted(cfg.rf.noises)
    r = curves[0.0]
    assert r.test_error.shape == (len(cfg.rf.seeds), len(cfg.rf.ratios), len(cfg.ridge.lams))
    mse, norm = r.test_mse[..., 0].mean(0), r.coef_norm[..., 0].mean(0)
    assert r.ratios[mse.argmax()] == 1.0 and r.ratios[norm.argmax()] == 1.0
    assert r.ratios[r.s_min.mean(0).argmin()] == 1.0
    at = list(r.ratios).index(1.0)
    assert (r.test_mse[:, at, 1:].mean(0) < mse[at]).all(), "every ridge lowers the peak"
    # label noise hurts the fit at the largest N (the test labels are clean)
    assert curves[0.3].test_error[:, -1, 0].mean() > r.test_error[:, -1, 0].mean()


def test_rf_curves_fashion_and_bad_dataset(cfg):
    r = ch.rf_curves(cfg.fashion, cfg.ridge, cfg.draws)
    assert list(r) == [0.0] and r[0.0].n_train == cfg.fashion.n
    assert r[0.0].ratios[r[0.0].test_mse[..., 0].mean(0).argmax()] == 1.0
    with pytest.raises(ValueError, match="valid: 'mnist1d', 'fashion'"):
        _dataset("cifar", 10, 10)
    with pytest.raises(ValueError, match="n=1000000 is out of range"):  # the config refuses it at once
        scaled(ch.DoubleDescentConfig, "tiny", rf=dict(n=10**6))
    with pytest.raises(ValueError, match="examples, asked for"):
        _dataset("mnist1d", 10**6, 10)


def test_isotropic_check_matches_theory(cfg):
    iso = ch.isotropic_check(cfg.isotropic, cfg.draws)
    z = (iso.mc_mean - iso.theory) / iso.mc_se
    assert len(iso.ps) == len(cfg.isotropic.gammas) and np.abs(z).max() < 4


def test_sample_wise_peaks_at_n_equal_N(cfg):
    sw = ch.sample_wise(cfg.sample_wise)
    assert sw.test_mse.shape == (len(cfg.sample_wise.n_features), len(cfg.sample_wise.seeds),
                                 len(cfg.sample_wise.ns))
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
    bump, h = ch.threshold_bump(peaked)
    assert h == 16 and bump == pytest.approx(0.62 - 0.5)  # window [8, 32]: max 0.62; below 8: min 0.5
    assert ch.first_minimum_and_peak(peaked) == (1, 3, 16)  # 0.5 at h = 4; 0.62 at h = 16
    late = _sweep([0.6, 0.5, 0.55, 0.5, 0.45, 0.7], [0.5, 0.3, 0.05, 0.0, 0.0, 0.0])
    assert ch.first_minimum_and_peak(late)[1] == 5, "the peak may lie beyond 2 h*: it is found, not assumed"
    falling = _sweep([0.6, 0.5, 0.45, 0.42, 0.4, 0.38], [0.5, 0.3, 0.05, 0.0, 0.0, 0.0])
    assert ch.threshold_bump(falling)[0] < 0
    np.testing.assert_allclose(ch.early_stopped_error(peaked), 0.3)
    assert ch.rise_above_running_min([3, 2, 2.5, 1, 1.2]) == pytest.approx(0.5)
    assert ch.rise_above_running_min([3, 2, 1]) == 0.0
    assert ch.first_minimum(np.array([0.1, 0.5, 1, 2]), np.array([0.5, 0.4, 0.9, 0.1]), before=1.0) == (0.5, 0.4)
    with pytest.raises(ValueError, match="no width reached zero training error"):
        ch.threshold_bump(_sweep([0.5] * 6, [0.2] * 6))
    with pytest.raises(ValueError, match="no width below"):
        ch.threshold_bump(_sweep([0.5] * 6, [0.0] * 6))
    with pytest.raises(ValueError, match="no width below"):
        ch.first_minimum_and_peak(_sweep([0.5] * 6, [0.0] * 6))


def test_deep_double_descent_runs_every_width_and_seed(cfg):
    deep = dataclasses.replace(cfg.deep, n_train=4000)  # the chapter's data: on tiny's 400 every width fits the noise
    sweeps = ch.deep_double_descent(deep, cfg.train, cfg.draws)
    noise = cfg.train.label_noise
    assert sorted(sweeps) == [0.0, noise]
    sweep, clean = sweeps[noise], sweeps[0.0]
    n_evals = deep.steps // cfg.train.eval_every + 1
    assert sweep.test_error.shape == (len(deep.widths), len(deep.seeds), n_evals)
    assert sweep.widths.tolist() == list(deep.widths)
    assert sweep.n_params.tolist() == [h * h + 52 * h + 10 for h in deep.widths]
    assert sweep.final("train_error")[-1].mean() < sweep.final("train_error")[0].mean()  # wider fits better
    assert clean.test_error.shape[1] == len(deep.clean_seeds)
    # labels with 15 % noise are harder to fit than clean ones
    assert sweep.final("train_error").mean() > clean.final("train_error").mean()


def _assert_labelled(fig):
    for ax in fig.axes:
        assert ax.get_xlabel(), f"panel {ax.get_title()!r} has no x label"
        assert ax.get_title(), "every panel has a title saying what to see"
        assert ax.get_ylabel(), f"panel {ax.get_title()!r} has no y label"


def test_figures_are_labelled(cfg):
    curves = ch.rf_curves(cfg.rf, cfg.ridge, cfg.draws)
    sweeps = ch.deep_double_descent(cfg.deep, cfg.train, cfg.draws)
    noisy, clean = sweeps[cfg.train.label_noise], sweeps[0.0]
    figs = [ch.plot_rf_curve({"MNIST-1D": curves[0.0]}), ch.plot_rf_explain(curves[0.0]),
            ch.plot_ridge(curves[0.0]), ch.plot_isotropic(ch.isotropic_check(cfg.isotropic, cfg.draws)),
            ch.plot_sample_wise(ch.sample_wise(cfg.sample_wise)), ch.plot_width_sweep(noisy, clean),
            ch.plot_epoch_wise(noisy, (2, 64))]
    for fig in figs:
        _assert_labelled(fig)
    plt.close("all")


def test_cnn_sweep_is_a_full_scale_experiment_that_runs_on_small_inputs(cfg):
    with pytest.raises(ValueError, match="full scale"):
        ch.cnn_double_descent.uncached(cfg.cnn, cfg.train, cfg.draws)
    assert scaled(ch.DoubleDescentConfig, "full").cnn.widths, "the full scale runs the Fashion-MNIST CNN sweep"
    small = scaled(ch.DoubleDescentConfig, "tiny", cnn=dict(widths=(1, 2), seeds=(0,), n_train=64, n_test=64,
                                                            steps=20), train=dict(eval_every=10))
    sweeps = ch.cnn_double_descent.uncached(small.cnn, small.train, small.draws)
    assert sorted(sweeps) == [0.0, small.train.label_noise]
    noisy = sweeps[small.train.label_noise]
    assert noisy.test_error.shape == (2, 1, 3) and noisy.widths.tolist() == [1, 2]
    assert noisy.n_params.tolist() == [param_count(small.cnn.network(c)) for c in (1, 2)]
    plt.close(ch.plot_width_sweep(noisy, sweeps[0.0], paper=None, xlabel="channels c"))
