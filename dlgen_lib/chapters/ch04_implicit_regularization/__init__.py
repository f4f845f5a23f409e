"""Chapter 4, implicit regularization: early stopping against explicit regularizers, the phase diagram of
memorization over label noise and training time, learning curves, flat minima and critical periods.

The notebook imports it as ``from dlgen_lib.chapters import ch04_implicit_regularization as ch``:

* :mod:`.experiments` -- :class:`ImplicitRegularizationConfig` (parts ``net``, ``split``, ``curvature``, ``main``,
  ``curves``, ``flat``, ``critical``; ``dl.scaled(ch.ImplicitRegularizationConfig)``) and the cached experiments
  :func:`regularization_runs`, :func:`learning_curves`, :func:`flat_minima`, :func:`critical_periods`, with the
  analysis helpers :func:`compare_controls`, :func:`phase_grid`, :func:`validation_bounds`,
  :func:`clean_error_from_noisy`, :func:`rise_then_fall` (the bound itself: :mod:`dlgen_lib.bounds`);
* :mod:`.figures` -- ``plot_*``.
"""

from .experiments import (
    HESTNESS_EXPONENTS,
    N_CLASSES,
    ControlSummary,
    Critical,
    CriticalPeriods,
    Curvature,
    Curves,
    Flat,
    FlatMinima,
    ImplicitRegularizationConfig,
    LearningCurves,
    MainEnsemble,
    Network,
    RegularizationRuns,
    RunSpec,
    SplitSizes,
    blur,
    build_ensemble,
    clean_error_from_noisy,
    compare_controls,
    critical_periods,
    flat_minima,
    learning_curves,
    phase_grid,
    regularization_runs,
    regularized_mlp,
    rise_then_fall,
    validation_bounds,
)
from .figures import (
    plot_controls,
    plot_critical,
    plot_flatness,
    plot_init_curvature,
    plot_learning_curves,
    plot_phase,
)

# the chapter's config class: dl.scaled(ch.CONFIG) == dl.scaled(ch.ImplicitRegularizationConfig)
CONFIG = ImplicitRegularizationConfig

__all__ = [
    "CONFIG", "HESTNESS_EXPONENTS", "N_CLASSES", "ControlSummary", "Critical", "CriticalPeriods", "Curvature",
    "Curves", "Flat", "FlatMinima", "ImplicitRegularizationConfig", "LearningCurves", "MainEnsemble", "Network",
    "RegularizationRuns", "RunSpec", "SplitSizes", "blur", "build_ensemble", "clean_error_from_noisy",
    "compare_controls",
    "critical_periods", "flat_minima", "learning_curves", "phase_grid", "regularization_runs", "regularized_mlp",
    "rise_then_fall", "validation_bounds",
    "plot_controls", "plot_critical", "plot_flatness", "plot_init_curvature", "plot_learning_curves", "plot_phase",
]
