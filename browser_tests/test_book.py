"""The built book as a reader gets it: every page opened in headless Chromium, offline (every request to another
host blocked), must show rendered math, loaded images, working explorers, code that fits the page, and no error.

Run after building the book (it is not part of ``python3 -m pytest``, which runs before the book exists):

    python3 -m pytest browser_tests

It needs Chromium (Debian: ``apt-get install chromium``; another binary with ``DLGEN_CHROMIUM``) and saves a
screenshot of every page under ``_build/screenshots/``. The measurements come from ``tools/bookcheck.py``, which
prints them as a table.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import bookcheck  # noqa: E402

HTML = ROOT / "_build" / "html"
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="session")
def reports():
    """Every page, measured once (a few seconds a page); the measurements are also written to
    ``_build/bookcheck.json`` and, as a table, ``_build/bookcheck.txt``."""
    measured = bookcheck.check_book(HTML, shots=ROOT / "_build" / "screenshots")
    bookcheck.save(measured, ROOT / "_build" / "bookcheck")
    return {r.page: r for r in measured}


def test_every_page_of_the_toc_was_built_and_checked(reports):
    expected = {"intro.html", "claims.html", "references.html"} | {f"chapters/{c}.html" for c in CHAPTERS}
    assert expected <= set(reports), f"pages missing from the build: {sorted(expected - set(reports))}"


def test_no_request_leaves_the_machine(reports):
    external = {page: r.external_requests for page, r in reports.items() if r.external_requests}
    assert not external, f"pages that ask another host for something: {external}"


def test_no_console_error_or_failed_request(reports):
    bad = {page: r.console_errors + r.failed_requests for page, r in reports.items()
           if r.console_errors or r.failed_requests}
    assert not bad, f"console errors or failed requests: {bad}"


def test_math_is_rendered_everywhere(reports):
    bad = {page: (r.math_raw, r.math_errors) for page, r in reports.items() if r.math_raw or r.math_errors}
    assert not bad, f"pages with math left raw or MathJax errors (raw, errors): {bad}"
    for chapter in CHAPTERS:  # every chapter has formulas; none may go unrendered
        assert reports[f"chapters/{chapter}.html"].math_rendered > 0, chapter


def test_every_image_loads(reports):
    bad = {page: r.images_broken for page, r in reports.items() if r.images_broken}
    assert not bad, f"images that did not load: {bad}"
    for chapter in CHAPTERS:
        assert reports[f"chapters/{chapter}.html"].images >= 3, f"{chapter} shows almost no figures"


def test_no_cell_shows_an_error(reports):
    bad = {page: r.error_outputs for page, r in reports.items() if r.error_outputs}
    assert not bad, f"cells with an error or a traceback in their output: {bad}"


def test_every_chapter_has_an_explorer_that_responds(reports):
    for chapter in CHAPTERS:
        r = reports[f"chapters/{chapter}.html"]
        assert r.explorers >= 1, f"{chapter}: no explorer in the page"
        assert r.explorers_responding == r.explorers, f"{chapter}: an explorer does not respond to its slider"


def test_code_fits_the_page(reports):
    bad = {page: f"{r.code_overflowing} of {r.code_blocks} blocks, widest line {r.widest_code_line}"
           for page, r in reports.items() if r.code_overflowing}
    assert not bad, f"code blocks wider than the page (they scroll sideways): {bad}"


def test_figures_are_readable_at_the_page_width(reports):
    """A figure wider than the page is shrunk to fit; dl.plotting.figure enlarges its text by text_scale, so the
    text shows at >= 80 % of its set size. Checked on the figures as the browser shows them (at 100 dpi)."""
    from dlgen_lib.plotting import text_scale

    small = {}
    for page, r in reports.items():
        for natural, shown in r.figure_widths:
            if natural and shown / natural * text_scale(natural / 100) < 0.75:
                small.setdefault(page, []).append(f"{natural} px shown at {shown} px")
    assert not small, f"figures whose text shows below 75 % of its size: {small}"
    assert sum(len(r.figure_widths) for r in reports.values()) >= 40


def test_pages_stay_light(reports):
    heavy = {page: round(r.bytes_total / 2**20, 1) for page, r in reports.items() if r.bytes_total > 8 * 2**20}
    assert not heavy, f"pages loading more than 8 MiB: {heavy}"


def test_a_screenshot_of_every_page(reports):
    missing = [page for page, r in reports.items() if not (r.screenshot and Path(r.screenshot).is_file())]
    assert not missing
