"""dlgen_lib.config: the scale switch, the device, threads and progress bars, read from the environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from dlgen_lib import config
from dlgen_lib.config import (
    SCALES,
    ConfigError,
    by_scale,
    get_device,
    get_scale,
    get_threads,
    progress,
    progress_enabled,
    setup_torch,
    usable_cpus,
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
