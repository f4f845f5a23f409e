"""The claims page and the intro's counts of the built book agree with the claims ledgers the build wrote."""

import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def ledgers() -> dict[str, dict]:
    folder = Path(os.environ.get("DLGEN_LEDGER", "").strip() or ROOT / "_build" / "ledger")
    found = {c: folder / f"{c}.json" for c in CHAPTERS}
    missing = [str(p) for p in found.values() if not p.is_file()]
    assert not missing, f"no claims ledger for {missing}: build the book first (or set DLGEN_LEDGER as for the build)"
    return {c: json.loads(p.read_text()) for c, p in found.items()}


def test_the_claims_page_lists_every_claim_of_every_chapter_with_a_link_to_its_section():
    page = (HTML / "claims.html").read_text()
    body = page[page.index("<tbody>"):page.index("</tbody>")]
    rows = body.split("<tr>")[1:]
    claims = [(c, claim) for c, ledger in ledgers().items() for claim in ledger["claims"]]
    assert len(rows) == len(claims) > 100
    for row, (chapter, claim) in zip(rows, claims):
        assert f"<code>{claim['key']}</code>" in row
        link = re.search(r'href="([^"]+)"', row).group(1)
        assert link.startswith(f"chapters/{chapter}.html#"), (claim["key"], link)  # the section, not just the page
        anchor = link.split("#", 1)[1]
        assert f'id="{anchor}"' in (HTML / "chapters" / f"{chapter}.html").read_text(), (claim["key"], anchor)
        expected = "shown, not asserted" if not claim["asserted"] else "confirmed" if claim["passed"] else "NOT"
        assert expected in row


def test_the_intro_counts_come_from_the_ledgers():
    claims = [c for ledger in ledgers().values() for c in ledger["claims"]]
    asserted = [c for c in claims if c["asserted"]]
    text = re.sub(r"<[^>]+>", "", (HTML / "intro.html").read_text())
    text = re.sub(r"\s+", " ", text)
    expected = (f"the {len(CHAPTERS)} chapters assert {len(asserted)} claims, of which "
                f"{sum(c['passed'] for c in asserted)} held, and show {len(claims) - len(asserted)} more effects")
    assert expected in text
