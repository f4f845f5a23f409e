"""Chapter 6 at the tiny scale: its config (presets, part overrides, a bad value names its field), the
interpolation path reproduces its endpoints, and the experiments return what their docstrings say (the pruning
machinery itself: tests/test_pruning.py)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlgen_lib import pruning  # noqa: E402
from dlgen_lib.chapters import ch06_lottery_tickets as ch  # noqa: E402
from dlgen_lib.config import ConfigError, scaled  # noqa: E402
from dlgen_lib.models import ConvNet1D, build  # noqa: E402


@pytest.fixture(scope="module")
def cfg():
    return scaled(ch.LotteryConfig, "tiny")


def test_config_scales_and_overrides():
    small = scaled(ch.LotteryConfig, "small")
    assert len(small.imp.seeds) >= 3 and small.mnist.rounds >= 8
    assert small.imp.rate == 0.2 and small.imp.output_rate == 0.1
    assert (1 - small.imp.rate) ** small.mnist.rounds < 0.10, "the small scale reaches below 10 % of the weights"
    full = scaled(ch.LotteryConfig, "full")
    assert full.fashion.pool == 1 and full.fashion_data.full and full.fashion.widths == (300, 100)
    assert full.fashion.lr == 1.2e-3 and full.fashion.batch_size == 60 and full.fashion.steps == 50_000
    tiny = scaled(ch.LotteryConfig, "tiny", mnist=dict(rounds=5))
    assert tiny.mnist.rounds == 5 and tiny.mnist.steps == 60, "the other fields of the part keep the scale's values"
    assert tiny.fashion == scaled(ch.LotteryConfig, "tiny").fashion
    for c in (small, full, scaled(ch.LotteryConfig, "tiny")):
        assert 0 in c.instability.ks and max(c.instability.ks) < c.cnn.steps
        assert c.rewinding.k % c.rewinding.eval_every == 0
        assert c.mnist.steps % c.mnist.eval_every == 0 and c.fashion.steps % c.fashion.eval_every == 0
    with pytest.raises(ConfigError):
        scaled(ch.LotteryConfig, "huge")


# one representative bad value (or more) per part: (overrides, the field the error must name)
BAD_VALUES = [
    (dict(imp=dict(rate=1.0)), "imp.rate"),
    (dict(imp=dict(seeds=(0, 1000))), "imp.seeds"),  # seed 0's reinit control draws from seed 1000
    (dict(mnist=dict(steps=70)), "mnist.steps"),  # not a multiple of eval_every: IMP rewinds to evaluations
    (dict(conv=dict(archs=("conv3",))), "conv.archs"),
    (dict(fashion_data=dict(val=10_000)), "fashion_data.val"),  # the subset has 10 000 training images
    (dict(fashion=dict(pool=29)), "fashion.pool"),
    (dict(instability=dict(ks=(0, 40))), "instability.ks"),  # a split at the last step (tiny: cnn.steps = 40)
    (dict(rewinding=dict(k=7)), "rewinding.k"),  # not an evaluation step
]


@pytest.mark.parametrize(("overrides", "field"), BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_field(overrides, field):
    with pytest.raises(ConfigError) as err:
        scaled(ch.LotteryConfig, "tiny", **overrides)
    message = str(err.value)
    assert field in err.value.fields and f"{field.rsplit('.', 1)[1]}=" in message and "must" in message, message


def test_interpolation_endpoints_reproduce_the_networks(mnist1d_data):
    factory = lambda: ConvNet1D(40, 4, 10)  # noqa: E731
    a, b = (dict(build(factory, s).named_parameters()) for s in (0, 1))
    x, y = mnist1d_data.x_test[:200], mnist1d_data.y_test[:200]
    errs = ch.path_error(factory, a, b, x, y, [0.0, 0.5, 1.0])
    for net, e in ((build(factory, 0), errs[0]), (build(factory, 1), errs[-1])):
        with torch.no_grad():
            assert e == pytest.approx((net(x).argmax(-1) != y).float().mean().item(), abs=1e-12)


def test_iterative_pruning_tracks_the_sparsity_and_the_controls(cfg):
    run = ch.imp_mnist1d(cfg.imp, cfg.mnist)
    R, S, E = cfg.mnist.rounds + 1, len(cfg.imp.seeds), cfg.mnist.steps // cfg.mnist.eval_every + 1
    assert run.arms == pruning.VARIANTS and all(run.val_acc[a].shape == (R, S, E) for a in run.arms)
    sizes = np.array([40 * 32, 32 * 32, 32 * 10])  # the tiny MLP 40-32-32-10's weight matrices
    np.testing.assert_allclose(run.fraction, run.layer_fraction @ sizes / sizes.sum())
    hidden = [0.8 ** r for r in range(R)]
    assert np.allclose(run.layer_fraction[:, 0], hidden, atol=0.01), "20 % of the survivors per round"
    assert np.allclose(run.layer_fraction[:, -1], [0.9 ** r for r in range(R)], atol=0.01), "10 % for the output"
    assert np.all(np.diff(run.fraction) < 0)
    assert run.fraction[-1] <= 0.10, "the chapter's claims need rounds at <= 10 % of the weights, at tiny too"
    for a in run.arms:  # round 0 is the dense network, shared by every arm
        np.testing.assert_array_equal(run.test_acc[a][0], run.test_acc["ticket"][0])
        assert run.first_mask[a].shape[0] == R
    # the reinit control has the ticket's mask, the random one the same density elsewhere
    np.testing.assert_array_equal(run.first_mask["reinit"], run.first_mask["ticket"])
    assert run.first_mask["random"][-1].sum() == run.first_mask["ticket"][-1].sum()
    assert not np.array_equal(run.first_mask["random"][-1], run.first_mask["ticket"][-1])
    acc, step = run.early_stop("ticket")
    assert acc.shape == (R, S) and set(step.ravel()) <= set(run.step[1:].tolist())
    at_best = np.take_along_axis(run.val_acc["ticket"], np.searchsorted(run.step, step)[..., None], -1)[..., 0]
    np.testing.assert_array_equal(at_best, run.val_acc["ticket"][..., 1:].max(-1))  # early stopping: best validation
    assert run.at(1.0) == 0 and run.at(0.0001) == R - 1


def test_rewinding_and_instability_run(cfg):
    rw = ch.imp_rewinding(cfg.imp, cfg.cnn, cfg.rewinding)
    assert rw.arms == ("rewind to 0", f"rewind to {cfg.rewinding.k}")
    assert rw.val_acc[rw.arms[0]].shape[:2] == (cfg.rewinding.rounds + 1, len(cfg.imp.seeds))
    assert rw.fraction[-1] <= 0.5, "the rewinding claim needs rounds at <= 50 % of the weights, at tiny too"
    # the arm rewound to step k trains the remaining steps only: no evaluation before k, none missing after
    late = rw.val_acc[rw.arms[1]][1:]
    before = rw.step < cfg.rewinding.k
    assert np.isnan(late[..., before]).all() and not np.isnan(late[..., ~before]).any()
    assert (rw.best_step[rw.arms[1]][1:] > cfg.rewinding.k).all()
    inst = ch.instability(cfg.imp, cfg.cnn, cfg.instability)
    assert inst.path_error.shape == (len(cfg.instability.ks), len(cfg.imp.seeds), cfg.instability.alphas)
    assert inst.instability.shape == (len(cfg.instability.ks), len(cfg.imp.seeds))
    assert ((inst.path_error >= 0) & (inst.path_error <= 1)).all()
    # the two copies of a split train on different data orders, so they end as different networks
    assert (inst.path_error[..., 0] != inst.path_error[..., -1]).any(), "both copies saw the same data order"
    with pytest.raises(ValueError, match="must be evaluation steps"):
        ch.imp_rewinding.uncached(cfg.imp, cfg.cnn, ch.Rewinding(rounds=1, eval_every=20, k=7))


def test_instability_is_the_path_maximum_above_the_mean_endpoint():
    # seed 0 has a barrier on the path, seed 1 a path that never rises above its worse endpoint
    path = np.array([[[0.10, 0.30, 0.50, 0.20, 0.12], [0.20, 0.18, 0.15, 0.12, 0.10]]])
    inst = ch.Instability(ks=np.array([0]), alphas=np.linspace(0, 1, 5), path_error=path, seconds=0.0)
    np.testing.assert_allclose(inst.instability, [[0.50 - 0.11, 0.20 - 0.15]])


def _assert_labelled(fig):
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), f"unlabelled panel {ax.get_title()!r}"


def test_figures_are_labelled(cfg):
    run, rw = ch.imp_mnist1d(cfg.imp, cfg.mnist), ch.imp_rewinding(cfg.imp, cfg.cnn, cfg.rewinding)
    fashion = ch.imp_fashion(cfg.imp, cfg.fashion_data, cfg.fashion)
    inst = ch.instability(cfg.imp, cfg.cnn, cfg.instability)
    for fig in (ch.plot_imp([run, fashion]), ch.plot_imp([rw], paper_mnist1d=False), ch.plot_instability(inst),
                ch.plot_masks(run, cfg.mnist.rounds)):
        _assert_labelled(fig)
    plt.close("all")


@pytest.mark.parametrize("arch, out_side", [("conv2", 14), ("conv4", 7), ("conv6", 3)])
def test_conv_archs_follow_the_paper(arch, out_side):
    conv = scaled(ch.LotteryConfig, "tiny").conv
    net = conv.factory(arch)()
    convs = [m for m in net if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == list(ch.CONV_ARCHS[arch]["convs"])
    assert net[-1].in_features == 256 and net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    first_fc = next(m for m in net if isinstance(m, torch.nn.Linear))
    assert first_fc.in_features == convs[-1].out_channels * out_side ** 2
    rates = ch.conv_rates(conv.factory(arch), arch, 0.1)
    conv_names = [n for n, p in net.named_parameters() if n.endswith("weight") and p.dim() == 4]
    assert {rates[n] for n in conv_names} == {ch.CONV_ARCHS[arch]["conv_rate"]}
    assert list(rates.values())[-1] == 0.1 and len(rates) == len(conv_names) + 3
    with pytest.raises(ValueError, match="conv2"):
        conv.factory("conv3")


def test_imp_conv_prunes_each_layer_at_its_rate():
    cfg = scaled(ch.LotteryConfig, "tiny", conv=dict(archs=("conv2",), width_scale=1 / 16, steps=8, eval_every=4,
                                                     rounds=2), fashion_data=dict(val=100))
    tiny = scaled(ch.LotteryConfig, "tiny")
    assert ch.imp_conv(tiny.imp, tiny.fashion_data, tiny.conv) == {}
    run = ch.imp_conv(cfg.imp, cfg.fashion_data, cfg.conv)["conv2"]
    assert run.arms == ("ticket", "reinit", "random") and run.name.startswith("Conv2")
    conv_keep, fc_keep = 1 - ch.CONV_ARCHS["conv2"]["conv_rate"], 1 - ch.CONV_ARCHS["conv2"]["fc_rate"]
    first_conv = run.layer_fraction[:, 0]  # 4 x 1 x 3 x 3 = 36 weights: round(0.1 * survivors) per round
    assert first_conv[0] == 1.0 and first_conv[-1] < 1.0 and first_conv[-1] >= conv_keep ** 2 - 0.05
    assert run.layer_fraction[-1, 2] == pytest.approx(fc_keep ** 2, abs=0.01)  # the first FC layer
    assert np.isfinite(run.test_acc["ticket"][..., -1]).all()


def test_run_summaries():
    acc = {"ticket": np.array([[0.6, 0.7], [0.65, 0.75], [0.5, 0.6]]), "reinit": np.zeros((3, 2))}
    steps = {"ticket": np.array([[100, 200], [300, 400], [500, 600]]), "reinit": np.zeros((3, 2))}
    run = pruning.PruningRun("toy", ("ticket", "reinit"), (0, 1), np.array([1.0, 0.5, 0.15]), ("w",),
                        np.ones((3, 1)), np.arange(3), {}, acc, steps, {}, 0.0)
    got, dense = run.accuracy()
    assert got["ticket"] is acc["ticket"] and dense == pytest.approx(0.65)
    assert run.keeping(0.2) == 1 and run.keeping(0.1) == 2 and run.keeping(1.0) == 0
    assert run.mean_stop_step([1, 2])["ticket"] == pytest.approx(450.0)
