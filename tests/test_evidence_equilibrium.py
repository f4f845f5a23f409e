"""Chapter 9's experiments at the tiny scale: the evidence sweep ranks labellings, linear SGD's measured current
matches its exact value and isotropic noise has none, the plateau run records what the figures need, the local
entropy moves the minimum to the wide well; the figures are labelled and the config rejects bad values."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlgen_lib import nonequilibrium as neq  # noqa: E402
from dlgen_lib.chapters import ch09_evidence_or_equilibrium as ch  # noqa: E402
from dlgen_lib.config import ConfigError, scaled  # noqa: E402


@pytest.fixture(scope="module")
def cfg():
    return scaled(ch.EvidenceOrEquilibriumConfig, "tiny")


BAD_VALUES = [
    (dict(evidence=dict(corruption=(0.0, 0.5))), "corruption"),  # must reach 1.0 and have 3 levels
    (dict(evidence=dict(corruption=(0.2, 0.5, 1.0))), "corruption"),  # must start at the true labels
    (dict(evidence=dict(alphas=(10.0, 1.0, 100.0))), "alphas"),
    (dict(evidence=dict(noise=0.0)), "noise"),
    (dict(current=dict(lr=5.0)), "lr"),  # unstable for curvature 1
    (dict(current=dict(burn_in=800)), "burn_in"),  # tiny runs 800 steps
    (dict(current=dict(curvatures=(1.0,))), "curvatures"),
    (dict(plateau=dict(weight_decay=0.0)), "weight_decay"),
    (dict(plateau=dict(eval_every=100)), "eval_every"),  # tiny runs 200 steps: fewer than 4 evaluations
    (dict(entropy=dict(narrow=(-1.0, 2.0, 0.08))), "narrow"),  # shallower than the wide well
    (dict(entropy_sgd=dict(steps=205)), "steps"),  # not a multiple of inner_steps
    (dict(entropy_sgd=dict(sigma=0.0)), "sigma"),
    (dict(entropy_sgd=dict(target_loss=0.0)), "target_loss"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_part_and_field(overrides, field):
    with pytest.raises(ConfigError) as err:
        scaled(ch.EvidenceOrEquilibriumConfig, "tiny", **overrides)
    (part,) = overrides
    assert f"{part}.{field}" in err.value.fields and "must" in str(err.value), str(err.value)


def test_evidence_prefers_true_labels(cfg):
    r = ch.evidence_sweep(cfg.evidence)
    assert r.log_z.shape == r.test_acc.shape == r.fit_occam.shape == (3, 5)
    best = r.log_z.max(1)
    assert best[0] > best[-1] + 0.05 and best[0] - r.null > 0.05  # true labels beat random ones and the null
    assert best[-1] - r.null < 0.01  # random labels: nothing beats predicting nothing
    assert np.allclose(r.fit_data + r.fit_occam, r.fit_log_z)
    j = int(r.fit_log_z[0].argmax())  # where the chapter reads the split
    assert (r.fit_train_acc[:, j] == 1).all()  # at the small noise every labelling is fitted


def test_the_null_is_the_evidence_without_features():
    """α → ∞ switches the features off: ln Z tends to the null model's, which the sweep computes by hand."""
    from dlgen_lib.data import mnist1d
    from dlgen_lib.evidence import gram_spectrum, log_evidence

    cfg = scaled(ch.EvidenceConfig, "tiny")
    r = ch.evidence_sweep(cfg)
    y = torch.nn.functional.one_hot(mnist1d().y_train[:cfg.n_train], 10).double() - 0.1
    spec = gram_spectrum(torch.randn(cfg.n_train, 7, dtype=torch.float64))
    assert log_evidence(spec, y, 1e12, cfg.noise).per_example[0] == pytest.approx(r.null, abs=1e-8)


def test_exact_linear_sgd_in_one_dimension():
    """In 1-D the second-moment recursion is a scalar: S = (1 − ηH)² S + (η²/B)(E x⁴ − H²) S + (η²/B) Σ*."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1.3, (50, 1))
    r = rng.normal(0, 0.4, 50)
    lr, b = 0.15, 3
    h, m4, sig = (x ** 2).mean(), (x ** 4).mean(), (r ** 2 * x[:, 0] ** 2).mean()
    expect = lr ** 2 / b * sig / (1 - (1 - lr * h) ** 2 - lr ** 2 / b * (m4 - h ** 2))
    assert ch.exact_linear_sgd(x, r, lr, b)[0, 0] == pytest.approx(expect, rel=1e-12)


def test_sgd_current_matches_its_exact_value_and_isotropic_noise_has_none(cfg):
    r = ch.sgd_current(cfg.current)
    sgd, iso = r.circulation["sgd"], r.circulation["iso"]
    assert abs(sgd - r.circulation_exact["sgd"]) < 4 * r.circulation_se["sgd"]
    assert sgd > 10 * r.circulation_se["sgd"]  # clearly non-zero
    assert abs(iso) < 4 * r.circulation_se["iso"] and r.circulation_exact["iso"] == pytest.approx(0, abs=1e-15)
    assert np.allclose(r.cov["sgd"], r.cov_exact["sgd"], rtol=0.15)
    assert neq.axis_gap(r.cov["iso"], r.cov_gibbs) < 10 < neq.axis_gap(r.cov["sgd"], r.cov_gibbs)
    assert r.current["sgd"].shape == (cfg.current.bins, cfg.current.bins, 2)


def test_plateau_records_loss_distance_and_snr(cfg):
    p = cfg.plateau
    r = ch.plateau(p)
    k = 2 * len(p.seeds)
    assert r.train_loss.shape == r.distance.shape == r.norm.shape == (k, p.steps // p.eval_every + 1)
    assert r.snr.shape == (k, len(r.snr_step)) and r.snr_step[0] == 0 and (r.snr > 0).all()
    assert (r.distance[:, r.step == p.steps // 2] == 0).all()
    assert r.train_loss[:, -1].max() < r.train_loss[:, 0].min()  # it learns
    # the SNR at step 0, recomputed by brute force from the freshly built model: the mean over minibatches drawn
    # with replacement of ‖ĝ_B − ∇L‖² is tr Σ / B
    from dlgen_lib.data import mnist1d
    from dlgen_lib.models import MLP, build

    data = mnist1d().subset(n_train=p.n_train)
    model = build(lambda: MLP(data.x_train.shape[1], list(p.widths)), p.seeds[0])
    loss = torch.nn.functional.cross_entropy
    full = torch.cat([g.flatten() for g in torch.autograd.grad(loss(model(data.x_train), data.y_train),
                                                               list(model.parameters()))])
    gen = torch.Generator().manual_seed(0)
    spread = []
    for _ in range(400):
        idx = torch.randint(0, p.n_train, (p.batch_size,), generator=gen)
        g = torch.autograd.grad(loss(model(data.x_train[idx]), data.y_train[idx]), list(model.parameters()))
        spread.append(float(((torch.cat([t.flatten() for t in g]) - full) ** 2).sum()))
    assert r.snr[0, 0] == pytest.approx(float((full ** 2).sum()) / np.mean(spread), rel=0.15)


def test_local_entropy_moves_the_minimum_to_the_wide_well(cfg):
    r = ch.local_entropy_landscape(cfg.entropy)
    narrow, wide = cfg.entropy.narrow[0], cfg.entropy.wide[0]
    assert abs(r.argmin_loss - narrow) < 0.05
    assert abs(r.argmin_free[1] - wide) < 0.1  # γ = 10
    assert abs(r.argmin_free[-1] - narrow) < 0.05  # γ = 1000: the coupling is tighter than the narrow well
    assert (r.curvature_free < r.curvature_loss).all()
    f = ch.wells(cfg.entropy)
    assert float(f(torch.tensor(narrow))) < float(f(torch.tensor(wide))) < 0


def test_figures_have_labelled_axes(cfg):
    figs = [ch.plot_evidence(ch.evidence_sweep(cfg.evidence)), ch.plot_current(ch.sgd_current(cfg.current)),
            ch.plot_plateau(ch.plateau(cfg.plateau)),
            ch.plot_entropy(ch.local_entropy_landscape(cfg.entropy))]
    for fig in figs:
        for ax in fig.axes:  # a twin axis shares its x label with its sibling
            siblings = ax.get_shared_x_axes().get_siblings(ax)
            assert ax.get_ylabel() and any(sib.get_xlabel() for sib in siblings), ax.get_title()
        plt.close(fig)
    fig, ax = plt.subplots()
    ch.draw_local_entropy(ch.local_entropy_landscape(cfg.entropy))(10.0, ax)
    assert ax.get_title().startswith("γ = 10")
    plt.close(fig)


def test_noise_weights_have_the_minibatch_covariance():
    """Σ_i w2_i g_i has covariance Σ/B (Σ the per-example gradients' covariance, divisor n); SGD's w1 is a batch."""
    from dlgen_lib.chapters.ch09_evidence_or_equilibrium.experiments import KINDS, _weights

    gen = torch.Generator().manual_seed(0)
    n, b = 6, 2
    g = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    kind = torch.full((20000,), KINDS.index("covariance"))
    _, w2 = _weights(kind, n, b, gen)
    xi = w2.double() @ g  # (draws, 3)
    centred = g - g.mean(0)
    assert torch.allclose(xi.T @ xi / len(xi), centred.T @ centred / n / b, atol=0.03)
    w1, w2 = _weights(torch.tensor([KINDS.index("sgd"), KINDS.index("gd")]), n, b, gen)
    assert (w2 == 0).all() and torch.allclose(w1.sum(1), torch.ones(2))
    assert int((w1[0] > 0).sum()) == b and torch.allclose(w1[1], torch.full((n,), 1 / n))


def test_noise_kinds_runs_every_kind(cfg):
    r = ch.noise_kinds(cfg.noise)
    s = len(cfg.noise.seeds)
    assert r.sharpness.shape == r.test_acc.shape == r.moved.shape == (4, s) and r.kinds == ch.experiments.KINDS
    assert (r.sharpness > 0).all() and (r.sharpness_start > 0).all() and (r.noise_norm > 0).all()
    assert (r.moved[0] > 0).all() and (r.moved[1:] > r.moved[0]).all()  # the noisy dynamics move further than GD
    assert r.dropout == cfg.noise.dropout and r.dropout_sharpness.shape == r.dropout_test_acc.shape == (s,)
    assert (r.dropout_sharpness > 0).all() and (r.dropout_moved > 0).all() and np.isfinite(r.dropout_train_loss).all()
    fig = ch.plot_noise_kinds(r)
    assert all(ax.get_ylabel() for ax in fig.axes)
    plt.close(fig)


def test_entropy_sgd_compares_the_methods_at_equal_loss(cfg):
    c = cfg.entropy_sgd
    r = ch.entropy_sgd(c)
    s = len(c.seeds)
    assert r.methods == ch.METHODS and r.train_loss.shape == (3, s, c.steps // c.inner_steps + 1)
    assert np.allclose(r.train_loss[:, :, 0], r.train_loss[0, :, 0])  # the same initial networks for every method
    assert r.step[-1] == c.steps and (r.sharpness_end > 0).all()
    reached = np.isfinite(r.reach)
    assert reached[0].all()  # SGD reaches the tiny scale's loose target
    assert (r.loss_target[reached] <= c.target_loss).all() and (r.sharpness_target[reached] > 0).all()
    for i, j in zip(*np.nonzero(reached)):  # the first evaluation at or below the target
        e = int(np.flatnonzero(r.step == r.reach[i, j])[0])
        assert r.train_loss[i, j, e] <= c.target_loss and (r.train_loss[i, j, :e] > c.target_loss).all()
    fig = ch.plot_entropy_sgd(r)
    assert all(ax.get_ylabel() and ax.get_xlabel() for ax in fig.axes)
    plt.close(fig)


def test_dropout_forward_is_the_ensemble_forward_at_rate_zero_and_masks_units_otherwise():
    from dlgen_lib.chapters.ch09_evidence_or_equilibrium.experiments import _dropout_forward
    from dlgen_lib.models import MLP
    from dlgen_lib.train import Ensemble

    ens = Ensemble.build(lambda: MLP(6, [50]), [0, 1])
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(_dropout_forward(ens.base, ens.params, x, 0.0, None), ens.forward(x), atol=1e-6)
    a = _dropout_forward(ens.base, ens.params, x, 0.5, torch.Generator().manual_seed(1))
    b = _dropout_forward(ens.base, ens.params, x, 0.5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.allclose(a, ens.forward(x))  # reproducible, and it does drop units
    # the mean over many masks is the plain forward pass (inverted dropout is unbiased before the read-out)
    gen = torch.Generator().manual_seed(2)
    mean = torch.stack([_dropout_forward(ens.base, ens.params, x, 0.5, gen) for _ in range(4000)]).mean(0)
    assert torch.allclose(mean, ens.forward(x), atol=0.03)
    with pytest.raises(TypeError, match="Flatten / Linear / ReLU"):
        _dropout_forward(torch.nn.Sequential(torch.nn.Tanh()), {"w": torch.zeros(1, 1)}, x, 0.1, None)
