"""dlgen_lib.config: the scale switch, the device, threads and progress bars, read from the environment; and the
checked chapter configs (every preset valid, every bad value a ConfigError naming its field)."""

from __future__ import annotations

import dataclasses
import importlib
import os
import subprocess
import sys

import pytest
import torch

from dlgen_lib import config
from dlgen_lib.chapters import CHAPTERS
from dlgen_lib.chapters import ch01_memorization as ch1
from dlgen_lib.config import (
    SCALES,
    Check,
    CheckedConfig,
    ConfigError,
    Flag,
    Integer,
    OneOf,
    OrNone,
    Real,
    Record,
    TupleOf,
    by_scale,
    get_device,
    get_scale,
    get_threads,
    progress,
    progress_enabled,
    scaled,
    setup_torch,
    usable_cpus,
    validate_fields,
)

# ------------------------------------------------------------------------------------------------ scale


def test_scale_defaults_to_small(monkeypatch):
    monkeypatch.delenv("DLGEN_SCALE", raising=False)
    assert get_scale() == "small"
    monkeypatch.setenv("DLGEN_SCALE", "  ")  # blank counts as unset
    assert get_scale() == "small"


@pytest.mark.parametrize(("raw", "scale"), [("tiny", "tiny"), ("small", "small"), ("full", "full"),
                                            ("FULL", "full"), (" tiny ", "tiny")])
def test_scale_from_environment(monkeypatch, raw, scale):
    monkeypatch.setenv("DLGEN_SCALE", raw)
    assert get_scale() == scale


def test_scale_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv("DLGEN_SCALE", "full")
    assert get_scale("tiny") == "tiny"


@pytest.mark.parametrize("bad", ["huge", "medium", "0"])
def test_bad_scale_names_the_valid_ones(monkeypatch, bad):
    monkeypatch.setenv("DLGEN_SCALE", bad)
    with pytest.raises(ConfigError) as err:
        get_scale()
    message = str(err.value)
    assert "DLGEN_SCALE" in message and repr(bad) in message
    assert all(name in message for name in ("tiny", "small", "full"))
    with pytest.raises(ConfigError, match="tiny, small, full"):
        get_scale(bad)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_by_scale_picks_the_current_scale(monkeypatch):
    values = dict(tiny=1, small=20, full=300)
    for scale in SCALES:
        monkeypatch.setenv("DLGEN_SCALE", scale)
        assert by_scale(**values) == values[scale]
        assert by_scale(**values, scale="tiny") == 1  # an explicit scale overrides the environment
    monkeypatch.setenv("DLGEN_SCALE", "nope")
    with pytest.raises(ConfigError):
        by_scale(**values)


def test_the_tests_run_at_tiny_scale():
    assert get_scale() == "tiny"  # set by the autouse fixture of conftest.py


# ----------------------------------------------------------------------------------------------- device


def test_cpu_device():
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")


def test_device_from_environment(monkeypatch):
    monkeypatch.setenv("DLGEN_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_missing_cuda_is_a_clear_error(monkeypatch):
    with pytest.raises(ConfigError, match="none") as err:
        get_device("cuda")
    assert "cpu" in str(err.value)  # says what is present
    monkeypatch.setenv("DLGEN_DEVICE", "cuda:0")
    with pytest.raises(ConfigError, match="DLGEN_DEVICE"):
        get_device()


@pytest.mark.skipif(torch.cuda.is_available() or torch.backends.mps.is_available(),
                    reason="an accelerator is present")
def test_default_device_is_cpu_without_accelerator():
    assert get_device() == torch.device("cpu")


@pytest.mark.parametrize("bad", ["banana", "cuda:x", "gpu"])
def test_garbage_device_string(bad):
    with pytest.raises(ConfigError, match="not a device") as err:
        get_device(bad)
    assert "cpu" in str(err.value) and "cuda" in str(err.value)


# ---------------------------------------------------------------------------------------------- threads


def test_usable_cpus_is_within_the_machine():
    assert 1 <= usable_cpus() <= (os.cpu_count() or 1)


@pytest.mark.parametrize(("quota", "expected"), [(1.0, 1), (0.2, 1), (1.6, 2), (1000.0, None)])
def test_usable_cpus_honours_a_cgroup_quota(monkeypatch, quota, expected):
    """A container quota of q CPUs allows round(q) threads, at least one, never more than the affinity."""
    monkeypatch.setattr(config, "_cgroup_cpu_quota", lambda: quota)
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert usable_cpus() == (affinity if expected is None else min(expected, affinity))


def test_threads_default_to_usable_cpus():
    assert get_threads() == usable_cpus()


def test_threads_from_environment(monkeypatch):
    monkeypatch.setenv("DLGEN_THREADS", "1")
    assert get_threads() == 1
    assert get_threads(3) == 3  # the argument wins


@pytest.mark.parametrize("bad", ["abc", "0", "-2", "1.5"])
def test_bad_thread_count(monkeypatch, bad):
    monkeypatch.setenv("DLGEN_THREADS", bad)
    with pytest.raises(ConfigError, match="DLGEN_THREADS"):
        get_threads()


def test_bad_thread_argument():
    with pytest.raises(ConfigError, match="positive"):
        get_threads(0)


def test_setup_torch_with_the_current_count_changes_nothing():
    n = torch.get_num_threads()
    assert setup_torch(n) == n
    assert torch.get_num_threads() == n


# --------------------------------------------------------------------------------------------- progress


@pytest.mark.parametrize(("setting", "ci", "shown"), [
    ("on", None, True), ("on", "true", True), ("off", None, False), ("OFF", None, False),
    ("auto", None, True), ("auto", "true", False), ("", None, True), ("", "1", False),
])
def test_progress_enabled(monkeypatch, setting, ci, shown):
    monkeypatch.setenv("DLGEN_PROGRESS", setting)
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    assert progress_enabled() is shown


def test_progress_auto_is_the_default(monkeypatch):
    monkeypatch.delenv("DLGEN_PROGRESS")
    assert progress_enabled() is True
    monkeypatch.setenv("CI", "true")
    assert progress_enabled() is False


def test_bad_progress_setting(monkeypatch):
    monkeypatch.setenv("DLGEN_PROGRESS", "sometimes")
    with pytest.raises(ConfigError, match="on, off or auto"):
        progress_enabled()


def test_progress_bar_is_silent_when_off(capsys):
    bar = progress(range(5))
    assert bar.disable
    assert list(bar) == [0, 1, 2, 3, 4]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# ----------------------------------------------------------------------------------------------- import


def test_import_changes_no_global_state():
    """Importing the library seeds nothing: the RNG streams of random, numpy and torch are untouched."""
    code = (
        "import random, numpy as np, torch\n"
        "r, n, t = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()\n"
        "threads = torch.get_num_threads()\n"
        "import dlgen_lib\n"
        "assert random.getstate() == r, 'random'\n"
        "assert (np.random.get_state()[1] == n).all(), 'numpy'\n"
        "assert torch.equal(torch.get_rng_state(), t), 'torch'\n"
        "assert torch.get_num_threads() == threads, 'threads'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_one_thread_restores_the_callers_thread_count():
    import torch

    from dlgen_lib.config import one_thread, single_threaded

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        seen = single_threaded(torch.get_num_threads)()
        assert seen == 1 and torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), one_thread():
            raise RuntimeError("an experiment failed")
        assert torch.get_num_threads() == 2, "restored after an error too"
    finally:
        torch.set_num_threads(before)


# -------------------------------------------------------------------------------------------- checked configs

def chapter(name: str):
    return importlib.import_module(f"dlgen_lib.chapters.{name}")


def all_parts(cls: type, prefix: str = "") -> list[tuple[str, type]]:
    """(path, class) of ``cls`` and of every part below it."""
    found = [(prefix or cls.__name__, cls)]
    for name, sub in config.parts(cls).items():
        found += all_parts(sub, f"{prefix or cls.__name__}.{name}")
    return found


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", CHAPTERS)
def test_every_preset_of_every_chapter_config_is_valid(name, scale):
    cfg = scaled(chapter(name).CONFIG, scale)  # checked as it is made, every part too
    assert isinstance(cfg, CheckedConfig)
    validate_fields(cfg, type(cfg).RULES, type(cfg).CHECKS)  # and once more, explicitly


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_config_is_made_of_parts_with_a_rule_for_every_field(name):
    top = chapter(name).CONFIG
    fields = {f.name for f in dataclasses.fields(top)}
    assert fields and fields == set(config.parts(top)), "a chapter's config holds parts only (one per experiment)"
    for path, cls in all_parts(top)[1:]:
        plain = {f.name for f in dataclasses.fields(cls)} - set(config.parts(cls))
        assert set(cls.RULES) == plain, f"{path}: every field needs exactly one rule"
        for scale, preset in cls.PRESETS.items():
            assert scale in SCALES and set(preset) <= {f.name for f in dataclasses.fields(cls)}, (path, scale)
        for check in cls.CHECKS:
            assert all(f.split(".")[0] in fields | plain for f in check.fields), f"{check.valid!r} names no field"


@pytest.mark.parametrize("name", CHAPTERS)
def test_an_unknown_override_lists_the_valid_fields(name):
    top = chapter(name).CONFIG
    fields = [f.name for f in dataclasses.fields(top)]
    with pytest.raises(ConfigError) as err:
        scaled(top, "tiny", no_such_setting=1)
    message = str(err.value)
    assert "'no_such_setting'" in message and all(f in message for f in fields)
    part_name, sub = next(iter(config.parts(top).items()))
    with pytest.raises(ConfigError) as err:
        scaled(top, "tiny", **{part_name: dict(no_such_setting=1)})
    assert f"{top.__name__}.{part_name} has no field 'no_such_setting'" in str(err.value)
    assert all(f.name in str(err.value) for f in dataclasses.fields(sub))


@pytest.mark.parametrize("name", CHAPTERS)
def test_overriding_one_part_leaves_the_others_at_the_scale(name):
    top = chapter(name).CONFIG
    tiny = scaled(top, "tiny")
    part_name, sub = next(iter(config.parts(top).items()))
    whole = getattr(tiny, part_name)
    cfg = scaled(top, "tiny", **{part_name: whole})  # a whole instance is taken as it is
    assert cfg == tiny
    for other in config.parts(top):
        assert getattr(scaled(top, "tiny", **{part_name: {}}), other) == getattr(tiny, other)


def test_a_misspelt_override_suggests_the_field():
    with pytest.raises(ConfigError, match=r"'n_vall' \(did you mean 'n_val'\?\)"):
        scaled(ch1.MemorizationConfig, "tiny", split=dict(n_vall=100))
    with pytest.raises(ConfigError, match=r"'splitt' \(did you mean 'split'\?\)"):
        scaled(ch1.MemorizationConfig, "tiny", splitt=dict(n_val=100))


def test_a_part_takes_a_dict_or_an_instance_of_its_class():
    with pytest.raises(ConfigError, match="takes a SplitSizes or a dict of its fields"):
        scaled(ch1.MemorizationConfig, "tiny", split=100)
    with pytest.raises(ConfigError, match="split=.* is a Network"):
        ch1.MemorizationConfig(split=ch1.Network())


def test_direct_construction_and_replace_are_checked_too():
    with pytest.raises(ConfigError, match="n_val=5000"):
        ch1.SplitSizes(n_val=5000)
    cfg = scaled(ch1.MemorizationConfig, "tiny")
    with pytest.raises(ConfigError, match="lr=-1"):
        dataclasses.replace(cfg.net, lr=-1)


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        scaled(ch1.MemorizationConfig, "tiny", net=dict(lr=0.0, width=2.5, depth=-1))
    message = str(err.value)
    assert all(f in message for f in ("lr=0.0", "depth=-1", "width=2.5 is not a whole number"))
    assert set(err.value.fields) == {"net.lr", "net.width", "net.depth"}


def test_overrides_replace_single_fields():
    tiny = scaled(ch1.MemorizationConfig, "tiny")
    cfg = scaled(ch1.MemorizationConfig, "tiny", split=dict(n_val=100), net=dict(seeds=[3, 4]))  # a list: a tuple
    assert cfg.split.n_val == 100 and list(cfg.net.seeds) == [3, 4] and cfg.net.width == tiny.net.width
    assert cfg.split.n_train == tiny.split.n_train and cfg.corruption == tiny.corruption


def test_the_scale_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DLGEN_SCALE", "tiny")
    assert scaled(ch1.MemorizationConfig) == scaled(ch1.MemorizationConfig, "tiny")
    monkeypatch.setenv("DLGEN_SCALE", "huge")
    with pytest.raises(ConfigError, match="DLGEN_SCALE"):
        scaled(ch1.MemorizationConfig)


def test_scaled_takes_a_config_class():
    with pytest.raises(TypeError, match="config class"):
        scaled(ch1.Network(), "tiny")


def test_numpy_values_are_valid_and_shown_as_plain_numbers():
    import numpy as np

    cfg = scaled(ch1.MemorizationConfig, "tiny", corruption=dict(levels=tuple(np.linspace(0, 1, 3))),
                 split=dict(n_val=np.int64(10)))
    assert cfg.split.n_val == 10
    with pytest.raises(ConfigError) as err:
        scaled(ch1.MemorizationConfig, "tiny", corruption=dict(levels=(np.float64(0.5), np.float64(1.5))))
    assert "levels=(0.5, 1.5)" in str(err.value) and "np.float64" not in str(err.value)


@pytest.mark.parametrize(("rule", "good", "bad"), [
    (Integer(1, 10), [1, 10, 5], [0, 11, 2.0, True, "3", None]),
    (Integer(0, None), [0, 10**9], [-1, 0.5]),
    (Real(0.0, 1.0), [0, 0.0, 1, 0.5], [-0.01, 1.01, float("nan"), True, "0.5"]),
    (Real(0.0, 1.0, lo_open=True, hi_open=True), [0.5], [0.0, 1.0]),
    (Real(0.0, None, lo_open=True), [1e-9, 1e9], [0.0, float("inf")]),
    (OneOf(("a", "b")), ["a", "b"], ["c", 1, ["a"]]),
    (Flag(), [True, False], [0, 1, "yes", None]),
    (OrNone(Integer(1)), [None, 3], [0]),
    (TupleOf(Integer(0, 5)), [(0,), [1, 2], (5, 5)], [(), (6,), "ab", 3, (1, None)]),
    (TupleOf(Integer(0, 5), min_len=0, distinct=True, contains=(0,)), [(0,), (2, 0)], [(), (1,), (0, 0)]),
    (TupleOf(Integer(0, 5), min_len=2, max_len=2), [(1, 2)], [(1,), (1, 2, 3)]),
    (Record((("B", Integer(1)), ("m", Real(0.0, 1.0, hi_open=True)))), [(32, 0.0), (1, 0.9)],
     [(0, 0.0), (32, 1.0), (32,), 32]),
])
def test_rules(rule, good, bad):
    assert all(rule.problem(v) is None for v in good), [(v, rule.problem(v)) for v in good]
    assert all(rule.problem(v) for v in bad), [v for v in bad if not rule.problem(v)]
    assert rule.valid and rule.explain() == rule.valid


def test_rule_descriptions_say_what_is_valid():
    assert Integer(1, 4000, "MNIST-1D").explain() == "a whole number from 1 to 4 000 (MNIST-1D)"
    assert Real(0.0, 1.0, hi_open=True).valid == "a number in [0, 1)"
    assert Real(0.0, None, lo_open=True).valid == "a number > 0"
    assert "all different" in TupleOf(Integer(0), distinct=True).valid


def test_a_field_without_a_rule_is_a_library_error():
    @dataclasses.dataclass(frozen=True)
    class Partial(CheckedConfig):
        a: int = 1
        b: int = 2
        RULES = {"a": Integer(1)}

    with pytest.raises(TypeError, match="without a rule: \\['b'\\]"):
        Partial()


def test_relations_are_checked_only_when_their_fields_are_valid():
    @dataclasses.dataclass(frozen=True)
    class Pair(CheckedConfig):
        small: int = 1
        large: int = 2
        RULES = {"small": Integer(1), "large": Integer(1)}
        CHECKS = (Check(("small", "large"), lambda c: c.small < c.large, "small must be below large"),)

    Pair()
    with pytest.raises(ConfigError, match="small=3, large=2: small must be below large"):
        Pair(small=3)
    with pytest.raises(ConfigError) as err:
        Pair(small="x")  # its own rule fails; the relation is not evaluated (it would raise a TypeError)
    assert err.value.fields == ("small",)


# ------------------------------------------------------------------------------------------------ seeds


def test_seed_shift_defaults_to_zero_and_keeps_every_seed(monkeypatch):
    from dlgen_lib.config import derive_seed, get_seed_shift

    monkeypatch.delenv("DLGEN_SEED", raising=False)
    assert get_seed_shift() == 0 and [derive_seed(s) for s in (0, 1, 1000)] == [0, 1, 1000]


def test_seed_shift_gives_independent_replicates(monkeypatch):
    """Replicate 1 must not reuse a seed of replicate 0 (a plain seed + 1 would make seed 0 of replicate 1 equal
    to seed 1 of replicate 0)."""
    from dlgen_lib.config import derive_seed

    small = range(0, 5000)
    monkeypatch.setenv("DLGEN_SEED", "1")
    shifted = {derive_seed(s) for s in small}
    assert len(shifted) == len(small) and not shifted & set(small)
    assert all(0 <= s < 2**32 for s in shifted)  # numpy's legacy seeding (the mnist1d generator) takes these
    monkeypatch.setenv("DLGEN_SEED", "2")
    assert not {derive_seed(s) for s in small} & shifted


def test_seed_shift_changes_every_draw(monkeypatch):
    import dlgen_lib as dl
    from dlgen_lib.config import generator

    monkeypatch.delenv("DLGEN_SEED", raising=False)
    base_noise = torch.randn(3, generator=generator(0))
    base_init = dl.param_count(dl.build(lambda: torch.nn.Linear(3, 2), seed=0))
    base_w = dl.build(lambda: torch.nn.Linear(3, 2), seed=0).weight.detach().clone()
    monkeypatch.setenv("DLGEN_SEED", "1")
    assert not torch.equal(torch.randn(3, generator=generator(0)), base_noise)
    assert not torch.equal(dl.build(lambda: torch.nn.Linear(3, 2), seed=0).weight.detach(), base_w)
    assert dl.param_count(dl.build(lambda: torch.nn.Linear(3, 2), seed=0)) == base_init
    labels = torch.arange(100) % 10
    replicate_1 = dl.corrupt_labels(labels, 0.5, seed=0).labels
    monkeypatch.setenv("DLGEN_SEED", "0")
    assert not torch.equal(replicate_1, dl.corrupt_labels(labels, 0.5, seed=0).labels)


@pytest.mark.parametrize("bad", ["one", "1.5", "x2"])
def test_bad_seed_shift_is_a_clear_error(monkeypatch, bad):
    from dlgen_lib.config import get_seed_shift

    monkeypatch.setenv("DLGEN_SEED", bad)
    with pytest.raises(ConfigError, match=f"DLGEN_SEED={bad!r} is not an integer"):
        get_seed_shift()
