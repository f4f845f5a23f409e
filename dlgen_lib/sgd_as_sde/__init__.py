"""Chapter 3: SGD as a stochastic differential equation -- the chapter's experiments and figures.

* :func:`quadratic_cloud` -- R SGD replicas on a finite-sum quadratic for a grid of (η, B): the stationary variance
  against the Ornstein–Uhlenbeck closed form, its η/B scaling, and an Euler–Maruyama run of the matched SDE;
  :func:`anisotropic_cloud` -- the same in 2-D with noise that follows the curvature: the cloud is not Gibbs in L;
* :func:`well_escape` -- a sharp and a wide well with additive ("tilt") minibatch noise: escape rates from the sharp
  basin against Kramers' law exp(-ΔE/T), the share of replicas in the wide basin against the Gibbs density;
* :func:`smoothing` -- a bowl with narrow ripples: the mean of the SGD cloud against gradient descent on the loss
  convolved with the noise kernel (Kleinberg, Li & Yuan 2018) and on the loss itself;
* :func:`noise_geometry` -- per-example gradients of an MNIST-1D MLP: spectrum and effective rank of the gradient
  noise covariance, and its overlap with the top Hessian eigenvectors (Chaudhari & Soatto 2018);
* :func:`noise_scale_grid` -- learning rate x batch size x momentum: test accuracy against g = εN/(B(1-m))
  (Smith & Le 2018); :func:`schedules` -- decaying ε or growing B (Smith et al. 2018);
* :func:`sharpness` -- λ_max of small- and large-batch minima (Keskar et al. 2017) and the rescaling of Dinh et al.
  (2017) that changes λ_max but not the function.

The numerical cores are :mod:`dlgen_lib.sde` (replicas, closed forms) and :mod:`dlgen_lib.landscape` (Hessian).
"""

from .experiments import *  # noqa: F403  (the chapter's public face: experiments and figures)
from .experiments import __all__ as _experiments
from .figures import *  # noqa: F403
from .figures import __all__ as _figures

__all__ = [*_experiments, *_figures]
