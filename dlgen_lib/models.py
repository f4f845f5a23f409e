"""The models of the course: an MLP of any widths, the MNIST-1D 1-D CNN and a small 2-D CNN, and two noise layers
whose strength is a buffer, so each model of an ensemble can have its own (:class:`InputNoise`, :class:`RateDropout`).

Models are built by :func:`build`, which takes a ``seed`` and draws the initial weights from it without
touching torch's global random state, so that "model k of an ensemble" and "the k-th separate run" start
from the same weights.

>>> net = build(lambda: MLP(40, [100, 100], 10), seed=0)
>>> param_count(net)
15210
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .config import manual_seed


class MLP(nn.Sequential):
    """Fully connected ReLU network ``in_features -> widths[0] -> ... -> widths[-1] -> n_classes``.

    Inputs of any shape (N, ...) are flattened to (N, in_features). ``dropout`` is applied after every
    hidden activation. PyTorch's default initialisation (uniform with bound 1/sqrt(fan_in)).
    """

    def __init__(self, in_features: int, widths: Sequence[int], n_classes: int = 10, dropout: float = 0.0):
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout} must lie in [0, 1)")
        if any(w < 1 for w in widths):
            raise ValueError(f"widths={list(widths)} must all be positive")
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = in_features
        for width in widths:
            layers += [nn.Linear(fan_in, width), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            fan_in = width
        layers.append(nn.Linear(fan_in, n_classes))
        super().__init__(*layers)


class ConvNet1D(nn.Module):
    """The 1-D CNN of the MNIST-1D paper (Greydanus & Kobak 2020): three stride-2 convolutions with
    ``channels`` channels and ReLU, then a linear read-out. Input (N, length) or (N, 1, length)."""

    def __init__(self, length: int = 40, channels: int = 25, n_classes: int = 10):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(1, channels, 5, stride=2, padding=1), nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),
        )
        out_len = length
        for k, p in ((5, 1), (3, 1), (3, 1)):
            out_len = (out_len + 2 * p - k) // 2 + 1
        self.head = nn.Linear(channels * out_len, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(1)  # (N, 1, L)
        h = self.conv(x)  # (N, C, L')
        return self.head(h.flatten(1))


class ConvNet2D(nn.Module):
    """A small image CNN: [conv3x3 -> ReLU -> maxpool2] per entry of ``channels``, then a linear layer.
    Input (N, in_channels, H, W)."""

    def __init__(self, in_channels: int = 1, channels: Sequence[int] = (16, 32), n_classes: int = 10,
                 image_size: int = 28):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, size = in_channels, image_size
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c_in, size = c, size // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in * size * size, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def build(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Call ``factory()`` with torch's random generator seeded by ``seed``, restoring the global state after."""
    with torch.random.fork_rng(devices=[]):
        manual_seed(int(seed))
        return factory()


def param_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ------------------------------------------------------------------------------------------ noise layers


class InputNoise(nn.Module):
    """x + σ ε with ε ~ N(0, I) fresh at every call, in training mode only; the identity in eval mode (as
    ``nn.Dropout``). σ is a buffer, so an ensemble can give each model its own (Bishop 1995: training with
    input noise is, to first order, a Tikhonov penalty on the input gradient)."""

    def __init__(self, sigma: float = 0.0):
        super().__init__()
        if sigma < 0:
            raise ValueError(f"sigma={sigma} must be >= 0")
        self.register_buffer("sigma", torch.tensor(float(sigma)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sigma * torch.randn_like(x) if self.training else x


class RateDropout(nn.Module):
    """Inverted dropout whose rate p is a buffer (one per model of an ensemble): in training mode each unit is
    zeroed with probability p and the others scaled by 1/(1 - p); the identity in eval mode."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout rate p={p} must lie in [0, 1)")
        self.register_buffer("p", torch.tensor(float(p)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        return x * (torch.rand_like(x) >= self.p) / (1.0 - self.p)
