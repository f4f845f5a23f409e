"""dlgen_lib.models: parameter counts against closed forms, output shapes, seeded construction, the noise layers."""

from __future__ import annotations

import pytest
import torch

from dlgen_lib.models import MLP, ConvNet1D, ConvNet2D, InputNoise, RateDropout, build, param_count


def _mlp_params(in_features: int, widths: list[int], n_classes: int) -> int:
    """sum over layers of (fan_in * fan_out + fan_out): weights and biases."""
    sizes = [in_features, *widths, n_classes]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


@pytest.mark.parametrize(("in_features", "widths", "n_classes"), [
    (40, [100, 100], 10), (40, [], 10), (784, [512], 10), (3, [1, 2, 3, 4], 2),
])
def test_mlp_param_count_closed_form(in_features, widths, n_classes):
    net = MLP(in_features, widths, n_classes)
    assert param_count(net) == _mlp_params(in_features, widths, n_classes)


def test_mlp_docstring_count():
    assert param_count(MLP(40, [100, 100], 10)) == 40 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10 == 15210


def test_param_count_skips_frozen_parameters():
    net = MLP(4, [3], 2)
    net[1].weight.requires_grad_(False)
    assert param_count(net) == _mlp_params(4, [3], 2) - 12


def test_mlp_flattens_images():
    net = build(lambda: MLP(28 * 28, [16], 10), seed=0)
    x = torch.rand(5, 1, 28, 28)
    out = net(x)
    assert out.shape == (5, 10)
    assert torch.allclose(out, net(x.reshape(5, -1)))


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 1.5])
def test_mlp_dropout_out_of_range(dropout):
    with pytest.raises(ValueError, match="dropout"):
        MLP(40, [10], 10, dropout=dropout)


def test_mlp_bad_width():
    with pytest.raises(ValueError, match="widths"):
        MLP(40, [10, 0], 10)


def test_mlp_dropout_layers():
    net = MLP(40, [10, 10], 10, dropout=0.5)
    assert sum(isinstance(m, torch.nn.Dropout) for m in net) == 2  # one after each hidden activation
    assert param_count(net) == _mlp_params(40, [10, 10], 10)


# ----------------------------------------------------------------------------------------------- build


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_build_is_reproducible():
    factory = lambda: MLP(40, [32, 32], 10)  # noqa: E731
    assert _same_weights(build(factory, 3), build(factory, 3))
    assert not _same_weights(build(factory, 3), build(factory, 4))


def test_build_keeps_the_global_random_state():
    torch.manual_seed(11)
    state = torch.get_rng_state()
    build(lambda: ConvNet1D(), seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    # and the seed of build is independent of the global seed
    torch.manual_seed(99)
    assert _same_weights(build(lambda: MLP(5, [4], 3), 1), build(lambda: MLP(5, [4], 3), 1))


def test_build_matches_manual_seed():
    """build(factory, s) gives the weights of factory() right after torch.manual_seed(s)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        reference = MLP(6, [7], 3)
    assert _same_weights(build(lambda: MLP(6, [7], 3), 5), reference)


# ------------------------------------------------------------------------------------------------ CNNs


@pytest.mark.parametrize(("length", "channels"), [(40, 25), (40, 4), (64, 8)])
def test_convnet1d_shapes_and_size(length, channels):
    net = ConvNet1D(length, channels)
    x = torch.randn(7, length)
    assert net(x).shape == (7, 10)
    assert torch.allclose(net(x), net(x.unsqueeze(1)))  # (N, L) and (N, 1, L) are the same input
    out_len = length
    for k in (5, 3, 3):  # stride 2, padding 1
        out_len = (out_len + 2 - k) // 2 + 1
    expected = (1 * channels * 5 + channels) + 2 * (channels * channels * 3 + channels) \
        + (channels * out_len * 10 + 10)
    assert param_count(net) == expected


def test_convnet1d_paper_size():
    assert param_count(ConvNet1D()) == 5210  # 40 -> 19 -> 10 -> 5 positions, 25 channels


@pytest.mark.parametrize("channels", [(16, 32), (4,), (2, 3, 5)])
def test_convnet2d_shapes(channels):
    net = ConvNet2D(1, channels)
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    size = 28
    for _ in channels:
        size //= 2
    assert net.head.in_features == channels[-1] * size * size


def test_convnet2d_color_input():
    net = ConvNet2D(in_channels=3, channels=(4, 8), image_size=32)
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_input_noise_is_identity_in_eval_and_noisy_in_training():
    layer = InputNoise(0.5)
    x = torch.randn(2000, 40)
    assert torch.equal(layer.eval()(x), x)
    torch.manual_seed(0)
    diff = layer.train()(x) - x
    assert diff.std().item() == pytest.approx(0.5, rel=0.02) and abs(diff.mean().item()) < 0.01
    assert torch.equal(InputNoise(0.0).train()(x), x)
    with pytest.raises(ValueError, match="sigma"):
        InputNoise(-1.0)


def test_rate_dropout_is_identity_in_eval_and_unbiased_in_training():
    layer = RateDropout(0.3)
    x = torch.ones(100_000)
    assert torch.equal(layer.eval()(x), x)
    torch.manual_seed(0)
    out = layer.train()(x)
    assert (out == 0).float().mean().item() == pytest.approx(0.3, abs=0.01)
    assert out.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.equal(RateDropout(0.0).train()(x), x)
    with pytest.raises(ValueError, match="dropout rate"):
        RateDropout(1.0)
