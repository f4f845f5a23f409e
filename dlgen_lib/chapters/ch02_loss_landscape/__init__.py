"""Chapter 2, non-convexity and the loss landscape: the Hessian at a minimum, critical points and their index, the
spread of minima over widths, slices through minima, the paths that connect them, and what a deep plain network
does with a careless initialization.

The notebook imports it as ``from dlgen_lib.chapters import ch02_loss_landscape as ch``:

* :mod:`.experiments` -- :class:`LossLandscapeConfig` (parts ``net``, ``train``, ``hessian``, ``critical``,
  ``spread``, ``slices``, ``paths``, ``deep``; ``dl.scaled(ch.LossLandscapeConfig)``) and the cached experiments
  :func:`train_solutions`, :func:`hessian_spectra`, :func:`critical_points`, :func:`width_spread`, :func:`slices`,
  :func:`mode_connectivity`, :func:`deep_blowup`, with the helpers they are made of (:func:`spectrum`,
  :func:`find_critical_points`, :func:`train_bezier`, :func:`deep_init`, :func:`layer_grad_norms`) and the summaries
  :func:`spread` and :func:`slice_curvature` (the numerical core: :mod:`dlgen_lib.landscape`);
* :mod:`.figures` -- ``plot_*``.
"""

from .experiments import (
    PAPERS,
    CriticalPoints,
    CriticalSearch,
    Deep,
    DeepBlowup,
    Hessian,
    LossLandscapeConfig,
    ModeConnectivity,
    Network,
    PathRuns,
    SliceGrid,
    Slices,
    Solutions,
    Spectrum,
    SpreadRuns,
    TanhNet,
    Training,
    WidthSpread,
    critical_points,
    deep_blowup,
    deep_init,
    find_critical_points,
    hessian_spectra,
    layer_grad_norms,
    mode_connectivity,
    slice_curvature,
    slices,
    spectrum,
    spread,
    train_bezier,
    train_solutions,
    width_spread,
)
from .figures import (
    plot_critical_points,
    plot_deep_blowup,
    plot_line,
    plot_mode_connectivity,
    plot_slices,
    plot_spectra,
    plot_width_spread,
)

CONFIG = LossLandscapeConfig  # the chapter's config class: dl.scaled(ch.CONFIG) == dl.scaled(ch.LossLandscapeConfig)

__all__ = [
    "CONFIG", "PAPERS", "CriticalPoints", "CriticalSearch", "Deep", "DeepBlowup", "Hessian", "LossLandscapeConfig",
    "ModeConnectivity", "Network", "PathRuns", "SliceGrid", "Slices", "Solutions", "Spectrum", "TanhNet", "Training",
    "WidthSpread", "SpreadRuns", "critical_points", "deep_blowup", "deep_init", "find_critical_points",
    "hessian_spectra", "layer_grad_norms", "mode_connectivity", "slice_curvature", "slices", "spectrum", "spread",
    "train_bezier", "train_solutions", "width_spread",
    "plot_critical_points", "plot_deep_blowup", "plot_line", "plot_mode_connectivity", "plot_slices", "plot_spectra",
    "plot_width_spread",
]
