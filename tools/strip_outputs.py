"""Strip a chapter notebook's outputs before committing, except the summary cell that nbval compares.

Usage: python tools/strip_outputs.py EXECUTED.ipynb [OUT.ipynb]
Keeps the outputs of cells whose source contains ``# NBVAL_CHECK_OUTPUT`` (text outputs only) and clears
every other output and execution count, so the committed notebook is small and reviewable.
"""

import sys

import nbformat

MARK = "# NBVAL_CHECK_OUTPUT"

if __name__ == "__main__":
    src = sys.argv[1]
    dst = sys.argv[2] if len(sys.argv) > 2 else src
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if MARK in cell.source:
            cell.outputs = [o for o in cell.outputs if o.output_type == "stream"]
            cell.execution_count = 1
            for o in cell.outputs:
                o.pop("execution_count", None)
        else:
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, dst)
    print(f"wrote {dst}")
