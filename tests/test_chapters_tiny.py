"""Every chapter runs end to end at ``DLGEN_SCALE=tiny``: a fast smoke test of every code path of the book.

Each notebook is executed top to bottom in a fresh kernel with ``DLGEN_CLAIMS=warn``: at the tiny scale some
effects are too weak to show, and a claim that does not hold is recorded in the ledger, shown, and the chapter runs
on (as it does for a student who runs it with their own settings). Any other exception fails the test. The claims
themselves are tested at the small scale by nbval (``chapters/``) and the book build.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

CHAPTERS = sorted((Path(__file__).resolve().parent.parent / "chapters").glob("[0-9][0-9]_*.ipynb"))


def test_every_chapter_is_found():
    assert len(CHAPTERS) >= 7


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_end_to_end_at_tiny(notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DLGEN_CLAIMS", "warn")
    monkeypatch.setenv("DLGEN_LEDGER", str(tmp_path))
    monkeypatch.setenv("DLGEN_THREADS", "1")  # tiny tensors: a second thread only adds synchronization
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(notebook.parent)}})
    client.execute()  # the kernel inherits this process's environment (tiny scale, the test session's cache)
    errors = [f"cell {i}: {o['ename']}: {o['evalue']}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{notebook.name} failed at the tiny scale:\n" + "\n".join(errors)
    ledger = json.loads((tmp_path / f"{notebook.stem}.json").read_text())
    assert ledger["context"]["scale"] == "tiny" and ledger["claims"], "the chapter records its claims in the ledger"
    summary = [c for c in nb.cells if c.cell_type == "code" and "# NBVAL_CHECK_OUTPUT" in c.source]
    assert len(summary) == 1 and summary[0].source.strip().endswith("claims.summary()"), \
        "the summary cell is generated from the ledger"
