"""Fitting curves to measured numbers: power laws with a floor (learning curves, Hestness et al. 2017)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PowerLaw:
    """err(n) = a n^b + c (b < 0 for a decreasing curve; c = 0 without a floor)."""

    a: float
    b: float
    c: float = 0.0

    def __call__(self, n):
        return self.a * np.asarray(n, dtype=float) ** self.b + self.c


def fit_power_law(n, err, floor: bool = True) -> PowerLaw:
    """Fit err(n) = a n^b (+ c) by least squares on log err.

    Without a floor this is the straight line log err = log a + b log n. With ``floor=True`` the floor c is
    chosen on a grid in [0, min err) (for each c, a and b come from the line through log(err - c)) and then
    refined by ``scipy.optimize.curve_fit`` on log err.

    >>> round(fit_power_law([10, 100, 1000], [1.0, 0.1, 0.01], floor=False).b, 6)
    -1.0
    """
    n, err = np.asarray(n, dtype=float), np.asarray(err, dtype=float)
    if len(n) != len(err) or len(n) < (4 if floor else 2) or (err <= 0).any():
        raise ValueError(f"need matching positive errors at >= {4 if floor else 2} sizes, got {len(n)} sizes "
                         f"and errors {err.tolist()}")
    log_n, log_err = np.log(n), np.log(err)

    def line(c: float) -> tuple[PowerLaw, float]:
        b, log_a = np.polyfit(log_n, np.log(err - c), 1)
        law = PowerLaw(float(np.exp(log_a)), float(b), float(c))
        return law, float(((np.log(law(n)) - log_err) ** 2).sum())

    if not floor:
        return line(0.0)[0]
    best = min((line(c) for c in np.linspace(0.0, 0.999, 200) * err.min()), key=lambda fit: fit[1])[0]
    from scipy.optimize import curve_fit

    model = lambda m, a, b, c: np.log(a * m ** b + c)  # noqa: E731
    try:
        (a, b, c), _ = curve_fit(model, n, log_err, p0=(best.a, best.b, best.c),
                                 bounds=([0.0, -np.inf, 0.0], [np.inf, np.inf, err.min()]))
    except (RuntimeError, ValueError):  # no convergence: the grid's fit is already a least-squares fit
        return best
    return PowerLaw(float(a), float(b), float(c))
