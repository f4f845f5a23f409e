"""The scale switch, the device, the thread count and the progress-bar switch.

Every experiment of the course takes its sizes from a typed config (a frozen dataclass defined next to the
experiment) chosen by the scale:

* ``tiny``  -- seconds, for tests;
* ``small`` -- the default: what the book is built with, a chapter in about two minutes on two CPU cores;
* ``full``  -- one GPU, as close to the papers' scale as one GPU allows in minutes.

The scale is read from the environment variable ``DLGEN_SCALE`` each time :func:`get_scale` is called, so a
notebook can change it with ``os.environ`` before building its configs.  Nothing here runs at import time.

>>> by_scale(tiny=1, small=2, full=3, scale="tiny")
1
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import torch

SCALES = ("tiny", "small", "full")
DEVICES = ("cpu", "cuda", "mps")
DEFAULT_SCALE = "small"

T = TypeVar("T")


class ConfigError(ValueError):
    """A setting (an argument or an environment variable) has a value that is not valid."""


def get_scale(scale: str | None = None) -> str:
    """The scale to run at: ``scale`` if given, else ``$DLGEN_SCALE``, else ``"small"``.

    Raises :class:`ConfigError` naming the valid scales when the value is not one of them.
    """
    source = "argument scale"
    if scale is None:
        scale, source = os.environ.get("DLGEN_SCALE", "").strip() or DEFAULT_SCALE, "DLGEN_SCALE"
    value = scale.strip().lower()
    if value not in SCALES:
        raise ConfigError(f"{source}={scale!r} is not a scale; valid scales are {', '.join(SCALES)} "
                          f"(default {DEFAULT_SCALE})")
    return value


def by_scale(*, tiny: T, small: T, full: T, scale: str | None = None) -> T:
    """Pick the value for the current scale (see :func:`get_scale`)."""
    return {"tiny": tiny, "small": small, "full": full}[get_scale(scale)]


def get_device(device: str | torch.device | None = None) -> torch.device:
    """The device to compute on: ``device`` if given, else ``$DLGEN_DEVICE``, else CUDA, MPS or the CPU.

    A device that is asked for but is not present is an error that says which devices are present.
    """
    source = "argument device"
    if device is None:
        requested = os.environ.get("DLGEN_DEVICE", "").strip()
        if not requested:
            if torch.cuda.is_available():
                return torch.device("cuda")
            if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
                return torch.device("mps")
            return torch.device("cpu")
        device, source = requested, "DLGEN_DEVICE"
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"{source}={device!r} is not a device; valid kinds are {', '.join(DEVICES)}, "
                          f"e.g. 'cpu' or 'cuda:0'") from err
    present = available_devices()
    if dev.type not in present:
        raise ConfigError(f"{source}={device!r} asks for a {dev.type} device, but this machine has none; "
                          f"present here: {', '.join(present)}")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"{source}={device!r}: there are only {torch.cuda.device_count()} CUDA devices")
    return dev


def available_devices() -> list[str]:
    """The device kinds present on this machine, e.g. ``['cpu']`` or ``['cpu', 'cuda']``."""
    present = ["cpu"]
    if torch.cuda.is_available():
        present.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        present.append("mps")
    return present


def usable_cpus() -> int:
    """How many CPUs this process may really use: its affinity mask and any cgroup CPU quota (containers,
    Binder's 1 CPU), not the number of cores the machine has."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        count = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        count = min(count, max(1, int(quota + 0.5)))
    return max(1, count)


def _cgroup_cpu_quota() -> float | None:
    """CPUs allowed by the cgroup (v2 ``cpu.max`` or v1 ``cfs_quota/period``), or None when unlimited."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as fh:
            quota, period = fh.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as fh:
            quota_us = int(fh.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as fh:
            period_us = int(fh.read())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def get_threads(threads: int | None = None) -> int:
    """Threads for torch on the CPU: ``threads`` if given, else ``$DLGEN_THREADS``, else :func:`usable_cpus`."""
    source = "argument threads"
    if threads is None:
        raw = os.environ.get("DLGEN_THREADS", "").strip()
        if not raw:
            return usable_cpus()
        source = "DLGEN_THREADS"
        try:
            threads = int(raw)
        except ValueError as err:
            raise ConfigError(f"DLGEN_THREADS={raw!r} is not a whole number; give a positive integer "
                              f"(this process may use {usable_cpus()} CPUs)") from err
    if threads < 1:
        raise ConfigError(f"{source}={threads} must be a positive integer "
                          f"(this process may use {usable_cpus()} CPUs)")
    return threads


def setup_torch(threads: int | None = None) -> int:
    """Set torch's intra-op thread count to :func:`get_threads` and return it. Call once, from a notebook or
    a script; the library never calls it on import."""
    n = get_threads(threads)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def progress_enabled() -> bool:
    """Whether progress bars are shown: ``$DLGEN_PROGRESS`` = on | off | auto (default).

    ``auto`` hides them in CI (``$CI`` set) and while the book is built (the book's Sphinx extension sets
    ``DLGEN_PROGRESS=off`` for the kernels it starts), and shows them elsewhere.
    """
    value = os.environ.get("DLGEN_PROGRESS", "auto").strip().lower() or "auto"
    if value not in ("on", "off", "auto"):
        raise ConfigError(f"DLGEN_PROGRESS={value!r} is not valid; use on, off or auto")
    if value == "auto":
        return not os.environ.get("CI")
    return value == "on"


def progress(iterable=None, **kwargs):
    """A ``tqdm.auto`` progress bar that stays quiet in CI and in the built book (see :func:`progress_enabled`)."""
    from tqdm.auto import tqdm

    kwargs.setdefault("leave", False)
    kwargs.setdefault("delay", 1.0)
    return tqdm(iterable, disable=not progress_enabled(), **kwargs)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run with one torch thread, for experiments made of many small operations (1-D replica clouds, ensembles of
    small MLPs on minibatches of 16-512): there a second thread only adds synchronization, and on a shared machine
    it can stall. Measured for chapter 3 at the small scale on 2 cores shared with other jobs (load about 4): 33 s
    on one thread, 235 s on two. The caller's thread count is restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def single_threaded(func):
    """Decorator: run ``func`` inside :func:`one_thread`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_thread():
            return func(*args, **kwargs)

    return wrapper


def synchronize(device: torch.device | str) -> None:
    """Wait until a CUDA device has finished its queued work (a no-op on other devices): call it before reading
    a clock, since GPU operations return before they are done."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------------------------------------ seeds

_SEED_MIX = 0x9E3779B1  # odd, about 2.65e9: shifted seeds never meet the small seeds (< 1e6) a chapter uses


def get_seed_shift() -> int:
    """The replicate number ``$DLGEN_SEED`` (an integer, default 0): every seed an experiment draws from is
    mapped through :func:`derive_seed`, so a whole chapter re-runs as an independent replicate."""
    raw = os.environ.get("DLGEN_SEED", "").strip()
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError as err:
        raise ConfigError(f"DLGEN_SEED={raw!r} is not an integer; give a whole number such as 0 (the default), "
                          "1 or 2: each value re-runs every experiment as an independent replicate") from err


def derive_seed(seed: int) -> int:
    """The seed actually used for ``seed`` under ``$DLGEN_SEED``: ``seed`` itself when the shift is 0 (so the
    default reproduces the book), else a value in [0, 2**32) far from every small seed, so that replicates share
    no draw (a plain ``seed + shift`` would make seed 1 of replicate 0 seed 0 of replicate 1).

    >>> derive_seed(3) == 3 or os.environ.get("DLGEN_SEED") not in (None, "", "0")
    True
    """
    seed = int(seed)
    shift = get_seed_shift()
    return seed if shift == 0 else (seed + shift * _SEED_MIX) % 2**32


def generator(seed: int, device: torch.device | str | None = None) -> torch.Generator:
    """A torch generator seeded with :func:`derive_seed` (``seed``): the one way the library makes a generator."""
    gen = torch.Generator() if device is None else torch.Generator(device=device)
    return gen.manual_seed(derive_seed(seed))


def manual_seed(seed: int) -> None:
    """Seed torch's global generator (parameter initialization, dropout masks) with :func:`derive_seed`."""
    torch.manual_seed(derive_seed(seed))


def numpy_rng(seed: int) -> np.random.Generator:
    """A numpy generator seeded with :func:`derive_seed` (``seed``)."""
    return np.random.default_rng(derive_seed(seed))


def cpu_capability() -> str:
    """The CPU kernel path torch takes here (``DEFAULT``, ``AVX2``, ``AVX512``; ``ATEN_CPU_CAPABILITY`` selects
    a lower one): results differ in the last bits between paths, so a run records it."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):
        return "unknown"


def run_context() -> dict:
    """What a run's numbers depend on besides the code: scale, replicate, CPU kernel path, device, versions."""
    return {"scale": get_scale(), "seed": get_seed_shift(), "cpu_capability": cpu_capability(),
            "device": str(get_device()), "threads": torch.get_num_threads(), **package_versions()}


@functools.lru_cache(maxsize=1)
def package_versions() -> dict:
    """The versions of the packages results depend on (torch, numpy, mnist1d) and the machine's architecture."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    try:
        mnist1d_version = version("mnist1d")
    except PackageNotFoundError:
        mnist1d_version = "none"
    return {"torch": torch.__version__, "numpy": np.__version__, "mnist1d": mnist1d_version,
            "machine": platform.machine()}
