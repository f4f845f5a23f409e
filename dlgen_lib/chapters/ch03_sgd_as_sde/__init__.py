"""Chapter 3, SGD as a stochastic differential equation: clouds of SGD replicas against the SDE's closed forms,
Kramers escape from a sharp well, smoothing, the geometry of the gradient noise, the noise scale g = εN/(B(1-m)),
and the sharpness of small- and large-batch minima.

The notebook imports it as ``from dlgen_lib.chapters import ch03_sgd_as_sde as ch``:

* :mod:`.experiments` -- :class:`SgdAsSdeConfig` (parts ``sim``, ``quad``, ``cloud``, ``aniso``, ``well``,
  ``ripple``, ``net``, ``noise``, ``grid``, ``sched``, ``sharp``; ``dl.scaled(ch.SgdAsSdeConfig)``) and the cached
  experiments :func:`quadratic_cloud`, :func:`anisotropic_cloud`, :func:`well_escape`, :func:`smoothing`,
  :func:`sharpness_vs_batch`, :func:`noise_geometry`, :func:`noise_scale_grid`, :func:`schedules`, with the losses
  :func:`well_loss` and :func:`ripple_loss` and the summaries :func:`fit_barrier`, :func:`noise_scale`,
  :func:`collapse_spread` (the numerical cores: :mod:`dlgen_lib.sde`, :mod:`dlgen_lib.landscape`);
* :mod:`.figures` -- ``plot_*``.
"""

from .experiments import (
    PAPERS,
    Anisotropic,
    AnisotropicCloud,
    BatchSharpness,
    DoubleWell,
    Network,
    NoiseCovariance,
    NoiseGeometry,
    NoiseScaleGrid,
    NoiseScales,
    Phases,
    QuadraticCloud,
    QuadraticGrid,
    QuadraticRuns,
    Ripples,
    Schedules,
    SgdAsSdeConfig,
    SharpnessRuns,
    Simulation,
    Smoothing,
    WellEscape,
    anisotropic_cloud,
    collapse_spread,
    fit_barrier,
    noise_geometry,
    noise_scale,
    noise_scale_grid,
    quadratic_cloud,
    ripple_loss,
    schedules,
    sharpness_vs_batch,
    smoothing,
    well_escape,
    well_loss,
)
from .figures import (
    plot_anisotropic,
    plot_cloud,
    plot_escape,
    plot_noise,
    plot_noise_scale,
    plot_schedules,
    plot_sharpness,
    plot_smoothing,
)

CONFIG = SgdAsSdeConfig  # the chapter's config class: dl.scaled(ch.CONFIG) == dl.scaled(ch.SgdAsSdeConfig)

__all__ = [
    "CONFIG", "PAPERS", "Anisotropic", "AnisotropicCloud", "BatchSharpness", "DoubleWell", "Network",
    "NoiseCovariance", "NoiseGeometry", "NoiseScaleGrid", "NoiseScales", "Phases", "QuadraticCloud", "QuadraticGrid",
    "QuadraticRuns", "Ripples", "Schedules", "SgdAsSdeConfig", "SharpnessRuns", "Simulation", "Smoothing",
    "WellEscape", "anisotropic_cloud", "collapse_spread", "fit_barrier", "noise_geometry", "noise_scale",
    "noise_scale_grid", "quadratic_cloud", "ripple_loss", "schedules", "sharpness_vs_batch", "smoothing",
    "well_escape", "well_loss",
    "plot_anisotropic", "plot_cloud", "plot_escape", "plot_noise", "plot_noise_scale", "plot_schedules",
    "plot_sharpness", "plot_smoothing",
]
