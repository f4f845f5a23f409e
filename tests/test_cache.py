"""dlgen_lib.cache: results cached on disk under a key made of the config, the seed and the library version.

The cached functions are defined at module level: joblib identifies a function by its module, name and
source code. ``CALLS`` counts how often the body really ran.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest

import dlgen_lib
import dlgen_lib.cache as cache_module
from dlgen_lib.cache import CacheWarning, cache_dir, cache_key, cached, clear_cache

CALLS: list[tuple] = []


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A typed experiment config, as the chapters use."""

    width: int = 8
    lr: float = 0.1
    depth: int = 2
    optimizer: str = "sgd"
    widths: tuple[int, ...] = (4, 8)


@cached
def experiment(cfg: SweepConfig, seed: int = 0) -> dict:
    CALLS.append((cfg, seed))
    return {"score": cfg.width * cfg.lr + seed, "curve": np.arange(cfg.width, dtype=float) * (seed + 1)}


def expected(cfg: SweepConfig, seed: int = 0) -> dict:
    return {"score": cfg.width * cfg.lr + seed, "curve": np.arange(cfg.width, dtype=float) * (seed + 1)}


def assert_result(result: dict, cfg: SweepConfig, seed: int = 0) -> None:
    want = expected(cfg, seed)
    assert result["score"] == want["score"]
    np.testing.assert_array_equal(result["curve"], want["curve"])


def _pinned(x, y):
    return x


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache folder of this test only, and a fresh call counter."""
    root = tmp_path / "cache"
    monkeypatch.setenv("DLGEN_CACHE", str(root))
    CALLS.clear()
    return root


def output_files(root: Path) -> list[Path]:
    return sorted(root.rglob("output.pkl"))


# ---------------------------------------------------------------------------------------- hit and miss


def test_computed_once_then_read_from_disk(cache):
    cfg = SweepConfig()
    first = experiment(cfg, 1)
    assert len(CALLS) == 1
    assert_result(first, cfg, 1)
    assert len(output_files(cache)) == 1  # written to the folder DLGEN_CACHE names
    second = experiment(cfg, 1)
    assert len(CALLS) == 1  # not recomputed
    assert_result(second, cfg, 1)
    assert experiment(cfg, seed=1)["score"] == first["score"] and len(CALLS) == 1  # keyword = positional


def test_changed_config_or_seed_is_recomputed(cache):
    cfg = SweepConfig()
    experiment(cfg, 0)
    assert_result(experiment(dataclasses.replace(cfg, lr=0.2), 0), dataclasses.replace(cfg, lr=0.2))
    assert_result(experiment(cfg, 1), cfg, 1)
    assert len(CALLS) == 3 and len(output_files(cache)) == 3
    experiment(SweepConfig(), 0)  # an equal config, another instance: a hit
    assert len(CALLS) == 3


def test_uncached_is_the_plain_function(cache):
    experiment.uncached(SweepConfig(), 0)
    assert len(CALLS) == 1 and output_files(cache) == []
    assert experiment.__name__ == "experiment"


def test_clear_cache(cache):
    experiment(SweepConfig(), 0)
    clear_cache()
    assert output_files(cache) == []
    experiment(SweepConfig(), 0)
    assert len(CALLS) == 2


# ----------------------------------------------------------------------------------------------- key


_CHANGES = {"width": 9, "lr": 0.1000001, "depth": 3, "optimizer": "adam", "widths": (4, 9)}


def test_changes_cover_every_field():
    assert set(_CHANGES) == {f.name for f in dataclasses.fields(SweepConfig)}


@pytest.mark.parametrize("field", sorted(_CHANGES))
def test_cache_key_changes_with_every_config_field(field):
    base = SweepConfig()
    changed = dataclasses.replace(base, **{field: _CHANGES[field]})
    assert cache_key(experiment, changed, 0) != cache_key(experiment, base, 0)


def test_cache_key_is_equal_for_equal_configs():
    a, b = SweepConfig(widths=(1, 2)), SweepConfig(widths=(1, 2))
    assert a is not b
    assert cache_key(experiment, a, 0) == cache_key(experiment, b, 0)
    assert cache_key(experiment, a, 0) == cache_key(experiment, a, seed=0) == cache_key(experiment, a)
    assert cache_key(experiment, a, 0) != cache_key(experiment, a, 1)


def test_cache_key_names_the_stored_entry(cache):
    cfg = SweepConfig(width=3)
    experiment(cfg, 2)
    (entry,) = output_files(cache)
    assert entry.parent.name == cache_key(experiment, cfg, 2)


def test_cache_key_is_pinned():
    """Pinned, as open_lth pins its hashes: a change means every cached result of the book is recomputed
    (update the value deliberately, e.g. after a joblib upgrade)."""
    assert cache_key(_pinned, 3, "a") == "51528582bf483d2f85bbfc09f388e124"


def test_cache_key_writes_nothing(monkeypatch):
    """Computing a key is pure hashing: it works on a read-only file system (Binder, a non-root user)."""

    def probe(x, y):
        return x

    probe.__name__ = probe.__qualname__ = f"probe_{uuid.uuid4().hex}"  # a function no cache has seen

    def read_only(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(os, "makedirs", read_only)
    monkeypatch.setattr(os, "mkdir", read_only)
    assert cache_key(probe, 3, "a") == "51528582bf483d2f85bbfc09f388e124"  # the key depends on the arguments


# -------------------------------------------------------------------------------------- version folder


CH1 = "dlgen_lib.chapters.ch01_memorization.experiments"


def test_cache_dir_is_per_version_environment_and_code(cache):
    folder = cache_dir(CH1)
    assert folder.parent == cache_module.cache_root() and folder.parent.parent.parent == cache
    assert folder.parent.parent.name == f"v{dlgen_lib.__version__}"
    assert folder.name == f"chapters.ch01_memorization.experiments-{cache_module.code_fingerprint(CH1)}"
    assert len(cache_module.code_fingerprint(CH1)) == 12
    assert cache_module.code_fingerprint("tests.test_cache") == "external"  # joblib keys it on its source


def test_cache_dir_names_the_packages_kernel_path_device_and_replicate(cache, monkeypatch):
    import mnist1d  # noqa: F401 - installed
    import torch

    tag = cache_module.cache_root().name
    assert f"torch{torch.__version__}".replace("+", "_") in tag and f"numpy{np.__version__}" in tag
    assert "mnist1d" in tag and tag.endswith("-cpu-seed0")
    assert torch.backends.cpu.get_cpu_capability().lower() in tag
    monkeypatch.setenv("DLGEN_SEED", "3")
    assert cache_module.cache_root().name.endswith("-seed3"), "another replicate must never be served replicate 0's"
    monkeypatch.setattr(cache_module, "run_context", lambda: {**dlgen_lib.config.run_context(), "torch": "9.9.9"})
    assert "torch9.9.9" in cache_dir(CH1).parent.name, "a torch upgrade must not serve the old version's results"


def test_an_edit_in_a_running_process_changes_the_fingerprint(tmp_path):
    """After an edit of the library and a reload (%autoreload), the fingerprint is taken again: the edited code's
    results are neither served the old results nor stored under the old code's name."""
    lib = tmp_path / "dlgen_lib"
    lib.mkdir()
    (lib / "core.py").write_text("x = 1\n")
    before = cache_module.code_fingerprint("dlgen_lib.core", lib)
    assert cache_module.code_fingerprint("dlgen_lib.core", lib) == before  # stable while nothing changes
    (lib / "core.py").write_text("x = 22\n")  # another size: seen even within the same mtime tick
    assert cache_module.code_fingerprint("dlgen_lib.core", lib) != before


def test_unwritable_cache_folder_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DLGEN_CACHE", str(blocker / "cache"))
    with pytest.raises(cache_module.CacheError, match="DLGEN_CACHE=off") as err:
        experiment(SweepConfig(), 0)
    assert str(blocker) in str(err.value)
    assert isinstance(err.value, dlgen_lib.ConfigError)


def test_unwritable_default_folder_runs_uncached_with_a_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.delenv("DLGEN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    CALLS.clear()
    with pytest.warns(CacheWarning, match="running uncached"):
        assert_result(experiment(SweepConfig(), 2), SweepConfig(), 2)
    assert len(CALLS) == 1


def test_another_version_gets_another_folder(cache, monkeypatch):
    cfg = SweepConfig()
    experiment(cfg, 0)
    old = cache_dir(experiment.__module__)
    monkeypatch.setattr(cache_module, "__version__", "99.0.0")
    new = cache_dir(experiment.__module__)
    assert new != old and new.parent.parent.parent == old.parent.parent.parent
    assert new.parent.parent.name == "v99.0.0"
    experiment(cfg, 0)
    assert len(CALLS) == 2  # a new version recomputes
    assert len(output_files(new)) == 1
    monkeypatch.setattr(cache_module, "__version__", dlgen_lib.__version__)
    experiment(cfg, 0)
    assert len(CALLS) == 2  # the old version's entry is still there


def test_changed_experiment_code_gets_another_folder(cache, monkeypatch):
    old = cache_dir(CH1)
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda module, root=None: "0123456789ab")
    assert cache_dir(CH1) != old and cache_dir(CH1).name.endswith("-0123456789ab")


def test_default_location_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("DLGEN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_module.cache_root().parent.parent == tmp_path / "dlgen_lib"


@pytest.mark.parametrize("off", ["off", "OFF", "0", "false", "no", "none"])
def test_cache_off_computes_every_time_and_writes_nothing(tmp_path, monkeypatch, off):
    monkeypatch.setenv("DLGEN_CACHE", off)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    CALLS.clear()
    assert cache_dir() is None
    cfg = SweepConfig()
    assert_result(experiment(cfg, 0), cfg, 0)
    assert_result(experiment(cfg, 0), cfg, 0)
    assert len(CALLS) == 2
    assert list(tmp_path.iterdir()) == []
    clear_cache()  # a no-op, not an error


# ----------------------------------------------------------------------------------------- corruption


def test_corrupted_entry_is_recomputed_with_a_warning(cache):
    cfg = SweepConfig(width=5)
    experiment(cfg, 3)
    (entry,) = output_files(cache)
    entry.write_bytes(b"\x80\x04 this is not a pickle")
    with pytest.warns(CacheWarning, match="experiment"):
        result = experiment(cfg, 3)
    assert_result(result, cfg, 3)
    assert len(CALLS) == 2  # recomputed
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the entry was repaired: no warning, no recomputation
        assert_result(experiment(cfg, 3), cfg, 3)
    assert len(CALLS) == 2


def test_truncated_entry_is_recomputed(cache):
    cfg = SweepConfig(width=200)
    experiment(cfg, 0)
    (entry,) = output_files(cache)
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    with pytest.warns(CacheWarning):
        assert_result(experiment(cfg, 0), cfg, 0)
    assert len(CALLS) == 2


def test_entries_are_written_without_leftovers(cache):
    """joblib writes to a temporary file and renames it: after a call only the entry's files remain."""
    experiment(SweepConfig(), 0)
    (entry,) = output_files(cache)
    assert sorted(p.name for p in entry.parent.iterdir()) == ["metadata.json", "output.pkl"]
