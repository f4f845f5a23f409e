"""The scale switch, the device, the thread count and the progress-bar switch.

Every experiment of the course takes its sizes from a typed config (a frozen dataclass defined next to the
experiment) chosen by the scale:

* ``tiny``  -- seconds, for tests;
* ``small`` -- the default: what the book is built with, a chapter in about two minutes on two CPU cores;
* ``full``  -- one GPU, as close to the papers' scale as one GPU allows in minutes.

The scale is read from the environment variable ``DLGEN_SCALE`` each time :func:`get_scale` is called, so a
notebook can change it with ``os.environ`` before building its configs.  Nothing here runs at import time.

Each config class inherits from :class:`CheckedConfig` and declares a :class:`Rule` for every field (and
:class:`Check` relations between fields), so a value out of range --
``scaled(MemorizationConfig, split=dict(n_val=5000))`` when MNIST-1D has 1 000 test examples -- is a
:class:`ConfigError` naming the field, its value and what is valid, the moment the config is made. A chapter's
config is made of parts (:func:`part`), one per experiment and a few shared ones, each with its own presets per
scale; :func:`scaled` builds any of them from its presets and checked overrides.

>>> by_scale(tiny=1, small=2, full=3, scale="tiny")
1
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import numbers
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

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


# ------------------------------------------------------------------------------------------ checked configs
#
# Every chapter's config is a frozen dataclass that inherits from CheckedConfig and declares, next to its fields,
# a Rule for every field (RULES) and the relations between fields (CHECKS). An instance is checked when it is
# made, so `scaled(MemorizationConfig, split=dict(n_val=5000))` fails at once with a ConfigError naming the field,
# its value and what is valid, instead of computing a wrong result or failing minutes later inside an experiment.

SEED_MAX = 2**32 - 1  # numpy's and torch's generators take seeds in [0, 2**32)


def _show(value: Any) -> str:
    """``repr`` of a value with numpy scalars shown as plain numbers: ``(0.0, 0.5)``, not ``(np.float64(0.0), ...)``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, tuple | list):
        inner = ", ".join(_show(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    return repr(value)


def _num(x: float) -> str:
    """A bound as the book writes numbers: 4 000, 0.5."""
    if isinstance(x, numbers.Integral) and abs(x) >= 1000:
        return f"{x:_}".replace("_", " ")
    return f"{x:g}" if isinstance(x, float) else str(x)


def _is_whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


class Rule:
    """What values one field of a config may take.

    :meth:`problem` returns None for a valid value, else what is wrong with it ("is out of range"); :attr:`valid`
    says in words what is valid; ``note`` says why, in the chapter's terms (shown after it).
    """

    note: str = ""

    @property
    def valid(self) -> str:
        raise NotImplementedError

    def problem(self, value: Any) -> str | None:
        raise NotImplementedError

    def explain(self) -> str:
        return f"{self.valid} ({self.note})" if self.note else self.valid


@dataclass(frozen=True)
class Integer(Rule):
    """A whole number in [lo, hi] (either bound may be None: unbounded). Booleans are not numbers here."""

    lo: int | None = None
    hi: int | None = None
    note: str = ""

    @property
    def valid(self) -> str:
        if self.lo is not None and self.hi is not None:
            return f"a whole number from {_num(self.lo)} to {_num(self.hi)}"
        if self.lo is not None:
            return "a positive whole number" if self.lo == 1 else f"a whole number >= {_num(self.lo)}"
        return "a whole number" if self.hi is None else f"a whole number <= {_num(self.hi)}"

    def problem(self, value: Any) -> str | None:
        if not _is_whole(value):
            return "is not a whole number"
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            return "is out of range"
        return None


@dataclass(frozen=True)
class Real(Rule):
    """A finite number between lo and hi, each bound closed unless ``lo_open`` / ``hi_open`` (None: unbounded)."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    note: str = ""

    @property
    def valid(self) -> str:
        if self.lo is not None and self.hi is not None:
            return (f"a number in {'(' if self.lo_open else '['}{_num(self.lo)}, "
                    f"{_num(self.hi)}{')' if self.hi_open else ']'}")
        if self.lo is not None:
            return f"a number {'>' if self.lo_open else '>='} {_num(self.lo)}"
        if self.hi is not None:
            return f"a number {'<' if self.hi_open else '<='} {_num(self.hi)}"
        return "a finite number"

    def problem(self, value: Any) -> str | None:
        if not _is_real(value):
            return "is not a number"
        if not math.isfinite(value):
            return "is not finite"
        low = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        high = self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi)
        return "is out of range" if low or high else None


@dataclass(frozen=True)
class OneOf(Rule):
    """One of a fixed set of values (names of variants, architectures)."""

    options: tuple
    note: str = ""

    @property
    def valid(self) -> str:
        return "one of " + ", ".join(_show(o) for o in self.options)

    def problem(self, value: Any) -> str | None:
        try:
            return None if value in self.options else "is not a known choice"
        except TypeError:  # an unhashable value
            return "is not a known choice"


@dataclass(frozen=True)
class Flag(Rule):
    """True or False."""

    note: str = ""

    @property
    def valid(self) -> str:
        return "True or False"

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, bool | np.bool_) else "is not True or False"


@dataclass(frozen=True)
class OrNone(Rule):
    """None, or a value valid for ``rule``."""

    rule: Rule
    note: str = ""

    @property
    def valid(self) -> str:
        return f"None or {self.rule.valid}"

    def problem(self, value: Any) -> str | None:
        return None if value is None else self.rule.problem(value)


@dataclass(frozen=True)
class TupleOf(Rule):
    """A tuple (a list is taken too) of ``min_len`` to ``max_len`` items, each valid for ``item``; with
    ``distinct`` no item may repeat; ``contains`` lists values that must be among the items."""

    item: Rule
    min_len: int = 1
    max_len: int | None = None
    distinct: bool = False
    contains: tuple = ()
    note: str = ""

    @property
    def valid(self) -> str:
        if self.max_len is not None and self.max_len == self.min_len:
            size = f"a tuple of exactly {self.min_len} items"
        elif self.min_len == 0:
            size = "a tuple (possibly empty)"
        else:
            size = "a non-empty tuple" if self.min_len == 1 else f"a tuple of at least {self.min_len} items"
            size += "" if self.max_len is None else f" of at most {self.max_len} items"
        text = f"{size}, each {self.item.valid}"
        if self.distinct:
            text += ", all different"
        if self.contains:
            text += ", including " + " and ".join(_show(c) for c in self.contains)
        return text

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, tuple | list):
            return "is not a tuple"
        n = len(value)
        if n < self.min_len or (self.max_len is not None and n > self.max_len):
            return "is empty" if n == 0 else f"has {n} item{'s' if n != 1 else ''}"
        for i, v in enumerate(value):
            reason = self.item.problem(v)
            if reason:
                return f"has item {i} = {_show(v)} that {reason}"
        if self.distinct:
            seen = []
            for v in value:
                if v in seen:
                    return f"repeats {_show(v)}"
                seen.append(v)
        missing = [c for c in self.contains if c not in value]
        return f"lacks {' and '.join(_show(c) for c in missing)}" if missing else None


@dataclass(frozen=True)
class Record(Rule):
    """A fixed-length tuple whose items have rules of their own, e.g. a (batch size, momentum) pair."""

    items: tuple[tuple[str, Rule], ...]  # (name, rule) per position
    note: str = ""

    @property
    def valid(self) -> str:
        names = ", ".join(name for name, _ in self.items)
        parts = "; ".join(f"{name} {rule.valid}" for name, rule in self.items)
        return f"a tuple ({names}): {parts}"

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, tuple | list) or len(value) != len(self.items):
            return f"is not a tuple of {len(self.items)} items"
        for (name, rule), v in zip(self.items, value):
            reason = rule.problem(v)
            if reason:
                return f"has {name} = {_show(v)} that {reason}"
        return None


def positive_int(hi: int | None = None, note: str = "") -> Integer:
    """A positive whole number (steps, widths, examples), at most ``hi``."""
    return Integer(1, hi, note)


def positive_real(note: str = "") -> Real:
    """A number > 0 (learning rates, widths of noise, scales)."""
    return Real(0.0, None, lo_open=True, note=note)


def nonnegative_real(note: str = "") -> Real:
    """A number >= 0 (regularization strengths, variances)."""
    return Real(0.0, None, note=note)


def probability(note: str = "") -> Real:
    """A fraction or probability in [0, 1]."""
    return Real(0.0, 1.0, note=note)


def seed_int(note: str = "") -> Integer:
    """A seed: a whole number in [0, 2**32)."""
    return Integer(0, SEED_MAX, note)


def seed_tuple(hi: int = SEED_MAX, note: str = "") -> TupleOf:
    """A non-empty tuple of distinct seeds, each at most ``hi`` (where the code offsets seeds, to keep them apart)."""
    return TupleOf(Integer(0, hi), distinct=True, note=note)


@dataclass(frozen=True)
class Check:
    """A relation between fields of a config: ``holds(cfg)`` must be true; ``valid`` says what is required.
    It is tested only when each of ``fields`` passed its own rule."""

    fields: tuple[str, ...]  # names, "part.field" for a field of a part
    holds: Callable[[Any], bool]
    valid: str


def validate_fields(cfg: Any, rules: Mapping[str, Rule], checks: tuple[Check, ...] = ()) -> None:
    """Check every field of the dataclass instance ``cfg`` against ``rules`` (one rule per field, none for a field
    that does not exist) and the relations ``checks``; raise one :class:`ConfigError` that lists every bad field
    with its value and what is valid. The error's ``fields`` attribute holds the names of the bad fields.

    A field without a rule is a mistake in the library (a :class:`TypeError`): every setting must say what it takes.
    """
    cls = type(cfg).__name__
    names = [f.name for f in dataclasses.fields(cfg)]
    rules = {**{name: IsA(sub) for name, sub in parts(type(cfg)).items()}, **rules}
    missing, unknown = [n for n in names if n not in rules], [n for n in rules if n not in names]
    if missing or unknown:
        raise TypeError(f"{cls}: every field needs exactly one rule; without a rule: {missing}, rules for no "
                        f"field: {unknown}")
    problems: list[str] = []
    bad: list[str] = []
    for name in names:
        value = getattr(cfg, name)
        reason = rules[name].problem(value)
        if reason:
            problems.append(f"{name}={_show(value)} {reason}: it must be {rules[name].explain()}")
            bad.append(name)
    for check in checks:
        if set(check.fields).isdisjoint(bad) and not check.holds(cfg):
            problems.append(", ".join(f"{n}={_show(_dotted(cfg, n))}" for n in check.fields) + f": {check.valid}")
            bad += [n for n in check.fields if n not in bad]
    if problems:
        text = problems[0] if len(problems) == 1 else "".join(f"\n  * {p}" for p in problems)
        error = ConfigError(f"invalid {cls}: {text}")
        error.fields = tuple(bad)
        raise error


def _dotted(cfg: Any, name: str) -> Any:
    """``cfg.a.b`` for ``name = "a.b"``: a :class:`Check` may relate fields of a config's parts."""
    for attr in name.split("."):
        cfg = getattr(cfg, attr)
    return cfg


class CheckedConfig:
    """Base of the chapters' frozen config dataclasses.

    A subclass declares ``RULES`` (field name -> :class:`Rule`, one for every field that is not a part),
    ``CHECKS`` (:class:`Check` relations between fields) and ``PRESETS`` (scale -> the fields that differ from the
    defaults at that scale; the defaults are the ``small`` scale unless ``PRESETS["small"]`` says otherwise). A
    field made with :func:`part` holds a nested config of its own (one experiment's settings) with its own rules
    and presets. Every instance is checked by :func:`validate_fields` when it is made (also by
    ``dataclasses.replace``); :func:`scaled` builds one for a scale."""

    RULES: ClassVar[Mapping[str, Rule]] = {}
    CHECKS: ClassVar[tuple[Check, ...]] = ()
    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def __post_init__(self) -> None:
        validate_fields(self, self.RULES, self.CHECKS)


C = TypeVar("C", bound=CheckedConfig)


def part(cls: type[CheckedConfig]) -> Any:
    """A field of a config that holds another config (one experiment's settings, or settings that several
    experiments share), made from ``cls``'s defaults. An experiment takes the parts it reads, so it is cached
    under those parts only."""
    return dataclasses.field(default_factory=cls, metadata={"part": cls})


def parts(cls: type) -> dict[str, type[CheckedConfig]]:
    """``{field name: config class}`` of the fields of ``cls`` made with :func:`part`."""
    return {f.name: f.metadata["part"] for f in dataclasses.fields(cls) if "part" in f.metadata}


@dataclass(frozen=True)
class IsA(Rule):
    """An instance of a config class (the rule of a :func:`part` field)."""

    cls: type
    note: str = ""

    @property
    def valid(self) -> str:
        return f"a {self.cls.__name__}"

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, self.cls) else f"is a {type(value).__name__}"


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _unknown_fields(cls: type, given: Mapping[str, Any], where: str = "") -> None:
    names = _field_names(cls)
    unknown = [k for k in given if k not in names]
    if unknown:
        hints = [f"{k!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(k, names, 1)) else repr(k)
                 for k in unknown]
        raise ConfigError(f"{where or cls.__name__} has no field {', '.join(hints)}; its fields are: "
                          f"{', '.join(names)}")


def scaled(cls: type[C], scale: str | None = None, **overrides: Any) -> C:
    """The config ``cls`` for the scale (``$DLGEN_SCALE`` by default), from its ``PRESETS``, with fields
    overridden by keyword: the one way every chapter's config is made.

    A :func:`part` field is built the same way from its own class's presets; override it with a dict of its fields
    (``scaled(LotteryConfig, mnist=dict(rounds=3))`` changes that experiment's rounds and leaves its other fields
    at the scale's values) or with a whole instance. A field name that does not exist is a :class:`ConfigError`
    that lists the fields (a misspelt override is never ignored); a value out of range is a :class:`ConfigError`
    naming the field, its value and what is valid."""
    scale = get_scale(scale)
    return _build(cls, scale, overrides, getattr(cls, "__name__", repr(cls)))


def _build(cls: type[C], scale: str, overrides: Mapping[str, Any], where: str) -> C:
    if not (isinstance(cls, type) and issubclass(cls, CheckedConfig) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"scaled() takes a config class (a CheckedConfig dataclass), not {cls!r}")
    _unknown_fields(cls, overrides, where)
    preset = dict(cls.PRESETS.get(scale, {}))
    _unknown_fields(cls, preset, f"{cls.__name__}.PRESETS[{scale!r}]")
    nested = parts(cls)
    values: dict[str, Any] = {}
    for name in _field_names(cls):
        given = overrides.get(name, _MISSING)
        if name in nested:
            sub = nested[name]
            if isinstance(given, sub):
                values[name] = given
                continue
            if given is not _MISSING and not isinstance(given, Mapping):
                raise ConfigError(f"{where}.{name} takes a {sub.__name__} or a dict of its fields "
                                  f"({', '.join(_field_names(sub))}), not {_show(given)}")
            values[name] = _build(sub, scale, {**preset.get(name, {}), **(given if given is not _MISSING else {})},
                                  f"{where}.{name}")
        elif given is not _MISSING:
            values[name] = given
        elif name in preset:
            values[name] = preset[name]
    try:
        return cls(**values)
    except ConfigError as err:
        if where == cls.__name__:
            raise
        nested = ConfigError(f"{where}: {err}")  # where = "TopConfig.part": say which part of which config
        path = where.partition(".")[2]
        nested.fields = tuple(f"{path}.{f}" for f in getattr(err, "fields", ()))
        raise nested from None


_MISSING = object()
