"""Chapter 6, the lottery ticket hypothesis: iterative magnitude pruning finds winning tickets (Frankle & Carbin
2019), and rewinding to an early step helps networks that are unstable to SGD noise (Frankle et al. 2020).

The notebook imports it as ``from dlgen_lib.chapters import ch06_lottery_tickets as ch``; the pruning machinery
(magnitude pruning, random masks, rewinding, iterative pruning with its controls, mask locality) is
:mod:`dlgen_lib.pruning`, imported on its own (``from dlgen_lib import pruning``):

* :mod:`.experiments` -- :class:`LotteryConfig` (parts ``imp``, ``mnist``, ``fashion_data``, ``fashion``,
  ``cnn``, ``instability``, ``rewinding``, ``conv``; ``dl.scaled(ch.LotteryConfig)``) and the cached experiments
  :func:`imp_mnist1d`, :func:`imp_fashion`, :func:`imp_conv`, :func:`instability`, :func:`imp_rewinding`, with
  ``PAPER``, the papers' numbers;
* :mod:`.figures` -- ``plot_*``.
"""

from .experiments import (
    CNN,
    CONV_ARCHS,
    IMP,
    PAPER,
    ConvFC,
    ConvIMP,
    CopySplits,
    FashionData,
    FashionIMP,
    Instability,
    LotteryConfig,
    Mnist1dIMP,
    Rewinding,
    conv_rates,
    error_fn,
    fashion_images,
    fashion_split,
    imp_conv,
    imp_fashion,
    imp_mnist1d,
    imp_rewinding,
    instability,
    mnist1d_split,
    path_error,
)
from .figures import (
    ARM_STYLE,
    plot_imp,
    plot_instability,
    plot_masks,
)

CONFIG = LotteryConfig  # the chapter's config class: dl.scaled(ch.CONFIG) == dl.scaled(ch.LotteryConfig)

__all__ = [
    "CNN", "CONFIG", "CONV_ARCHS", "PAPER", "ConvFC", "ConvIMP", "FashionData", "FashionIMP", "IMP",
    "Instability", "LotteryConfig", "Mnist1dIMP", "CopySplits", "Rewinding", "conv_rates", "error_fn",
    "fashion_images", "fashion_split", "imp_conv", "imp_fashion", "imp_mnist1d", "imp_rewinding", "instability",
    "mnist1d_split", "path_error",
    "ARM_STYLE", "plot_imp", "plot_instability", "plot_masks",
]
