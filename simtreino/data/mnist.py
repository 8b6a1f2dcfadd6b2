"""MNIST for the scenarios: the subset shipped in the package, or the full files.

``load_mnist()`` works offline on a fresh install: with no ``data_dir`` it
reads the stratified subset bundled in ``simtreino/data/bundled/`` (6,000
training and 1,000 test images of the real MNIST; provenance and licence in
``MNIST_SUBSET.md`` next to it). With ``data_dir`` it reads the full files
(the four IDX files, gzipped or raw, or Keras' ``mnist.npz``). Either way
``subset`` / ``test_subset`` draw a seeded, stratified sample.

Images stay uint8 ``(n, 28, 28)`` here; scaling and flattening belong to
the scenario layer (``scale_pixels`` is the helper it can use).
"""

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from simtreino.core.hyper import Hyper
from simtreino.data.errors import DataError
from simtreino.data.idx import IDX_FILES, N_CLASSES, load_mnist_dir, load_mnist_npz

__all__ = ["BUNDLED_NPZ", "DATA_DIR_CACHE", "FULL_SIZES", "IMAGE_SHAPE", "MNIST_MEAN",
           "MNIST_SETTINGS", "MNIST_STD", "N_CLASSES", "PIXEL_SCALINGS", "MnistData",
           "bundled_sizes", "class_quotas", "load_bundled_mnist", "load_mnist", "sample_rngs",
           "scale_pixels", "stratified_sample"]

BUNDLED_NPZ = "mnist_subset.npz"
# torchvision's customary transforms.Normalize((0.1307,), (0.3081,)): the
# mean and standard deviation of the training pixels scaled to 0-1.
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
PIXEL_SCALINGS = ("unit", "standard")
IMAGE_SHAPE = (28, 28)
FULL_SIZES = (60_000, 10_000)        # training and test images of the original files
DATA_DIR_CACHE = "cache"             # data_dir = "cache": simtreino.data.fetch.mnist_cache_dir()

# The numeric settings of ``source = "mnist"`` in a scenario's [data] table
# (docs/scenarios.md); the string ones, ``data_dir`` and ``pixels``
# (``PIXEL_SCALINGS``, default "unit"), are checked by the scenario loader.
# subset / test_subset default to None: every image available.
MNIST_SETTINGS = {
    "subset": Hyper(None, type="int", low=N_CLASSES, high=FULL_SIZES[0],
                    doc="training images used (at least one per digit)"),
    "test_subset": Hyper(None, type="int", low=N_CLASSES, high=FULL_SIZES[1],
                         doc="test images used (at least one per digit)"),
    "flatten": Hyper(True, type="bool", doc="each 28x28 image as a row of 784 inputs"),
}


class MnistData(NamedTuple):
    """Unpacks as ``x_train, y_train, x_test, y_test``: images uint8
    ``(n, 28, 28)``, labels uint8 ``(n,)``."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


# --------------------------------------------------------------- loading
def load_bundled_mnist() -> dict:
    """The subset shipped with the package: ``x_train, y_train, x_test, y_test``
    and ``train_index, test_index`` (each image's position in the original
    training / test file, so the sample can be checked against the full set)."""
    ref = resources.files("simtreino.data").joinpath("bundled", BUNDLED_NPZ)
    try:
        with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as z:
            return {k: np.array(z[k]) for k in z.files}
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{BUNDLED_NPZ}: the bundled MNIST subset cannot be read ({e}); "
                        f"the installation looks incomplete") from None


@lru_cache(maxsize=1)
def bundled_sizes() -> tuple[int, int]:
    """(training, test) image counts of the bundled subset, reading only its labels."""
    ref = resources.files("simtreino.data").joinpath("bundled", BUNDLED_NPZ)
    try:
        with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as z:
            return len(z["y_train"]), len(z["y_test"])
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{BUNDLED_NPZ}: the bundled MNIST subset cannot be read ({e}); "
                        f"the installation looks incomplete") from None


def load_mnist(subset: int | None = None, test_subset: int | None = None,
               data_dir=None, seed: int = 0) -> MnistData:
    """Training and test images and labels, optionally a stratified sample of them.

    ``data_dir`` None: the bundled subset. Otherwise a folder holding the
    four IDX files (``.gz`` or raw, original names) or ``mnist.npz``, or the
    path of an ``.npz`` file. ``subset`` / ``test_subset``: how many
    training / test images to keep, drawn per class in proportion to the
    class sizes; the same seed gives the same images. Asking for more
    images than there are is a ``DataError``.
    """
    if data_dir is None:
        arrays, where = load_bundled_mnist(), "in the bundled subset (give data_dir for more)"
    else:
        arrays, where = _load_full(Path(data_dir).expanduser()), f"in {data_dir}"
    train_rng, test_rng = sample_rngs(seed)
    x_train, y_train = _take(arrays["x_train"], arrays["y_train"], subset, "subset",
                             "training", where, train_rng)
    x_test, y_test = _take(arrays["x_test"], arrays["y_test"], test_subset, "test_subset",
                           "test", where, test_rng)
    return MnistData(x_train, y_train, x_test, y_test)


def _load_full(path: Path) -> dict:
    if path.is_file() and path.suffix == ".npz":
        return load_mnist_npz(path)
    npz = path / "mnist.npz"
    has_idx = any((path / n).is_file() or (path / f"{n}.gz").is_file()
                  for n in IDX_FILES.values())
    if npz.is_file() and not has_idx:
        return load_mnist_npz(npz)
    return load_mnist_dir(path)


def _take(x, y, n, key: str, part: str, where: str, rng):
    if n is None:
        return x, y
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise DataError(f"{key} must be a whole number of images >= 1, got {n!r}")
    if n > len(y):
        raise DataError(f"{key} = {n} is more than the {len(y):,} {part} images "
                        f"available {where}")
    index = stratified_sample(y, n, rng)
    return x[index], y[index]


# -------------------------------------------------------------- sampling
def sample_rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the training and the test sample, so that
    changing ``subset`` never changes which test images are drawn."""
    train, test = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(train), np.random.default_rng(test)


def class_quotas(class_counts, n: int) -> np.ndarray:
    """How many of ``n`` items each class gets, in proportion to ``class_counts``.

    Largest-remainder rounding: every quota is within one item of its exact
    share ``n * count / total`` and they add up to ``n``; ties go to the
    lower class, so the result is deterministic.
    """
    counts = np.asarray(class_counts, dtype=np.int64)
    exact = n * counts / counts.sum()
    quotas = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - quotas), kind="stable")
    quotas[order[: n - quotas.sum()]] += 1
    return quotas


def stratified_sample(labels: np.ndarray, n: int, rng) -> np.ndarray:
    """Sorted positions of ``n`` items: ``class_quotas`` of each class, each
    class's items drawn by ``rng.permutation`` in class order (0 to 9).

    ``rng`` is a ``np.random.Generator`` or a seed for one.
    """
    rng = np.random.default_rng(rng)
    labels = np.asarray(labels)
    if not 0 < n <= len(labels):
        raise DataError(f"cannot draw {n} items from {len(labels)}")
    counts = np.bincount(labels, minlength=N_CLASSES)
    quotas = class_quotas(counts, n)
    picked = [rng.permutation(np.flatnonzero(labels == c))[:q]
              for c, q in enumerate(quotas)]
    return np.sort(np.concatenate(picked)).astype(np.int64)


# --------------------------------------------------------------- scaling
def scale_pixels(x: np.ndarray, mode: str = "unit", dtype=np.float64) -> np.ndarray:
    """Pixels 0-255 as floats: ``unit`` divides by 255 (0 to 1); ``standard``
    then subtracts 0.1307 and divides by 0.3081 (torchvision's convention)."""
    if mode not in PIXEL_SCALINGS:
        raise DataError(f"pixel scaling must be one of {', '.join(PIXEL_SCALINGS)}, "
                        f"not {mode!r}")
    out = np.asarray(x, dtype=dtype) / np.dtype(dtype).type(255)
    if mode == "standard":
        out -= MNIST_MEAN
        out /= MNIST_STD
    return out
