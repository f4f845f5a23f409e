"""Wall time and peak memory of running a chapter notebook top to bottom, from a cold results cache.

    python benchmarks/chapter_budget.py chapters/01_memorization.ipynb [--scale small] [--warm]

The notebook is executed in a fresh kernel (as the book build does) with DLGEN_CACHE pointed at an empty
temporary folder (unless --warm), so every experiment really runs. Peak memory is the largest resident set
of the kernel process (getrusage of the finished children). Budgets (DESIGN.md): small scale <= 120 s and
<= 1.5 GB on 2 cores.
"""

import argparse
import datetime
import os
import resource
import tempfile
import time

import nbformat
from nbclient import NotebookClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--scale", default=os.environ.get("DLGEN_SCALE", "small"))
    parser.add_argument("--warm", action="store_true", help="use the normal cache instead of an empty one")
    parser.add_argument("--cells", type=int, default=5, help="print the N slowest cells (0: none)")
    args = parser.parse_args()
    os.environ["DLGEN_SCALE"] = args.scale
    os.environ["DLGEN_PROGRESS"] = "off"
    with tempfile.TemporaryDirectory() as tmp:
        if not args.warm:
            os.environ["DLGEN_CACHE"] = tmp
        nb = nbformat.read(args.notebook, as_version=4)
        client = NotebookClient(nb, timeout=1200, kernel_name="python3", record_timing=True,
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.notebook))}})
        start = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{args.notebook} at scale {args.scale} ({'warm' if args.warm else 'cold'} cache), "
          f"{len(os.sched_getaffinity(0))} of {os.cpu_count()} CPUs usable (the kernel inherits this affinity)")
    print(f"wall time        : {wall:7.1f} s   (budget 120 s at small scale)")
    print(f"peak kernel RSS  : {peak_mb:7.0f} MB  (budget 1536 MB)")
    if args.cells:
        print(f"slowest cells (of {sum(c.cell_type == 'code' for c in nb.cells)} code cells):")
        for seconds, index, first in sorted(cell_times(nb), reverse=True)[: args.cells]:
            print(f"  cell {index:3d} {seconds:7.1f} s   {first}")


def cell_times(nb) -> list[tuple[float, int, str]]:
    """(seconds, index, first line) of every executed code cell, from the timestamps nbclient records."""
    out = []
    for index, cell in enumerate(nb.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if cell.cell_type == "code" and start and end:
            seconds = (datetime.datetime.fromisoformat(end.replace("Z", "+00:00"))
                       - datetime.datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
            out.append((seconds, index, cell.source.splitlines()[0][:70] if cell.source else ""))
    return out


if __name__ == "__main__":
    main()
