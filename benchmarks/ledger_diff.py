"""Did a change alter what the chapters measure? Compare two sets of claims ledgers claim by claim.

    python benchmarks/ledger_diff.py BEFORE AFTER          # folders of ledgers (searched recursively for *.json)

A ledger is what a chapter writes with ``DLGEN_LEDGER`` set (or what ``claim_margins.py`` leaves under its
``--out`` folder). Ledgers are matched by chapter and run (``DLGEN_SEED``, CPU kernel path, scale), claims by key.
For each claim the table gives the value before and after and their difference; the last line counts the claims
whose value is bit-identical, those that changed, and those present on one side only. Within one machine a pure
refactoring (code moved, configs reshaped) must leave every value bit-identical: the same seeds, the same
operations in the same order. Exit status 1 when any value differs or any claim is missing on one side.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def load(folder: Path) -> dict[tuple, dict]:
    """{(chapter, scale, seed, kernel path, key): claim} of every ledger under ``folder``."""
    found: dict[tuple, dict] = {}
    for path in sorted(folder.rglob("*.json")):
        try:
            ledger = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(ledger, dict) or "claims" not in ledger:
            continue
        ctx = ledger.get("context", {})
        run = (ledger["chapter"], ctx.get("scale"), ctx.get("seed"), str(ctx.get("cpu_capability")).lower())
        for claim in ledger["claims"]:
            found[(*run, claim["key"])] = claim
    return found


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--all", action="store_true", help="print identical claims too")
    args = parser.parse_args()
    before, after = load(args.before), load(args.after)
    if not before or not after:
        print(f"no ledgers found in {args.before if not before else args.after}", file=sys.stderr)
        return 2
    runs = sorted({k[:4] for k in before} & {k[:4] for k in after}, key=str)
    identical = changed = missing = 0
    print(f"{'chapter':<28} {'claim':<34} {'before':>14} {'after':>14} {'difference':>12}")
    for run in runs:
        keys = sorted({k[4] for k in before if k[:4] == run} | {k[4] for k in after if k[:4] == run})
        for key in keys:
            a, b = before.get((*run, key)), after.get((*run, key))
            if a is None or b is None:
                missing += 1
                print(f"{run[0]:<28} {key:<34} {'-' if a is None else a['value']!s:>14} "
                      f"{'-' if b is None else b['value']!s:>14} {'missing':>12}")
                continue
            if same(a["value"], b["value"]) and a["passed"] == b["passed"]:
                identical += 1
                if not args.all:
                    continue
                diff = "="
            else:
                changed += 1
                try:
                    diff = f"{b['value'] - a['value']:+.3g}"
                except TypeError:
                    diff = "changed"
            print(f"{run[0]:<28} {key:<34} {a['value']!s:>14.14} {b['value']!s:>14.14} {diff:>12}")
    only = sorted({k[:4] for k in before} ^ {k[:4] for k in after}, key=str)
    for run in only:
        print(f"run {run} is in only one of the two folders")
    print(f"\n{len(runs)} runs compared: {identical} claims bit-identical, {changed} changed, {missing} on one side "
          f"only")
    return 0 if changed == missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
