"""A dataset ready for training: split, scaled, with names for its columns and classes."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simtreino.core.hyper import resolve
from simtreino.data.csvdata import load_csv
from simtreino.data.errors import DataError
from simtreino.data.generators import GENERATOR_FUNCS, GENERATORS, n_classes_of
from simtreino.data.mnist import (MNIST_SETTINGS, N_CLASSES, PIXEL_SCALINGS, load_mnist,
                                  scale_pixels)
from simtreino.data.prep import Normalizer, split_indices

__all__ = ["DataError", "Dataset", "MNIST", "load_dataset", "load_mnist_dataset"]

MNIST = "mnist"

# Independent random streams spawned from the seed, one per job, so that
# changing the split never changes the generated points (and vice versa).
_STREAM_GENERATE, _STREAM_SPLIT = 0, 1


# eq=False: dataclass equality would compare arrays element-wise and fail.
@dataclass(frozen=True, eq=False)
class Dataset:
    task: str  # "classification" | "regression"
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray  # may have 0 rows
    y_val: np.ndarray
    x_test: np.ndarray  # may have 0 rows
    y_test: np.ndarray
    n_classes: int  # 0 for regression
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    normalizer: Normalizer
    # MNIST: the (height, width) of the image each row of x is (None: not images)
    image_shape: tuple[int, int] | None = None

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_targets(self) -> int:
        """Output columns: y's columns for regression, 1 (a label) for classification."""
        return self.y_train.shape[1] if self.task == "regression" else 1


def load_dataset(source: str, params: dict, *, path: Path | None = None,
                 target: str | None = None, task: str | None = None, normalize: str = "none",
                 split: tuple[float, float, float] = (1.0, 0.0, 0.0), seed: int = 0,
                 dtype=np.float64) -> Dataset:
    """Generate or read the data, split it and scale the inputs.

    ``source`` is a name in ``GENERATORS`` (``params`` are its settings;
    missing ones take their defaults), ``"csv"`` (``path``, ``target`` and
    ``task`` say what to read; ``params`` must be empty) or ``"mnist"``
    (see ``load_mnist_dataset``; ``path``: its data_dir). ``dtype`` is the
    floating-point type of MNIST's pixels (the other sources are float64;
    the trainer converts them). The same seed always gives the same arrays.
    Problems raise a one-line ``DataError``.
    """
    if source == MNIST:
        if normalize != "none":
            raise DataError("mnist: pixels are scaled by the 'pixels' setting; "
                            "normalize must be 'none'")
        if split[2] != 0:
            raise DataError("mnist: has its own test set (test_subset); the split's "
                            "test fraction must be 0")
        return load_mnist_dataset(params, data_dir=path, val=split[1], seed=seed, dtype=dtype)
    normalizer = Normalizer(normalize)
    gen_rng, split_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    if source == "csv":
        task, x, y, feature_names, class_names = _from_csv(params, path, target, task)
    else:
        task, x, y, feature_names, class_names = _from_generator(source, params, task, gen_rng)
    tr, va, te = split_indices(y, split, task, split_rng)
    normalizer.fit(x[tr])
    return Dataset(
        task=task,
        x_train=normalizer.transform(x[tr]), y_train=y[tr],
        x_val=normalizer.transform(x[va]), y_val=y[va],
        x_test=normalizer.transform(x[te]), y_test=y[te],
        n_classes=len(class_names), feature_names=feature_names, class_names=class_names,
        normalizer=normalizer,
    )


def load_mnist_dataset(params: dict, *, data_dir: Path | None = None, val: float = 0.0,
                       seed: int = 0, dtype=np.float64) -> Dataset:
    """MNIST as a Dataset: images flattened to rows of 784 pixels, scaled.

    ``params``: ``subset``, ``test_subset`` (None: every image), ``flatten``
    (must be true), ``pixels`` (``unit`` or ``standard``, see ``scale_pixels``);
    missing ones take their defaults. ``data_dir`` None reads the bundled
    subset. The training sample and the test sample are drawn by
    ``load_mnist`` with ``seed``; ``val`` (a fraction) of the training sample,
    stratified by digit, becomes the validation split, drawn from a third
    stream of the seed. The MNIST test images are the test split. A
    ``DataError`` from here has ``key`` set to the setting at fault
    (``subset``, ``test_subset``, ``data_dir``) when there is one.
    """
    p = _resolve(MNIST, MNIST_SETTINGS, {k: v for k, v in params.items()
                                         if k in MNIST_SETTINGS and v is not None})
    pixels = params.get("pixels", "unit")
    if pixels not in PIXEL_SCALINGS:
        raise _keyed(f"mnist: pixels must be one of {', '.join(PIXEL_SCALINGS)}, "
                     f"not {pixels!r}", "pixels")
    if not p["flatten"]:
        raise _keyed("mnist: flatten must be true (the network's layers are dense)", "flatten")
    try:
        x_tr, y_tr, x_te, y_te = load_mnist(p["subset"], p["test_subset"], data_dir, seed)
    except DataError as e:
        msg = str(e)
        key = next((k for k in ("test_subset", "subset") if msg.startswith(k + " ")),
                   "data_dir" if data_dir is not None else None)
        raise _keyed(f"mnist: {msg}", key) from None
    y_tr, y_te = y_tr.astype(np.int64), y_te.astype(np.int64)
    split_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    tr, va, _ = split_indices(y_tr, (1.0 - val, val, 0.0), "classification", split_rng)
    missing = np.flatnonzero(np.bincount(y_tr[tr], minlength=N_CLASSES) == 0)
    if missing.size:
        raise _keyed(f"mnist: the training split has no image of digit {int(missing[0])} "
                     f"({len(tr)} training images after the validation split); "
                     "use a larger subset", "subset")
    dt = np.dtype(dtype)
    h, w = x_tr.shape[1:]

    def rows(images):
        return scale_pixels(images.reshape(len(images), h * w), pixels, dt)

    x_train = rows(x_tr[tr])
    return Dataset(
        task="classification",
        x_train=x_train, y_train=y_tr[tr],
        x_val=rows(x_tr[va]), y_val=y_tr[va],
        x_test=rows(x_te), y_test=y_te,
        n_classes=N_CLASSES,
        feature_names=tuple(f"px{r}_{c}" for r in range(h) for c in range(w)),
        class_names=tuple(str(c) for c in range(N_CLASSES)),
        normalizer=Normalizer("none").fit(x_train[:1]),
        image_shape=(int(h), int(w)),
    )


def _keyed(message: str, key: str | None) -> DataError:
    e = DataError(message)
    e.key = key
    return e


def _from_csv(params, path, target, task):
    if params:
        raise DataError(f"csv: takes no settings (got {', '.join(map(str, params))})")
    if path is None or target is None or task is None:
        raise DataError("csv: a path, a target column and a task are needed")
    x, y, feature_names, class_names = load_csv(Path(path), target, task)
    return task, x, y, feature_names, class_names


def _from_generator(source, params, task, rng):
    if source not in GENERATORS:
        known = ", ".join(["csv", MNIST, *GENERATORS])
        raise DataError(f"unknown data source '{source}' (known: {known})")
    own_task, decl = GENERATORS[source]
    if task is not None and task != own_task:
        raise DataError(f"{source}: is a {own_task} dataset, not {task}")
    params = _resolve(source, decl, params)
    x, y = GENERATOR_FUNCS[source](params, rng)
    k = n_classes_of(source, params)
    _check_every_class_present(source, y, k)
    feature_names = tuple(f"x{i + 1}" for i in range(x.shape[1]))
    return own_task, x, y, feature_names, tuple(str(c) for c in range(k))


def _resolve(source: str, decl: dict, params: dict) -> dict:
    """Check the settings against their declarations (same rules as the scenario file)."""
    try:
        return resolve(source, decl, params)
    except KeyError as e:
        raise DataError(f"{source}: unknown setting '{e.args[0]}' "
                        f"(settings: {', '.join(decl)})") from None
    except ValueError as e:
        key, expected = e.args[0]
        raise DataError(f"{source}: setting '{key}' must be {expected}") from None


def _check_every_class_present(source: str, y: np.ndarray, k: int) -> None:
    # A class with no samples would leave an output unit that nothing trains.
    if k and np.bincount(y, minlength=k).min() == 0:
        raise DataError(f"{source}: n_samples ({len(y)}) is fewer than its {k} classes")
