"""Classic 2-D test functions for optimizer races: value, gradient, domain,
default start and known minima.

In a race the "parameters" are a point (x, y) and the "loss" is one of these
functions, so the paths of the optimizers can be drawn over the whole
surface. Gradients are the exact derivatives (checked against finite
differences in the tests).
"""

from dataclasses import dataclass
import math

import numpy as np

from .jit import kernel

ROSENBROCK, BEALE, HIMMELBLAU, SADDLE, RAVINE, RASTRIGIN, MOMENTUM = range(7)


@dataclass(frozen=True)
class Function2D:
    id: int
    formula: str                                 # shown under the plot
    domain: tuple[float, float, float, float]    # xmin, xmax, ymin, ymax
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]      # the known (global) minima
    log_scale: bool                              # colour scale that shows its valleys


# Himmelblau's three non-trivial minima are roots of a cubic system; the
# values below are accurate to 1e-6 (Himmelblau, 1972), enough to tell which
# minimum an optimizer reached.
FUNCTIONS = {
    "rosenbrock": Function2D(
        ROSENBROCK, "(1−x)² + 100(y−x²)²", (-2.0, 2.0, -1.0, 3.0), (-1.5, 2.5), ((1.0, 1.0),),
        True),
    "beale": Function2D(
        BEALE, "(1.5−x+xy)² + (2.25−x+xy²)² + (2.625−x+xy³)²", (-4.5, 4.5, -4.5, 4.5),
        (1.0, 1.5), ((3.0, 0.5),),
        True),
    "himmelblau": Function2D(
        HIMMELBLAU, "(x²+y−11)² + (x+y²−7)²", (-5.0, 5.0, -5.0, 5.0), (0.0, 0.0),
        ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
        True),
    "saddle": Function2D(
        SADDLE, "x² + y⁴/4 − y²/2", (-2.0, 2.0, -2.0, 2.0), (-1.5, 1e-3), ((0.0, -1.0), (0.0, 1.0)),
        False),
    "ravine": Function2D(
        RAVINE, "0.01x² + y²", (-10.0, 10.0, -3.0, 3.0), (-9.0, -2.0), ((0.0, 0.0),),
        False),
    "rastrigin": Function2D(
        RASTRIGIN, "20 + x² − 10cos(2πx) + y² − 10cos(2πy)", (-5.12, 5.12, -5.12, 5.12),
        (-4.2, 3.8), ((0.0, 0.0),),
        False),
    "momentum": Function2D(
        MOMENTUM, "(1−x)² + 20(3y−x²)²", (-2.0, 2.0, -1.0, 2.0), (-1.5, 1.5), ((1.0, 1.0 / 3.0),),
        True),
}


def function_names() -> list[str]:
    return list(FUNCTIONS)


@kernel
def value(fid, x, y):
    """f(x, y) of function ``fid``."""
    if fid == ROSENBROCK:
        return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2
    if fid == BEALE:
        t1 = 1.5 - x + x * y
        t2 = 2.25 - x + x * y * y
        t3 = 2.625 - x + x * y * y * y
        return t1 * t1 + t2 * t2 + t3 * t3
    if fid == HIMMELBLAU:
        a = x * x + y - 11.0
        b = x + y * y - 7.0
        return a * a + b * b
    if fid == SADDLE:
        return x * x + 0.25 * y ** 4 - 0.5 * y * y
    if fid == RAVINE:
        return 0.01 * x * x + y * y
    if fid == RASTRIGIN:
        return (20.0 + x * x - 10.0 * math.cos(2.0 * math.pi * x)
                + y * y - 10.0 * math.cos(2.0 * math.pi * y))
    # MOMENTUM
    return (1.0 - x) ** 2 + 20.0 * (3.0 * y - x * x) ** 2


@kernel
def gradient(fid, x, y, out):
    """(∂f/∂x, ∂f/∂y) into ``out[0:2]``."""
    if fid == ROSENBROCK:
        r = y - x * x
        out[0] = -2.0 * (1.0 - x) - 400.0 * x * r
        out[1] = 200.0 * r
    elif fid == BEALE:
        y2 = y * y
        y3 = y2 * y
        t1 = 1.5 - x + x * y
        t2 = 2.25 - x + x * y2
        t3 = 2.625 - x + x * y3
        out[0] = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
        out[1] = 2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
    elif fid == HIMMELBLAU:
        a = x * x + y - 11.0
        b = x + y * y - 7.0
        out[0] = 4.0 * x * a + 2.0 * b
        out[1] = 2.0 * a + 4.0 * y * b
    elif fid == SADDLE:
        out[0] = 2.0 * x
        out[1] = y ** 3 - y
    elif fid == RAVINE:
        out[0] = 0.02 * x
        out[1] = 2.0 * y
    elif fid == RASTRIGIN:
        out[0] = 2.0 * x + 20.0 * math.pi * math.sin(2.0 * math.pi * x)
        out[1] = 2.0 * y + 20.0 * math.pi * math.sin(2.0 * math.pi * y)
    else:  # MOMENTUM
        r = 3.0 * y - x * x
        out[0] = -2.0 * (1.0 - x) - 80.0 * x * r
        out[1] = 120.0 * r


@kernel
def _grid(fid, xs, ys, out):
    for i in range(ys.shape[0]):
        for j in range(xs.shape[0]):
            out[i, j] = value(fid, xs[j], ys[i])


def grid_values(name: str, xs, ys) -> np.ndarray:
    """f on the grid: ``out[i, j] = f(xs[j], ys[i])`` (row i is ``ys[i]``)."""
    xs = np.ascontiguousarray(xs, dtype=np.float64)
    ys = np.ascontiguousarray(ys, dtype=np.float64)
    out = np.empty((len(ys), len(xs)))
    _grid(FUNCTIONS[name].id, xs, ys, out)
    return out


def evaluate(name: str, x: float, y: float) -> float:
    return float(value(FUNCTIONS[name].id, float(x), float(y)))


def grad(name: str, x: float, y: float) -> np.ndarray:
    out = np.empty(2)
    gradient(FUNCTIONS[name].id, float(x), float(y), out)
    return out


def nearest_minimum(name: str, x: float, y: float) -> tuple[int, float]:
    """(index of the nearest known minimum, Euclidean distance to it)."""
    m = np.array(FUNCTIONS[name].minima)
    d = np.hypot(m[:, 0] - x, m[:, 1] - y)
    i = int(np.argmin(d)) if np.isfinite(d).any() else 0
    return i, float(d[i])
