"""Chapter 4: implicit regularization, early stopping and learning curves -- the chapter's experiments and figures.

* :func:`regularization_runs` -- one vectorized ensemble of MLPs 40-h-h-10 on MNIST-1D with label noise: every
  noise level x seed (the phase diagram, Martin & Mahoney 2017), dropout and input-noise strengths at one noise
  level (per-model rates held in buffers), and scaled initializations (their curvature at init is measured
  before training); plus one small ensemble per weight-decay strength. Validation error (noisy labels, like the
  training set) and error on a noisy copy of the test set are recorded at every evaluation;
* :func:`learning_curves` -- test error against the number of examples for the MLP and the MNIST-1D CNN, all
  sizes in one ensemble (each model's examples tiled to a common length), for power-law fits (Hestness et al.);
* :func:`flat_minima` -- SGD minima from several batch sizes and learning rates: top Hessian eigenvalues by
  Lanczos, the Laplace Occam factor and the effective dimensionality (Maddox et al. 2020) against test error;
  Dinh et al.'s (2017) function-preserving rescaling is :func:`dlgen_lib.landscape.rescale_layers`;
* :func:`critical_periods` -- a blur deficit removed at different times, with the trace of the Fisher
  information tracked during normal training (Achille et al. 2019).

The numerical cores are :mod:`dlgen_lib.train` (ensembles), :mod:`dlgen_lib.landscape` (Hessian-vector
products, Lanczos) and :mod:`dlgen_lib.flatness` (Fisher trace, Occam factor, effective dimensionality).
"""

from .experiments import *  # noqa: F403  (the chapter's public face: experiments and figures)
from .experiments import __all__ as _experiments
from .figures import *  # noqa: F403
from .figures import __all__ as _figures

__all__ = [*_experiments, *_figures]
