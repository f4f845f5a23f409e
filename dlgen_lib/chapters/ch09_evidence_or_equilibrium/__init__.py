"""Chapter 9, Bayesian evidence or a process out of equilibrium: two accounts of why SGD finds solutions that
generalize, each turned into experiments (Smith & Le 2018; Chaudhari & Soatto 2018; Shwartz-Ziv & Tishby 2017;
Baldassi et al. 2016; Chaudhari et al. 2017).

The notebook imports it as ``from dlgen_lib.chapters import ch09_evidence_or_equilibrium as ch``:

* :mod:`.experiments` -- :class:`EvidenceOrEquilibriumConfig` (parts ``evidence``, ``current``, ``plateau``,
  ``entropy``, ``noise``, ``entropy_sgd``; ``dl.scaled(ch.EvidenceOrEquilibriumConfig)``) and the cached
  experiments :func:`evidence_sweep`, :func:`sgd_current`, :func:`plateau`, :func:`local_entropy_landscape`,
  :func:`noise_kinds`, :func:`entropy_sgd`, with :data:`PAPERS` (the closed forms: :mod:`dlgen_lib.evidence`,
  :mod:`dlgen_lib.nonequilibrium`);
* :mod:`.figures` -- ``plot_*`` and the explorer's drawing.
"""

from .experiments import (
    KINDS,
    METHODS,
    PAPERS,
    Current,
    CurrentResult,
    Entropy,
    EntropyResult,
    EntropySGD,
    EntropySGDResult,
    EvidenceConfig,
    EvidenceOrEquilibriumConfig,
    EvidenceResult,
    NoiseKinds,
    NoiseKindsResult,
    Plateau,
    PlateauResult,
    entropy_sgd,
    evidence_sweep,
    exact_linear_sgd,
    local_entropy_landscape,
    noise_kinds,
    plateau,
    sgd_current,
    wells,
)
from .figures import (
    draw_local_entropy,
    plot_current,
    plot_entropy,
    plot_entropy_sgd,
    plot_evidence,
    plot_noise_kinds,
    plot_plateau,
)

CONFIG = EvidenceOrEquilibriumConfig  # the chapter's config class

__all__ = [
    "CONFIG", "KINDS", "METHODS", "PAPERS", "Current", "CurrentResult", "Entropy", "EntropyResult", "EntropySGD",
    "EntropySGDResult", "EvidenceConfig", "EvidenceOrEquilibriumConfig", "EvidenceResult", "NoiseKinds",
    "NoiseKindsResult", "Plateau", "PlateauResult", "entropy_sgd", "evidence_sweep", "exact_linear_sgd",
    "local_entropy_landscape", "noise_kinds", "plateau", "sgd_current", "wells", "draw_local_entropy", "plot_current",
    "plot_entropy", "plot_entropy_sgd", "plot_evidence", "plot_noise_kinds", "plot_plateau",
]
