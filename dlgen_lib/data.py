"""Data sets of the course, all offline by default.

* :func:`mnist1d` -- MNIST-1D (Greydanus & Kobak 2020) made by the ``mnist1d`` package's local generator,
  without touching the global random state (its generator seeds numpy and ``random`` globally; we restore both).
* :func:`fashion_mnist` -- Fashion-MNIST (Xiao et al. 2017) from IDX files: a 10 000 / 2 000 subset shipped in
  ``data/`` for the small scale, the full 60 000 / 10 000 set from ``$DLGEN_DATA``, ``data/``, the Debian
  package ``dataset-fashion-mnist`` or a checked download.
* :func:`corrupt_labels` and :func:`randomize_inputs` -- the label and input corruptions of Zhang et al. (2017).

Every loader returns a :class:`Dataset` of torch tensors; nothing is loaded at import time and nothing that
was downloaded is unpickled.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import random
import shutil
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np
import torch

from .config import ConfigError, derive_seed, generator

REPO_DATA = Path(__file__).resolve().parent.parent / "data"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
FASHION_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# SHA-256 of the *decompressed* IDX files of the official release (gzip containers differ between mirrors).
FASHION_SHA256 = {
    "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
SUBSET_DIR = "fashion-mnist-subset"  # data/fashion-mnist-subset: first 10 000 train and 2 000 test images
SUBSET_SIZES = (10_000, 2_000)
SUBSET_SHA256 = {  # decompressed, as listed in data/README.md
    "train_images": "ed2e37ed5a3a57d212141a69fe0a0de5a7126ffba14ac3f7e76f5f52cc04b1f0",
    "train_labels": "a69f2dad024ca220a8c4d85f621fdf929042d40c444abde2868903e9220ad517",
    "test_images": "862035b0a96959b614c9574f4c2b0ae9584ca234813e8d6d7adb7838b12ca46b",
    "test_labels": "aa3f574d30afaf0d4d9da084a6f8541771e20693d6a97fae6e9a4953fca8f078",
}


class DataNotFoundError(FileNotFoundError):
    """A data set is not on this machine and could not be fetched; the message says how to get it."""


class DataFolderError(DataNotFoundError, ConfigError):
    """``DLGEN_DATA`` (or the ``root`` argument) names a folder that does not exist: a setting that is wrong, so
    it is both a :class:`DataNotFoundError` and a :class:`~dlgen_lib.config.ConfigError`."""


class DataIntegrityError(ValueError):
    """A data file does not have the expected content (cut off, damaged, wrong size or SHA-256)."""


# What to do about a damaged file of the full set (read_idx's message ends with it).
FULL_REMEDY = ("delete it and run fashion_mnist(full=True) again to download a fresh copy, or install the Debian "
               "package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), which puts the four files "
               f"in {DEBIAN_FASHION}")
SUBSET_REMEDY = ("restore the shipped subset from the repository (git checkout -- data/fashion-mnist-subset) or "
                 "rebuild it with `python data/make_subset.py` from the full set")


@dataclass(frozen=True)
class Dataset:
    """A classification data set as torch tensors.

    ``x_train`` is (n, *shape) float32, ``y_train`` is (n,) int64; the same for the test split.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int = 10

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> Dataset:
        """The first ``n_train`` training and ``n_test`` test examples (the files are already shuffled)."""
        for label, n, have in (("n_train", n_train, len(self.y_train)), ("n_test", n_test, len(self.y_test))):
            if n is not None and not 0 < n <= have:
                raise ValueError(f"{label}={n} is out of range: {self.name} has {have} examples in that split")
        return replace(self, x_train=self.x_train[:n_train], y_train=self.y_train[:n_train],
                       x_test=self.x_test[:n_test], y_test=self.y_test[:n_test])

    def flat(self) -> Dataset:
        """Inputs flattened to vectors, (n, n_features)."""
        return replace(self, x_train=self.x_train.reshape(len(self.x_train), -1),
                       x_test=self.x_test.reshape(len(self.x_test), -1))

    def to(self, device: torch.device | str) -> Dataset:
        return replace(self, x_train=self.x_train.to(device), y_train=self.y_train.to(device),
                       x_test=self.x_test.to(device), y_test=self.y_test.to(device))


# ---------------------------------------------------------------------------------------------- MNIST-1D


def mnist1d(num_samples: int = 5000, train_split: float = 0.8, seed: int = 42) -> Dataset:
    """MNIST-1D (Greydanus & Kobak 2020): 10 classes of 1-D signals of length 40.

    The defaults give the paper's data set: 4 000 training and 1 000 test examples, made by the ``mnist1d``
    generator with its default seed 42 (a different ``seed`` gives a different draw of the same
    distribution; under ``DLGEN_SEED`` the seed goes through :func:`~dlgen_lib.config.derive_seed`, so each
    replicate of a chapter draws its own data set). Generation takes about 2 s and is memoized in the process.

    >>> data = mnist1d()
    >>> data.x_train.shape, data.x_test.shape
    (torch.Size([4000, 40]), torch.Size([1000, 40]))
    """
    if num_samples < 10:
        raise ValueError(f"num_samples={num_samples} is too small: need at least one example per class (10)")
    if not 0.0 < train_split < 1.0:
        raise ValueError(f"train_split={train_split} must be strictly between 0 and 1")
    return _mnist1d(int(num_samples), float(train_split), derive_seed(seed))


@lru_cache(maxsize=4)
def _mnist1d(num_samples: int, train_split: float, seed: int) -> Dataset:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = num_samples, train_split, seed
    np_state, py_state = np.random.get_state(), random.getstate()
    try:  # the generator seeds numpy and `random` globally: keep the caller's state intact
        raw = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    as_x = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    as_y = lambda a: torch.from_numpy(np.asarray(a, dtype=np.int64))  # noqa: E731
    return Dataset("MNIST-1D", as_x(raw["x"]), as_y(raw["y"]), as_x(raw["x_test"]), as_y(raw["y_test"]))


# ----------------------------------------------------------------------------------------- Fashion-MNIST


def read_idx(path: str | os.PathLike, expected_sha256: str | None = None, remedy: str | None = None) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array of its declared shape.

    The IDX format (LeCun et al.): two zero bytes, a type code (0x08 = uint8), the number of dimensions,
    then each dimension as a big-endian 32-bit integer, then the data. When ``expected_sha256`` is given, the
    decompressed bytes must have that SHA-256. A file that is cut off (a download that stopped halfway) or
    damaged is a :class:`DataIntegrityError` naming it and saying what to do: ``remedy``, by default "delete it
    and fetch it again".
    """
    path = Path(path)
    remedy = remedy or "delete it and fetch it again"
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataIntegrityError(f"{path} is cut off or damaged ({type(err).__name__}: {err}), perhaps by an "
                                 f"interrupted download; {remedy}") from err
    if expected_sha256 is not None:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected_sha256:
            raise DataIntegrityError(f"{path}: SHA-256 {digest} does not match the expected {expected_sha256}; "
                                     f"the file is damaged or not the one expected: {remedy}")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataIntegrityError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise DataIntegrityError(f"{path}: header declares shape {shape} but the file holds "
                                 f"{len(raw) - offset} bytes of data")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed IDX file, atomically (the inverse of :func:`read_idx`)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw_fh, gzip.GzipFile(fileobj=raw_fh, mode="wb", mtime=0) as fh:
            fh.write(header + array.tobytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def fashion_mnist(full: bool = False, root: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Fashion-MNIST (Xiao et al. 2017): 28x28 grey images of 10 kinds of clothing, pixels scaled to [0, 1].

    ``full=False`` (what the small scale uses) reads the subset shipped in ``data/fashion-mnist-subset``:
    the first 10 000 training and 2 000 test images of the official files, so it never needs a download.
    ``full=True`` reads the whole 60 000 / 10 000 set from the first folder that holds the four files:
    ``root``, ``$DLGEN_DATA`` (each, or its ``fashion-mnist`` subfolder), ``data/fashion-mnist``,
    ``/usr/share/datasets/fashion-mnist`` (the Debian package ``dataset-fashion-mnist``); else, when ``download``
    is true and a network is reachable, it fetches them from the official source into ``data/fashion-mnist``,
    each to a temporary file that is moved into place only once complete and its SHA-256 checked (a failed
    download leaves no file and no folder behind). Otherwise it raises :class:`DataNotFoundError`, saying how to
    get the files. A ``root`` or ``DLGEN_DATA`` that names no existing folder is a :class:`DataFolderError`; a
    file that is cut off or damaged is a :class:`DataIntegrityError` naming it.

    Returns x of shape (n, 1, 28, 28) float32 in [0, 1] and y of shape (n,) int64.
    """
    if not full:
        folder = REPO_DATA / SUBSET_DIR
        if not all((folder / f).exists() for f in FASHION_FILES.values()):
            raise DataNotFoundError(f"the shipped Fashion-MNIST subset is missing from {folder}; "
                                    f"restore it from the repository (git checkout -- data/) or rebuild it "
                                    f"with `python data/make_subset.py` from the full set")
        return _fashion_from(folder, subset=True, name="Fashion-MNIST (subset)")
    user = _user_folders(root)
    candidates = user + [REPO_DATA / "fashion-mnist", DEBIAN_FASHION] + [c / "fashion-mnist" for c in user]
    for folder in candidates:
        if all((folder / f).exists() for f in FASHION_FILES.values()):
            return _fashion_from(folder, subset=False, name="Fashion-MNIST")
    if download:
        target = REPO_DATA / "fashion-mnist"
        try:
            _download_fashion(target)
        except (OSError, http.client.HTTPException, DataIntegrityError) as err:  # URLError is an OSError
            reason = (f"the download from {FASHION_URL} failed ({type(err).__name__}: {err}); no partial file "
                      f"was kept")
        else:
            return _fashion_from(target, subset=False, name="Fashion-MNIST")
    else:
        reason = "download=False"
    searched = ", ".join(str(c) for c in candidates)
    raise DataNotFoundError(
        f"the full Fashion-MNIST set was not found (looked in {searched}) and {reason}. Get the four files "
        f"{', '.join(FASHION_FILES.values())} and put them in data/fashion-mnist or point DLGEN_DATA at their "
        f"folder; on Debian or Ubuntu, `apt-get install dataset-fashion-mnist` installs them. The small scale "
        f"needs none of this: it uses the subset shipped in data/.")


def _user_folders(root: str | os.PathLike | None) -> list[Path]:
    """The folders named by the ``root`` argument and ``$DLGEN_DATA`` (blank: unset), each checked to exist."""
    folders = []
    for source, value in (("argument root", root), ("DLGEN_DATA", os.environ.get("DLGEN_DATA", "").strip())):
        if value is None or value == "":
            continue
        folder = Path(value).expanduser()
        if not folder.is_dir():
            what = "is a file, not a folder" if folder.exists() else "names a folder that does not exist"
            raise DataFolderError(
                f"{source}={str(value)!r} {what}. {source} should hold the path of an existing folder that "
                f"contains the four Fashion-MNIST files ({', '.join(FASHION_FILES.values())}), or a "
                f"fashion-mnist/ subfolder holding them (the Debian package dataset-fashion-mnist puts them in "
                f"{DEBIAN_FASHION}). "
                + ("Unset DLGEN_DATA to use data/fashion-mnist, the Debian folder or a download instead."
                   if source == "DLGEN_DATA" else "Pass root=None to search the usual places instead."))
        folders.append(folder)
    return folders


@lru_cache(maxsize=2)
def _fashion_from(folder: Path, subset: bool, name: str) -> Dataset:
    sums, remedy = (SUBSET_SHA256, SUBSET_REMEDY) if subset else (FASHION_SHA256, FULL_REMEDY)
    arrays = {key: read_idx(folder / fname, sums[key], remedy) for key, fname in FASHION_FILES.items()}
    to_x = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0).unsqueeze(1)  # noqa: E731  (n,1,28,28)
    to_y = lambda a: torch.from_numpy(a.astype(np.int64))  # noqa: E731
    return Dataset(name, to_x(arrays["train_images"]), to_y(arrays["train_labels"]),
                   to_x(arrays["test_images"]), to_y(arrays["test_labels"]))


def _fetch(url: str, out: BinaryIO) -> None:
    """Copy the body of ``url`` into the open file ``out`` (the one place the library goes to the network)."""
    with urllib.request.urlopen(url, timeout=30) as resp:
        shutil.copyfileobj(resp, out)


def _download_fashion(target: Path) -> None:
    """Fetch the four official files into ``target``. Each goes to a temporary file first and is moved into place
    only when it is complete (its gzip stream ends properly) and its SHA-256 is the official one. When any step
    fails, the temporary file is removed, and so are the folders this call created (with what they hold), so an
    interrupted download leaves the disk as it found it."""
    created = [p for p in (target, *target.parents) if not p.exists()]  # innermost first
    target.mkdir(parents=True, exist_ok=True)
    try:
        for key, fname in FASHION_FILES.items():
            dest = target / fname
            if dest.exists():
                continue
            fd, tmp = tempfile.mkstemp(dir=target, prefix=f".{fname}.", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out:
                    _fetch(FASHION_URL + fname, out)
                try:
                    with gzip.open(tmp, "rb") as fh:
                        digest = hashlib.sha256(fh.read()).hexdigest()
                except (EOFError, gzip.BadGzipFile, zlib.error) as err:
                    raise DataIntegrityError(f"the download of {fname} is cut off or damaged ({type(err).__name__}: "
                                             f"{err}); not keeping it") from err
                if digest != FASHION_SHA256[key]:
                    raise DataIntegrityError(f"downloaded {fname} has SHA-256 {digest}, expected "
                                             f"{FASHION_SHA256[key]}; not keeping it")
                os.replace(tmp, dest)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    except BaseException:
        if created:
            shutil.rmtree(created[-1], ignore_errors=True)  # the outermost folder this call made
        raise


# ------------------------------------------------------------------------------------------ corruptions


class CorruptedLabels(NamedTuple):
    """Labels after :func:`corrupt_labels`.

    ``labels`` (n,) int64; ``corrupted`` (n,) bool marks the examples whose label was redrawn; ``changed``
    (n,) bool marks those whose label now differs from the true one (about (K-1)/K of the corrupted set).
    """

    labels: torch.Tensor
    corrupted: torch.Tensor
    changed: torch.Tensor


def corrupt_labels(labels: torch.Tensor, p: float, n_classes: int = 10, seed: int = 0) -> CorruptedLabels:
    """Zhang et al.'s (2017) label corruption: a fraction ``p`` of the examples, chosen at random, get a label
    drawn uniformly from all ``n_classes`` classes (so about 1/K of them keep the true label by chance).
    ``p = 1`` gives completely random labels. Exactly ``round(p * n)`` examples are redrawn.

    >>> out = corrupt_labels(torch.zeros(1000, dtype=torch.long), p=0.5, seed=1)
    >>> int(out.corrupted.sum())
    500
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"corruption fraction p={p} must lie in [0, 1]")
    device = torch.as_tensor(labels).device
    labels = torch.as_tensor(labels).cpu()  # drawn on the CPU: the same labels on every device
    gen = generator(int(seed))
    n = labels.shape[0]
    chosen = torch.randperm(n, generator=gen)[: round(p * n)]
    new = labels.clone()
    new[chosen] = torch.randint(n_classes, (len(chosen),), generator=gen).to(labels.dtype)
    corrupted = torch.zeros(n, dtype=torch.bool)
    corrupted[chosen] = True
    return CorruptedLabels(new.to(device), corrupted.to(device), (new != labels).to(device))


INPUT_CORRUPTIONS = ("gaussian", "shuffled_pixels", "random_pixels")


def randomize_inputs(x: torch.Tensor, kind: str = "gaussian", seed: int = 0) -> torch.Tensor:
    """Zhang et al.'s input corruptions, same shape as ``x`` (n, ...):

    * ``gaussian`` -- every input replaced by Gaussian noise with the data's per-feature mean and std;
    * ``shuffled_pixels`` -- one random permutation of the features, applied to every example;
    * ``random_pixels`` -- a different random permutation for each example.
    """
    if kind not in INPUT_CORRUPTIONS:
        raise ValueError(f"kind={kind!r} is not an input corruption; valid kinds: {', '.join(INPUT_CORRUPTIONS)}")
    gen = generator(int(seed))
    device, flat = x.device, x.reshape(len(x), -1).cpu()  # drawn on the CPU: the same inputs on every device
    if kind == "gaussian":
        noise = torch.randn(flat.shape, generator=gen, dtype=flat.dtype)
        out = flat.mean(0) + flat.std(0) * noise
    elif kind == "shuffled_pixels":
        out = flat[:, torch.randperm(flat.shape[1], generator=gen)]
    else:
        perms = torch.argsort(torch.rand(flat.shape, generator=gen), dim=1)
        out = torch.gather(flat, 1, perms)
    return out.reshape(x.shape).contiguous().to(device)
