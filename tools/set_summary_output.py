"""Write the expected output of a chapter's nbval summary cell (``# NBVAL_CHECK_OUTPUT``) from a claims ledger.

Usage:
    python tools/set_summary_output.py chapters/NN_name.ipynb LEDGER_DIR [--assume-confirmed]

LEDGER_DIR holds ``NN_name.json``, written by a run of the chapter with ``DLGEN_LEDGER=LEDGER_DIR`` (for example
``DLGEN_LEDGER=/tmp/ledger python benchmarks/chapter_budget.py chapters/NN_name.ipynb``). The summary cell's
output becomes what :meth:`dlgen_lib.Ledger.summary` prints for that ledger; with ``--assume-confirmed`` (after a
``tiny`` run in warn mode, to lay out the keys) every claim is written as confirmed, as the small scale must show.
"""

import argparse
import json
from pathlib import Path

import nbformat

from dlgen_lib.checks import summary_text

MARK = "# NBVAL_CHECK_OUTPUT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("ledger_dir")
    parser.add_argument("--assume-confirmed", action="store_true")
    args = parser.parse_args()
    chapter = Path(args.notebook).stem
    ledger = json.loads((Path(args.ledger_dir) / f"{chapter}.json").read_text())
    verdicts = [(c["key"], c["statement"], None if not c.get("asserted", True) else
                 True if args.assume_confirmed else c["passed"]) for c in ledger["claims"]]
    nb = nbformat.read(args.notebook, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and MARK in c.source]
    if len(cells) != 1:
        raise SystemExit(f"{args.notebook}: expected one cell marked {MARK}, found {len(cells)}")
    cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text=summary_text(chapter, verdicts) + "\n")]
    cells[0].execution_count = 1
    nbformat.write(nb, args.notebook)
    print(f"{args.notebook}: summary of {len(verdicts)} claims written")


if __name__ == "__main__":
    main()
