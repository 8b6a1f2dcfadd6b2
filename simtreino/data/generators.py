"""Seeded toy datasets (declarations of their settings; generator functions below).

Each generator takes its resolved settings and a ``numpy.random.Generator``
and returns ``(x, y)``: ``x`` float64 ``(n, features)``; ``y`` int64 class
labels ``(n,)`` for classification, float64 ``(n, 1)`` for regression.
"""

import numpy as np

from simtreino.core.hyper import Hyper

_N = lambda d, lo=1: Hyper(d, type="int", low=lo, doc="number of samples")  # noqa: E731
_NOISE = lambda d: Hyper(d, low=0.0, doc="standard deviation of Gaussian noise")  # noqa: E731

# name -> (task, settings)
GENERATORS = {
    "xor": ("classification", {"n_samples": _N(4, 4), "noise": _NOISE(0.0)}),
    "and": ("classification", {"n_samples": _N(4, 4), "noise": _NOISE(0.0)}),
    "or": ("classification", {"n_samples": _N(4, 4), "noise": _NOISE(0.0)}),
    "circles": ("classification", {
        "n_samples": _N(200, 2), "noise": _NOISE(0.05),
        "factor": Hyper(0.5, low=0.0, high=1.0, low_open=True, high_open=True,
                        doc="inner radius / outer radius"),
    }),
    "moons": ("classification", {"n_samples": _N(200, 2), "noise": _NOISE(0.1)}),
    "spirals": ("classification", {
        "n_samples": _N(300, 2), "noise": _NOISE(0.1),
        "arms": Hyper(2, type="int", low=2, high=10, doc="number of arms (classes)"),
        "turns": Hyper(1.0, low=0.1, high=5.0, doc="turns of each arm"),
    }),
    "blobs": ("classification", {
        "n_samples": _N(300, 2), "noise": _NOISE(1.0),
        "classes": Hyper(3, type="int", low=2, high=20, doc="number of blobs (classes)"),
        "features": Hyper(2, type="int", low=1, high=100, doc="input dimensions"),
    }),
    "sine": ("regression", {
        "n_samples": _N(200, 2), "noise": _NOISE(0.1),
        "periods": Hyper(1.0, low=0.1, high=10.0, doc="periods of the sine over the input range"),
    }),
}


# ---------------------------------------------------------------------------
# Generator functions: fn(params, rng) -> (x, y).  Samples come out grouped by
# class (class 0 first), in a fixed order, so a seed reproduces them exactly;
# shuffling for mini-batches is the trainer's job.

# The four corners of the unit square, in the order the course uses.
_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def _split_evenly(n: int, k: int) -> np.ndarray:
    """Class sizes for n samples over k classes: equal, first classes get the remainder."""
    return n // k + (np.arange(k) < n % k)


def _labels(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def _add_noise(x: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    # Draw only when asked: noise 0 must give the exact, noise-free points.
    if noise > 0:
        x = x + rng.normal(scale=noise, size=x.shape)
    return x


def _logic(truth: tuple[int, int, int, int], params: dict, rng: np.random.Generator):
    """Corners cycled (0,0), (0,1), (1,0), (1,1), labelled by a truth table."""
    corner = np.arange(params["n_samples"]) % 4
    x = _add_noise(_CORNERS[corner], params["noise"], rng)
    y = np.asarray(truth, dtype=np.int64)[corner]
    return x, y


def xor(params: dict, rng: np.random.Generator):
    return _logic((0, 1, 1, 0), params, rng)


def and_(params: dict, rng: np.random.Generator):
    return _logic((0, 0, 0, 1), params, rng)


def or_(params: dict, rng: np.random.Generator):
    return _logic((0, 1, 1, 1), params, rng)


def _circle(n: int, radius: float) -> np.ndarray:
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return radius * np.column_stack([np.cos(t), np.sin(t)])


def circles(params: dict, rng: np.random.Generator):
    """Outer circle of radius 1 (class 0) around an inner one of radius factor (class 1)."""
    counts = _split_evenly(params["n_samples"], 2)
    x = np.vstack([_circle(counts[0], 1.0), _circle(counts[1], params["factor"])])
    return _add_noise(x, params["noise"], rng), _labels(counts)


def moons(params: dict, rng: np.random.Generator):
    """Two interleaved half circles, as sklearn's make_moons draws them."""
    counts = _split_evenly(params["n_samples"], 2)
    t0 = np.linspace(0.0, np.pi, counts[0])
    t1 = np.linspace(0.0, np.pi, counts[1])
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    x = np.vstack([upper, lower])
    return _add_noise(x, params["noise"], rng), _labels(counts)


def _arm(m: int, turns: float, phase: float) -> np.ndarray:
    # Radius grows linearly to 1 while the angle sweeps `turns` full turns;
    # starting at 1/m (not 0) keeps the arms from sharing the origin.
    r = np.arange(1, m + 1) / m
    angle = 2 * np.pi * turns * r + phase
    return r[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])


def spirals(params: dict, rng: np.random.Generator):
    """`arms` spiral arms, each a rotation of the first by 2π/arms, one class each."""
    k = params["arms"]
    counts = _split_evenly(params["n_samples"], k)
    x = np.vstack([_arm(m, params["turns"], 2 * np.pi * j / k) for j, m in enumerate(counts)])
    return _add_noise(x, params["noise"], rng), _labels(counts)


def blobs(params: dict, rng: np.random.Generator):
    """Gaussian clusters around centres drawn uniformly in [-10, 10]^features (like make_blobs)."""
    counts = _split_evenly(params["n_samples"], params["classes"])
    centres = rng.uniform(-10.0, 10.0, size=(params["classes"], params["features"]))
    y = _labels(counts)
    return _add_noise(centres[y], params["noise"], rng), y


def sine(params: dict, rng: np.random.Generator):
    """y = sin(periods · x) + noise for x uniform in [-π, π] (regression, y is (n, 1))."""
    # Sorted so that a prediction drawn point after point is a readable curve.
    x = np.sort(rng.uniform(-np.pi, np.pi, size=params["n_samples"]))[:, None]
    y = np.sin(params["periods"] * x)
    return x, _add_noise(y, params["noise"], rng)


GENERATOR_FUNCS = {
    "xor": xor, "and": and_, "or": or_, "circles": circles, "moons": moons,
    "spirals": spirals, "blobs": blobs, "sine": sine,
}

# Generators whose class count is a setting; every other classifier has 2.
_CLASS_SETTING = {"spirals": "arms", "blobs": "classes"}


def n_classes_of(source: str, params: dict) -> int:
    """Number of classes a generator will produce (0 for regression), without generating.

    Missing settings take their declared defaults. Raises KeyError for a name
    that is not a generator (a CSV file's classes are only known by reading it).
    """
    task, decl = GENERATORS[source]
    if task == "regression":
        return 0
    key = _CLASS_SETTING.get(source)
    if key is None:
        return 2
    return int(params.get(key, decl[key].default))


def n_targets_of(source: str, params: dict) -> int:
    """Columns of y: 1 for every generator (a class label, or sine's single value).

    Raises KeyError for a name that is not a generator, like ``n_classes_of``.
    """
    GENERATORS[source]
    return 1
