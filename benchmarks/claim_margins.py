"""How robust is each claim? Run chapters under several seeds and CPU kernel paths, and print every claim's margins.

    python benchmarks/claim_margins.py                          # every chapter, small scale, the default runs
    python benchmarks/claim_margins.py 02 07 --seeds 0 1 2 3    # chapters by number or name
    python benchmarks/claim_margins.py --report OUT             # only print the table of runs already in OUT

Each run executes a chapter top to bottom in a fresh kernel with ``DLGEN_CLAIMS=warn`` (a failed claim is recorded
and the chapter runs on), its own ``DLGEN_SEED`` (an independent replicate: other data draw, initializations, batch
orders, corruptions, masks) and ``ATEN_CPU_CAPABILITY`` (torch's CPU kernel path: ``default``, ``avx2``, ``avx512``;
results differ in the last bits between paths, and training trajectories with them). The default runs are the
seeds ``--seeds`` (0 1 2 3) on this machine's native path, plus seed 4 on ``avx2`` and seed 5 on ``default``
(paths above the native one are skipped): 6 runs per chapter, 6 seeds, 3 kernel paths on an AVX-512 machine.

Each run's ledger lands in ``OUT/<chapter>/seed<S>-<path>.json`` (``OUT`` defaults to ``_build/claim_margins``),
beside a ``.stamp``: a hash of the notebook's code and of ``dlgen_lib``. A run whose ledger exists with the same
stamp is skipped, so an interrupted benchmark resumes where it stopped; one measured on other code is run again.
Results are cached per seed and path under ``OUT/cache``.
The table has one row per claim: its threshold, the worst and the median measured value, the lowest margin (in the
claim's units and, where the chapter gives its seed spread, in spreads), and the runs it passed out of all runs.
Each run also prints its wall time and the largest resident memory of the kernels so far. The kernels use
``DLGEN_THREADS`` (set it to 1 to run two benchmarks side by side on two cores).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("default", "avx2", "avx512")


def native_path() -> str:
    import torch

    return str(torch.backends.cpu.get_cpu_capability()).lower()


def default_runs(seeds: list[int]) -> list[tuple[int, str]]:
    native = native_path()
    runs = [(s, native) for s in seeds]
    extra = [p for p in ("avx2", "default") if p != native and (native not in PATHS or
                                                                 PATHS.index(p) < PATHS.index(native))]
    nxt = max(seeds) + 1
    for i, path in enumerate(extra):
        runs.append((nxt + i, path))
    return runs


def find_chapters(names: list[str]) -> list[Path]:
    every = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        match = [p for p in every if p.stem == name or p.stem.startswith(name.zfill(2) + "_") or p.name == name]
        if not match:
            raise SystemExit(f"no chapter {name!r}; chapters: {', '.join(p.stem for p in every)}")
        chosen += match
    return chosen


def run_one(notebook: Path, seed: int, path: str, scale: str, out: Path) -> tuple[float, str]:
    """Execute ``notebook`` in a fresh kernel under (seed, path); returns (seconds, error text or '')."""
    import nbformat
    from nbclient import NotebookClient

    ledger_dir = out / notebook.stem / f"seed{seed}-{path}"
    env = {"DLGEN_SCALE": scale, "DLGEN_SEED": str(seed), "ATEN_CPU_CAPABILITY": path, "DLGEN_CLAIMS": "warn",
           "DLGEN_LEDGER": str(ledger_dir), "DLGEN_CACHE": str(out / "cache"), "DLGEN_PROGRESS": "off"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        nb = nbformat.read(notebook, as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(notebook.parent)}})
        start = time.perf_counter()
        try:
            client.execute()
            failure = ""
        except Exception as err:  # noqa: BLE001 - a hung or dead kernel: record it and go on with the next run
            failure = f"run aborted: {type(err).__name__}: {str(err)[:200]}"
        seconds = time.perf_counter() - start
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    errors = [f"{o['ename']}: {o['evalue'][:200]}" for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"] + ([failure] if failure else [])
    produced = ledger_dir / f"{notebook.stem}.json"
    if produced.exists():
        produced.replace(ledger_dir.with_suffix(".json"))
        ledger_dir.rmdir()
    return seconds, "; ".join(errors)


def source_stamp(notebook: Path) -> str:
    """A hash of what a run's ledger depends on: the notebook's code cells and every file of ``dlgen_lib``. A
    ledger whose stamp differs was measured on other code and is measured again."""
    import hashlib

    import nbformat

    digest = hashlib.sha256()
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode())
    for file in sorted((ROOT / "dlgen_lib").rglob("*.py")):
        digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def load_runs(out: Path, chapter: str) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / chapter).glob("seed*.json"))}


def _fmt(fmt: str, value: float | None) -> str:
    return "—" if value is None else fmt.format(value)


def table(out: Path, chapters: list[str]) -> str:
    lines = []
    for chapter in chapters:
        runs = load_runs(out, chapter)
        if not runs:
            continue
        lines.append(f"\n## {chapter}: {len(runs)} runs ({', '.join(runs)})\n")
        lines.append("| claim | threshold | worst | median | lowest margin | passes |")
        lines.append("|---|---|---|---|---|---|")
        keys: dict[str, list[dict]] = {}
        for ledger in runs.values():
            for c in ledger["claims"]:
                keys.setdefault(c["key"], []).append(c)
        for key, claims in keys.items():
            fmt = claims[0].get("fmt") or "{:.4g}"
            margins = [c["margin"] if c["margin"] is not None else float("-inf") for c in claims]
            worst = claims[margins.index(min(margins))]
            spreads = [c["margin_spread"] for c in claims if c.get("margin_spread") is not None]
            values = [c["value"] for c in claims if c["value"] is not None]
            lowest = f"{min(margins):.3g}" + (f" ({min(spreads):.1f} sp.)" if spreads else "")
            missing = len(runs) - len(claims)
            passes = f"{sum(c['passed'] for c in claims)}/{len(runs)}" + (f" ({missing} absent)" if missing else "")
            if not claims[-1].get("asserted", True):  # the flag of the latest run (runs are sorted by seed)
                passes += " (shown, not asserted)"
            lines.append(f"| {key} | {worst['threshold_text']} | {_fmt(fmt, worst['value'])} | "
                         f"{_fmt(fmt, statistics.median(values) if values else None)} | {lowest} | {passes} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter numbers or names (default: all)")
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--runs", nargs="+", metavar="SEED:PATH",
                        help="explicit runs instead of the default ones, e.g. 0:avx512 1:avx2 2:default")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "claim_margins")
    parser.add_argument("--report", action="store_true", help="print the table of the runs in --out and stop")
    args = parser.parse_args()
    notebooks = find_chapters(args.chapters)
    if not args.report:
        if args.runs:
            runs = []
            for spec in args.runs:
                seed, _, path = spec.partition(":")
                if path not in PATHS:
                    raise SystemExit(f"--runs {spec!r}: the path must be one of {', '.join(PATHS)}")
                runs.append((int(seed), path))
        else:
            runs = default_runs(args.seeds)
        print(f"native CPU kernel path: {native_path()}; runs per chapter: "
              f"{', '.join(f'seed {s} on {p}' for s, p in runs)}", flush=True)
        for nb in notebooks:
            for seed, path in runs:
                ledger = args.out / nb.stem / f"seed{seed}-{path}.json"
                stamp_file, stamp = ledger.with_suffix(".stamp"), source_stamp(nb)
                if ledger.exists():
                    if stamp_file.exists() and stamp_file.read_text().strip() == stamp:
                        print(f"{nb.stem} seed {seed} {path}: already measured", flush=True)
                        continue
                    print(f"{nb.stem} seed {seed} {path}: the notebook or dlgen_lib changed since it was measured; "
                          "measuring again", flush=True)
                    ledger.unlink()
                seconds, errors = run_one(nb, seed, path, args.scale, args.out)
                if ledger.exists():
                    stamp_file.write_text(stamp + "\n")
                peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest finished kernel so far
                print(f"{nb.stem} seed {seed} {path}: {seconds:.0f} s, peak kernel RSS so far {peak:.0f} MB"
                      + (f"  ERRORS: {errors}" if errors else ""), flush=True)
    print(table(args.out, [nb.stem for nb in notebooks]))


if __name__ == "__main__":
    sys.exit(main())
