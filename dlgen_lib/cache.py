"""On-disk cache of expensive results (sweeps), built on ``joblib.Memory``.

A result is keyed by the function (its module, name and source code), all its arguments (typed configs
included, hashed by value: an experiment takes only the parts of a chapter's config it reads, so changing one
experiment's field recomputes that experiment alone), and a folder named by the library version, the versions of
torch, numpy and mnist1d, the CPU kernel path, the replicate ``DLGEN_SEED``, and a fingerprint of the code the
experiment's module can reach through its imports (:func:`code_fingerprint`: not figures, plotting, widgets or
the claims ledger, which no experiment imports). Changing a config field, a seed, a package or the experiment's
code gives a fresh computation; retitling a figure or editing another chapter does not; re-running a chapter or
moving a widget is instant. The fingerprint is taken again whenever a library file changes on disk, so an edit
followed by ``%autoreload`` or ``importlib.reload`` never serves (or stores under the old name) a stale result.

* ``$DLGEN_CACHE`` unset -> ``~/.cache/dlgen_lib`` (or ``$XDG_CACHE_HOME/dlgen_lib``);
  ``DLGEN_CACHE=off`` -> no caching; ``DLGEN_CACHE=/some/dir`` -> that folder.
* joblib writes each entry to a temporary file and renames it into place, so an interrupted run never leaves
  a half-written entry behind.
* An entry that cannot be read (corrupted, truncated) is recomputed, with a :class:`CacheWarning`.
* A cache folder that cannot be written is a :class:`CacheError` naming ``DLGEN_CACHE=off`` when the folder was
  asked for; the default folder falls back to running uncached, with a :class:`CacheWarning`.

>>> @cached
... def slow_square(x: int) -> int:
...     return x * x
>>> slow_square(3)
9
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import joblib
from joblib.func_inspect import filter_args

from . import __version__
from .config import ConfigError, run_context

F = TypeVar("F", bound=Callable)


class CacheWarning(UserWarning):
    """A cache entry could not be read and was recomputed, or the default cache folder cannot be used."""


class CacheError(ConfigError):
    """The cache folder asked for (``DLGEN_CACHE``) cannot be written."""


LIBRARY = "dlgen_lib"
# The key machinery itself: it names the folder, it does not compute results, so it is not part of any experiment's
# code (it imports the package's face for the version, which would pull in every module).
NOT_EXPERIMENT_CODE = frozenset({f"{LIBRARY}.cache"})


def _root() -> Path:
    return Path(__file__).parent


def _module_file(root: Path, name: str) -> Path | None:
    """The source file of library module ``name`` (``dlgen_lib.a.b``) under ``root``, or None if there is none."""
    parts = name.split(".")[1:]
    base = root.joinpath(*parts)
    for candidate in (base.with_suffix(".py") if parts else None, base / "__init__.py"):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _imports(root: Path, name: str, path: Path) -> set[str]:
    """The library modules that module ``name`` (file ``path``) imports, anywhere in its source (also inside
    functions), read statically with :mod:`ast`. ``from package import name`` counts the submodule ``name`` when
    there is one, else the package's ``__init__``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == LIBRARY)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != LIBRARY:
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if _module_file(root, sub) else module)
    return found


def reachable_modules(module: str, root: Path | None = None) -> list[str]:
    """Every library module the code of ``module`` can reach through imports (itself included), read statically:
    the code whose edits can change what an experiment defined in ``module`` computes. The cache module is left
    out (:data:`NOT_EXPERIMENT_CODE`); so is everything no import leads to -- figures, plotting, widgets and the
    claims ledger, for an experiment module (a test keeps it so)."""
    root = root or _root()
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or name in NOT_EXPERIMENT_CODE:
            continue
        path = _module_file(root, name)
        if path is None:
            continue
        seen.add(name)
        todo.extend(_imports(root, name, path) - seen)
    return sorted(seen)


def code_fingerprint(module: str, root: Path | None = None) -> str:
    """SHA-256 (first 12 hex digits) of the source of every library module ``module`` can reach
    (:func:`reachable_modules`): an edit of an experiment's code, or of anything it uses, gives it a fresh cache
    folder, while an edit of a figure, of another chapter or of the claims ledger does not. Taken again whenever
    a library file's size or modification time changes (a ``stat`` of each file per call, about a millisecond),
    so an edit within a running process (``%autoreload``, ``importlib.reload``) is seen at once. A module outside
    the library (a notebook's own cached function) gets ``"external"``: joblib keys it on its source code."""
    if module.split(".")[0] != LIBRARY:
        return "external"
    root = root or _root()
    stamp = tuple((p.as_posix(), st.st_mtime_ns, st.st_size) for p in sorted(root.rglob("*.py"))
                  for st in (p.stat(),))
    return _digest_for(root, module, stamp)


@functools.lru_cache(maxsize=256)
def _digest_for(root: Path, module: str, stamp: tuple) -> str:
    digest = hashlib.sha256()
    for name in reachable_modules(module, root):
        path = _module_file(root, name)
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def cache_root() -> Path | None:
    """The folder of this library version's results in this environment (:func:`environment_tag`), or None when
    caching is off (``DLGEN_CACHE=off``). Each experiment module's results lie in a subfolder named by the module
    and its :func:`code_fingerprint` (:func:`cache_dir`)."""
    setting = os.environ.get("DLGEN_CACHE", "").strip()
    if setting.lower() in ("off", "0", "false", "no", "none"):
        return None
    if setting:
        root = Path(setting).expanduser()
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dlgen_lib"
    return root / f"v{__version__}" / environment_tag()


def cache_dir(module: str = "__main__") -> Path | None:
    """The cache folder of the experiments defined in ``module`` (a module name, e.g.
    ``dlgen_lib.chapters.ch01_memorization.experiments``): ``<root>/v<version>/<environment>/<module>-<code>``, or
    None when caching is off."""
    root = cache_root()
    if root is None:
        return None
    return root / f"{module.removeprefix(LIBRARY + '.')}-{code_fingerprint(module)}"


def environment_tag() -> str:
    """The part of the cache folder's name for what results depend on besides the code: the versions of torch,
    numpy and mnist1d, the CPU kernel path (``ATEN_CPU_CAPABILITY``), the device type, and the replicate
    ``DLGEN_SEED``."""
    ctx = run_context()
    return (f"torch{ctx['torch']}-numpy{ctx['numpy']}-mnist1d{ctx['mnist1d']}-{ctx['cpu_capability'].lower()}"
            f"-{ctx['device'].split(':')[0]}-seed{ctx['seed']}").replace("+", "_")


def _usable(location: Path) -> Path | None:
    """``location`` if it can be written (created when missing), else None when the default folder was used
    (with a warning) or a :class:`CacheError` when ``DLGEN_CACHE`` named it."""
    try:
        location.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=location, prefix=".write-test-"):
            pass
        return location
    except OSError as err:
        if os.environ.get("DLGEN_CACHE", "").strip():
            raise CacheError(f"DLGEN_CACHE={os.environ['DLGEN_CACHE']!r}: the results cache cannot be written in "
                             f"{location} ({type(err).__name__}: {err.strerror or err}). Point DLGEN_CACHE to a "
                             "writable folder, or set DLGEN_CACHE=off to run every experiment uncached.") from err
        warnings.warn(f"the default results cache {location} cannot be written ({err.strerror or err}); running "
                      "uncached (set DLGEN_CACHE to a writable folder to keep results)", CacheWarning, stacklevel=3)
        return None


def cache_key(func: Callable, *args, **kwargs) -> str:
    """The hash of the arguments under which ``func(*args, **kwargs)`` is stored (joblib's argument hash);
    the function's identity and the version folder complete the key."""
    return joblib.hash(filter_args(func, [], args, kwargs))


def _memorized(func: Callable, location: Path) -> joblib.memory.MemorizedFunc:
    return joblib.Memory(location=str(location), verbose=0).cache(func)


def cached(func: F) -> F:
    """Decorator: cache ``func``'s results on disk (see the module's docstring). The folder is looked up at
    each call, so ``DLGEN_CACHE`` may be changed while a notebook runs."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        location = cache_dir(func.__module__)
        if location is not None:
            location = _usable(location)
        if location is None:
            return func(*args, **kwargs)
        memo = _memorized(func, location)
        if memo.check_call_in_cache(*args, **kwargs):
            try:
                return memo.call_and_shelve(*args, **kwargs).get()
            except Exception as err:  # noqa: BLE001 - any failure to unpickle means a damaged entry
                warnings.warn(f"the cached result of {func.__qualname__} in {location} could not be read "
                              f"({type(err).__name__}: {err}); recomputing it", CacheWarning, stacklevel=2)
        output, _ = memo.call(*args, **kwargs)
        return output

    wrapper.uncached = func  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def clear_cache() -> None:
    """Delete every cached result of this library version in this environment (every module's folder)."""
    location = cache_root()
    if location is not None and location.exists():
        shutil.rmtree(location)
