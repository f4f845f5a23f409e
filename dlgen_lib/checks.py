"""Assertions that a claimed phenomenon showed up in a run, with messages a student can act on.

A chapter states a claim, measures it, and then calls :func:`check`; if the phenomenon did not show, the
chapter stops with a :class:`ClaimError` that says what was expected, what was measured, and what to try.

>>> check(0.99 > 0.95, "train accuracy reaches 95 %", measured="99 %")
'ok: train accuracy reaches 95 % (measured 99 %)'

:func:`paired_gap` gives the mean difference of two arms that share each seed, with its standard error, the
usual "more than 2 s.e." a check compares against.
"""

from __future__ import annotations

import numpy as np


class ClaimError(AssertionError):
    """A claim of the chapter did not hold in this run."""


def check(condition: bool, claim: str, measured: str = "", hint: str = "") -> str:
    """Raise :class:`ClaimError` unless ``condition``; return a one-line confirmation otherwise."""
    detail = f" (measured {measured})" if measured else ""
    if not bool(condition):
        advice = f" {hint}" if hint else _default_hint()
        raise ClaimError(f"claim not confirmed: {claim}{detail}.{advice}")
    return f"ok: {claim}{detail}"


def _default_hint() -> str:
    from .config import ConfigError, get_scale

    try:
        scale = get_scale()
    except ConfigError:
        scale = "?"
    if scale == "tiny":
        return " At the tiny scale some effects are too weak to show; try DLGEN_SCALE=small."
    return (f" At the {scale} scale this effect did not reach the chapter's threshold in this run: look at the"
            " figure above, and try more seeds or longer training (the chapter's config fields) or DLGEN_SCALE=full.")


def check_close(measured: float, expected: float, rtol: float, claim: str, hint: str = "") -> str:
    """:func:`check` that ``measured`` is within relative tolerance ``rtol`` of ``expected``."""
    ok = abs(measured - expected) <= rtol * abs(expected)
    return check(ok, claim, measured=f"{measured:.4g} vs expected {expected:.4g}, rtol {rtol:g}", hint=hint)


def paired_gap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean over seeds of a - b (S,) and its standard error: paired, since a ticket and its controls (or two arms)
    share each seed's data order.

    >>> [round(v, 6) for v in paired_gap(np.array([0.6, 0.9, 0.8]), np.array([0.5, 0.6, 0.7]))]
    [0.166667, 0.066667]
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))
