"""Explorers over precomputed (cached) results: moving a slider only redraws, it never trains.

An explorer has two faces, shown by whichever front end displays it:

- in JupyterLab, Binder or Colab (a live kernel), ipywidgets sliders that redraw one axis on every move;
- in the built book (static HTML, no kernel), the same sliders as plain HTML range inputs over frames rendered
  once, when the cell runs, by the same ``draw`` function: a few lines of inline JavaScript swap the frame.
  Nothing is fetched from anywhere: the frames are PNG data inside the page.

Both travel in one display (a MIME bundle). A live front end picks the widget; the book is configured (in
``_config.yml``) to skip the widget's MIME type, so it picks the HTML. Pre-rendered PNG frames were chosen over
a plotting library with its own slider (plotly, Vega-Lite) because they reuse each chapter's matplotlib ``draw``
unchanged, look like the book's other figures, and weigh about 10 kB a frame (256 colours); a plotly page would
carry a 3.5 MB script.

>>> explorer = slider_explorer([0.0, 0.5, 1.0], lambda value, ax: ax.plot([0, 1], [value, value]),
...                            description="p")
>>> len(explorer.frames())
3
>>> explorer = grid_explorer({"noise": [0.0, 0.15], "lam": [0.0, 1e-3, 1e-2]},
...                          lambda ax, noise, lam: ax.plot([0, 1], [noise, lam]))
>>> explorer.shape, len(explorer.frames())
((2, 3), 6)
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
from collections.abc import Callable, Sequence

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# The script of the static face. It reads the frames from the JSON block of its own container and shows the
# frame of the sliders' positions (row-major over the sliders, as Explorer.frames() renders them).
_SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  var data = JSON.parse(root.querySelector('script[type="application/json"]').textContent);
  var inputs = root.querySelectorAll('input[type="range"]');
  var shown = root.querySelectorAll('output');
  var img = root.querySelector('img');
  function show() {
    var k = 0;
    for (var i = 0; i < inputs.length; i++) {
      var v = Number(inputs[i].value);
      shown[i].textContent = data.labels[i][v];
      k = k * data.shape[i] + v;
    }
    img.src = 'data:image/png;base64,' + data.frames[k];
    img.alt = data.alt[k];
  }
  for (var i = 0; i < inputs.length; i++) { inputs[i].addEventListener('input', show); }
})();
"""


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _png(fig, dpi: int) -> bytes:
    """The figure as a PNG of at most 256 colours: a third of the bytes of a full-colour one for line plots, with
    no visible difference at this size (measured: 31 kB -> 11 kB a frame)."""
    from PIL import Image

    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=dpi)
    image = Image.open(io.BytesIO(full.getvalue())).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


class Explorer:
    """Sliders over ``options`` (name -> the values it takes) that call ``draw(ax, **{name: value})`` on one
    axis of ``width`` x ``height`` inches.

    Displaying it shows the ipywidgets face in a live front end and the static face in the built book.
    ``widget`` is the ipywidgets face (built on first use), ``frames()`` every frame of the static face as PNG
    bytes, ``to_html()`` the static face.
    """

    def __init__(self, options: dict[str, Sequence], draw: Callable, width: float = 5.0, height: float = 3.4,
                 dpi: int = 90):
        options = {str(name): list(values) for name, values in options.items()}
        empty = [name for name, values in options.items() if len(values) == 0]
        if not options or empty:
            raise ValueError(f"every slider needs at least one value; got no values for {empty or 'any slider'} "
                             f"in {options}")
        if not (width > 0 and height > 0 and dpi > 0):
            raise ValueError(f"width, height and dpi must be positive, got {width}, {height}, {dpi}")
        self.options, self.draw, self.width, self.height, self.dpi = options, draw, width, height, dpi
        self._widget = None
        self._frames: list[bytes] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.options.values())

    # ----- the live face -------------------------------------------------------------------------------------
    @property
    def widget(self):
        """The ipywidgets face: a VBox of one SelectionSlider per option and an Output area."""
        if self._widget is None:
            self._widget = self._build_widget()
        return self._widget

    def _build_widget(self):
        import ipywidgets as widgets
        import matplotlib.pyplot as plt

        from .plotting import use_style

        sliders = {name: widgets.SelectionSlider(options=values, value=values[0], description=name,
                                                 continuous_update=False)
                   for name, values in self.options.items()}
        out = widgets.Output()

        def redraw(change=None):
            with out:
                out.clear_output(wait=True)
                use_style()
                fig, ax = plt.subplots(figsize=(self.width, self.height), constrained_layout=True)
                self.draw(ax, **{name: s.value for name, s in sliders.items()})
                plt.show()

        for s in sliders.values():
            s.observe(redraw, names="value")
        redraw()
        return widgets.VBox([*sliders.values(), out])

    # ----- the static face -----------------------------------------------------------------------------------
    def _combinations(self) -> list[dict]:
        names = list(self.options)
        return [dict(zip(names, values)) for values in itertools.product(*self.options.values())]

    def frames(self) -> list[bytes]:
        """One PNG per combination of slider values, the last slider varying fastest (rendered once)."""
        if self._frames is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            from .plotting import use_style

            use_style()
            frames = []
            for chosen in self._combinations():
                fig = Figure(figsize=(self.width, self.height), dpi=self.dpi, layout="constrained")
                FigureCanvasAgg(fig)
                self.draw(fig.add_subplot(), **chosen)
                frames.append(_png(fig, self.dpi))
            self._frames = frames
        return self._frames

    def to_html(self) -> str:
        """The static face: a range input per option, the first frame, the frames as data, and the script."""
        frames = [base64.b64encode(f).decode("ascii") for f in self.frames()]
        alts = [", ".join(f"{name} = {_label(v)}" for name, v in chosen.items()) for chosen in self._combinations()]
        data = {"shape": list(self.shape), "labels": [[_label(v) for v in vs] for vs in self.options.values()],
                "frames": frames, "alt": [f"explorer frame: {a}" for a in alts]}
        payload = json.dumps(data).replace("</", "<\\/")  # no "</script>" inside the block
        uid = "dlgen-explorer-" + hashlib.sha1(payload.encode()).hexdigest()[:12]
        controls = "".join(
            f'<label style="display:block;margin:0.2em 0">'
            f'<span style="display:inline-block;min-width:6em">{html.escape(name)}</span> '
            f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="0" '
            f'aria-label="{html.escape(name)}" style="width:16em;vertical-align:middle"> '
            f'<output>{html.escape(_label(values[0]))}</output></label>'
            for name, values in self.options.items())
        return (f'<div class="dlgen-explorer" id="{uid}">{controls}'
                f'<img src="data:image/png;base64,{frames[0]}" alt="{html.escape(data["alt"][0])}" '
                f'style="max-width:100%;height:auto">'
                f'<script type="application/json">{payload}</script>'
                f'<script>{_SCRIPT % {"id": json.dumps(uid)}}</script></div>')

    # ----- display -------------------------------------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": f"<Explorer over {', '.join(self.options)}: {'x'.join(map(str, self.shape))} "
                                "frames>",
                  "text/html": self.to_html()}
        try:
            live = self.widget._repr_mimebundle_()
        except ImportError:  # no ipywidgets: the static face alone
            live = {}
        if WIDGET_MIME in (live or {}):
            bundle[WIDGET_MIME] = live[WIDGET_MIME]
        return bundle


def grid_explorer(options: dict[str, Sequence], draw: Callable, width: float = 5.0, height: float = 3.4
                  ) -> Explorer:
    """One slider per entry of ``options`` (name -> values); each move calls ``draw(ax, **{name: value})``."""
    return Explorer(options, draw, width, height)


def slider_explorer(values: Sequence, draw: Callable, description: str = "value", width: float = 5.0,
                    height: float = 3.4) -> Explorer:
    """One slider over ``values``; each move calls ``draw(value, ax)``."""
    return Explorer({description: values}, lambda ax, **chosen: draw(chosen[description], ax), width, height)
