"""A dataset ready for training: split, scaled, with names for its columns and classes."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simtreino.core.hyper import resolve
from simtreino.data.csvdata import load_csv
from simtreino.data.errors import DataError
from simtreino.data.generators import GENERATOR_FUNCS, GENERATORS, n_classes_of
from simtreino.data.prep import Normalizer, split_indices

__all__ = ["DataError", "Dataset", "load_dataset"]

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

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_targets(self) -> int:
        """Output columns: y's columns for regression, 1 (a label) for classification."""
        return self.y_train.shape[1] if self.task == "regression" else 1


def load_dataset(source: str, params: dict, *, path: Path | None = None,
                 target: str | None = None, task: str | None = None, normalize: str = "none",
                 split: tuple[float, float, float] = (1.0, 0.0, 0.0), seed: int = 0) -> Dataset:
    """Generate or read the data, split it and scale the inputs.

    ``source`` is a name in ``GENERATORS`` (``params`` are its settings;
    missing ones take their defaults) or ``"csv"`` (``path``, ``target`` and
    ``task`` say what to read; ``params`` must be empty). The same seed always
    gives the same arrays. Problems raise a one-line ``DataError``.
    """
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


def _from_csv(params, path, target, task):
    if params:
        raise DataError(f"csv: takes no settings (got {', '.join(map(str, params))})")
    if path is None or target is None or task is None:
        raise DataError("csv: a path, a target column and a task are needed")
    x, y, feature_names, class_names = load_csv(Path(path), target, task)
    return task, x, y, feature_names, class_names


def _from_generator(source, params, task, rng):
    if source not in GENERATORS:
        known = ", ".join(["csv", *GENERATORS])
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
