"""Sphinx extension of the book (loaded through ``sphinx: local_extensions`` in _config.yml).

What it does, in the order of a build:

1. **Environment of the kernels.** It sets ``DLGEN_PROGRESS=off`` and ``DLGEN_CLAIMS=raise`` in the build process;
   the Jupyter kernels that myst-nb starts inherit them, so no progress bar ends up in the HTML and a claim that
   does not hold fails the build. When ``DLGEN_LEDGER`` is unset it points it at ``_build/ledger``, so every
   chapter writes its claims ledger where the claims page reads it.
2. **Math without a network.** MathJax 3 comes from the pinned PyPI package ``sphinx-mathjax-offline`` (MathJax
   3.2.2) and is copied into ``_static/mathjax`` of the built book; the pages load it from there, never from a CDN.
3. **A clean console.** The widget state that nbclient stores in each executed notebook is dropped from the pages
   (the book shows every explorer's static face, see ``dlgen_lib/widgets.py``, not the ipywidgets one); a script
   that two extensions both add is kept once; the theme gets its default light/dark mode.
4. **The claims page.** The directive ``{dlgen-claims-table}`` becomes the table of every claim of every chapter of
   this build, read from the claims ledgers, each linked to the section of its chapter where it is made; the role
   ``{dlgen-claims}`` (``asserted``, ``confirmed``, ``shown``, ``chapters``) puts the counts into any page.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

logger = logging.getLogger(__name__)

MATHJAX_PACKAGE = "sphinx-mathjax-offline"  # PyPI: sphinx-mathjax-offline==0.0.2 ships MathJax 3.2.2
MATHJAX_ENTRY = "tex-chtml.js"
COUNTS = ("asserted", "confirmed", "shown", "chapters")


# ----- 2. MathJax from the book itself -----------------------------------------------------------------------
def mathjax_source() -> Path:
    """The folder of MathJax 3's files inside the installed PyPI package."""
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the PyPI package {MATHJAX_PACKAGE!r} is missing: it provides the book's MathJax. "
                           "Install the pinned environment: python3 -m pip install -r requirements.txt")
    folder = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"
    if not (folder / MATHJAX_ENTRY).is_file():
        raise RuntimeError(f"{folder} holds no {MATHJAX_ENTRY}; reinstall {MATHJAX_PACKAGE}")
    return folder


def _ignore_other_bundles(directory: str, names: list[str]) -> list[str]:
    """Keep the one combined bundle the pages load (TeX in, CommonHTML out) and the components it loads on demand
    (TeX extensions, fonts, menu, accessibility); skip the other combined bundles (about 14 MB)."""
    if Path(directory) != mathjax_source():
        return []
    return [n for n in names if n.endswith(".js") and n != MATHJAX_ENTRY]


def copy_mathjax(app, exc) -> None:
    if exc is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "mathjax"
        shutil.copytree(mathjax_source(), target, ignore=_ignore_other_bundles, dirs_exist_ok=True)


def use_local_mathjax(app, config) -> None:
    mathjax_source()  # a clear error now rather than raw TeX in every page
    config.mathjax_path = f"mathjax/{MATHJAX_ENTRY}"  # relative: served from _static/ of the book
    # the theme's light/dark switch: without a default it logs "Got invalid theme mode" in every page's console
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """sphinx-thebe and the book theme both add the same inline script (``const THEBE_JS_URL = ...``); declared
    twice, it is a console error in every page. Keep the first of identical scripts."""
    scripts, seen = context.get("script_files", []), set()
    kept = []
    for script in scripts:
        key = (getattr(script, "filename", str(script)) or "",  # an inline script's filename is None or ""
               tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


# ----- 3. no widget state in the pages -----------------------------------------------------------------------
def drop_widget_state(app, env) -> None:
    for meta in getattr(env, "nb_metadata", {}).values():
        js_files = meta.get("js_files", {})
        for key in [k for k in js_files if k.startswith("ipywidgets")]:
            del js_files[key]


# ----- 4. the claims page ------------------------------------------------------------------------------------
class claims_table(nodes.General, nodes.Element):
    """Placeholder for the table of claims, filled in when the page is resolved (after every chapter ran)."""


class claims_count(nodes.Inline, nodes.TextElement):
    """Placeholder for one count of claims."""


class ClaimsTableDirective(SphinxDirective):
    has_content = False

    def run(self):
        return [claims_table()]


class ClaimsCountRole(SphinxRole):
    def run(self):
        what = self.text.strip()
        if what not in COUNTS:
            msg = self.inliner.reporter.error(f"dlgen-claims: unknown count {what!r}; valid: {', '.join(COUNTS)}",
                                              line=self.lineno)
            return [self.inliner.problematic(self.rawtext, self.rawtext, msg)], [msg]
        return [claims_count(what=what)], []


def chapter_docnames(env) -> dict[str, str]:
    """Chapter name (the notebook's stem, as the ledger names it) -> docname, for the chapters of the book."""
    return {Path(doc).name: doc for doc in sorted(env.found_docs) if doc.startswith("chapters/")}


def read_ledgers(env) -> list[dict]:
    """The ledgers of this build's chapters, in chapter order; a chapter without one is a warning (an error
    under -W), since the claims page would then be incomplete."""
    folder = Path(os.environ["DLGEN_LEDGER"]).expanduser()
    ledgers = []
    for chapter, doc in chapter_docnames(env).items():
        path = folder / f"{chapter}.json"
        if not path.is_file():
            logger.warning(f"dlgen-claims: no claims ledger {path} for chapter {doc}; was it executed? "
                           "(`jupyter-book build . --all` executes every chapter again)",
                           location=doc)
            continue
        ledger = json.loads(path.read_text())
        ledger["docname"] = doc
        ledgers.append(ledger)
    return ledgers


def claim_sections(env, docname: str, keys: list[str]) -> dict[str, tuple[str, str]]:
    """key -> (section id, section title) of the section whose cell output prints the claim's line."""
    found: dict[str, tuple[str, str]] = {}
    doctree = env.get_doctree(docname)
    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        for key in keys:
            if key not in found and f"[{key}]" in text:
                section = block.parent
                while section is not None and not isinstance(section, nodes.section):
                    section = section.parent
                if section is not None and section["ids"]:
                    found[key] = (section["ids"][0], section.next_node(nodes.title).astext())
    return found


def _counts(ledgers: list[dict]) -> dict[str, int]:
    claims = [c for ledger in ledgers for c in ledger["claims"]]
    asserted = [c for c in claims if c.get("asserted", True)]
    return {"asserted": len(asserted), "confirmed": sum(bool(c["passed"]) for c in asserted),
            "shown": len(claims) - len(asserted), "chapters": len(ledgers)}


def _table_html(app, fromdocname: str, ledgers: list[dict]) -> str:
    counts = _counts(ledgers)
    contexts = {json.dumps(ledger.get("context", {}), sort_keys=True) for ledger in ledgers}
    rows = []
    for ledger in ledgers:
        doc = ledger["docname"]
        title = app.env.titles[doc].astext() if doc in app.env.titles else doc
        page = app.builder.get_relative_uri(fromdocname, doc)
        sections = claim_sections(app.env, doc, [c["key"] for c in ledger["claims"]])
        for c in ledger["claims"]:
            anchor, section = sections.get(c["key"], ("", title))
            link = f'{page}#{anchor}' if anchor else page
            fmt = c.get("fmt") or "{:.4g}"
            value = "n/a" if c["value"] is None else fmt.format(c["value"])
            margin = "n/a" if c["margin"] is None else f"{c['margin']:.3g}"
            if c.get("margin_spread") is not None:
                margin += f" ({c['margin_spread']:.1f} spreads)"
            if not c.get("asserted", True):
                status = '<span class="dlgen-shown">shown, not asserted</span>'
            elif c["passed"]:
                status = '<span class="dlgen-confirmed">confirmed</span>'
            else:
                status = '<strong class="dlgen-failed">NOT confirmed</strong>'
            rows.append(
                "<tr>"
                f'<td><a href="{html.escape(link)}">{html.escape(title)}</a><br>'
                f'<small>{html.escape(section)}</small></td>'
                f"<td>{html.escape(c['statement'])}<br><small><code>{html.escape(c['key'])}</code></small></td>"
                f"<td>{html.escape(value)}</td><td>{html.escape(c['threshold_text'])}</td>"
                f"<td>{html.escape(margin)}</td><td>{html.escape(c.get('paper') or '')}</td><td>{status}</td>"
                "</tr>")
    context = (f"<p>Measured in this build of the book ({html.escape(_context_text(ledgers))}): "
               f"{counts['confirmed']} of {counts['asserted']} asserted claims confirmed in {counts['chapters']} "
               f"chapters, and {counts['shown']} effects shown without an assertion.</p>")
    if len(contexts) > 1:
        context += "<p><strong>The chapters of this build ran in different settings.</strong></p>"
    head = "".join(f"<th>{h}</th>" for h in ("chapter and section", "claim", "measured", "threshold", "margin",
                                               "paper", "in this build"))
    return (f'{context}<div class="dlgen-claims pst-scrollable-table-container">'
            f'<table class="table dlgen-claims-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _context_text(ledgers: list[dict]) -> str:
    if not ledgers:
        return "no chapter"
    ctx = ledgers[0].get("context", {})
    names = {"scale": "scale", "seed": "DLGEN_SEED", "cpu_capability": "CPU kernel path", "device": "device",
             "torch": "torch"}
    parts = [f"{name} {ctx[k]}" for k, name in names.items() if k in ctx]
    return ", ".join(parts) or "context not recorded"


def resolve_claims(app, doctree, fromdocname: str) -> None:
    tables = list(doctree.findall(claims_table))
    counts = list(doctree.findall(claims_count))
    if not tables and not counts:
        return
    ledgers = read_ledgers(app.env)
    for node in tables:
        node.replace_self(nodes.raw("", _table_html(app, fromdocname, ledgers), format="html"))
    values = _counts(ledgers)
    for node in counts:
        node.replace_self(nodes.Text(str(values[node["what"]])))


def always_rewrite(app, env, added, changed, removed):
    """The pages that show claims read every chapter's ledger: write them whenever anything is rebuilt."""
    return [doc for doc in env.found_docs if doc in ("claims", "intro")]


def setup(app):
    os.environ["DLGEN_PROGRESS"] = "off"
    os.environ["DLGEN_CLAIMS"] = "raise"
    if not os.environ.get("DLGEN_LEDGER", "").strip():
        os.environ["DLGEN_LEDGER"] = str(Path(app.outdir).parent / "ledger")
    app.connect("config-inited", use_local_mathjax)
    app.connect("build-finished", copy_mathjax)
    app.connect("env-updated", drop_widget_state)
    # early: Sphinx stops calling html-page-context handlers at the first that returns a value (a template)
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    app.connect("env-get-outdated", always_rewrite)
    app.connect("doctree-resolved", resolve_claims)
    app.add_node(claims_table)
    app.add_node(claims_count)
    app.add_directive("dlgen-claims-table", ClaimsTableDirective)
    app.add_role("dlgen-claims", ClaimsCountRole())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
