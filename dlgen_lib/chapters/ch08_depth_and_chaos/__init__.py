"""Chapter 8, depth and chaos: signals in deep random networks are either forgotten (order) or scrambled (chaos),
except near a critical line; the depth scale that diverges there bounds the depth a network can be trained at
(Poole et al. 2016; Schoenholz et al. 2017).

The notebook imports it as ``from dlgen_lib.chapters import ch08_depth_and_chaos as ch``:

* :mod:`.experiments` -- :class:`DepthChaosConfig` (parts ``phase``, ``circle``, ``gradients``, ``training``,
  ``robustness``; ``dl.scaled(ch.DepthChaosConfig)``) and the cached experiments :func:`phase_diagram`,
  :func:`circle_length`, :func:`gradient_norms`, :func:`trainability`, :func:`robustness` (with
  :func:`robustness_fit`), and :data:`PAPERS` (the theory: :mod:`dlgen_lib.meanfield`; the attacks:
  :mod:`dlgen_lib.adversarial`);
* :mod:`.figures` -- ``plot_*`` and the explorer's drawing.
"""

from .experiments import (
    PAPERS,
    Circle,
    CircleResult,
    DepthChaosConfig,
    GradientResult,
    Gradients,
    Phase,
    PhaseResult,
    Robustness,
    RobustnessFit,
    RobustnessResult,
    TanhMLP,
    TrainabilityResult,
    Training,
    circle_length,
    crossing,
    gradient_norms,
    init_scaled,
    phase_diagram,
    robustness,
    robustness_fit,
    trainability,
)
from .figures import (
    draw_correlations,
    plot_circle,
    plot_gradients,
    plot_phase,
    plot_robustness,
    plot_trainability,
)

CONFIG = DepthChaosConfig  # the chapter's config class

__all__ = [
    "CONFIG", "PAPERS", "Circle", "CircleResult", "DepthChaosConfig", "GradientResult", "Gradients", "Phase",
    "PhaseResult", "Robustness", "RobustnessFit", "RobustnessResult", "TanhMLP", "Training", "TrainabilityResult",
    "circle_length", "crossing", "gradient_norms", "init_scaled", "phase_diagram", "robustness", "robustness_fit",
    "trainability", "draw_correlations", "plot_circle", "plot_gradients", "plot_phase", "plot_robustness",
    "plot_trainability",
]
