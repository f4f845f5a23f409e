"""Wall time and peak memory of running a chapter notebook top to bottom, from a cold results cache.

    python benchmarks/chapter_budget.py chapters/01_memorization.ipynb [--scale small] [--warm]

The notebook is executed in a fresh kernel (as the book build does) with DLGEN_CACHE pointed at an empty
temporary folder (unless --warm), so every experiment really runs. Peak memory is the largest resident set
of the kernel process (getrusage of the finished children). Budgets (DESIGN.md): small scale <= 120 s and
<= 1.5 GB on 2 cores.
"""

import argparse
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
    args = parser.parse_args()
    os.environ["DLGEN_SCALE"] = args.scale
    os.environ["DLGEN_PROGRESS"] = "off"
    with tempfile.TemporaryDirectory() as tmp:
        if not args.warm:
            os.environ["DLGEN_CACHE"] = tmp
        nb = nbformat.read(args.notebook, as_version=4)
        client = NotebookClient(nb, timeout=1200, kernel_name="python3",
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.notebook))}})
        start = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{args.notebook} at scale {args.scale} ({'warm' if args.warm else 'cold'} cache), "
          f"{len(os.sched_getaffinity(0))} of {os.cpu_count()} CPUs usable (the kernel inherits this affinity)")
    print(f"wall time        : {wall:7.1f} s   (budget 120 s at small scale)")
    print(f"peak kernel RSS  : {peak_mb:7.0f} MB  (budget 1536 MB)")


if __name__ == "__main__":
    main()
