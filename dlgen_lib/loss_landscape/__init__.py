"""Chapter 2: non-convexity and the loss landscape -- the chapter's experiments and figures.

* :func:`train_solutions` -- the MLP 40-h-h-10 on MNIST-1D trained by SGD with small and with large batches from
  two seeds (the minima every other experiment looks at), with the initial parameters kept;
* :func:`hessian_spectra` -- Lanczos top-k, stochastic Lanczos quadrature and Hutchinson's trace at
  initialization and at the minimum (Sagun et al. 2017; Ghorbani et al. 2019; PyHessian);
* :func:`critical_points` -- a small tanh network: critical points from many starts by minimizing ||∇L||²
  (Levenberg-Marquardt on the residual ∇L, all starts at once), their loss and index (Dauphin et al. 2014);
* :func:`width_spread` -- final losses over seeds for widths from small to large (Choromanska et al. 2015);
* :func:`slices` -- the line from init to solution (Goodfellow et al. 2015), filter-normalized 1-D and 2-D slices
  around the small- and large-batch minima (Li et al. 2018);
* :func:`mode_connectivity` -- the straight segment and a trained quadratic Bezier curve between two minima
  (Garipov et al. 2018; Draxler et al. 2018);
* :func:`deep_blowup` -- a deep plain ReLU MLP with a naive and a careful (He) initialization: per-layer gradient
  norms and training curves.

The numerical core is :mod:`dlgen_lib.landscape`.
"""

from .experiments import *  # noqa: F403  (the chapter's public face: experiments and figures)
from .experiments import __all__ as _experiments
from .figures import *  # noqa: F403
from .figures import __all__ as _figures

__all__ = [*_experiments, *_figures]
