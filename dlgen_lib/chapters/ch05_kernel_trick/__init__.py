"""Chapter 5, the kernel trick and the minimum-norm solution: gradient descent from zero finds the minimum-norm
interpolant, exact Gaussian-kernel interpolation generalizes, and the RKHS norm is only part of the story (Zhang
et al. 2017, Section 5).

The notebook imports it as ``from dlgen_lib.chapters import ch05_kernel_trick as ch``:

* :mod:`.experiments` -- :class:`KernelConfig` (parts ``pixels``, ``least_squares``, ``curve``, ``norms``;
  ``dl.scaled(ch.KernelConfig)``) and the cached experiments :func:`min_norm_demo`, :func:`learning_curve`,
  :func:`norm_comparison`, :func:`gamma_grid`, with :data:`XIAO_PEERS` (the numerical core:
  :mod:`dlgen_lib.kernels`);
* :mod:`.figures` -- ``plot_*``.
"""

from .experiments import (
    XIAO_PEERS,
    Curve,
    CurveResult,
    KernelConfig,
    LeastSquares,
    MinNormResult,
    NormResult,
    Norms,
    Pixels,
    gamma_grid,
    learning_curve,
    min_norm_demo,
    norm_comparison,
)
from .figures import plot_learning_curve, plot_min_norm, plot_norms

CONFIG = KernelConfig  # the chapter's config class: dl.scaled(ch.CONFIG) == dl.scaled(ch.KernelConfig)

__all__ = [
    "CONFIG", "XIAO_PEERS", "Curve", "CurveResult", "KernelConfig", "LeastSquares", "MinNormResult", "NormResult",
    "Norms", "Pixels", "gamma_grid", "learning_curve", "min_norm_demo", "norm_comparison",
    "plot_learning_curve", "plot_min_norm", "plot_norms",
]
