"""The attacks of dlgen_lib.adversarial against the closed form of a linear two-class model, where one step along
the sign of the gradient is the exact worst case in an L∞ ball: a point survives iff its margin exceeds
ε ‖w_y − w_other‖₁."""

import pytest
import torch

from dlgen_lib.adversarial import attack, robust_accuracy


def _linear_models(k=3, d=12, seed=0):
    """K linear two-class models in float64 (in float32 a point with a margin above ~17 has p_y = 1 exactly, a zero
    input gradient, and FGSM would not move it)."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(k, 2, d, generator=gen, dtype=torch.float64)
    b = torch.randn(k, 2, generator=gen, dtype=torch.float64)

    def forward(x):  # (K, n, d) -> (K, n, 2)
        return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))

    return w, b, forward


def _closed_form(w, b, x, y, eps):
    """(K,) accuracy of each linear model under the worst L∞ perturbation of radius eps."""
    logits = torch.einsum("nd,kcd->knc", x, w) + b.unsqueeze(1)
    margin = logits.gather(2, y.view(1, -1, 1).expand(len(w), -1, 1)).squeeze(2) - \
        logits.gather(2, (1 - y).view(1, -1, 1).expand(len(w), -1, 1)).squeeze(2)
    dw = (w[:, 1] - w[:, 0]).abs().sum(1, keepdim=True)  # (K, 1): ‖w_1 − w_0‖₁
    return (margin - eps * dw > 0).float().mean(1)


@pytest.mark.parametrize("steps", [1, 5])
@pytest.mark.parametrize("eps", [0.0, 0.05, 0.2, 1.0])
def test_attacks_reach_the_linear_worst_case(eps, steps):
    w, b, forward = _linear_models()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(500, 12, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 2, (500,), generator=gen)
    shared = x.expand(3, *x.shape)
    got = robust_accuracy(forward, shared, y, eps, steps, chunk=128)
    assert torch.allclose(got, _closed_form(w, b, x, y, eps), atol=1e-9)


def test_the_perturbation_stays_in_the_ball_and_each_model_gets_its_own():
    w, b, forward = _linear_models()
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(40, 12, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 2, (40,), generator=gen)
    xa = attack(forward, x.expand(3, *x.shape), y, 0.1, steps=4)
    assert xa.shape == (3, 40, 12)
    assert (xa - x).abs().max() <= 0.1 + 1e-6
    # FGSM on a linear model moves every feature by exactly eps, against the sign of (w_y - w_other)
    xf = attack(forward, x.expand(3, *x.shape), y, 0.1)
    direction = torch.where(y.view(1, -1, 1) == 1, w[:, :1] - w[:, 1:], w[:, 1:] - w[:, :1])  # (K, n, d)
    assert torch.allclose(xf - x, 0.1 * direction.sign())


def test_per_model_labels_and_no_gradient_in_parameters():
    lin = torch.nn.Linear(5, 3)
    x = torch.randn(2, 10, 5)
    y = torch.randint(0, 3, (2, 10))
    xa = attack(lambda inputs: lin(inputs), x, y, 0.3, steps=3)
    assert lin.weight.grad is None and xa.shape == x.shape
    clean = torch.nn.functional.cross_entropy(lin(x).flatten(0, 1), y.flatten())
    attacked = torch.nn.functional.cross_entropy(lin(xa).flatten(0, 1), y.flatten())
    assert attacked > clean


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(eps=-0.1), "eps=-0.1 must be a non-negative radius"),
    (dict(eps=0.1, steps=0), "steps=0 must be a positive integer"),
    (dict(eps=0.1, steps=2, step_size=0.0), "step_size=0.0 must be positive"),
])
def test_bad_arguments_say_what_is_valid(kwargs, match):
    lin = torch.nn.Linear(5, 3)
    with pytest.raises(ValueError, match=match):
        attack(lin, torch.randn(1, 4, 5), torch.zeros(4, dtype=torch.long), **kwargs)


def test_inputs_without_a_model_axis_are_refused():
    lin = torch.nn.Linear(5, 3)
    with pytest.raises(ValueError, match=r"x must be \(K, n, \.\.\.\)"):
        attack(lin, torch.randn(4, 5), torch.zeros(4, dtype=torch.long), 0.1)


def test_pgd_finds_an_interior_worst_case_that_fgsm_misses():
    """A margin m(x) = 0.02 − x + 10x² (class 0 iff m > 0) is lowest inside the ball |x| ≤ 0.1, at x = 0.05
    (m = −0.005): PGD's small steps climb the loss to it, while FGSM's one step of 0.1 lands at m(0.1) = 0.02 > 0."""

    def forward(x):  # (K, n, 1) -> (K, n, 2)
        m = 0.02 - x + 10 * x ** 2
        return torch.cat([m, torch.zeros_like(m)], dim=-1)

    x = torch.zeros(1, 1, 1, dtype=torch.float64)
    y = torch.zeros(1, dtype=torch.long)
    assert float(robust_accuracy(forward, x, y, 0.1, steps=1)) == 1.0
    assert float(robust_accuracy(forward, x, y, 0.1, steps=10, step_size=0.01)) == 0.0
