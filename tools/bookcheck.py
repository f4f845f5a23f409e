"""Open every page of the built book in a real browser, offline, and measure what a reader gets.

The book (``_build/html``) is served over HTTP from this machine; headless Chromium (the Debian package, driven by
Playwright through ``executable_path``: Playwright's own browser download needs the network) opens each page with
every request to another host blocked, as for a reader on a train or behind a school firewall. Per page it records:

- console errors, uncaught page errors, failed requests and requests to other hosts (blocked);
- math: MathJax containers rendered, MathJax errors (``mjx-merror``), and math left as raw TeX;
- images that did not load; error outputs or tracebacks in cells;
- each explorer: whether moving each of its sliders changes the frame shown;
- code lines wider than the page (code blocks that scroll sideways);
- the page's weight: the bytes of the page and of every resource it loaded.

It saves a full-page screenshot of each page under ``_build/screenshots/``.

    python tools/bookcheck.py                  # the table, for _build/html
    python tools/bookcheck.py --html DIR --shots DIR --details --json out.json

``browser_tests/test_book.py`` asserts on the same measurements.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import socketserver
import threading
import urllib.parse
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("DLGEN_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 900}  # a laptop screen; the theme shows the side bar at this width


@dataclass
class PageReport:
    page: str
    landed: str = ""  # the page shown in the end (index.html forwards to the first chapter's page)
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    math_rendered: int = 0
    math_errors: int = 0
    math_raw: int = 0
    images: int = 0
    images_broken: list[str] = field(default_factory=list)
    figure_widths: list = field(default_factory=list)  # [natural, shown] px of each cell-output figure
    error_outputs: int = 0
    explorers: int = 0
    explorers_responding: int = 0
    code_blocks: int = 0
    code_overflowing: int = 0
    widest_code_line: int = 0
    output_blocks: int = 0
    output_overflowing: int = 0
    bytes_total: int = 0
    bytes_html: int = 0
    screenshot: str = ""


@contextmanager
def serve(folder: Path):
    """An HTTP server for ``folder`` on a free local port, in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/"
        finally:
            httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def pages(html: Path) -> list[str]:
    """Every HTML page of the book, relative to its root (the book's own pages, not those of _static)."""
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                  if not p.relative_to(html).parts[0].startswith("_"))


# Run in the page: MathJax finishes its first typesetting pass before we count.
_WAIT_MATH = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  return true;
}"""

_MEASURE = """() => {
  const outsideCode = (el) => !el.closest('pre, code, .highlight');
  const mathEls = [...document.querySelectorAll('.math')].filter(outsideCode);
  const raw = mathEls.filter(el => !el.querySelector('mjx-container')).length;
  // TeX delimiters left in text that is not a math element (counted above) nor code
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let rawText = 0;
  while (walker.nextNode()) {
    const n = walker.currentNode;
    if (n.parentElement && outsideCode(n.parentElement) && !n.parentElement.closest('script, style, .math')
        && /\\\\\\(|\\\\\\[/.test(n.textContent)) { rawText += 1; }
  }
  const imgs = [...document.querySelectorAll('img')];
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0))
      .map(i => (i.getAttribute('src') || '').slice(0, 80));
  const errors = document.querySelectorAll('.output.traceback, .output.error, .cell_output .stderr').length
      + [...document.querySelectorAll('.cell_output')]
          .filter(o => /Traceback \\(most recent call last\\)/.test(o.textContent)).length;
  const blocks = [...document.querySelectorAll('div.highlight pre, .cell_output pre')];
  const code = blocks.filter(p => !p.closest('.cell_output'));  // cell inputs and included library code
  const outs = blocks.filter(p => p.closest('.cell_output'));
  const wide = (ps) => ps.filter(p => p.scrollWidth > p.clientWidth + 1).length;
  const widest = Math.max(0, ...code.map(p => Math.max(0, ...p.textContent.split('\\n').map(l => l.length))));
  const figures = [...document.querySelectorAll('.cell_output img')].filter(i => !i.closest('.dlgen-explorer'))
      .map(i => [i.naturalWidth, i.clientWidth]);
  return {math_rendered: document.querySelectorAll('mjx-container').length, figure_widths: figures,
          math_errors: document.querySelectorAll('mjx-merror').length,
          math_raw: raw + rawText, images: imgs.length, images_broken: broken, error_outputs: errors,
          code_blocks: code.length, code_overflowing: wide(code), widest_code_line: widest,
          output_blocks: outs.length, output_overflowing: wide(outs)};
}"""

# Moves every slider of every explorer to its far end and back; an explorer responds when every move of every one
# of its sliders changes the frame shown (the image's source) and the value printed beside the slider.
_EXPLORERS = """() => {
  const out = [];
  for (const root of document.querySelectorAll('.dlgen-explorer')) {
    const img = root.querySelector('img');
    let ok = true;
    for (const [i, input] of [...root.querySelectorAll('input[type="range"]')].entries()) {
      const label = root.querySelectorAll('output')[i];
      const before = [img.src, label.textContent];
      input.value = input.max; input.dispatchEvent(new Event('input'));
      const after = [img.src, label.textContent];
      ok = ok && Number(input.max) > 0 && before[0] !== after[0] && before[1] !== after[1];
      input.value = 0; input.dispatchEvent(new Event('input'));
      ok = ok && img.src === before[0];
    }
    out.push(ok);
  }
  return out;
}"""


def check_book(html: Path, shots: Path | None = None, only: list[str] | None = None) -> list[PageReport]:
    """Open every page of the book at ``html`` (or those in ``only``) and measure it."""
    from playwright.sync_api import sync_playwright

    html = Path(html).resolve()
    if not (html / "index.html").is_file():
        raise FileNotFoundError(f"no built book at {html} (index.html missing): build it first with "
                                "`jupyter-book build . -W -n --keep-going`")
    if not Path(CHROMIUM).is_file():
        raise FileNotFoundError(f"no Chromium at {CHROMIUM}: install the Debian package (`apt-get install "
                                "chromium`) or point DLGEN_CHROMIUM at a Chromium binary")
    if shots is not None:
        shutil.rmtree(shots, ignore_errors=True)
        shots.mkdir(parents=True)
    reports = []
    with serve(html) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for name in only or pages(html):
                reports.append(_check_page(browser, base, html, name, shots))
        finally:
            browser.close()
    return reports


def _check_page(browser, base: str, html: Path, name: str, shots: Path | None) -> PageReport:
    report = PageReport(name)
    host = urllib.parse.urlsplit(base).netloc
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    loaded: set[str] = set()

    def route(route, request):
        url = urllib.parse.urlsplit(request.url)
        if url.scheme in ("data", "blob") or url.netloc == host:
            if url.netloc == host:
                loaded.add(urllib.parse.unquote(url.path))
            route.continue_()
        else:
            report.external_requests.append(request.url)
            route.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and report.console_errors.append(msg.text))
    page.on("pageerror", lambda err: report.console_errors.append(f"uncaught: {err}"))
    page.on("requestfailed", lambda req: urllib.parse.urlsplit(req.url).netloc == host
            and report.failed_requests.append(f"{req.url} ({req.failure})"))
    page.on("response", lambda resp: resp.status >= 400 and report.failed_requests.append(
        f"{resp.url} (HTTP {resp.status})"))
    try:
        page.goto(base + name, wait_until="load")
        page.wait_for_load_state("networkidle")  # index.html forwards to the first page: measure where it lands
        page.evaluate(_WAIT_MATH)
        page.wait_for_load_state("networkidle")
        report.landed = page.url.removeprefix(base)
        for key, value in page.evaluate(_MEASURE).items():
            setattr(report, key, value)
        responding = page.evaluate(_EXPLORERS)
        report.explorers, report.explorers_responding = len(responding), sum(responding)
        if shots is not None:
            path = shots / (name.replace("/", "__").removesuffix(".html") + ".png")
            page.screenshot(path=str(path), full_page=True)
            report.screenshot = str(path)
    finally:
        context.close()
    for path in loaded:
        file = html / path.lstrip("/")
        if file.is_dir():
            file = file / "index.html"
        if file.is_file():
            report.bytes_total += file.stat().st_size
    report.bytes_html = (html / name).stat().st_size
    return report


def table(reports: list[PageReport]) -> str:
    head = ("page", "console err", "failed req", "external req", "math ok", "math err", "math raw", "img broken",
            "error out", "explorers ok", "code over", "widest", "output over", "page kB", "total kB")
    rows = [head] + [(r.page, len(r.console_errors), len(r.failed_requests), len(r.external_requests),
                      r.math_rendered, r.math_errors, r.math_raw, f"{len(r.images_broken)}/{r.images}",
                      r.error_outputs, f"{r.explorers_responding}/{r.explorers}",
                      f"{r.code_overflowing}/{r.code_blocks}", r.widest_code_line,
                      f"{r.output_overflowing}/{r.output_blocks}", round(r.bytes_html / 1024),
                      round(r.bytes_total / 1024)) for r in reports]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in
                               enumerate(zip(row, widths))) for row in rows)


def save(reports: list[PageReport], stem: Path) -> None:
    """Write the measurements to ``stem``.json and the table (with every error listed) to ``stem``.txt."""
    stem.with_suffix(".json").write_text(json.dumps([asdict(r) for r in reports], indent=1))
    stem.with_suffix(".txt").write_text(table(reports) + "\n" + details(reports))


def details(reports: list[PageReport]) -> str:
    return "".join(f"{r.page}: {kind}: {item}\n" for r in reports
                   for kind in ("console_errors", "failed_requests", "external_requests", "images_broken")
                   for item in getattr(r, kind))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html", help="the built book")
    parser.add_argument("--shots", type=Path, default=None, help="screenshot folder (default: none)")
    parser.add_argument("--json", type=Path, default=None, help="write every measurement here")
    parser.add_argument("--details", action="store_true", help="list each error and external request")
    args = parser.parse_args(argv)
    reports = check_book(args.html, args.shots)
    print(table(reports))
    if args.details:
        print(details(reports), end="")
    if args.json:
        save(reports, args.json.with_suffix(""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
