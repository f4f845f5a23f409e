"""Chapter 6: the lottery ticket hypothesis -- the chapter's networks, data, cached experiments and figures.

The pruning machinery (magnitude pruning, random masks, rewinding, iterative pruning with its controls, mask
locality) lives in :mod:`~dlgen_lib.pruning`; its public names are re-exported here, so a notebook needs only
``from dlgen_lib import lottery as lt``. On top of it:

* :func:`imp_mnist1d`, :func:`imp_fashion` -- IMP with controls on an MNIST-1D MLP and a LeNet-300-100-like MLP
  on Fashion-MNIST; :func:`imp_conv` -- Frankle & Carbin's Conv-2/4/6 (full scale);
* :func:`imp_rewinding` -- IMP on a small CNN, rewinding to init against rewinding to step k;
* :func:`instability` -- linear mode connectivity (Frankle et al. 2020): two copies of the state at step k trained
  with different data orders, the error on the straight line between them minus the mean endpoint error;
* :func:`lottery_config` sizes them by scale; ``plot_*`` draw the figures; ``PAPER`` holds the papers' numbers.
"""

from ..pruning import *  # noqa: F403  (the machinery the chapter builds on)
from ..pruning import __all__ as _pruning
from .experiments import *  # noqa: F403  (the chapter's public face: experiments and figures)
from .experiments import __all__ as _experiments
from .figures import *  # noqa: F403
from .figures import __all__ as _figures

__all__ = [*_pruning, *_experiments, *_figures]
