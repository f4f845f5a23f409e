"""Bounds on the test error of a trained classifier, each computed from measured numbers: Vapnik's VC bound
(:func:`vc_bound`), the Rademacher bound (:func:`rademacher_bound`, with the Rademacher complexity read off
networks fitted to random labels, :func:`rademacher_from_fit`) and Kawaguchi et al.'s (2017) validation bound
(:func:`validation_bound`). Chapter 1 confronts them with networks that memorize; chapter 4 uses the validation
bound to certify early stopping.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["rademacher_bound", "rademacher_from_fit", "validation_bound", "vc_bound"]


def vc_bound(train_error: float, vc_dim: float, n: int, delta: float = 0.05) -> float:
    """Vapnik's bound on the test error of a class of VC dimension d, with probability >= 1 - delta:

        test_error <= train_error + sqrt( (d (ln(2n/d) + 1) + ln(4/delta)) / n ),

    valid for n > d. When d >= n the class can shatter the training set and the bound says nothing:
    we return ``inf`` then, rather than a formula outside its range.
    """
    if vc_dim >= n:
        return math.inf
    return train_error + math.sqrt((vc_dim * (math.log(2 * n / vc_dim) + 1) + math.log(4 / delta)) / n)


def rademacher_from_fit(random_label_train_acc: np.ndarray) -> float:
    """A lower bound on the empirical Rademacher complexity of the network class on the training inputs,
    read off networks that were trained on uniformly random labels among 10 classes.

    The parity of a uniform random class is a uniform random sign sigma_i; a network that predicts the class
    with accuracy a predicts the sign with accuracy >= a, so sup_f (1/n) sum_i sigma_i f(x_i) >= 2a - 1 for
    that draw of sigma. Averaged over draws (seeds) this estimates a lower bound of
    R_n = E_sigma sup_f (1/n) sum_i sigma_i f(x_i).
    """
    return float(np.mean(2 * np.asarray(random_label_train_acc) - 1))


def rademacher_bound(train_error: float, rademacher: float, n: int, delta: float = 0.05) -> float:
    """The Rademacher bound for binary classifiers with values +-1 (Bartlett & Mendelson 2002; Mohri et al.,
    Thm. 3.5 with R(loss class) = R/2), with probability >= 1 - delta:

        test_error <= train_error + R_n + 3 sqrt( ln(2/delta) / (2n) ).
    """
    return train_error + rademacher + 3 * math.sqrt(math.log(2 / delta) / (2 * n))


def validation_bound(val_error: float, n_models: int, m_val: int, delta: float = 0.05) -> float:
    """Kawaguchi, Kaelbling & Bengio's (2017) validation bound: if the final model is chosen among
    ``n_models`` = |F_val| candidates by their error on ``m_val`` validation examples, then with probability
    >= 1 - delta, for the chosen model (and every candidate),

        test_error <= val_error + sqrt( ln(|F_val| / delta) / (2 m_val) ).

    >>> round(validation_bound(0.3, n_models=1, m_val=1000, delta=0.05), 4)
    0.3387
    """
    return val_error + math.sqrt(math.log(n_models / delta) / (2 * m_val))
