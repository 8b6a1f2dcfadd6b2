"""Optimizer races: several optimizers descending the same 2-D function from
the same start, step by step.

Each racer is a two-parameter "network" (the point (x, y)) updated by the
very same ``optimizers.update`` kernel the network training uses, with its
own optimizer state and hyperparameters. The loop over steps and racers is
one compiled call, so 8 optimizers x 1,000 steps take well under a
millisecond once compiled. Every position is kept (the paths are drawn),
so a race is bounded by its number of steps, fixed when it is built.
"""

from dataclasses import dataclass
import math

import numpy as np

from .functions2d import FUNCTIONS, gradient, value
from .jit import kernel
from .optimizers import N_HYPER, OPTIMIZERS, STATE_NAMES, new_state, pack_hyper, update

RUNNING, DIVERGED = 0, 1
MAX_STATE_ROWS = 3          # the most state vectors an optimizer keeps (Adam's)
# A racer is stopped as diverged when its loss is not finite or it has left
# the function's domain by this factor of the domain's size.
ESCAPE_FACTOR = 1e3


@dataclass(frozen=True)
class Racer:
    label: str
    optimizer: str        # a name of OPTIMIZERS (sgd, momentum, ..., adamw)
    hyper: dict           # resolved hyperparameters (torch's names)


@kernel
def _race_steps(fid, n, theta, grad, kinds, states, counters, hypers, lrs, status,
                diverged_at, path, losses, pos, limit):
    """Advance every running racer ``n`` steps; positions and losses after
    each step go to ``path[:, pos+1]`` and ``losses[:, pos+1]``."""
    R = theta.shape[0]
    for _ in range(n):
        k = pos[0] + 1
        for r in range(R):
            if status[r] != RUNNING:
                path[r, k, 0] = path[r, k - 1, 0]
                path[r, k, 1] = path[r, k - 1, 1]
                losses[r, k] = losses[r, k - 1]
                continue
            gradient(fid, theta[r, 0], theta[r, 1], grad[r])
            update(kinds[r], theta[r], grad[r], states[r], counters[r], hypers[r], lrs[r])
            x = theta[r, 0]
            y = theta[r, 1]
            f = value(fid, x, y)
            if not (math.isfinite(f) and abs(x) < limit and abs(y) < limit):
                status[r] = DIVERGED
                diverged_at[r] = k
                # the path ends at the last finite point
                path[r, k, 0] = path[r, k - 1, 0]
                path[r, k, 1] = path[r, k - 1, 1]
                losses[r, k] = losses[r, k - 1]
                continue
            path[r, k, 0] = x
            path[r, k, 1] = y
            losses[r, k] = f
        pos[0] = k


class Race:
    """The state of one race: every racer's point, optimizer state and path.

    ``path[r, k]`` is racer r's point after k steps (``path[:, 0]`` the
    start); ``losses[r, k]`` the function there. Only the first
    ``step + 1`` entries are meaningful.
    """

    def __init__(self, function: str, start, racers, steps: int):
        if function not in FUNCTIONS:
            raise ValueError(f"unknown function {function!r}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.function = function
        self.spec = FUNCTIONS[function]
        self.start = (float(start[0]), float(start[1]))
        self.racers = list(racers)
        self.capacity = int(steps)
        xmin, xmax, ymin, ymax = self.spec.domain
        span = max(abs(xmin), abs(xmax), abs(ymin), abs(ymax), 1.0)
        self.limit = ESCAPE_FACTOR * span
        self.reset()

    def reset(self) -> None:
        """Back to the start with fresh optimizer state."""
        R = len(self.racers)
        self.theta = np.empty((R, 2))
        self.theta[:] = self.start
        self.grad = np.zeros((R, 2))
        self.kinds = np.array([OPTIMIZERS[r.optimizer][0] for r in self.racers], np.int64)
        self.states = np.zeros((R, MAX_STATE_ROWS, 2))
        for i, r in enumerate(self.racers):
            st = new_state(r.optimizer, r.hyper, 2, np.float64)
            self.states[i, :st.state.shape[0]] = st.state
        self.counters = np.zeros((R, 2), np.int64)
        self.hypers = np.zeros((R, N_HYPER))
        for i, r in enumerate(self.racers):
            self.hypers[i] = pack_hyper(r.optimizer, r.hyper)
        self.lrs = np.array([float(r.hyper["lr"]) for r in self.racers])
        self.status = np.full(R, RUNNING, np.int64)
        self.diverged_at = np.full(R, -1, np.int64)
        self.path = np.full((R, self.capacity + 1, 2), np.nan)
        self.path[:, 0] = self.start
        self.losses = np.full((R, self.capacity + 1), np.nan)
        self.losses[:, 0] = value(self.spec.id, *self.start)
        self._pos = np.zeros(1, np.int64)

    @property
    def step(self) -> int:
        return int(self._pos[0])

    @property
    def done(self) -> bool:
        return self.step >= self.capacity or bool((self.status != RUNNING).all())

    def run(self, n: int) -> int:
        """Advance up to ``n`` steps (never past the race's length); returns
        the steps done."""
        n = max(0, min(int(n), self.capacity - self.step))
        if n:
            _race_steps(self.spec.id, n, self.theta, self.grad, self.kinds, self.states,
                        self.counters, self.hypers, self.lrs, self.status, self.diverged_at,
                        self.path, self.losses, self._pos, self.limit)
        return n

    def points(self) -> np.ndarray:
        """(R, 2): where each racer is now (its last finite point)."""
        return self.path[:, self.step].copy()

    def current_losses(self) -> np.ndarray:
        return self.losses[:, self.step].copy()

    def distances(self) -> np.ndarray:
        """(R,): each racer's distance to the nearest known minimum."""
        p = self.points()
        m = np.array(self.spec.minima)
        d = np.hypot(p[:, None, 0] - m[None, :, 0], p[:, None, 1] - m[None, :, 1])
        return d.min(axis=1)

    def nearest(self) -> np.ndarray:
        """(R,): index of the nearest known minimum of each racer."""
        p = self.points()
        m = np.array(self.spec.minima)
        d = np.hypot(p[:, None, 0] - m[None, :, 0], p[:, None, 1] - m[None, :, 1])
        return d.argmin(axis=1)

    def diverged(self, r: int) -> bool:
        return self.status[r] == DIVERGED

    def state_of(self, r: int) -> dict:
        """Racer r's optimizer state by torch's names (a copy)."""
        kind = int(self.kinds[r])
        return {n: self.states[r, i].copy() for i, n in enumerate(STATE_NAMES[kind])}
