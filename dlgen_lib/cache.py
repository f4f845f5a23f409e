"""On-disk cache of expensive results (sweeps), built on ``joblib.Memory``.

A result is keyed by the function (its module, name and source code), all its arguments (typed configs
included, hashed by value), and a folder named by the library version, a fingerprint of the library's source,
the versions of torch, numpy and mnist1d, the CPU kernel path and the replicate ``DLGEN_SEED``: changing a config
field, a seed, a package or the library gives a fresh computation, and re-running a chapter or moving a widget
is instant. The fingerprint is taken again whenever a library file changes on disk, so an edit followed by
``%autoreload`` or ``importlib.reload`` never serves (or stores under the old name) a stale result.

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

import functools
import hashlib
import os
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


def library_fingerprint() -> str:
    """SHA-256 (first 12 hex digits) of the library's source files, subpackages included: any edit of the
    library, even without a version bump, gives a fresh cache folder, so a cached result always comes from the
    code that is here. Taken again whenever a file's size or modification time changes (a ``stat`` of each file
    per call, about a millisecond), so an edit within a running process is seen at once."""
    root = Path(__file__).parent
    stamp = tuple((p.as_posix(), st.st_mtime_ns, st.st_size) for p in sorted(root.rglob("*.py"))
                  for st in (p.stat(),))
    return _digest_for(root, stamp)


@functools.lru_cache(maxsize=8)
def _digest_for(root: Path, stamp: tuple) -> str:
    return _source_digest(root)


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
    return root / f"v{__version__}-{library_fingerprint()}" / environment_tag()


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
        location = cache_dir()
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
    """Delete every cached result of this library version."""
    location = cache_dir()
    if location is not None and location.exists():
        joblib.Memory(location=str(location), verbose=0).clear(warn=False)
