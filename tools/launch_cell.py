"""The first code cell of every chapter: install the course library where it is missing (Colab).

On Colab a chapter arrives alone, without the repository, so ``import dlgen_lib`` would fail. The cell clones the
course (its address is the ``repository: url`` of _config.yml) and installs the library from the clone in editable
mode, so that the library finds the data shipped in ``data/``. Where the library is installed already (a local
clone with ``requirements.txt`` installed, Binder) it does nothing. In the book the cell is hidden
(``remove-cell``): a reader of the HTML has nothing to install.

    python tools/launch_cell.py           # put the cell (again) at the top of every chapter
    python tools/launch_cell.py --check   # exit 1 if a chapter's first code cell is not the cell

``tests/test_launch.py`` checks the chapters and runs the cell here (where it must do nothing).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TAG = "remove-cell"
MARK = "# Colab: install the course library"


def repository_url() -> str:
    """The course's repository, from _config.yml (``repository: url:``)."""
    text = (ROOT / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, re.M)
    if not match:
        raise ValueError("_config.yml has no `repository: url:`; the launch cell needs the course's address")
    return match.group(1)


def cell_source(url: str | None = None) -> str:
    url = url or repository_url()
    return f'''{MARK} where it is missing (locally and
# on Binder it is installed already, and this cell does nothing).
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("dlgen_lib") is None:
    url = "{url}"
    clone = ["git", "clone", "--depth", "1", url, "dlgen-course"]
    subprocess.run(clone, check=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "-e", "dlgen-course"], check=True)
    sys.path.insert(0, "dlgen-course")  # no kernel restart needed'''


def chapters() -> list[Path]:
    return sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def first_code_cell(nb) -> int | None:
    return next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)


def has_cell(nb) -> bool:
    i = first_code_cell(nb)
    return i is not None and nb.cells[i].source == cell_source() and TAG in nb.cells[i].metadata.get("tags", [])


def put_cell(path: Path) -> bool:
    """Insert (or refresh) the cell before the chapter's first code cell; True when the file changed."""
    nb = nbformat.read(path, as_version=4)
    if has_cell(nb):
        return False
    i = first_code_cell(nb)
    if i is not None and nb.cells[i].source.startswith(MARK):
        del nb.cells[i]
        i = first_code_cell(nb)
    cell = nbformat.v4.new_code_cell(cell_source(), metadata={"tags": [TAG]})
    cell.id = "colab-install"
    nb.cells.insert(len(nb.cells) if i is None else i, cell)
    nbformat.write(nb, path)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when a chapter lacks the cell")
    args = parser.parse_args(argv)
    missing = [p.name for p in chapters() if not has_cell(nbformat.read(p, as_version=4))]
    if args.check:
        for name in missing:
            print(f"{name}: the first code cell is not the launch cell (run python tools/launch_cell.py)")
        return 1 if missing else 0
    for path in chapters():
        if put_cell(path):
            print(f"{path.name}: launch cell written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
