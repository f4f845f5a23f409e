"""On-disk cache of expensive results (sweeps), built on ``joblib.Memory``.

A result is keyed by the function (its module, name and source code), all its arguments (typed configs
included, hashed by value), the library version and a fingerprint of the library's source (a folder per
version and fingerprint), so changing a config field, a
seed or the library gives a fresh computation, and re-running a chapter or moving a widget is instant.

* ``$DLGEN_CACHE`` unset -> ``~/.cache/dlgen_lib`` (or ``$XDG_CACHE_HOME/dlgen_lib``);
  ``DLGEN_CACHE=off`` -> no caching; ``DLGEN_CACHE=/some/dir`` -> that folder.
* joblib writes each entry to a temporary file and renames it into place, so an interrupted run never leaves
  a half-written entry behind.
* An entry that cannot be read (corrupted, truncated) is recomputed, with a :class:`CacheWarning`.

>>> @cached
... def slow_square(x: int) -> int:
...     return x * x
>>> slow_square(3)
9
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import joblib
from joblib.func_inspect import filter_args

from . import __version__

F = TypeVar("F", bound=Callable)


class CacheWarning(UserWarning):
    """A cache entry could not be read and was recomputed."""


@functools.lru_cache(maxsize=1)
def library_fingerprint() -> str:
    """SHA-256 (first 12 hex digits) of the library's source files, subpackages included: any edit of the
    library, even without a version bump, gives a fresh cache folder, so a cached result always comes from the
    code that is here."""
    return _source_digest(Path(__file__).parent)


def _source_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def cache_dir() -> Path | None:
    """The cache folder for this library version and source, or None when caching is off (``DLGEN_CACHE=off``)."""
    setting = os.environ.get("DLGEN_CACHE", "").strip()
    if setting.lower() in ("off", "0", "false", "no", "none"):
        return None
    if setting:
        root = Path(setting).expanduser()
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dlgen_lib"
    return root / f"v{__version__}-{library_fingerprint()}"


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
        location = cache_dir()
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
    """Delete every cached result of this library version."""
    location = cache_dir()
    if location is not None and location.exists():
        joblib.Memory(location=str(location), verbose=0).clear(warn=False)
