"""What the network makes of digit images: the numbers behind the MNIST panels.

Pure functions of a trainer and a split of image data (numpy only, no UI):

- :func:`digit_predictions` -- chosen samples as images with the network's
  guess and its confidence (the "sample digits" strip);
- :func:`misclassified` -- the current mistakes, most confident first;
- :func:`confusion_matrix` -- (true, predicted) counts and per-class accuracy;
- :func:`first_layer_images` -- the first layer's weight rows as images
  ("what each neuron looks for");
- :func:`digits_state` -- all of the above at once, for the live session.

They call ``trainer.predict``, which runs the forward kernels in the
trainer's own buffers: call them from the thread that owns the trainer (the
session's worker), never from the UI thread. Every array returned is a copy,
so later training steps never change what a widget is drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from simtreino.data.mnist import MNIST_MEAN, MNIST_STD

__all__ = ["Classified", "DigitPrediction", "DigitsState", "class_probabilities", "classify",
           "confusion_matrix", "digit_predictions", "digits_state", "evaluation_indices",
           "first_layer_images", "misclassified", "one_per_class", "to_display", "unit_indices"]

# Rows per forward call: bounds the temporaries (probabilities of one chunk)
# whatever the size of the split; the trainer chunks again inside predict.
CHUNK_ROWS = 2048


class DigitPrediction(NamedTuple):
    """One shown sample. The first four fields are what ``DigitStrip`` draws."""
    image: np.ndarray      # (h, w) float in [0, 1], row 0 at the top
    label: int             # the true class
    predicted: int         # the network's class (argmax of its output)
    confidence: float      # probability the network gives to ``predicted``
    index: int             # row of the split the sample came from


class Classified(NamedTuple):
    """The network's answer for each evaluated row."""
    predicted: np.ndarray   # (n,) int64
    confidence: np.ndarray  # (n,) float64, probability of the predicted class


@dataclass(frozen=True, eq=False)
class DigitsState:
    """Everything the digit panels draw, as of one training step."""
    step: int
    split: str                      # which split was evaluated: test | val | train
    samples: tuple                  # DigitPrediction, the fixed sample strip
    mistakes: tuple                 # DigitPrediction, current mistakes (most confident first)
    confusion: np.ndarray           # (k, k) int64, rows = true class, columns = predicted
    recall: np.ndarray              # (k,) per-class accuracy, NaN for an absent class
    accuracy: float                 # over the evaluated rows
    n_evaluated: int
    weights: np.ndarray             # (units, h, w) first-layer weight images
    units: np.ndarray               # (units,) the unit index of each weight image


# ---------------------------------------------------------------- predictions


def class_probabilities(trainer, x: np.ndarray) -> np.ndarray:
    """The network's class probabilities for the rows of ``x``: (n, k) float64.

    A softmax output layer already gives probabilities (that is what
    ``predict`` returns for the cross-entropy scenarios); any other output
    (e.g. MSE on one-hot targets) is passed through a softmax for display.
    """
    out = np.asarray(trainer.predict(x), dtype=np.float64)
    if trainer.arch.layers[-1].activation == "softmax":
        return out
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def classify(trainer, x: np.ndarray) -> Classified:
    """Predicted class and its probability for every row, ``CHUNK_ROWS`` at a time."""
    n = len(x)
    pred = np.empty(n, np.int64)
    conf = np.empty(n, np.float64)
    for start in range(0, n, CHUNK_ROWS):
        p = class_probabilities(trainer, x[start:start + CHUNK_ROWS])
        k = np.argmax(p, axis=1)
        pred[start:start + len(p)] = k
        conf[start:start + len(p)] = p[np.arange(len(p)), k]
    return Classified(pred, conf)


def evaluation_indices(n: int, max_samples: int | None) -> np.ndarray:
    """At most ``max_samples`` rows of ``n``, evenly spread (not the first ones:
    a split sorted by class would otherwise show only its first digits)."""
    if max_samples is None or max_samples >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(int(max_samples), 1)).round().astype(np.int64))


def to_display(rows: np.ndarray, image_shape=(28, 28), pixels: str | None = "unit") -> np.ndarray:
    """Input rows back to images in [0, 1] (row 0 at the top), as new arrays.

    ``pixels``: the scenario's scaling to undo -- ``"unit"`` (pixel / 255)
    or ``"standard"`` ((pixel / 255 - mean) / std); ``None`` stretches each
    image to its own [min, max] (for data scaled some other way).
    """
    img = np.asarray(rows, dtype=np.float64).reshape((-1, *image_shape)).copy()
    if pixels == "standard":
        img = img * MNIST_STD + MNIST_MEAN
    elif pixels is None:
        lo = img.min(axis=(1, 2), keepdims=True)
        span = img.max(axis=(1, 2), keepdims=True) - lo
        img = np.where(span > 0, (img - lo) / np.where(span > 0, span, 1.0), 0.0)
    elif pixels != "unit":
        raise ValueError(f"pixels must be 'unit', 'standard' or None, not {pixels!r}")
    return np.clip(img, 0.0, 1.0)


def digit_predictions(trainer, x: np.ndarray, labels: np.ndarray, indices, *,
                      image_shape=(28, 28), pixels: str | None = "unit",
                      classified: Classified | None = None) -> list[DigitPrediction]:
    """The samples ``indices`` of the split (x, labels) with the network's guesses.

    ``classified``: predictions already made for every row of ``x`` (saves a
    forward pass when the caller has them).
    """
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if len(idx) == 0:
        return []
    if classified is None:
        pred, conf = classify(trainer, x[idx])
    else:
        pred, conf = classified.predicted[idx], classified.confidence[idx]
    images = to_display(x[idx], image_shape, pixels)
    return [DigitPrediction(images[j], int(labels[i]), int(pred[j]), float(conf[j]), int(i))
            for j, i in enumerate(idx.tolist())]


def misclassified(trainer, x: np.ndarray, labels: np.ndarray, limit: int, *,
                  classified: Classified | None = None) -> np.ndarray:
    """Rows of ``x`` the network gets wrong now, most confident mistakes first,
    at most ``limit`` of them (ties keep the split's order)."""
    c = classify(trainer, x) if classified is None else classified
    wrong = np.flatnonzero(c.predicted != np.asarray(labels)[:len(c.predicted)])
    order = np.argsort(-c.confidence[wrong], kind="stable")
    return wrong[order[:max(int(limit), 0)]]


def confusion_matrix(trainer, x: np.ndarray, labels: np.ndarray, n_classes: int = 10, *,
                     max_samples: int | None = None, classified: Classified | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, recall)``: counts ``(k, k)`` int64 with rows = true class and
    columns = predicted class (like sklearn), and each class's accuracy
    (diagonal / row total; NaN for a class with no sample).

    ``max_samples`` evaluates at most that many rows, evenly spread over the
    split (``evaluation_indices``); ``classified`` reuses predictions made
    for every row of ``x``.
    """
    idx = evaluation_indices(len(x), max_samples)
    if classified is None:
        pred = classify(trainer, x[idx] if len(idx) < len(x) else x).predicted
    else:
        pred = classified.predicted[idx]
    true = np.asarray(labels, dtype=np.int64)[idx]
    k = int(n_classes)
    ok = (true >= 0) & (true < k) & (pred >= 0) & (pred < k)
    counts = np.bincount(true[ok] * k + pred[ok], minlength=k * k).reshape(k, k)
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(total > 0, np.diag(counts) / total, np.nan)
    return counts, recall


def first_layer_images(trainer, units=16, image_shape=(28, 28)) -> np.ndarray:
    """The first layer's weight rows as images: ``(len(units), h, w)`` float64.

    The weight is ``(out, in)`` like PyTorch, so row ``u`` holds the weights
    unit ``u`` gives to each pixel. ``units``: how many (the first ones) or
    which unit indices. A copy: the trainer keeps changing its weights.
    """
    w = trainer.weight(0)
    idx = unit_indices(units, w.shape[0])
    return np.array(w[idx], dtype=np.float64).reshape((len(idx), *image_shape))


def unit_indices(units, n_units: int) -> np.ndarray:
    """``units`` as indices: a count (the first ones, at most ``n_units``) or the indices."""
    if np.isscalar(units):
        return np.arange(min(int(units), n_units))
    return np.asarray(units, dtype=np.int64).reshape(-1)


def one_per_class(labels: np.ndarray, n_classes: int = 10, start: int = 0) -> np.ndarray:
    """The first row of each class at or after ``start`` (wrapping around),
    in class order: a fixed strip showing one of every digit."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        return np.zeros(0, np.int64)
    order = np.roll(np.arange(len(labels)), -(int(start) % len(labels)))
    first = [order[labels[order] == k][:1] for k in range(n_classes)]
    return np.concatenate(first).astype(np.int64)


# ---------------------------------------------------------------- all at once


def _eval_split(ds):
    for name in ("test", "val", "train"):
        x = getattr(ds, f"x_{name}")
        if len(x):
            return name, x, np.asarray(getattr(ds, f"y_{name}"), dtype=np.int64)
    raise ValueError("the dataset has no samples")


def digits_state(trainer, ds, *, pixels: str | None = "unit", sample_indices=None,
                 n_mistakes: int = 10, max_samples: int | None = 2000,
                 units=32) -> DigitsState:
    """The digit panels' data for an image dataset ``ds`` (``ds.image_shape`` set):
    one forward pass over at most ``max_samples`` rows of the test split (else
    validation, else training) feeds the confusion matrix and the mistakes;
    ``sample_indices`` (default: one per class) are the fixed sample strip.
    """
    split, x, y = _eval_split(ds)
    shape = tuple(ds.image_shape)
    idx = evaluation_indices(len(x), max_samples)
    xs, ys = (x[idx], y[idx]) if len(idx) < len(x) else (x, y)
    c = classify(trainer, xs)
    counts, recall = confusion_matrix(trainer, xs, ys, ds.n_classes, classified=c)
    wrong = misclassified(trainer, xs, ys, n_mistakes, classified=c)
    mistakes = digit_predictions(trainer, xs, ys, wrong, image_shape=shape, pixels=pixels,
                                 classified=c)
    # report the rows of the whole split, not of the evaluated subset
    mistakes = [m._replace(index=int(idx[m.index])) for m in mistakes]
    if sample_indices is None:
        sample_indices = one_per_class(y, ds.n_classes)
    samples = digit_predictions(trainer, x, y, sample_indices, image_shape=shape, pixels=pixels)
    unit_idx = unit_indices(units, trainer.weight(0).shape[0])
    return DigitsState(
        step=trainer.step, split=split, samples=tuple(samples), mistakes=tuple(mistakes),
        confusion=counts, recall=recall,
        accuracy=float(np.trace(counts) / counts.sum()) if counts.sum() else float("nan"),
        n_evaluated=int(len(c.predicted)),
        weights=first_layer_images(trainer, unit_idx, shape), units=unit_idx)
