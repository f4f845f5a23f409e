"""What does overriding one field recompute? For every chapter and every part of its config, the cached experiments
whose cache key that part enters.

    python benchmarks/override_scope.py [--check]

An experiment takes the config parts it reads (``dlgen_lib.chapters.chNN_*.experiments``), so its key changes
only when one of them does: overriding ``cfg.<part>.<field>`` recomputes exactly the experiments listed on that
part's row. (Before the layout change every experiment took the whole chapter config, so any override recomputed
all of the chapter's experiments.) With ``--check`` the table is also verified empirically: each part is
overridden with a changed copy (the first field whose value can be nudged) and the argument hash of every
experiment is recomputed with joblib's hasher, which is what the results cache keys on.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import re

from dlgen_lib.cache import cache_key
from dlgen_lib.chapters import CHAPTERS
from dlgen_lib.config import parts, scaled


def experiments_of(module) -> dict[str, object]:
    return {name: f for name, f in vars(module).items()
            if callable(f) and hasattr(f, "uncached") and f.__module__ == module.__name__}


def readers(func, part_cls: type) -> bool:
    """Does ``func`` take an argument of the config class ``part_cls``?"""
    return any(re.search(rf"\b{part_cls.__name__}\b", str(p.annotation))
               for p in inspect.signature(func.uncached).parameters.values())


def nudged(part):
    """A copy of ``part`` with one field changed (a step count, a seed, ...), or None."""
    for f in dataclasses.fields(part):
        value = getattr(part, f.name)
        for new in ((value + 1) if isinstance(value, int) and not isinstance(value, bool) else None,
                    (value * 1.5) if isinstance(value, float) else None):
            if new is None:
                continue
            try:
                return dataclasses.replace(part, **{f.name: new})
            except Exception:  # noqa: BLE001 - out of range: try the next field
                continue
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    total_before = total_after = 0
    for name in CHAPTERS:
        module = importlib.import_module(f"dlgen_lib.chapters.{name}.experiments")
        top = importlib.import_module(f"dlgen_lib.chapters.{name}").CONFIG
        funcs = experiments_of(module)
        print(f"\n{name}: {len(funcs)} cached experiments ({', '.join(sorted(funcs))})")
        cfg = scaled(top, "small")
        for part_name, cls in parts(top).items():
            hit = sorted(n for n, f in funcs.items() if readers(f, cls))
            total_before += len(funcs)
            total_after += len(hit)
            line = f"  {part_name:<16} -> {len(hit)} of {len(funcs)}: {', '.join(hit) or '(none)'}"
            if args.check:
                line += "   " + check(funcs, cfg, part_name, hit)
            print(line)
    print(f"\nover all parts of all chapters: a one-field override recomputes {total_after} experiments in all, "
          f"against {total_before} when every experiment took its whole chapter config "
          f"({total_after / total_before:.0%})")


def check(funcs: dict, cfg, part_name: str, hit: list[str]) -> str:
    """Recompute the argument hash of each experiment with the part nudged; say whether the set that changed is
    the predicted one. The arguments are the config's parts matched to each parameter by annotation."""
    changed_part = nudged(getattr(cfg, part_name))
    if changed_part is None:
        return "(no field to nudge)"
    changed = []
    for fname, f in funcs.items():
        params = inspect.signature(f.uncached).parameters.values()
        values, values2 = [], []
        for p in params:
            match = [n for n, c in parts(type(cfg)).items() if re.search(rf"\b{c.__name__}\b", str(p.annotation))]
            if not match:
                continue
            values.append(getattr(cfg, match[0]))
            values2.append(changed_part if part_name in match else getattr(cfg, match[0]))
        if cache_key(f.uncached, *values) != cache_key(f.uncached, *values2):
            changed.append(fname)
    return "checked" if sorted(changed) == hit else f"MISMATCH: keys changed for {sorted(changed)}"


if __name__ == "__main__":
    main()
