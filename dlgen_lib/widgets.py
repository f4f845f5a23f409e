"""ipywidgets explorers over precomputed (cached) results: moving a slider only redraws, it never trains.

>>> explorer = slider_explorer([0.0, 0.5, 1.0], lambda value, ax: ax.plot([0, 1], [value, value]),
...                            description="p")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def slider_explorer(values: Sequence, draw: Callable, description: str = "value", width: float = 5.0,
                    height: float = 3.4):
    """A selection slider over ``values``; each move clears one axis and calls ``draw(value, ax)``.

    Returns the widget (a VBox of the slider and an Output area); displaying it in JupyterLab shows it.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .plotting import use_style

    slider = widgets.SelectionSlider(options=list(values), value=list(values)[0], description=description,
                                     continuous_update=False)
    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            use_style()
            fig, ax = plt.subplots(figsize=(width, height), constrained_layout=True)
            draw(slider.value, ax)
            plt.show()

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([slider, out])
