"""One figure style for the book: colour-blind-safe colours (Okabe & Ito), labelled axes, mean +- std bands.

>>> fig, ax = figure()
>>> line = band(ax, [0, 1, 2], [[0.1, 0.5, 0.9], [0.2, 0.6, 0.8]], label="two seeds")  # mean line, std band
>>> line.get_ydata().round(2).tolist()
[0.15, 0.55, 0.85]
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

# Okabe & Ito (2008): distinguishable with the common colour-vision deficiencies.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "axes.prop_cycle": None,  # set in use_style (needs cycler)
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "font.size": 10,
}


def use_style() -> None:
    """Apply the course's matplotlib style (call once per notebook)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update({k: v for k, v in STYLE.items() if v is not None})
    mpl.rcParams["axes.prop_cycle"] = cycler(color=list(COLORS))


# The book shows a figure at most this wide (inches at the figure's 100 dpi): the article's 684 px at a laptop's
# 1280 px. A wider figure is shrunk to fit, and its text with it.
PAGE_WIDTH = 6.84
READABLE = 0.8  # the text of a wider figure is enlarged so that it shows at >= 80 % of its set size


def text_scale(fig_width: float) -> float:
    """By how much :func:`figure` enlarges the text of a figure ``fig_width`` inches wide.

    >>> text_scale(6.0), round(text_scale(12.6), 2)
    (1.0, 1.47)
    """
    return max(1.0, READABLE * fig_width / PAGE_WIDTH)


@functools.cache
def _page_figure_class():
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    class PageFigure(Figure):
        """A figure that, the first time it is drawn, enlarges its text by :func:`text_scale` of its width, so
        that titles, labels, ticks and legends stay readable when the page shrinks the figure to its width."""

        def draw(self, renderer):
            factor = text_scale(self.get_figwidth())
            if factor > 1 and not getattr(self, "_text_scaled", False):
                self._text_scaled = True
                texts, ticks = set(self.findobj(Text)), set()
                for ax in self.axes:
                    for axis in (ax.xaxis, ax.yaxis):
                        for which in ("major", "minor"):
                            labels = axis.get_ticklabels(which=which)
                            ticks.update(labels)
                            if labels:  # also sets the size of the tick labels made while drawing
                                axis.set_tick_params(which=which, labelsize=labels[0].get_fontsize() * factor)
                for text in texts - ticks:
                    text.set_fontsize(text.get_fontsize() * factor)
            super().draw(renderer)

    return PageFigure


def figure(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.2, **kwargs):
    """A figure of ``nrows x ncols`` panels, each about width x height inches, with the course style. A figure
    wider than the page shows it has its text enlarged (:func:`text_scale`) when it is drawn."""
    import matplotlib.pyplot as plt

    use_style()
    kwargs.setdefault("FigureClass", _page_figure_class())
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False,
                             constrained_layout=True, **kwargs)
    return fig, (axes[0, 0] if axes.size == 1 else axes.ravel())


def band(ax, x: Sequence[float], values, label: str | None = None, color: str | None = None,
         marker: str | None = None, alpha: float = 0.2):
    """Plot the mean over the first axis of ``values`` (seeds, len(x)) with a +- one std band."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    mean, std = np.nanmean(values, 0), (np.nanstd(values, 0) if len(values) > 1 else np.zeros(values.shape[1]))
    (line,) = ax.plot(x, mean, label=label, color=color, marker=marker)
    ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=alpha, linewidth=0)
    return line


def percent_axis(ax, axis: str = "y") -> None:
    """Format an axis holding fractions as percentages."""
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]):
    """A table for a notebook ("paper vs this run"): an IPython Markdown object, rendered as a table in
    JupyterLab and in the book.

    >>> print(markdown_table(["quantity", "paper", "this run"], [["test accuracy", "89 %", "64 %"]]).data)
    | quantity | paper | this run |
    |---|---|---|
    | test accuracy | 89 % | 64 % |
    """
    from IPython.display import Markdown

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return Markdown("\n".join(lines))
