"""The mean-field recursions against closed forms: linear and ReLU networks (whose Gaussian integrals are known
exactly), Monte Carlo for tanh, the fixed points and the critical line."""

import math

import numpy as np
import pytest

from dlgen_lib import meanfield as mf


def test_linear_network_closed_forms():
    # phi(x) = x: q' = sw2 q + sb2, q12' = sw2 q12 + sb2, chi_1 = sw2
    assert mf.length_map(2.0, 0.5, 0.1, "linear") == pytest.approx(0.5 * 2.0 + 0.1, rel=1e-12)
    assert mf.covariance_map(2.0, 3.0, 0.7, 0.5, 0.1, "linear") == pytest.approx(0.5 * 0.7 + 0.1, rel=1e-12)
    assert mf.q_star(0.5, 0.1, "linear") == pytest.approx(0.1 / (1 - 0.5))
    assert mf.chi1(0.8, 0.1, "linear") == 0.8


@pytest.mark.parametrize("c", [-0.9, -0.3, 0.0, 0.4, 0.95])
def test_relu_covariance_against_monte_carlo(c):
    q, sw2, sb2 = 1.7, 2.0, 0.1
    z = np.random.default_rng(1).standard_normal((2, 2_000_000))
    u1 = math.sqrt(q) * z[0]
    u2 = math.sqrt(q) * (c * z[0] + math.sqrt(1 - c * c) * z[1])
    prod = sw2 * np.maximum(u1, 0) * np.maximum(u2, 0)
    se = prod.std() / math.sqrt(prod.size)
    assert mf.covariance_map(q, q, c * q, sw2, sb2, "relu") == pytest.approx(prod.mean() + sb2, abs=5 * se)
    assert mf.covariance_map(q, q, q, sw2, sb2, "relu") == pytest.approx(mf.length_map(q, sw2, sb2, "relu"))


def test_relu_length_map_and_he_critical_point():
    assert mf.length_map(3.0, 2.0, 0.0, "relu") == pytest.approx(3.0, rel=1e-10)  # E[relu(u)^2] = q / 2
    assert mf.chi1(2.0, 0.0, "relu") == 1.0 and mf.chi1(1.0, 0.0, "relu") == 0.5
    assert mf.critical_sigma_w2(0.0, "relu") == 2.0
    with pytest.raises(ValueError, match="no fixed point"):
        mf.q_star(2.5, 0.0, "relu")


def test_tanh_quadrature_against_monte_carlo():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((2, 2_000_000))
    q, c, sw2, sb2 = 0.8, 0.5, 2.0, 0.05
    u1 = math.sqrt(q) * z[0]
    u2 = math.sqrt(q) * (c * z[0] + math.sqrt(1 - c * c) * z[1])
    assert mf.length_map(q, sw2, sb2) == pytest.approx(sw2 * np.mean(np.tanh(u1) ** 2) + sb2, abs=2e-3)
    mc = sw2 * np.mean(np.tanh(u1) * np.tanh(u2)) + sb2
    assert mf.covariance_map(q, q, c * q, sw2, sb2) == pytest.approx(mc, abs=2e-3)


def test_critical_line_of_tanh():
    crit = mf.critical_sigma_w2(0.05)
    assert crit == pytest.approx(1.7610, abs=5e-4)  # the papers' figures: about 1.76
    assert mf.chi1(crit, 0.05) == pytest.approx(1.0, abs=1e-9)
    assert mf.chi1(crit - 0.1, 0.05) < 1 < mf.chi1(crit + 0.1, 0.05)
    lines = [mf.critical_sigma_w2(b) for b in (0.01, 0.05, 0.1, 0.3)]
    assert all(a < b for a, b in zip(lines, lines[1:])), "more bias needs larger weights to reach chaos"
    assert mf.critical_sigma_w2(0.0) == 1.0


def test_fixed_points_and_depth_scale():
    assert mf.c_star(1.0, 0.05) == 1.0  # ordered
    cs = mf.c_star(4.0, 0.05)
    assert 0 < cs < 1 and mf.correlation_map(cs, 4.0, 0.05) == pytest.approx(cs, abs=1e-10)  # chaotic
    assert mf.chi_c(1.0, 0.05) == pytest.approx(mf.chi1(1.0, 0.05))  # at c* = 1 the two slopes agree
    assert mf.chi_c(4.0, 0.05) < 1 < mf.chi1(4.0, 0.05)  # c* attracts, c = 1 repels
    xi = [mf.xi_c(w, 0.05) for w in (0.5, 1.0, 1.5, 2.5, 4.0, 8.0)]
    assert xi[0] < xi[1] < xi[2] and xi[3] > xi[4] > xi[5], "xi_c grows towards the critical line from both sides"
    assert mf.xi_c(mf.critical_sigma_w2(0.05), 0.05) > 1000


def test_propagate_settles_at_the_fixed_points():
    traj = mf.propagate(1.0, 0.3, 150, 4.0, 0.05)
    assert traj.q[-1] == pytest.approx(mf.q_star(4.0, 0.05), rel=1e-6)
    assert traj.c[-1] == pytest.approx(mf.c_star(4.0, 0.05), abs=1e-6)
    same = mf.propagate(1.0, 1.0, 10, 1.5, 0.05)
    assert np.allclose(same.c, 1.0, atol=1e-9), "identical inputs stay identical"
    ordered = mf.propagate(1.0, 0.0, 80, 1.0, 0.05)
    assert ordered.c[-1] > 0.999


@pytest.mark.parametrize(("args", "match"), [
    ((1.0, 0.05, "sigmoid"), "activation 'sigmoid' is not known; valid: tanh, relu, linear"),
    ((-1.0, 0.05, "tanh"), "sigma_w2=-1.0 must be a positive number"),
    ((1.0, -0.1, "tanh"), "sigma_b2=-0.1 must be a non-negative number"),
])
def test_bad_input_is_a_clear_error(args, match):
    with pytest.raises(ValueError, match=match):
        mf.chi1(*args)
    with pytest.raises(ValueError, match="c0 in"):
        mf.propagate(1.0, 1.5, 3, 1.0, 0.05)
