"""ipywidgets explorers over precomputed (cached) results: moving a slider only redraws, it never trains.

>>> explorer = slider_explorer([0.0, 0.5, 1.0], lambda value, ax: ax.plot([0, 1], [value, value]),
...                            description="p")  # doctest: +SKIP
>>> explorer = grid_explorer({"noise": [0.0, 0.15], "lam": [0.0, 1e-3]},
...                          lambda ax, noise, lam: ax.plot([0, 1], [noise, lam]))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def grid_explorer(options: dict[str, Sequence], draw: Callable, width: float = 5.0, height: float = 3.4):
    """One selection slider per entry of ``options`` (name -> values); each move clears one axis and calls
    ``draw(ax, **{name: selected value})``.

    Returns the widget (a VBox of the sliders and an Output area); displaying it in JupyterLab shows it.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from .plotting import use_style

    if not options or any(len(list(v)) == 0 for v in options.values()):
        raise ValueError(f"every slider needs at least one value, got {options}")
    sliders = {name: widgets.SelectionSlider(options=list(values), value=list(values)[0], description=name,
                                             continuous_update=False)
               for name, values in options.items()}
    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            use_style()
            fig, ax = plt.subplots(figsize=(width, height), constrained_layout=True)
            draw(ax, **{name: s.value for name, s in sliders.items()})
            plt.show()

    for s in sliders.values():
        s.observe(redraw, names="value")
    redraw()
    return widgets.VBox([*sliders.values(), out])


def slider_explorer(values: Sequence, draw: Callable, description: str = "value", width: float = 5.0,
                    height: float = 3.4):
    """A selection slider over ``values``; each move clears one axis and calls ``draw(value, ax)``.

    Returns the widget (a VBox of the slider and an Output area); displaying it in JupyterLab shows it.
    """
    return grid_explorer({description: values}, lambda ax, **chosen: draw(chosen[description], ax), width, height)
