"""dlgen_lib.data: MNIST-1D, Fashion-MNIST from IDX files, and Zhang et al.'s label and input corruptions."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import random
import zlib

import numpy as np
import pytest
import torch

import dlgen_lib.data as data
from dlgen_lib.config import ConfigError
from dlgen_lib.data import (
    FASHION_FILES,
    DataIntegrityError,
    DataNotFoundError,
    Dataset,
    corrupt_labels,
    fashion_mnist,
    mnist1d,
    randomize_inputs,
    read_idx,
    write_idx,
)

# ---------------------------------------------------------------------------------------------- MNIST-1D


def test_mnist1d_shapes_and_types(mnist1d_data):
    d = mnist1d_data
    assert d.x_train.shape == (4000, 40) and d.x_test.shape == (1000, 40)
    assert d.y_train.shape == (4000,) and d.y_test.shape == (1000,)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert d.input_shape == (40,) and d.n_features == 40 and d.n_classes == 10
    assert torch.isfinite(d.x_train).all()


def test_mnist1d_classes_are_balanced(mnist1d_data):
    """The generator makes num_samples / 10 examples per class, then shuffles and splits 80 / 20."""
    counts = torch.bincount(mnist1d_data.y_train, minlength=10)
    assert len(counts) == 10 and counts.sum() == 4000
    assert counts.min() >= 0.85 * 400 and counts.max() <= 1.15 * 400
    all_counts = counts + torch.bincount(mnist1d_data.y_test, minlength=10)
    assert (all_counts == 500).all()


def test_mnist1d_is_deterministic_and_seeded():
    generate = data._mnist1d.__wrapped__  # the generator itself, past the in-process memo
    a, b = generate(200, 0.8, 42), generate(200, 0.8, 42)
    assert a is not b
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_test, b.y_test)
    assert torch.equal(mnist1d(num_samples=200).x_train, a.x_train)
    c = generate(200, 0.8, 7)
    assert not torch.equal(a.x_train, c.x_train)


def test_mnist1d_keeps_the_global_random_state():
    """The mnist1d generator seeds numpy and `random` globally; the wrapper must restore both."""
    misses = data._mnist1d.cache_info().misses
    random.seed(123)
    np.random.seed(456)
    py_state, np_state = random.getstate(), np.random.get_state()
    torch_state = torch.get_rng_state()
    mnist1d(num_samples=200, seed=24_601)  # a seed no other test uses
    assert data._mnist1d.cache_info().misses == misses + 1  # generation really ran
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]
    assert torch.equal(torch.get_rng_state(), torch_state)


@pytest.mark.parametrize("kwargs", [dict(num_samples=5), dict(train_split=0.0), dict(train_split=1.0)])
def test_mnist1d_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        mnist1d(**kwargs)


# ------------------------------------------------------------------------------------------------ subset


def _toy_dataset(n_train=10, n_test=4) -> Dataset:
    return Dataset("toy", torch.arange(n_train * 6, dtype=torch.float32).reshape(n_train, 1, 2, 3),
                   torch.arange(n_train) % 3,
                   torch.zeros(n_test, 1, 2, 3), torch.zeros(n_test, dtype=torch.long),
                   n_classes=3)


def test_subset_takes_the_first_examples():
    d = _toy_dataset()
    s = d.subset(3, 2)
    assert torch.equal(s.x_train, d.x_train[:3]) and torch.equal(s.y_train, d.y_train[:3])
    assert len(s.x_test) == 2 and s.name == d.name and s.n_classes == 3
    assert len(d.subset(n_train=4).x_test) == 4  # None keeps the whole split


@pytest.mark.parametrize("kwargs", [dict(n_train=0), dict(n_train=11), dict(n_test=5), dict(n_train=-1)])
def test_subset_bounds(kwargs):
    with pytest.raises(ValueError, match="out of range"):
        _toy_dataset().subset(**kwargs)


def test_flat():
    d = _toy_dataset().flat()
    assert d.x_train.shape == (10, 6) and d.x_test.shape == (4, 6) and d.n_features == 6
    assert torch.equal(d.x_train[1], torch.arange(6, 12, dtype=torch.float32))


# -------------------------------------------------------------------------------------------- IDX files


def _random_uint8(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _write_and_read_bytes(tmp_path, array) -> bytes:
    """The bytes of the .gz file that write_idx makes of array."""
    path = tmp_path / "written.gz"
    write_idx(path, array)
    return path.read_bytes()


@pytest.mark.parametrize("shape", [(17,), (6, 5), (4, 7, 3)])
def test_idx_round_trip(tmp_path, shape):
    array = _random_uint8(shape)
    path = tmp_path / "a-idx-ubyte.gz"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.uint8 and back.shape == shape
    assert np.array_equal(back, array)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_idx_header_layout(tmp_path):
    """Two zero bytes, type 0x08 (unsigned byte), ndim, then each dimension as a big-endian uint32."""
    array = _random_uint8((3, 258))
    write_idx(tmp_path / "a.gz", array)
    raw = gzip.decompress((tmp_path / "a.gz").read_bytes())
    assert raw[:4] == bytes([0, 0, 8, 2])
    assert raw[4:12] == (3).to_bytes(4, "big") + (258).to_bytes(4, "big")
    assert raw[12:] == array.tobytes()
    (tmp_path / "plain").write_bytes(raw)  # uncompressed files are read too
    assert np.array_equal(read_idx(tmp_path / "plain"), array)


def test_idx_sha256_is_checked(tmp_path):
    array = _random_uint8((5, 5))
    path = tmp_path / "a.gz"
    write_idx(path, array)
    digest = hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()  # of the decompressed bytes
    assert np.array_equal(read_idx(path, digest), array)
    with pytest.raises(DataIntegrityError, match="SHA-256"):
        read_idx(path, "0" * 64)


def test_truncated_idx_is_an_integrity_error(tmp_path):
    raw = gzip.decompress(_write_and_read_bytes(tmp_path, _random_uint8((10, 10))))
    (tmp_path / "short").write_bytes(raw[:-7])  # header says 100 bytes of data, the file holds 93
    with pytest.raises(DataIntegrityError, match="declares shape"):
        read_idx(tmp_path / "short")
    (tmp_path / "long").write_bytes(raw + b"\0")
    with pytest.raises(DataIntegrityError):
        read_idx(tmp_path / "long")


def test_bad_magic_is_an_integrity_error(tmp_path):
    (tmp_path / "float").write_bytes(bytes([0, 0, 0x0D, 1]) + (4).to_bytes(4, "big") + bytes(16))
    with pytest.raises(DataIntegrityError, match="magic"):
        read_idx(tmp_path / "float")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(DataIntegrityError):
        read_idx(tmp_path / "empty")


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_gzip_is_an_integrity_error(tmp_path, damage):
    """A half-downloaded or damaged .gz file is a data integrity problem, reported as such."""
    compressed = _write_and_read_bytes(tmp_path, _random_uint8((50, 50)))
    path = tmp_path / "damaged.gz"
    path.write_bytes(compressed[: len(compressed) // 2] if damage == "truncated" else b"not gzip at all")
    with pytest.raises(DataIntegrityError):
        read_idx(path)


# ---------------------------------------------------------------------------------------- Fashion-MNIST


def test_fashion_subset_shapes_and_range():
    d = fashion_mnist()
    assert d.x_train.shape == (10_000, 1, 28, 28) and d.x_test.shape == (2_000, 1, 28, 28)
    assert d.y_train.shape == (10_000,) and d.y_test.shape == (2_000,)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert d.x_train.min() >= 0.0 and d.x_train.max() <= 1.0 and d.x_train.max() == 1.0
    assert set(d.y_train.unique().tolist()) == set(range(10))
    # pixels are k / 255 for whole k
    k = d.x_test * 255
    assert torch.allclose(k, k.round(), atol=1e-4)


_HAVE_FULL = all((data.DEBIAN_FASHION / f).exists() for f in FASHION_FILES.values())


@pytest.mark.skipif(not _HAVE_FULL, reason=f"the full set is not installed in {data.DEBIAN_FASHION}")
def test_fashion_subset_is_the_head_of_the_full_set():
    small, full = fashion_mnist(), fashion_mnist(full=True, root=data.DEBIAN_FASHION, download=False)
    assert full.x_train.shape == (60_000, 1, 28, 28) and full.x_test.shape == (10_000, 1, 28, 28)
    assert torch.equal(small.x_train, full.x_train[:10_000])
    assert torch.equal(small.y_train, full.y_train[:10_000])
    assert torch.equal(small.x_test, full.x_test[:2_000]) and torch.equal(small.y_test, full.y_test[:2_000])


@pytest.fixture
def no_fashion_anywhere(tmp_path, monkeypatch):
    """No copy of the full Fashion-MNIST set: repository data/, the Debian folder and DLGEN_DATA are empty."""
    for name in ("repo", "debian", "root"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "repo")
    monkeypatch.setattr(data, "DEBIAN_FASHION", tmp_path / "debian")
    monkeypatch.delenv("DLGEN_DATA", raising=False)
    return tmp_path


def test_missing_full_fashion_says_how_to_get_it(no_fashion_anywhere):
    with pytest.raises(DataNotFoundError) as err:
        fashion_mnist(full=True, root=no_fashion_anywhere / "root", download=False)
    message = str(err.value)
    assert "DLGEN_DATA" in message and "dataset-fashion-mnist" in message
    assert str(no_fashion_anywhere / "root") in message  # and where it looked
    assert isinstance(err.value, FileNotFoundError)
    assert not (no_fashion_anywhere / "repo" / "fashion-mnist").exists()  # download=False creates nothing


def test_missing_subset_is_a_clear_error(no_fashion_anywhere):
    with pytest.raises(DataNotFoundError, match="subset"):
        fashion_mnist()


def test_found_files_are_checked_against_the_official_sha256(no_fashion_anywhere, monkeypatch):
    """Four files of the right names in DLGEN_DATA but not the official content are refused."""
    folder = no_fashion_anywhere / "fake"
    folder.mkdir()
    for fname in FASHION_FILES.values():
        write_idx(folder / fname, _random_uint8((3, 28, 28) if "images" in fname else (3,)))
    monkeypatch.setenv("DLGEN_DATA", str(folder))
    with pytest.raises(DataIntegrityError, match="SHA-256"):
        fashion_mnist(full=True, download=False)


def test_dlgen_data_naming_no_folder_is_a_clear_error(no_fashion_anywhere, monkeypatch):
    """A DLGEN_DATA that names no folder is not skipped silently: it says so, and what the variable should hold."""
    missing = no_fashion_anywhere / "no-such-folder"
    monkeypatch.setenv("DLGEN_DATA", str(missing))
    with pytest.raises(data.DataFolderError) as err:
        fashion_mnist(full=True, download=False)
    message = str(err.value)
    assert "DLGEN_DATA" in message and str(missing) in message and "does not exist" in message
    assert all(fname in message for fname in FASHION_FILES.values())  # what the folder should contain
    assert isinstance(err.value, DataNotFoundError) and isinstance(err.value, ConfigError)
    fake_file = no_fashion_anywhere / "a-file"
    fake_file.write_text("")
    monkeypatch.setenv("DLGEN_DATA", str(fake_file))
    with pytest.raises(DataNotFoundError, match="is a file, not a folder"):
        fashion_mnist(full=True, download=False)
    with pytest.raises(ConfigError, match="argument root"):  # the root argument is checked the same way
        fashion_mnist(full=True, root=missing, download=False)
    monkeypatch.setenv("DLGEN_DATA", "  ")  # blank counts as unset
    with pytest.raises(DataNotFoundError, match="was not found"):
        fashion_mnist(full=True, download=False)


def _fake_fashion(folder, n=3) -> dict[str, str]:
    """Write four small IDX files under the official names in ``folder``; return their decompressed SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for i, (key, fname) in enumerate(FASHION_FILES.items()):
        array = _random_uint8((n, 28, 28) if "images" in key else (n,), seed=i)
        if "labels" in key:
            array = array % 10
        write_idx(folder / fname, array)
        sums[key] = hashlib.sha256(gzip.decompress((folder / fname).read_bytes())).hexdigest()
    return sums


def test_truncated_gzip_in_a_data_folder_names_the_file_and_the_fix(no_fashion_anywhere, monkeypatch):
    """A .gz file cut off halfway (an interrupted copy or download) is a DataIntegrityError, not a bare EOFError."""
    folder = no_fashion_anywhere / "cut"
    sums = _fake_fashion(folder)
    monkeypatch.setattr(data, "FASHION_SHA256", sums)
    victim = folder / FASHION_FILES["test_images"]
    raw = victim.read_bytes()
    victim.write_bytes(raw[: len(raw) // 2])
    monkeypatch.setenv("DLGEN_DATA", str(folder))
    with pytest.raises(DataIntegrityError) as err:
        fashion_mnist(full=True, download=False)
    message = str(err.value)
    assert str(victim) in message and "cut off" in message
    assert "delete it" in message and "dataset-fashion-mnist" in message
    assert isinstance(err.value.__cause__, EOFError | zlib.error | gzip.BadGzipFile)


def test_truncated_subset_file_says_how_to_restore_it(no_fashion_anywhere, monkeypatch):
    folder = no_fashion_anywhere / "repo" / data.SUBSET_DIR
    monkeypatch.setattr(data, "SUBSET_SHA256", _fake_fashion(folder))
    victim = folder / FASHION_FILES["train_labels"]
    victim.write_bytes(victim.read_bytes()[:-9])  # the gzip trailer is gone
    with pytest.raises(DataIntegrityError, match="git checkout -- data/fashion-mnist-subset") as err:
        fashion_mnist()
    assert str(victim) in str(err.value)


@pytest.fixture
def fake_server(no_fashion_anywhere, monkeypatch):
    """The official files replaced by small fakes served by a stand-in for the network (no request is ever made):
    ``serve[fname]`` holds the bytes each download writes, ``fail[fname]`` an exception raised halfway."""
    sums = _fake_fashion(no_fashion_anywhere / "served")
    monkeypatch.setattr(data, "FASHION_SHA256", sums)
    serve = {f: (no_fashion_anywhere / "served" / f).read_bytes() for f in FASHION_FILES.values()}
    fail: dict[str, BaseException] = {}
    requested: list[str] = []

    def fetch(url, out):
        fname = url.rsplit("/", 1)[-1]
        requested.append(fname)
        body = serve[fname]
        if fname in fail:
            out.write(body[: len(body) // 2])
            raise fail[fname]
        out.write(body)

    def no_network(*args, **kwargs):
        raise AssertionError("the tests must not go to the network")

    monkeypatch.setattr(data, "_fetch", fetch)
    monkeypatch.setattr(data.urllib.request, "urlopen", no_network)
    return no_fashion_anywhere, serve, fail, requested


def test_download_moves_complete_verified_files_into_place(fake_server):
    tmp, serve, _, requested = fake_server
    d = fashion_mnist(full=True)
    assert d.x_train.shape == (3, 1, 28, 28) and d.y_test.shape == (3,)
    target = tmp / "repo" / "fashion-mnist"
    assert sorted(p.name for p in target.iterdir()) == sorted(FASHION_FILES.values())  # no .part left over
    assert all((target / f).read_bytes() == serve[f] for f in FASHION_FILES.values())
    assert requested == list(FASHION_FILES.values())


@pytest.mark.parametrize("error", [ConnectionResetError("connection reset by peer"),
                                   http.client.IncompleteRead(b"partial", 1000)])
def test_interrupted_download_leaves_nothing_behind(fake_server, error):
    """The third file stops halfway: no partial file, no empty data/fashion-mnist folder, a clear error."""
    tmp, _, fail, requested = fake_server
    fail[FASHION_FILES["test_images"]] = error
    with pytest.raises(DataNotFoundError) as err:
        fashion_mnist(full=True)
    assert "download" in str(err.value) and type(error).__name__ in str(err.value)
    assert len(requested) == 3
    assert not (tmp / "repo" / "fashion-mnist").exists()  # the folder it created is gone, with what it held
    assert sorted(p.name for p in (tmp / "repo").iterdir()) == []


def test_download_cut_off_without_an_error_is_caught_by_the_gzip_check(fake_server):
    """A server that closes early without an error leaves a short gzip file: refused, not moved into place."""
    tmp, serve, _, _ = fake_server
    fname = FASHION_FILES["train_labels"]
    serve[fname] = serve[fname][: len(serve[fname]) // 2]
    with pytest.raises(DataNotFoundError, match=f"download of {fname} is cut off"):
        fashion_mnist(full=True)
    assert not (tmp / "repo" / "fashion-mnist").exists()


def test_failed_download_keeps_a_folder_it_did_not_create(fake_server):
    tmp, _, fail, _ = fake_server
    target = tmp / "repo" / "fashion-mnist"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    fail[FASHION_FILES["train_labels"]] = ConnectionResetError("reset")
    with pytest.raises(DataNotFoundError):
        fashion_mnist(full=True)
    names = sorted(p.name for p in target.iterdir())
    assert "notes.txt" in names and not any(n.endswith(".part") for n in names)
    assert FASHION_FILES["train_labels"] not in names  # the cut-off file was not kept
    assert FASHION_FILES["train_images"] in names  # the complete, verified one before it was


# ------------------------------------------------------------------------------------- label corruption


def _labels(n=20_000, seed=0) -> torch.Tensor:
    return torch.randint(10, (n,), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("p", [0.0, 0.1, 0.37, 0.5, 1.0])
def test_corrupt_labels_redraws_exactly_round_p_n(p):
    y = _labels(n=1234)
    original = y.clone()
    out = corrupt_labels(y, p, seed=1)
    assert int(out.corrupted.sum()) == round(p * 1234)
    assert not (out.changed & ~out.corrupted).any()  # changed is a subset of corrupted
    assert torch.equal(out.changed, out.labels != y)
    assert torch.equal(out.labels[~out.corrupted], y[~out.corrupted])  # the others keep their label
    assert out.labels.dtype == y.dtype and out.labels.min() >= 0 and out.labels.max() <= 9
    assert torch.equal(y, original)  # the input is not modified


def test_corrupt_labels_p0_is_the_identity():
    y = _labels(n=500)
    out = corrupt_labels(y, 0.0, seed=3)
    assert torch.equal(out.labels, y) and not out.corrupted.any() and not out.changed.any()


def test_corrupted_labels_are_uniform_over_classes():
    """A redrawn label equals the true one with probability 1/K, so (K-1)/K = 9/10 of them change."""
    y = _labels()
    out = corrupt_labels(y, 0.5, n_classes=10, seed=2)
    n_corrupted = int(out.corrupted.sum())  # 10 000; the std of the fraction is sqrt(0.09 / 1e4) = 0.003
    assert abs(out.changed.sum().item() / n_corrupted - 0.9) < 0.015
    counts = torch.bincount(out.labels[out.corrupted], minlength=10).float()
    assert (counts - n_corrupted / 10).abs().max() < 5 * (n_corrupted * 0.1 * 0.9) ** 0.5


def test_corrupt_labels_other_number_of_classes():
    y = torch.zeros(10_000, dtype=torch.long)
    out = corrupt_labels(y, 1.0, n_classes=4, seed=0)
    assert set(out.labels.unique().tolist()) == {0, 1, 2, 3}
    assert abs(out.changed.float().mean().item() - 0.75) < 0.03


def test_corrupt_labels_is_seeded():
    y = _labels(n=1000)
    a, b, c = corrupt_labels(y, 0.3, seed=5), corrupt_labels(y, 0.3, seed=5), corrupt_labels(y, 0.3, seed=6)
    assert torch.equal(a.labels, b.labels) and torch.equal(a.corrupted, b.corrupted)
    assert not torch.equal(a.corrupted, c.corrupted)


def test_corrupt_labels_keeps_the_global_random_state():
    state = torch.get_rng_state()
    corrupt_labels(_labels(n=100), 0.5, seed=0)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("p", [-0.1, 1.01, 2])
def test_corrupt_labels_p_out_of_range(p):
    with pytest.raises(ValueError, match="p="):
        corrupt_labels(_labels(n=10), p)


# --------------------------------------------------------------------------------------- input corruption


@pytest.fixture(scope="module")
def features() -> torch.Tensor:
    """(20 000, 12) continuous features with different means and scales per feature."""
    gen = torch.Generator().manual_seed(0)
    return torch.randn(20_000, 12, generator=gen) * torch.linspace(0.5, 3.0, 12) + torch.arange(12.0)


@pytest.mark.parametrize("kind", data.INPUT_CORRUPTIONS)
def test_randomize_inputs_keeps_the_shape(kind):
    x = torch.rand(8, 1, 4, 5)
    out = randomize_inputs(x, kind, seed=0)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out, randomize_inputs(x, kind, seed=0))  # seeded
    assert not torch.equal(out, randomize_inputs(x, kind, seed=1))


def _column_permutation(original: torch.Tensor, shuffled: torch.Tensor) -> torch.Tensor:
    """perm with shuffled[:, j] == original[:, perm[j]] for every j (continuous data: matches are unique)."""
    matches = (shuffled[:, :, None] == original[:, None, :]).all(0)  # (d, d)
    assert (matches.sum(1) == 1).all(), "some output column is not a column of the input"
    return matches.float().argmax(1)


def test_shuffled_pixels_is_one_permutation_for_all_examples(features):
    x = features[:500]
    out = randomize_inputs(x, "shuffled_pixels", seed=3)
    assert torch.equal(out.sort(1).values, x.sort(1).values)  # each row keeps its values
    perm = _column_permutation(x, out)  # one column permutation explains every row
    assert torch.equal(perm.sort().values, torch.arange(x.shape[1]))
    assert torch.equal(out, x[:, perm])
    assert not torch.equal(perm, torch.arange(x.shape[1]))


def test_random_pixels_permutes_each_example_differently(features):
    x = features[:500]
    out = randomize_inputs(x, "random_pixels", seed=3)
    assert torch.equal(out.sort(1).values, x.sort(1).values)  # each row's multiset of values is kept
    # the permutation of each row (values are distinct within a row): out[i] = x[i, perm_i]
    perms = torch.stack([(out[i][:, None] == x[i][None, :]).float().argmax(1) for i in range(len(x))])
    assert all(torch.equal(out[i], x[i, perms[i]]) for i in range(len(x)))
    assert len(torch.unique(perms, dim=0)) > 0.99 * len(x)  # 12! permutations: nearly all distinct


def test_gaussian_inputs_match_the_data_moments(features):
    x = features
    out = randomize_inputs(x, "gaussian", seed=4)
    n, mean, std = len(x), x.mean(0), x.std(0)
    assert (out.mean(0) - mean).abs().le(5 * std / n**0.5).all()  # 5 standard errors of the mean
    assert ((out.std(0) / std) - 1).abs().le(5 / (2 * n) ** 0.5).all()  # std's relative error ~ 1/sqrt(2n)
    # and they are noise, independent of the examples they replace
    corr = torch.corrcoef(torch.stack([out[:, 0], x[:, 0]]))[0, 1]
    assert abs(corr) < 5 / n**0.5


def test_randomize_inputs_bad_kind():
    with pytest.raises(ValueError) as err:
        randomize_inputs(torch.zeros(3, 4), "scrambled")
    assert all(kind in str(err.value) for kind in ("gaussian", "shuffled_pixels", "random_pixels"))
