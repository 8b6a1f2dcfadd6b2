"""Splitting samples into train / validation / test, and scaling the inputs."""

import math

import numpy as np

from simtreino.data.errors import DataError

NORMALIZERS = ("none", "standard", "minmax")


def split_indices(y: np.ndarray, fractions=(1.0, 0.0, 0.0), task: str = "classification",
                  rng: np.random.Generator | None = None):
    """Indices ``(train, val, test)``, each int64 and sorted ascending.

    With no validation or test part, all indices come back in their original
    order (the XOR course example relies on its four corners staying in
    order) and ``rng`` is not used. Otherwise the split is drawn from ``rng``:
    stratified by class for classification, plain random for regression.
    """
    fractions = _check_fractions(fractions)
    n = len(y)
    empty = np.empty(0, dtype=np.int64)
    if fractions[1] == 0 and fractions[2] == 0:
        return np.arange(n, dtype=np.int64), empty, empty.copy()
    if rng is None:
        raise ValueError("split_indices needs an rng to draw a validation or test split")
    targets = allocate(n, fractions)
    if task == "classification":
        parts = _stratified(np.asarray(y), targets, rng)
    else:
        perm = rng.permutation(n)
        parts = np.split(perm, np.cumsum(targets)[:2])
    return tuple(np.sort(p).astype(np.int64) for p in parts)


def _check_fractions(fractions) -> tuple[float, float, float]:
    if len(fractions) != 3:
        raise DataError(f"split must have three fractions (train, validation, test), "
                        f"got {len(fractions)}")
    f = tuple(float(v) for v in fractions)
    if not all(math.isfinite(v) and v >= 0 for v in f):
        raise DataError(f"split fractions must be numbers >= 0, got {list(fractions)}")
    if not math.isclose(sum(f), 1.0, abs_tol=1e-9):
        raise DataError(f"split fractions must add up to 1, got {list(fractions)} "
                        f"(sum {sum(f):g})")
    if f[0] == 0:
        raise DataError("the training fraction of the split must be above 0")
    return f


def allocate(n: int, fractions) -> np.ndarray:
    """Whole sizes for n items split by fractions, summing to n.

    Largest-remainder rounding keeps each size within one of n·fraction;
    then every part with a fraction above 0 that came out empty takes one
    item from the largest part, while that part can spare one.
    """
    f = np.asarray(fractions, dtype=np.float64)
    ideal = n * f
    sizes = np.floor(ideal).astype(np.int64)
    # Stable sort: on equal remainders the earlier part (train first) wins.
    order = np.argsort(-(ideal - sizes), kind="stable")
    sizes[order[: n - sizes.sum()]] += 1
    for i in np.flatnonzero((f > 0) & (sizes == 0)):
        donor = int(np.argmax(sizes))
        if sizes[donor] > 1:
            sizes[donor] -= 1
            sizes[i] += 1
    return sizes


def _stratified(y: np.ndarray, targets: np.ndarray, rng: np.random.Generator):
    """Split each class in the proportions of ``targets`` so the parts have exactly those sizes.

    Each class first gets the whole part of its share of each split; the
    leftover samples then go, largest fractional share first, to splits that
    still have room. Doing the rounding jointly (instead of per class) keeps
    the split sizes exact and does not inflate a tiny split when there are
    many small classes.
    """
    classes = np.unique(y)
    members = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    sizes = np.array([len(m) for m in members])
    share = sizes[:, None] * targets[None, :] / len(y)
    counts = np.floor(share).astype(np.int64)
    _hand_out_leftovers(counts, share - counts, sizes, targets)
    parts = [[], [], []]
    for m, row in zip(members, counts):
        for s, piece in enumerate(np.split(m, np.cumsum(row)[:2])):
            parts[s].append(piece)
    return [np.concatenate(p) if p else np.empty(0, np.int64) for p in parts]


def _hand_out_leftovers(counts: np.ndarray, frac: np.ndarray, class_sizes: np.ndarray,
                        targets: np.ndarray) -> None:
    """Complete ``counts`` (classes x splits) in place so rows sum to ``class_sizes``
    and columns to ``targets``."""
    class_left = class_sizes - counts.sum(axis=1)
    split_left = targets - counts.sum(axis=0)
    # Largest fractional share first; ties broken by class then split, deterministically.
    for flat in np.argsort(-frac, axis=None, kind="stable"):
        c, s = np.unravel_index(flat, frac.shape)
        if class_left[c] > 0 and split_left[s] > 0:
            counts[c, s] += 1
            class_left[c] -= 1
            split_left[s] -= 1
    # Whatever the greedy pass could not place goes to any split with room
    # (always possible: both remainders add up to the same total).
    for c in np.flatnonzero(class_left):
        for s in np.flatnonzero(split_left):
            k = min(class_left[c], split_left[s])
            counts[c, s] += k
            class_left[c] -= k
            split_left[s] -= k


class Normalizer:
    """Scales inputs with statistics of the training split only.

    ``standard``: (x - mean) / std; ``minmax``: (x - min) / (max - min), into
    [0, 1] on the training data. A constant column gets scale 1 rather than
    a division by zero. ``none`` passes inputs through unchanged.
    """

    def __init__(self, kind: str = "none"):
        if kind not in NORMALIZERS:
            raise DataError(f"normalize must be one of {', '.join(NORMALIZERS)}, not {kind!r}")
        self.kind = kind
        self.offset: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, x_train: np.ndarray) -> "Normalizer":
        x = np.asarray(x_train, dtype=np.float64)
        if self.kind == "standard":
            offset, scale = x.mean(axis=0), x.std(axis=0)
        elif self.kind == "minmax":
            offset, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
        else:
            offset, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
        self.offset = offset
        self.scale = np.where(scale == 0, 1.0, scale)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return (np.asarray(x, dtype=np.float64) - self.offset) / self.scale

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Back to the original units (e.g. to label plot axes in the data's own units)."""
        self._check_fitted()
        return np.asarray(x, dtype=np.float64) * self.scale + self.offset

    def _check_fitted(self) -> None:
        if self.offset is None:
            raise RuntimeError("Normalizer.fit must be called before transform")

    def __repr__(self) -> str:
        return f"Normalizer({self.kind!r})"
