"""Chapter 1, memorization: networks fit random labels and random inputs (Zhang et al. 2017), and what that
leaves of generalization bounds.

The notebook imports it as ``from dlgen_lib.chapters import ch01_memorization as ch``:

* :mod:`.experiments` -- :class:`MemorizationConfig` (parts ``net``, ``split``, ``corruption``, ``inputs``,
  ``regularized``, ``strengths``; ``dl.scaled(ch.MemorizationConfig)``) and the cached experiments
  :func:`corruption_sweep`, :func:`random_inputs`, :func:`regularized_memorization`, :func:`regularizer_strengths`,
  with :func:`bound_table` (the bounds themselves: :mod:`dlgen_lib.bounds`);
* :mod:`.figures` -- ``plot_*``.
"""

from .experiments import (
    REGULARIZERS,
    Bounds,
    Corruption,
    MemorizationConfig,
    Network,
    RandomInputs,
    Regularized,
    SplitSizes,
    Strengths,
    StrengthSweep,
    SweepResult,
    bound_table,
    corruption_sweep,
    random_inputs,
    regularized_memorization,
    regularizer_strengths,
)
from .figures import (
    plot_bounds,
    plot_corruption_sweep,
    plot_inputs,
    plot_random_inputs,
    plot_regularizer_strengths,
    plot_regularizers,
)

CONFIG = MemorizationConfig  # the chapter's config class: dl.scaled(ch.CONFIG) == dl.scaled(ch.MemorizationConfig)

__all__ = [
    "CONFIG", "REGULARIZERS", "Bounds", "Corruption", "MemorizationConfig", "Network", "RandomInputs", "Regularized",
    "SplitSizes", "StrengthSweep", "Strengths", "SweepResult", "bound_table", "corruption_sweep", "random_inputs",
    "regularized_memorization", "regularizer_strengths",
    "plot_bounds", "plot_corruption_sweep", "plot_inputs", "plot_random_inputs", "plot_regularizer_strengths",
    "plot_regularizers",
]
