"""Figures and widgets: every chapter-1 figure has labelled axes; the explorer redraws from cached results."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dlgen_lib.chapters import ch01_memorization as ch  # noqa: E402
from dlgen_lib.config import scaled  # noqa: E402
from dlgen_lib.data import mnist1d  # noqa: E402
from dlgen_lib.plotting import COLORS, band, figure  # noqa: E402
from dlgen_lib.widgets import grid_explorer, slider_explorer  # noqa: E402


@pytest.fixture(scope="module")
def tiny_results():
    cfg = scaled(ch.MemorizationConfig, "tiny")
    return (cfg, ch.corruption_sweep(cfg.net, cfg.split, cfg.corruption),
            ch.random_inputs(cfg.net, cfg.split, cfg.inputs),
            ch.regularized_memorization(cfg.net, cfg.split, cfg.regularized))


def _assert_labelled(fig):
    for ax in fig.axes:
        assert ax.get_xlabel() or ax.get_xticklabels(), f"panel {ax.get_title()!r} has no x label"
        assert ax.get_title(), "every panel has a title saying what to see"
    assert fig.axes[0].get_ylabel(), "the first panel has a y label"


def test_chapter1_figures_are_labelled(tiny_results):
    cfg, sweep, inputs, regularized = tiny_results
    figs = [ch.plot_inputs(mnist1d()), ch.plot_corruption_sweep(sweep), ch.plot_random_inputs(sweep, inputs),
            ch.plot_regularizers(sweep, regularized), ch.plot_bounds(ch.bound_table(sweep))]
    for fig in figs:
        _assert_labelled(fig)
        plt.close(fig)


def test_band_plots_mean_and_std():
    fig, ax = figure()
    line = band(ax, [0, 1], [[0.0, 1.0], [2.0, 3.0]], label="x", color=COLORS[0])
    assert list(line.get_ydata()) == [1.0, 2.0]  # the mean over seeds
    (poly,) = ax.collections
    ys = poly.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(0.0) and ys.max() == pytest.approx(3.0)  # mean +- std (std = 1)
    plt.close(fig)


def test_slider_explorer_redraws_on_change():
    calls = []
    widget = slider_explorer([0.0, 0.5, 1.0], lambda value, ax: calls.append(value), description="p").widget
    slider, out = widget.children
    assert slider.options == (0.0, 0.5, 1.0) and calls == [0.0]  # drawn once for the first value
    slider.value = 1.0
    assert calls == [0.0, 1.0]
    plt.close("all")


def test_grid_explorer_passes_every_slider_value():
    calls = []
    widget = grid_explorer({"noise": [0.0, 0.15], "lam": [0.0, 1e-3, 1e-2]},
                           lambda ax, noise, lam: calls.append((noise, lam))).widget
    noise, lam, out = widget.children
    assert calls == [(0.0, 0.0)]
    lam.value = 1e-2
    noise.value = 0.15
    assert calls == [(0.0, 0.0), (0.0, 1e-2), (0.15, 1e-2)]
    with pytest.raises(ValueError, match="at least one value"):
        grid_explorer({"noise": []}, lambda ax, noise: None)
    plt.close("all")


def _frame_of(html_text: str, k: int) -> str:
    import json
    import re

    data = json.loads(re.search(r'<script type="application/json">(.*?)</script>', html_text, re.S).group(1)
                      .replace("<\\/", "</"))
    return data["frames"][k], data


def test_static_explorer_renders_every_combination_in_row_major_order():
    import base64
    import io

    import numpy as np
    from matplotlib.image import imread

    drawn = []

    def draw(ax, noise, lam):
        drawn.append((noise, lam))
        ax.axhline(noise + 10 * lam)
        ax.set(ylim=(0, 0.5), title=f"{noise} {lam}")

    explorer = grid_explorer({"noise": [0.0, 0.15], "lam": [0.0, 1e-3, 1e-2]}, draw, width=2, height=1.5)
    frames = explorer.frames()
    assert drawn == [(0.0, 0.0), (0.0, 1e-3), (0.0, 1e-2), (0.15, 0.0), (0.15, 1e-3), (0.15, 1e-2)]
    assert len(set(frames)) == 6 and all(f.startswith(b"\x89PNG") for f in frames)
    assert explorer.frames() is frames  # rendered once
    page = explorer.to_html()
    assert page.count('<input type="range"') == 2 and 'max="1"' in page and 'max="2"' in page
    frame, data = _frame_of(page, 4)  # noise index 1, lam index 1: 1 * 3 + 1
    assert data["shape"] == [2, 3] and data["labels"] == [["0", "0.15"], ["0", "0.001", "0.01"]]
    assert data["alt"][4] == "explorer frame: noise = 0.15, lam = 0.001"
    assert base64.b64decode(frame) == frames[4]
    image = imread(io.BytesIO(frames[4]))
    assert image.shape[:2] == (135, 180)  # 2 x 1.5 inches at 90 dpi
    assert not np.array_equal(image, imread(io.BytesIO(frames[0])))


def test_explorer_display_carries_both_faces():
    explorer = slider_explorer(["a", "b"], lambda value, ax: ax.set_title(value), description="which")
    bundle = explorer._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"}
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id
    assert "<output>a</output>" in bundle["text/html"] and "</script></div>" in bundle["text/html"]
    assert "http" not in bundle["text/html"]  # nothing fetched: frames are data inside the page
    plt.close("all")


def test_explorer_rejects_bad_input():
    with pytest.raises(ValueError, match="no values for \\['lam'\\]"):
        grid_explorer({"noise": [0.0], "lam": []}, lambda ax, noise, lam: None)
    with pytest.raises(ValueError, match="positive"):
        slider_explorer([1], lambda value, ax: None, width=0)
