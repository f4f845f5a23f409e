"""dlgen_lib.config: the scale switch, the device, threads and progress bars, read from the environment; and the
checked chapter configs (every preset valid, every bad value a ConfigError naming its field)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
import torch

from dlgen_lib import config, double_descent, kernel_trick, lottery, memorization, sgd_as_sde
from dlgen_lib import implicit_regularization as implicit
from dlgen_lib import loss_landscape as landscape
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
    setup_torch,
    usable_cpus,
    validate_fields,
    with_overrides,
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

CHAPTER_CONFIGS = {
    "memorization_config": memorization.memorization_config,
    "loss_landscape_config": landscape.loss_landscape_config,
    "sgd_as_sde_config": sgd_as_sde.sgd_as_sde_config,
    "implicit_regularization_config": implicit.implicit_regularization_config,
    "kernel_config": kernel_trick.kernel_config,
    "lottery_config": lottery.lottery_config,
    "double_descent_config": double_descent.double_descent_config,
}


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", sorted(CHAPTER_CONFIGS))
def test_every_preset_of_every_chapter_config_is_valid(name, scale):
    cfg = CHAPTER_CONFIGS[name](scale)  # checked as it is made
    assert isinstance(cfg, CheckedConfig)
    validate_fields(cfg, type(cfg).RULES, type(cfg).CHECKS)  # and once more, explicitly


@pytest.mark.parametrize("name", sorted(CHAPTER_CONFIGS))
def test_every_field_of_every_chapter_config_has_a_rule(name):
    cls = type(CHAPTER_CONFIGS[name]("tiny"))
    assert set(cls.RULES) == {f.name for f in dataclasses.fields(cls)}
    for check in cls.CHECKS:
        assert set(check.fields) <= set(cls.RULES), f"{check.valid!r} names a field {cls.__name__} lacks"


# one representative bad value (or more) per config: (config, overrides, the field the message must name)
BAD_VALUES = [
    ("memorization_config", dict(n_val=5000), "n_val"),  # only 1 000 test examples exist
    ("memorization_config", dict(n_val=-100), "n_val"),
    ("memorization_config", dict(n_train=4001), "n_train"),
    ("memorization_config", dict(corruptions=(0.0, 1.5)), "corruptions"),
    ("memorization_config", dict(seeds=()), "seeds"),
    ("memorization_config", dict(lr=0.0), "lr"),
    ("loss_landscape_config", dict(seeds=(0,)), "seeds"),  # mode connectivity joins two solutions
    ("loss_landscape_config", dict(top_k=31, lanczos_iters=30), "top_k"),
    ("loss_landscape_config", dict(momentum=1.0), "momentum"),
    ("loss_landscape_config", dict(cp_snapshots=(30, 300)), "cp_snapshots"),
    ("sgd_as_sde_config", dict(quad_lrs=(0.1, -0.1)), "quad_lrs"),
    ("sgd_as_sde_config", dict(well_lrs=(0.004,)), "well_lrs"),  # paired with three batch sizes
    ("sgd_as_sde_config", dict(noise_examples=2000), "noise_examples"),  # tiny n_train is 1 000
    ("sgd_as_sde_config", dict(grid_settings=((32, 1.0),)), "grid_settings"),
    ("implicit_regularization_config", dict(n_train=3900), "n_val"),  # 3 900 + 200 > 4 000
    ("implicit_regularization_config", dict(reg_noise=0.5), "reg_noise"),
    ("implicit_regularization_config", dict(blur=3), "blur"),
    ("implicit_regularization_config", dict(deficit_ends=(100, 200)), "deficit_ends"),
    ("kernel_config", dict(n_test=2001), "n_test"),  # the shipped subset has 2 000 test images
    ("kernel_config", dict(sizes=(100, 20_000)), "sizes"),
    ("kernel_config", dict(gamma=0.0), "gamma"),
    ("lottery_config", dict(prune_rate=1.0), "prune_rate"),
    ("lottery_config", dict(conv_archs=("conv3",)), "conv_archs"),
    ("lottery_config", dict(fashion_val=10_000), "fashion_val"),
    ("lottery_config", dict(cnn_rewind=7), "cnn_rewind"),
    ("double_descent_config", dict(rf_n_test=4000), "rf_n_test"),  # MNIST-1D has 1 000 test examples
    ("double_descent_config", dict(deep_noise=0.0), "deep_noise"),
    ("double_descent_config", dict(sw_ns=(20, 8000)), "sw_ns"),
]


@pytest.mark.parametrize(("name", "overrides", "field"), BAD_VALUES)
def test_a_bad_value_is_a_config_error_naming_the_field(name, overrides, field):
    with pytest.raises(ConfigError) as err:
        CHAPTER_CONFIGS[name]("tiny", **overrides)
    message = str(err.value)
    assert f"{field}=" in message and "must" in message, message
    assert field in err.value.fields


@pytest.mark.parametrize("bad", [5000, -100, 0, 1000])
def test_memorization_n_val_must_leave_both_halves_of_the_test_set(bad):
    with pytest.raises(ConfigError) as err:
        memorization.memorization_config("tiny", n_val=bad)
    message = str(err.value)
    assert f"n_val={bad} is out of range" in message
    assert "from 1 to 999" in message and "1 000 MNIST-1D test examples" in message
    assert err.value.fields == ("n_val",)
    assert memorization.memorization_config("tiny", n_val=999).n_val == 999


def test_direct_construction_and_replace_are_checked_too():
    with pytest.raises(ConfigError, match="n_val=5000"):
        memorization.MemorizationConfig(n_val=5000)
    cfg = memorization.memorization_config("tiny")
    with pytest.raises(ConfigError, match="lr=-1"):
        dataclasses.replace(cfg, lr=-1)


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        memorization.memorization_config("tiny", lr=0.0, n_val=5000, steps=2.5)
    message = str(err.value)
    assert all(f in message for f in ("lr=0.0", "n_val=5000", "steps=2.5 is not a whole number"))
    assert set(err.value.fields) == {"lr", "n_val", "steps"}


@pytest.mark.parametrize("name", sorted(CHAPTER_CONFIGS))
def test_an_unknown_override_lists_the_valid_fields(name):
    fields = [f.name for f in dataclasses.fields(CHAPTER_CONFIGS[name]("tiny"))]
    with pytest.raises(ConfigError) as err:
        CHAPTER_CONFIGS[name]("tiny", no_such_setting=1)
    message = str(err.value)
    assert "'no_such_setting'" in message and all(f in message for f in fields)


def test_a_misspelt_override_suggests_the_field():
    with pytest.raises(ConfigError, match=r"'n_vall' \(did you mean 'n_val'\?\)"):
        memorization.memorization_config("tiny", n_vall=100)


def test_overrides_replace_single_fields():
    tiny = memorization.memorization_config("tiny")
    cfg = memorization.memorization_config("tiny", n_val=100, seeds=[3, 4])  # a list is taken for a tuple
    assert cfg.n_val == 100 and list(cfg.seeds) == [3, 4] and cfg.width == tiny.width
    assert with_overrides(tiny, {}) is tiny


def test_numpy_values_are_valid_and_shown_as_plain_numbers():
    import numpy as np

    cfg = memorization.memorization_config("tiny", corruptions=tuple(np.linspace(0, 1, 3)), n_val=np.int64(10))
    assert cfg.n_val == 10
    with pytest.raises(ConfigError) as err:
        memorization.memorization_config("tiny", corruptions=(np.float64(0.5), np.float64(1.5)))
    assert "corruptions=(0.5, 1.5)" in str(err.value) and "np.float64" not in str(err.value)


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
