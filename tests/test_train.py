"""dlgen_lib.train: the ensemble trainer equals K separate runs; minibatches, histories, validation.

The key property: ``train_ensemble(factory, seeds, ...)`` trains K models at once (stacked parameters,
batched matrix products or ``torch.func.vmap``, hand-written SGD / Adam), and model k must follow the
trajectory of ``train(build(factory, seeds[k]), ..., seed=seeds[k])``, which uses ``torch.optim``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from dlgen_lib.data import corrupt_labels, randomize_inputs
from dlgen_lib.models import MLP, ConvNet1D, RateDropout, build
from dlgen_lib.train import BatchStream, Ensemble, History, TrainConfig, train, train_ensemble

SEEDS = (0, 1, 2)
METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")

SGD = TrainConfig(steps=60, lr=0.05, batch_size=64, momentum=0.9, weight_decay=5e-4, eval_every=20)
ADAM = TrainConfig(steps=60, lr=3e-3, batch_size=64, optimizer="adam", weight_decay=1e-4, eval_every=20)


def mlp() -> nn.Module:
    return MLP(40, [32, 32], 10)


def small_cnn() -> nn.Module:
    return ConvNet1D(40, channels=4)


@pytest.fixture(scope="module")
def data(mnist1d_data):
    """512 training and 256 test examples of MNIST-1D."""
    return mnist1d_data.subset(512, 256)


def separate_runs(factory, x, ys, cfgs, x_test, y_test, seeds=SEEDS, data_seeds=None, hooks=None):
    """Model k trained alone with torch.optim: train(build(factory, seeds[k]), x[k], ys[k], cfgs[k])."""
    runs = []
    for k, seed in enumerate(seeds):
        model = build(factory, seed)
        if hooks is not None:
            hooks(k, model)
        hist = train(model, x[k], ys[k], cfgs[k], x_test, y_test,
                     seed=seed if data_seeds is None else data_seeds[k], show_progress=False)
        runs.append((model, hist))
    return runs


def assert_same_as_separate(ens: Ensemble, hist: History, runs, atol: float) -> None:
    assert hist.step.tolist() == runs[0][1].step.tolist()
    for k, (model, single) in enumerate(runs):
        state = model.state_dict()
        assert set(ens.params) == set(state)
        for name, stacked in ens.params.items():
            torch.testing.assert_close(stacked[k], state[name], atol=atol, rtol=0,
                                       msg=lambda m, k=k, name=name: f"model {k}, {name}: {m}")
        for metric in METRICS:
            # a near-tie of two logits may flip one prediction under another summation order: allow one
            # example (of the smallest set, 128) in the accuracies; the losses must agree to atol
            tol = max(atol, 1 / 128 + 1e-9) if metric.endswith("acc") else atol
            np.testing.assert_allclose(getattr(hist, metric)[k], getattr(single, metric), atol=tol, rtol=0,
                                       err_msg=f"model {k}, {metric}")


def assert_trained(ens: Ensemble, factory, seeds=SEEDS) -> None:
    """Guard against a vacuous match: the parameters moved away from their initial values."""
    for k, seed in enumerate(seeds):
        init = build(factory, seed).state_dict()
        moved = max((ens.params[n][k] - init[n]).abs().max().item() for n in init)
        assert moved > 1e-2, f"model {k} barely moved ({moved:.2g})"


# ---------------------------------------------------------------------- ensemble == K separate runs


@pytest.mark.parametrize("cfg", [SGD, ADAM, dataclasses.replace(SGD, schedule="cosine"),
                                 dataclasses.replace(ADAM, schedule="cosine")],
                         ids=["sgd-momentum-wd", "adam-wd", "sgd-cosine", "adam-cosine"])
def test_ensemble_equals_separate_runs(data, cfg):
    ens, hist = train_ensemble(mlp, SEEDS, data.x_train, data.y_train, cfg, data.x_test, data.y_test,
                               show_progress=False)
    assert hist.train_loss.shape == (3, 4) and hist.step.tolist() == [0, 20, 40, 60]
    assert_trained(ens, mlp)
    runs = separate_runs(mlp, [data.x_train] * 3, [data.y_train] * 3, [cfg] * 3, data.x_test, data.y_test)
    assert_same_as_separate(ens, hist, runs, atol=1e-5)


def test_per_model_labels_equal_separate_runs(data):
    """y of shape (K, n): each model is trained on its own corruption of the labels."""
    ys = torch.stack([corrupt_labels(data.y_train, p, seed=7).labels for p in (0.0, 0.5, 1.0)])  # (3, n)
    cfg = dataclasses.replace(SGD, steps=40)
    ens, hist = train_ensemble(mlp, SEEDS, data.x_train, ys, cfg, data.x_test, data.y_test,
                               show_progress=False)
    runs = separate_runs(mlp, [data.x_train] * 3, list(ys), [cfg] * 3, data.x_test, data.y_test)
    assert_same_as_separate(ens, hist, runs, atol=1e-5)
    # the train metrics are measured with each model's own labels: random labels are fitted worse
    assert hist.train_acc[0, -1] > hist.train_acc[2, -1]


def test_per_model_learning_rates_and_data_order_equal_separate_runs(data):
    lrs, data_seeds = (0.01, 0.05, 0.2), (10, 11, 12)
    cfg = dataclasses.replace(SGD, steps=40)
    ens, hist = train_ensemble(mlp, SEEDS, data.x_train, data.y_train, cfg, data.x_test, data.y_test,
                               lrs=lrs, data_seeds=data_seeds, show_progress=False)
    cfgs = [dataclasses.replace(cfg, lr=lr) for lr in lrs]
    runs = separate_runs(mlp, [data.x_train] * 3, [data.y_train] * 3, cfgs, data.x_test, data.y_test,
                         data_seeds=data_seeds)
    assert_same_as_separate(ens, hist, runs, atol=1e-5)


@pytest.mark.parametrize("base", [SGD, ADAM], ids=["sgd", "adam"])
def test_per_model_weight_decay_equals_separate_runs(data, base):
    """weight_decays (K,): model k is trained as with TrainConfig(weight_decay=weight_decays[k])."""
    wds = (0.0, 1e-3, 3e-2)
    cfg = dataclasses.replace(base, steps=40)
    ens, hist = train_ensemble(mlp, SEEDS, data.x_train, data.y_train, cfg, data.x_test, data.y_test,
                               weight_decays=wds, show_progress=False)
    cfgs = [dataclasses.replace(cfg, weight_decay=wd) for wd in wds]
    runs = separate_runs(mlp, [data.x_train] * 3, [data.y_train] * 3, cfgs, data.x_test, data.y_test)
    assert_same_as_separate(ens, hist, runs, atol=1e-5)


def rate_dropout_mlp() -> nn.Module:
    """MLP(40, [32, 32], 10) with a RateDropout after each hidden layer (the same parameters and initialisation)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(40, 32), nn.ReLU(), RateDropout(), nn.Linear(32, 32), nn.ReLU(),
                         RateDropout(), nn.Linear(32, 10))


def test_rate_dropout_runs_batched_with_one_rate_per_model(data):
    """RateDropout's stacked buffer gives each model its own rate on the batched path: a model with rate 0 trains
    exactly as the plain MLP, models with a positive rate differ from it, and evaluation applies no dropout."""
    ens = Ensemble.build(rate_dropout_mlp, SEEDS)
    for name in ("3.p", "6.p"):
        ens.buffers[name] = torch.tensor([0.0, 0.5, 0.5])
    cfg = dataclasses.replace(ADAM, steps=30, eval_every=10)
    ens, hist = train_ensemble(None, SEEDS, data.x_train, data.y_train, cfg, data.x_test, data.y_test,
                               ensemble=ens, show_progress=False)
    plain, plain_hist = train_ensemble(mlp, SEEDS, data.x_train, data.y_train, cfg, data.x_test, data.y_test,
                                       show_progress=False)
    for mine, stacked in zip(ens.params.values(), plain.params.values(), strict=True):  # layers in order
        torch.testing.assert_close(mine[0], stacked[0], atol=1e-5, rtol=0)
        assert (mine[1:] - stacked[1:]).abs().max() > 1e-3  # dropout changed the others' training
    np.testing.assert_allclose(hist.test_loss[0], plain_hist.test_loss[0], atol=1e-5)
    assert hist.step.tolist() == [0, 10, 20, 30]
    model = ens.model(1).eval()  # stand-alone copy, eval mode: dropout off, the same logits as the ensemble
    torch.testing.assert_close(model(data.x_test), ens.forward(data.x_test)[1], atol=1e-5, rtol=0)


def test_per_model_inputs_equal_separate_runs(data):
    """x of shape (K, n, 40): model k sees its own inputs (here the clean and two corrupted versions)."""
    xs = torch.stack([data.x_train, randomize_inputs(data.x_train, "shuffled_pixels", seed=0),
                      randomize_inputs(data.x_train, "gaussian", seed=0)])
    cfg = dataclasses.replace(ADAM, steps=30, eval_every=10)
    ens, hist = train_ensemble(mlp, SEEDS, xs, data.y_train, cfg, data.x_test, data.y_test,
                               per_model_inputs=True, show_progress=False)
    runs = separate_runs(mlp, list(xs), [data.y_train] * 3, [cfg] * 3, data.x_test, data.y_test)
    assert_same_as_separate(ens, hist, runs, atol=1e-5)


def test_vmap_path_equals_separate_runs(data):
    """A model that is not a plain Sequential (a 1-D CNN) goes through torch.func.vmap."""
    assert not isinstance(small_cnn(), nn.Sequential)
    d = data.subset(256, 128)
    cfg = TrainConfig(steps=20, lr=0.05, batch_size=64, momentum=0.9, weight_decay=5e-4, eval_every=10)
    ens, hist = train_ensemble(small_cnn, SEEDS, d.x_train, d.y_train, cfg, d.x_test, d.y_test,
                               show_progress=False)
    assert_trained(ens, small_cnn)
    runs = separate_runs(small_cnn, [d.x_train] * 3, [d.y_train] * 3, [cfg] * 3, d.x_test, d.y_test)
    assert_same_as_separate(ens, hist, runs, atol=1e-4)


def test_ensemble_starts_from_the_built_models():
    ens = Ensemble.build(mlp, SEEDS)
    assert ens.size == 3 and ens.params["1.weight"].shape == (3, 32, 40)
    x = torch.randn(9, 40)
    out = ens.forward(x)  # (K, n, C) through batched matrix products
    assert out.shape == (3, 9, 10)
    for k, seed in enumerate(SEEDS):
        torch.testing.assert_close(out[k], build(mlp, seed)(x), atol=1e-6, rtol=0)
        torch.testing.assert_close(ens.model(k)(x), build(mlp, seed)(x), atol=1e-6, rtol=0)


# ---------------------------------------------------------------------------------------------- masks


@pytest.fixture(scope="module")
def masks() -> torch.Tensor:
    """(K, 32, 40) 0/1 masks of the first layer's weight, about half zeros."""
    return (torch.rand(3, 32, 40, generator=torch.Generator().manual_seed(0)) < 0.5).float()


@pytest.mark.parametrize("cfg", [dataclasses.replace(SGD, steps=30), dataclasses.replace(ADAM, steps=30)],
                         ids=["sgd", "adam"])
def test_masked_weights_stay_zero(data, masks, cfg):
    ens, _ = train_ensemble(mlp, SEEDS, data.x_train, data.y_train, cfg, show_progress=False,
                            masks={"1.weight": masks})
    assert 0.4 < (masks == 0).float().mean() < 0.6
    weight = ens.params["1.weight"]
    assert (weight[masks == 0] == 0).all()  # exactly zero, not merely small
    assert (weight[masks == 1] != 0).all()
    x = data.x_test
    logits = ens.forward(x)
    for k in range(3):
        model = ens.model(k)
        assert (model[1].weight[masks[k] == 0] == 0).all()
        torch.testing.assert_close(logits[k], model(x), atol=1e-5, rtol=0)


def test_masked_ensemble_equals_separate_runs_with_masked_gradients(data, masks):
    """Pruned training = zero the weights, then zero their gradients (a hook) in a torch.optim run."""
    cfg = dataclasses.replace(SGD, steps=30)

    def mask_first_layer(k, model):
        with torch.no_grad():
            model[1].weight.mul_(masks[k])
        model[1].weight.register_hook(lambda grad, m=masks[k]: grad * m)

    ens, hist = train_ensemble(mlp, SEEDS, data.x_train, data.y_train, cfg, data.x_test, data.y_test,
                               masks={"1.weight": masks}, show_progress=False)
    runs = separate_runs(mlp, [data.x_train] * 3, [data.y_train] * 3, [cfg] * 3, data.x_test, data.y_test,
                         hooks=mask_first_layer)
    assert_same_as_separate(ens, hist, runs, atol=1e-5)


# ----------------------------------------------------------------------------- full-batch GD, convex


def test_full_batch_gd_on_a_convex_problem_decreases_the_loss(data):
    """Softmax regression is convex and L-smooth with L <= lambda_max(E[x x^T]) / 2 (x with a 1 appended,
    since the Hessian of cross-entropy in the logits, diag(p) - p p^T, has norm <= 1/2). Gradient descent
    with lr < 2 / L decreases the loss at every step (the descent lemma); lr = 1 / lambda_max is safe."""
    x, y = data.x_train, data.y_train
    x1 = torch.cat([x, torch.ones(len(x), 1)], 1).double()
    lam_max = torch.linalg.eigvalsh(x1.T @ x1 / len(x)).max().item()
    cfg = TrainConfig(steps=40, lr=1 / lam_max, batch_size=None, eval_every=1)
    linear = lambda: MLP(40, [], 10)  # noqa: E731
    hist = train(build(linear, 0), x, y, cfg, seed=0, show_progress=False)
    assert hist.step.tolist() == list(range(41))
    assert (np.diff(hist.train_loss) < 0).all()
    assert hist.train_loss[-1] < 0.9 * hist.train_loss[0]
    ens, ens_hist = train_ensemble(linear, [0, 1], x, y, cfg, show_progress=False)
    assert (np.diff(ens_hist.train_loss, axis=1) < 0).all()
    np.testing.assert_allclose(ens_hist.train_loss[0], hist.train_loss, atol=1e-5, rtol=0)


# --------------------------------------------------------------------------------------------- History


def _history(step, train_acc) -> History:
    acc = np.asarray(train_acc, dtype=float)
    return History(step=np.asarray(step), train_loss=-np.log(acc + 0.01), train_acc=acc,
                   test_loss=np.full_like(acc, np.nan), test_acc=np.full_like(acc, np.nan))


def test_steps_to_fit_one_model():
    h = _history([0, 10, 20, 30], [0.5, 0.9, 1.0, 1.0])
    assert h.steps_to_fit() == 20  # the first step at which train accuracy is 100 %
    assert h.steps_to_fit(0.9) == 10
    assert h.steps_to_fit(0.3) == 0
    assert np.isnan(_history([0, 10], [0.5, 0.99]).steps_to_fit())  # never reached


def test_steps_to_fit_is_robust_to_rounding():
    h = _history([0, 5], [0.1, 1 - 1e-12])  # a fraction that is 1 up to rounding counts as 1
    assert h.steps_to_fit() == 5


def test_steps_to_fit_ensemble():
    h = _history([0, 10, 20, 30], [[0.5, 1.0, 1.0, 1.0],
                                   [0.5, 0.6, 0.7, 0.8],
                                   [0.2, 0.4, 0.95, 1.0]])
    out = h.steps_to_fit()
    assert out.shape == (3,)
    np.testing.assert_array_equal(out, [10, np.nan, 30])
    np.testing.assert_array_equal(h.steps_to_fit(0.9), [10, np.nan, 20])


# ---------------------------------------------------------------------------------------- BatchStream


@pytest.mark.parametrize(("n", "batch_size"), [(12, 4), (12, 12), (100, 25), (7, 1)])
def test_batch_stream_covers_every_index_once_per_epoch(n, batch_size):
    stream = BatchStream(n, batch_size, seed=0)
    per_epoch = n // batch_size
    epochs = [torch.cat([stream.next() for _ in range(per_epoch)]) for _ in range(3)]
    for epoch in epochs:
        assert torch.equal(epoch.sort().values, torch.arange(n))
    if batch_size < n:
        assert not torch.equal(epochs[0], epochs[1])  # a new permutation every epoch


def test_batch_stream_drops_the_incomplete_last_batch():
    stream = BatchStream(10, 4, seed=1)
    for _ in range(5):  # epochs
        a, b = stream.next(), stream.next()
        assert len(a) == len(b) == 4
        assert len(set(a.tolist()) | set(b.tolist())) == 8  # distinct within the epoch


def test_batch_stream_full_batch_and_seed():
    assert torch.equal(BatchStream(5, None, seed=0).next(), torch.arange(5))
    assert torch.equal(BatchStream(5, 50, seed=0).next(), torch.arange(5))  # batch_size >= n
    a, b = BatchStream(50, 10, seed=3), BatchStream(50, 10, seed=3)
    assert all(torch.equal(a.next(), b.next()) for _ in range(12))
    assert not torch.equal(BatchStream(50, 10, seed=4).next(), BatchStream(50, 10, seed=3).next())


# ------------------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("kwargs", [dict(steps=10, optimizer="rmsprop"), dict(steps=0), dict(steps=-5),
                                    dict(steps=10, eval_every=0), dict(steps=10, batch_size=0),
                                    dict(steps=10, schedule="linear")])
def test_train_config_validation(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_cosine_schedule_goes_from_lr_to_zero():
    cfg = TrainConfig(steps=100, lr=0.1, schedule="cosine")
    factors = [cfg.lr_factor(t) for t in range(100)]
    assert factors[0] == 1.0 and abs(factors[50] - 0.5) < 1e-12 and 0 < factors[-1] < 1e-3
    assert all(a > b for a, b in zip(factors, factors[1:]))
    assert TrainConfig(steps=100).lr_factor(99) == 1.0


def test_cosine_schedule_changes_the_trajectory(data):
    """Guard: the schedule is really applied (a run with it ends elsewhere than one without)."""
    runs = [train_ensemble(mlp, [0], data.x_train, data.y_train, dataclasses.replace(ADAM, schedule=s),
                           show_progress=False)[0] for s in ("constant", "cosine")]
    assert (runs[0].params["1.weight"] - runs[1].params["1.weight"]).abs().max() > 1e-3


def test_train_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SGD.lr = 1.0  # type: ignore[misc]


def test_eval_points_include_the_last_step(data):
    cfg = TrainConfig(steps=25, batch_size=64, eval_every=10)
    seen = []
    hist = train(build(mlp, 0), data.x_train, data.y_train, cfg, show_progress=False,
                 callbacks=[lambda step, model, h: seen.append((step, len(h.step)))])
    assert hist.step.tolist() == [0, 10, 20, 25]
    assert seen == [(0, 1), (10, 2), (20, 3), (25, 4)]  # callbacks see the history so far
    assert np.isnan(hist.test_loss).all()  # no test data given
    assert ((0 <= hist.train_acc) & (hist.train_acc <= 1)).all()


def test_train_ensemble_argument_checks(data):
    x, y = data.x_train, data.y_train
    cfg = TrainConfig(steps=1)
    with pytest.raises(ValueError, match="labels for 2 models"):
        train_ensemble(mlp, SEEDS, x, torch.stack([y, y]), cfg, show_progress=False)
    with pytest.raises(ValueError, match="one learning rate per model"):
        train_ensemble(mlp, SEEDS, x, y, cfg, lrs=[0.1, 0.2], show_progress=False)
    with pytest.raises(ValueError, match="one L2 coefficient per model"):
        train_ensemble(mlp, SEEDS, x, y, cfg, weight_decays=[0.1, 0.2], show_progress=False)
    with pytest.raises(ValueError, match="per_model_inputs"):
        train_ensemble(mlp, SEEDS, x, y, cfg, per_model_inputs=True, show_progress=False)


# --------------------------------------------------------------------------------------- randomness


def test_train_keeps_the_global_random_state(data):
    """train() draws dropout masks from its seed, inside a forked generator."""
    factory = lambda: MLP(40, [16], 10, dropout=0.5)  # noqa: E731
    cfg = TrainConfig(steps=10, batch_size=32, eval_every=10)
    torch.manual_seed(1)
    state = torch.get_rng_state()
    a = build(factory, 0)
    train(a, data.x_train, data.y_train, cfg, seed=3, show_progress=False)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(2)  # another global state: same result, the seed decides
    b = build(factory, 0)
    train(b, data.x_train, data.y_train, cfg, seed=3, show_progress=False)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_train_ensemble_without_dropout_keeps_the_global_random_state(data):
    state = torch.get_rng_state()
    train_ensemble(mlp, SEEDS, data.x_train, data.y_train, TrainConfig(steps=5), show_progress=False)
    assert torch.equal(torch.get_rng_state(), state)


def test_train_ensemble_with_dropout_is_seeded(data):
    factory = lambda: MLP(40, [16], 10, dropout=0.5)  # noqa: E731
    cfg = TrainConfig(steps=5, batch_size=32)
    results = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        state = torch.get_rng_state()
        ens, _ = train_ensemble(factory, SEEDS, data.x_train, data.y_train, cfg, show_progress=False)
        assert torch.equal(torch.get_rng_state(), state), "the global random state changed"
        results.append(ens.params)
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0]), "not reproducible"


def test_embedded_widths_equal_narrow_networks(data):
    """Networks of different hidden widths trained together inside one max-width masked ensemble follow
    exactly the trajectories of the genuinely narrow networks (the trick behind fast model-wise sweeps)."""
    from dlgen_lib.train import Ensemble

    x, y = data.x_train[:256], data.y_train[:256]
    widths, seeds = [3, 8, 20], [0, 1, 2]
    make = lambda w: (lambda: MLP(40, [w, w], 10))  # noqa: E731
    narrow = [build(make(w), s) for w, s in zip(widths, seeds)]
    ens, masks = Ensemble.embed(narrow, build(make(max(widths)), 0))
    cfg = TrainConfig(steps=60, lr=3e-3, batch_size=32, optimizer="adam", eval_every=20)
    ens, hist = train_ensemble(make(max(widths)), seeds, x, y, cfg, ensemble=ens, masks=masks, show_progress=False)
    for k, (w, s) in enumerate(zip(widths, seeds)):
        net = build(make(w), s)
        h = train(net, x, y, cfg, seed=s, show_progress=False)
        for name, p in net.state_dict().items():
            corner = ens.params[name][(k, *(slice(0, d) for d in p.shape))]
            torch.testing.assert_close(corner, p, atol=1e-5, rtol=1e-4)
            assert ens.params[name][k].abs().sum() == pytest.approx(corner.abs().sum().item(), rel=1e-6)
        np.testing.assert_allclose(hist.train_loss[k], h.train_loss, rtol=1e-4)


def test_embed_rejects_a_model_larger_than_the_template():
    with pytest.raises(ValueError, match="does not fit"):
        Ensemble.embed([MLP(40, [32], 10)], MLP(40, [16], 10))


@pytest.mark.parametrize("cfg", [SGD, ADAM, dataclasses.replace(ADAM, schedule="cosine")],
                         ids=["sgd-momentum-wd", "adam-wd", "adam-cosine"])
def test_torch_optim_and_the_hand_written_update_agree(data, cfg):
    """One learning rate for all models: torch.optim runs on the stacked tensors; the hand-written update (kept for
    per-model learning rates and L2 coefficients) must do the same arithmetic, up to rounding."""
    from dlgen_lib.train import _StackedOptimizer

    assert _StackedOptimizer(cfg, torch.full((3,), cfg.lr), params={"w": torch.zeros(3, 2)}).torch_optimizer
    assert _StackedOptimizer(cfg, torch.tensor([0.1, 0.2, 0.3]), params={"w": torch.zeros(3, 2)}).torch_optimizer \
        is None, "per-model learning rates take the hand-written path"
    ens, _ = train_ensemble(mlp, SEEDS, data.x_train, data.y_train, cfg, show_progress=False)
    hand, _ = train_ensemble(mlp, SEEDS, data.x_train, data.y_train, cfg, show_progress=False,
                             hand_written_optimizer=True)
    assert_trained(ens, mlp)
    for name, p in ens.params.items():
        torch.testing.assert_close(hand.params[name], p, atol=1e-5, rtol=0)
