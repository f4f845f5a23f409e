"""Chapter 4's experiments at the tiny scale, and its config: the noise and dropout layers do what they say
(identity in eval mode, trainable in the vectorized ensemble), the power-law fit recovers known exponents, early
stopping picks the validation minimum, the bounds and conversions match hand computations, and every figure is
labelled."""

import dataclasses

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlgen_lib import (  # noqa: E402
    MLP,
    build,
    fits,
    landscape,  # noqa: E402
    train_ensemble,
)
from dlgen_lib.bounds import validation_bound  # noqa: E402
from dlgen_lib.chapters import ch04_implicit_regularization as ch  # noqa: E402
from dlgen_lib.checks import paired_gap  # noqa: E402
from dlgen_lib.config import ConfigError, scaled  # noqa: E402
from dlgen_lib.train import TrainConfig  # noqa: E402


@pytest.fixture(scope="module")
def cfg():
    return scaled(ch.ImplicitRegularizationConfig, "tiny")


def test_config_scales_and_overrides():
    small = scaled(ch.ImplicitRegularizationConfig, "small")
    assert small.main.reg_noise in small.main.noises and len(small.main.seeds) >= 3 and len(small.main.noises) >= 6
    assert min(small.curves.ns) * 16 <= max(small.curves.ns) and len(small.curves.ns) >= 5
    for scale in ("tiny", "small", "full"):
        c = scaled(ch.ImplicitRegularizationConfig, scale)
        assert c.main.reg_noise in c.main.noises and 1.0 in c.main.init_scales
        cp = c.critical
        assert all(e % cp.segment == 0 for e in cp.deficit_ends) and cp.post_steps % cp.segment == 0
        assert c.split.n_train + c.split.n_val <= 4000 and max(c.curves.ns) <= 4000
    tiny = scaled(ch.ImplicitRegularizationConfig, "tiny", main=dict(steps=7))
    assert tiny.main.steps == 7 and tiny.main.eval_every == 25, "the other fields of the part keep the scale's values"
    assert ch.CONFIG is ch.ImplicitRegularizationConfig
    with pytest.raises(ConfigError):
        scaled(ch.ImplicitRegularizationConfig, "huge")


# one representative bad value (or more) per part: (overrides, where the message names it, the field it names)
BAD_VALUES = [
    (dict(split=dict(n_train=3900)), "ImplicitRegularizationConfig.split", "n_val"),  # 3 900 + 200 > 4 000
    (dict(split=dict(n_val=0)), "ImplicitRegularizationConfig.split", "n_val"),
    (dict(net=dict(lr=0.0)), "ImplicitRegularizationConfig.net", "lr"),
    (dict(main=dict(reg_noise=0.5)), "ImplicitRegularizationConfig.main", "reg_noise"),  # not one of the noises
    (dict(main=dict(noises=(0.0, 0.3, 1.5))), "ImplicitRegularizationConfig.main", "noises"),
    (dict(curves=dict(ns=(50, 8000))), "ImplicitRegularizationConfig.curves", "ns"),
    (dict(flat=dict(top_k=9)), "ImplicitRegularizationConfig.flat", "top_k"),  # more than the 8 Lanczos steps
    (dict(flat=dict(momentum=1.0)), "ImplicitRegularizationConfig.flat", "momentum"),
    (dict(critical=dict(blur=3)), "ImplicitRegularizationConfig.critical", "blur"),
    (dict(critical=dict(deficit_ends=(100, 200))), "ImplicitRegularizationConfig.critical", "deficit_ends"),
    (dict(critical=dict(deficit_ends=(0, 70))), "ImplicitRegularizationConfig.critical", "segment"),
    # relations between parts: checked by the top config, named with dotted names
    (dict(curvature=dict(examples=400)), "ImplicitRegularizationConfig", "curvature.examples"),  # n_train is 300
    (dict(critical=dict(fisher_examples=301)), "ImplicitRegularizationConfig", "critical.fisher_examples"),
]


@pytest.mark.parametrize(("overrides", "where", "field"), BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_part_and_field(overrides, where, field):
    with pytest.raises(ConfigError) as err:
        scaled(ch.ImplicitRegularizationConfig, "tiny", **overrides)
    message = str(err.value)
    assert where in message and f"{field}=" in message and "must" in message, message


# ------------------------------------------------------------------------------------------ layers


def test_regularized_mlp_matches_the_plain_mlp_without_noise():
    plain, reg = build(lambda: MLP(40, [16, 16], 10), 3), build(lambda: ch.regularized_mlp(16, 0.7, 0.4), 3)
    x = torch.randn(50, 40)
    assert torch.allclose(plain(x), reg.eval()(x), atol=1e-6)  # same initialization, identity layers in eval


def test_noise_layers_train_in_the_ensemble(mnist1d_data):
    """σ = p = 0 reproduces the plain MLP's trajectory (vmap path vs batched-matmul path); with noise, each model
    gets its own rate, training still lowers the loss, and models that differ only in σ end apart."""
    x, y = mnist1d_data.x_train[:256], mnist1d_data.y_train[:256]
    tc = TrainConfig(steps=60, lr=3e-3, optimizer="adam", batch_size=32, eval_every=60)
    specs = [ch.RunSpec(0.0, 0), ch.RunSpec(0.0, 0, input_noise=0.5), ch.RunSpec(0.0, 0, dropout=0.3),
             ch.RunSpec(0.0, 1, init_scale=2.0)]
    ens = ch.build_ensemble(specs, 16)
    assert ens.buffers["0.sigma"].tolist() == [0.0, 0.5, 0.0, 0.0]
    assert ens.buffers["3.p"][2].item() == pytest.approx(0.3)
    w_plain = build(lambda: MLP(40, [16, 16], 10), 1)[1].weight
    assert torch.allclose(ens.params["1.weight"][3], 2 * w_plain)
    ens, hist = train_ensemble(None, [0, 0, 0, 1], x, y, tc, ensemble=ens, show_progress=False)
    _, ref = train_ensemble(lambda: MLP(40, [16, 16], 10), [0], x, y, tc, show_progress=False)
    assert np.allclose(hist.train_loss[0], ref.train_loss[0], rtol=1e-4)
    assert (hist.train_loss[:, -1] < hist.train_loss[:, 0]).all()
    assert not torch.allclose(ens.params["1.weight"][0], ens.params["1.weight"][1])
    single = ens.model(1)  # a stand-alone copy keeps its σ and is deterministic in eval mode
    assert single[0].sigma.item() == 0.5 and torch.equal(single.eval()(x), single.eval()(x))


# ------------------------------------------------------------------------------------------ fits and summaries


@pytest.mark.parametrize("b", [-0.07, -0.2, -0.35, -0.5])
def test_power_law_fit_recovers_known_exponents(b):
    n = np.geomspace(100, 100_000, 10)
    gen = np.random.default_rng(0)
    err = 2.0 * n ** b * np.exp(gen.normal(0, 0.005, len(n)))  # 0.5 % multiplicative noise
    assert fits.fit_power_law(n, err, floor=False).b == pytest.approx(b, abs=0.01)
    law = fits.fit_power_law(n, 2.0 * n ** b + 0.05, floor=True)
    assert law.b == pytest.approx(b, abs=0.03) and law.c == pytest.approx(0.05, abs=0.01)


def _fake_runs(val, test, specs=None, wd=None) -> ch.RegularizationRuns:
    val, test = np.asarray(val, float), np.asarray(test, float)
    K, E = val.shape
    specs = specs or [ch.RunSpec(0.3, s) for s in range(K)]
    return ch.RegularizationRuns(specs, np.zeros(K) if wd is None else np.asarray(wd, float), np.arange(E) * 10,
                                 np.zeros((K, E)), val, test, test, np.full(K, np.nan), 100, 1000, 0.0)


def test_early_stopping_picks_the_validation_minimum():
    val = [[0.9, 0.5, 0.4, 0.6], [0.9, 0.3, 0.5, 0.5]]
    test = [[0.8, 0.55, 0.45, 0.7], [0.8, 0.35, 0.6, 0.6]]
    err, at = _fake_runs(val, test).at_best_validation(np.array([0, 1]))
    assert at.tolist() == [2, 1] and np.allclose(err, [0.45, 0.35])


def test_compare_controls_picks_strengths_on_validation():
    cfg = scaled(ch.ImplicitRegularizationConfig, "tiny",
                 main=dict(seeds=(0, 1), dropouts=(0.1, 0.5), input_noises=(0.2,), weight_decays=(1e-3,)))
    specs = [ch.RunSpec(0.3, s) for s in (0, 1)] + [ch.RunSpec(0.3, s, dropout=d) for d in (0.1, 0.5) for s in (0, 1)]
    specs += [ch.RunSpec(0.3, s, input_noise=0.2) for s in (0, 1)] + [ch.RunSpec(0.3, s) for s in (0, 1)]
    # final validation errors: dropout 0.5 is better on validation, so it is chosen
    finals = [0.6, 0.6, 0.55, 0.55, 0.5, 0.52, 0.58, 0.58, 0.59, 0.57]
    val = np.array([[0.9, 0.5, f] for f in finals])
    test = np.array([[0.9, 0.45, f + 0.01] for f in finals])
    runs = _fake_runs(val, test, specs, wd=[0] * 8 + [1e-3] * 2)
    s = ch.compare_controls(runs, cfg.main)
    assert s["dropout"].chosen == 0.5 and np.allclose(s["dropout"].chosen_test, [0.51, 0.53])
    assert np.allclose(s["early stopping"].chosen_test, [0.45, 0.45])
    assert np.allclose(s["weight decay"].chosen_test, [0.60, 0.58])
    gain, se = paired_gap(s["none (train to the end)"].chosen_test, s["early stopping"].chosen_test)
    assert gain == pytest.approx(0.16) and se == pytest.approx(0.0, abs=1e-12)


def test_bounds_and_noise_conversion():
    table = ch.validation_bounds(0.3, 1000, [0.1, 0.05], [1, 100])
    assert table[1, 0] == pytest.approx(validation_bound(0.3, 1, 1000, 0.05))
    assert table[0, 0] < table[1, 0] < table[1, 1]
    # simulate: a classifier with clean error e, labels redrawn uniformly with probability p
    gen = np.random.default_rng(0)
    n, p, e = 200_000, 0.3, 0.4
    y = gen.integers(10, size=n)
    pred = np.where(gen.random(n) < e, (y + 1 + gen.integers(9, size=n)) % 10, y)
    noisy = np.where(gen.random(n) < p, gen.integers(10, size=n), y)
    assert ch.clean_error_from_noisy((pred != noisy).mean(), p) == pytest.approx(e, abs=0.005)


def test_rise_then_fall():
    assert ch.rise_then_fall([1.0, 4.0, 8.0, 6.0]) == (2, 8.0, 0.75)


def test_blur_averages_windows():
    x = torch.arange(8.0).reshape(1, 8)
    assert ch.blur(x, 4).tolist() == [[1.5] * 4 + [5.5] * 4]
    with pytest.raises(ValueError, match="multiple"):
        ch.blur(x, 3)


def test_rescaling_keeps_the_function_and_changes_the_curvature(mnist1d_data):
    net = build(lambda: MLP(40, [16, 16], 10), 0)
    x, y = mnist1d_data.x_train[:200], mnist1d_data.y_train[:200]
    scaled = landscape.rescale_layers(net, 0.25)
    assert torch.allclose(net(x), scaled(x), atol=1e-5)
    assert not torch.allclose(net[1].weight, scaled[1].weight)
    assert landscape.top_eigenvalue(scaled, x, y, 20) > 4 * landscape.top_eigenvalue(net, x, y, 20)


# ------------------------------------------------------------------------------------------ experiments (tiny)


def test_regularization_runs(cfg):
    runs = ch.regularization_runs(cfg.net, cfg.split, cfg.curvature, cfg.main)
    main = cfg.main
    K = len(main.noises) * len(main.seeds) + len(main.seeds) * (len(main.dropouts) + len(main.input_noises)
                                                                + len(main.init_scales) - 1 + len(main.weight_decays))
    assert len(runs.specs) == K and runs.test_error.shape == (K, len(runs.step)) == runs.val_error.shape
    assert runs.step[0] == 0 and runs.step[-1] == main.steps
    for arr in (runs.train_error, runs.val_error, runs.test_error, runs.noisy_test_error):
        assert np.all((arr >= 0) & (arr <= 1))
    measured = np.isfinite(runs.init_curvature)
    assert measured.sum() == len(main.seeds) * len(main.init_scales) and (runs.init_curvature[measured] > 0).all()
    assert len(runs.select("plain", main.reg_noise)) == len(main.seeds)
    assert len(runs.select("weight decay")) == len(main.seeds) * len(main.weight_decays)
    assert ch.phase_grid(runs, main).shape == ch.phase_grid(runs, main, "gap").shape == (len(main.noises),
                                                                                          len(runs.step))
    # more label noise, more training error on the (noisy) labels trained on, before memorization
    assert ch.phase_grid(runs, main, "train_error")[-1, 1] > ch.phase_grid(runs, main, "train_error")[0, 1]
    summary = ch.compare_controls(runs, main)
    assert set(summary) == {"none (train to the end)", "early stopping", "weight decay", "dropout", "input noise"}
    with pytest.raises(ValueError, match="reg_noise"):
        ch.regularization_runs.uncached(cfg.net, cfg.split, cfg.curvature, dataclasses.replace(main, reg_noise=0.5))


def test_learning_curves(cfg):
    lc = ch.learning_curves(cfg.net, cfg.curves)
    assert set(lc.test_error) == {"MLP", "CNN"} and lc.ns.tolist() == list(cfg.curves.ns)
    for err in lc.test_error.values():
        assert err.shape == (len(cfg.curves.seeds), len(cfg.curves.ns)) and np.all((err >= 0) & (err <= 1))
    assert lc.n_params["CNN"] > 0 and lc.n_params["MLP"] == 40 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    for name, err in lc.test_error.items():  # even at the tiny scale, the most data gives the lowest error
        assert err[:, -1].mean() < err[:, 0].mean(), f"{name}: {err.mean(0)}"


def test_flat_minima(cfg):
    fm = ch.flat_minima(cfg.net, cfg.split, cfg.curvature, cfg.flat)
    flat = cfg.flat
    K = len(flat.batch_sizes) * len(flat.lrs) * len(flat.seeds)
    assert fm.eigenvalues.shape == (K, flat.top_k) and np.all(np.diff(fm.eigenvalues, axis=1) <= 1e-9)
    assert np.allclose(fm.occam, [-0.5 * np.log(e[e > 0]).sum() for e in fm.eigenvalues])
    assert np.all((fm.n_eff > 0) & (fm.n_eff <= flat.top_k))
    # every (learning rate, batch size) of the grid is there, once per seed
    grid = sorted((lr, b) for lr in flat.lrs for b in flat.batch_sizes for _ in flat.seeds)
    assert sorted(zip(fm.lr.tolist(), fm.batch_size.tolist())) == grid


def test_critical_periods(cfg):
    cp = ch.critical_periods(cfg.net, cfg.split, cfg.critical)
    V, S = len(cfg.critical.deficit_ends), len(cfg.critical.seeds)
    assert cp.test_error.shape == (S, V) and cp.curves.shape[:2] == (V, S)
    assert cp.step[-1] == max(cfg.critical.deficit_ends) + cfg.critical.post_steps
    assert cp.fisher.shape == (S, len(cp.step))
    assert np.all(cp.fisher > 0) and cp.fisher[:, -1].mean() > cp.fisher[:, 0].mean()
    with pytest.raises(ValueError, match="multiples"):
        ch.critical_periods.uncached(cfg.net, cfg.split, dataclasses.replace(cfg.critical, deficit_ends=(0, 70)))


def test_figures_are_labelled(cfg):
    runs = ch.regularization_runs(cfg.net, cfg.split, cfg.curvature, cfg.main)
    lc = ch.learning_curves(cfg.net, cfg.curves)
    laws = {k: fits.fit_power_law(lc.ns, v.mean(0)) for k, v in lc.test_error.items()}
    figs = [ch.plot_controls(runs, ch.compare_controls(runs, cfg.main), cfg.main), ch.plot_phase(runs, cfg.main),
            ch.plot_learning_curves(lc, laws), ch.plot_init_curvature(runs, cfg.main),
            ch.plot_flatness(ch.flat_minima(cfg.net, cfg.split, cfg.curvature, cfg.flat)),
            ch.plot_critical(ch.critical_periods(cfg.net, cfg.split, cfg.critical))]
    for fig in figs:
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        plt.close(fig)
