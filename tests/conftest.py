"""Shared setup of the library tests: fast, isolated, offline, CPU.

Every test under tests/ runs with ``DLGEN_SCALE=tiny``, ``DLGEN_PROGRESS=off`` and a results cache in a
temporary folder of this test session, set by an autouse fixture (``monkeypatch``), so nothing leaks into
the notebooks that nbval runs in the same pytest process, and nothing is written to the user's cache.
Variables that would make a result depend on the caller's shell (device, threads, data folder, CI) are
unset; a test that needs one sets it itself. Torch's thread count is left as it is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import dlgen_lib

# Environment variables read by dlgen_lib that the tests control themselves.
_UNSET = ("DLGEN_DEVICE", "DLGEN_THREADS", "DLGEN_DATA", "DLGEN_SEED", "DLGEN_LEDGER", "CI")


@pytest.fixture(scope="session")
def session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One results-cache folder for the whole test session (removed with pytest's temporary folders)."""
    return tmp_path_factory.mktemp("dlgen-cache")


@pytest.fixture(autouse=True)
def dlgen_env(monkeypatch: pytest.MonkeyPatch, session_cache_dir: Path) -> None:
    """The environment of every library test; monkeypatch restores the caller's after each test."""
    monkeypatch.setenv("DLGEN_SCALE", "tiny")
    monkeypatch.setenv("DLGEN_PROGRESS", "off")
    monkeypatch.setenv("DLGEN_CACHE", str(session_cache_dir))
    for name in _UNSET:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def mnist1d_data() -> dlgen_lib.Dataset:
    """The paper's MNIST-1D (4 000 / 1 000), generated once per session (about 3 s)."""
    return dlgen_lib.mnist1d()


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module of tests on tiny tensors (1-D replica clouds, small MLPs): there a second
    thread only adds synchronization, and on a loaded 2-core machine it stalls (:func:`dlgen_lib.config.one_thread`).
    Use it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    from dlgen_lib.config import one_thread as single

    with single():
        yield
