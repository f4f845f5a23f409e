"""Chapter 7, double descent: the test error peaks where a model can just fit its training set, and falls again
beyond it -- in random-features regression, in min-norm least squares and in the width of a network.

The notebook imports it as ``from dlgen_lib.chapters import ch07_double_descent as ch``:

* :mod:`.experiments` -- :class:`DoubleDescentConfig` (parts ``draws``, ``ridge``, ``rf``, ``fashion``,
  ``isotropic``, ``sample_wise``, ``train``, ``deep``, ``cnn``; ``dl.scaled(ch.DoubleDescentConfig)``), the cached
  experiments :func:`rf_curves`, :func:`isotropic_check`, :func:`sample_wise`, :func:`deep_double_descent`,
  :func:`cnn_double_descent`, and the summaries of their curves;
* :mod:`.figures` -- ``plot_*``.
"""

from .experiments import (
    MNIST1D_PAPER,
    CNNSweep,
    DeepSweep,
    DoubleDescentConfig,
    Draws,
    FashionFeatures,
    Isotropic,
    IsotropicCheck,
    RandomFeatures,
    Ridge,
    SampleSizes,
    SampleWise,
    Training,
    cnn_double_descent,
    deep_double_descent,
    early_stopped_error,
    first_minimum,
    first_minimum_and_peak,
    isotropic_check,
    rf_curves,
    rise_above_running_min,
    sample_wise,
    threshold_bump,
)
from .figures import (
    plot_epoch_wise,
    plot_isotropic,
    plot_rf_curve,
    plot_rf_explain,
    plot_ridge,
    plot_sample_wise,
    plot_width_sweep,
)

CONFIG = DoubleDescentConfig  # the chapter's config class: dl.scaled(ch.CONFIG) == dl.scaled(ch.DoubleDescentConfig)

__all__ = [
    "CONFIG", "MNIST1D_PAPER", "CNNSweep", "DeepSweep", "DoubleDescentConfig", "Draws", "FashionFeatures",
    "Isotropic", "IsotropicCheck", "RandomFeatures", "Ridge", "SampleSizes", "SampleWise", "Training",
    "cnn_double_descent", "deep_double_descent", "early_stopped_error", "first_minimum", "first_minimum_and_peak",
    "isotropic_check", "rf_curves", "rise_above_running_min", "sample_wise", "threshold_bump",
    "plot_width_sweep", "plot_epoch_wise", "plot_isotropic", "plot_rf_curve", "plot_rf_explain", "plot_ridge",
    "plot_sample_wise",
]
