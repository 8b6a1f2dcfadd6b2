"""The loss surface of a live run, kept up to date in a background thread.

The training thread calls ``after_steps`` (cheap: it copies the parameters
into the bounded trajectory now and then, and projects the newest point on
the current slice). When the parameters have moved far enough from the
slice's centre, or the path has grown, it hands a copy of the parameters
to the surface thread, which computes a new slice and the 1-D line from the
initial to the current parameters. The UI only reads ``latest``: an
immutable ``SurfaceState``. Neither the UI nor training ever waits for a
slice.
"""

from dataclasses import dataclass, replace
import threading
import time

import numpy as np

from simtreino.analysis.landscape import (Trajectory, TrajectoryTooShort, loss_line,
                                          problem_from_trainer, surface_slice)

DIRECTIONS = ("pca", "random")
GRID_SIZES = (21, 41, 61)
# A new slice when the centre has moved by this fraction of the path so far
# (the drawn path would otherwise leave the picture), or the path has this
# many more points than the slice knew.
MOVE_FRACTION = 0.15
NEW_POINTS = 8
LINE_TS = np.linspace(-0.25, 1.25, 61)


@dataclass(frozen=True)
class SurfaceState:
    slice: object                   # analysis.landscape.SurfaceSlice
    path: np.ndarray                # (k, 2): the slice's path, then points projected since
    path_steps: np.ndarray          # (k,)
    line_ts: np.ndarray             # the 1-D slice: t = 0 initial, t = 1 current parameters
    line_losses: np.ndarray
    step: int                       # the training step of the slice's centre
    directions: str                 # what was asked: pca | random (pca falls back to random)
    grid: int
    seconds: float                  # how long the slice took
    samples: int                    # training samples the loss is measured on


class SurfaceWatcher:
    def __init__(self, trainer, *, directions: str = "pca", grid: int = 41, seed: int = 0,
                 max_samples: int = 1000):
        self.problem = problem_from_trainer(trainer, max_samples=max_samples, seed=seed)
        self.trajectory = Trajectory.for_trainer(trainer)
        self.initial = trainer.initial_theta.copy()
        self.directions = directions
        self.grid = grid
        self.extent_scale = 1.0
        self.seed = seed
        self.latest: SurfaceState | None = None
        self._pending = None            # (step, theta) waiting for the surface thread
        self._busy = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._gram = None               # for projecting new points on the current plane
        self._extra: list[tuple[int, float, float]] = []
        self._since = 0                 # trajectory points appended since the last slice
        self._last_step = -1
        self._thread = threading.Thread(target=self._loop, name="simtreino-surface",
                                        daemon=True)
        self._thread.start()

    # ------------------------------------------------- the training thread
    def after_steps(self, trainer, force: bool = False) -> None:
        """Record the current parameters (the training thread, between
        chunks) and ask for a new slice when it is due."""
        step = trainer.step
        if step == self._last_step and not force:
            return
        self._last_step = step
        theta = trainer.theta
        self.trajectory.append(step, theta)
        self._since += 1
        self._project_new(step, theta)
        st = self.latest
        if force or st is None or self._due(theta, st):
            self._request(step, theta.copy(), self._state_of(trainer))

    def _due(self, theta, st) -> bool:
        if self._since >= NEW_POINTS and st.slice.kind == "pca":
            return True
        span = np.linalg.norm(st.slice.center - self.initial) + 1e-12
        return np.linalg.norm(theta - st.slice.center) > MOVE_FRACTION * span

    def _project_new(self, step, theta) -> None:
        """Put the newest point on the current slice's plane (least squares,
        like the slice's own path), so the path grows between slices."""
        # under the lock: the surface thread may be replacing the slice
        with self._lock:
            st = self.latest
            if st is None:
                return
            s = st.slice
            if self._gram is None or self._gram[0] is not s:
                G = np.array([[s.d1 @ s.d1, s.d1 @ s.d2], [s.d2 @ s.d1, s.d2 @ s.d2]], float)
                self._gram = (s, np.linalg.pinv(G))
            delta = theta - s.center
            ab = self._gram[1] @ np.array([s.d1 @ delta, s.d2 @ delta], float)
            self._extra.append((step, float(ab[0]), float(ab[1])))
            if len(self._extra) > 512:          # bounded: keep every other one
                self._extra = self._extra[::2]
            extra = np.array(self._extra)
            self.latest = replace(st, path=np.vstack([s.path, extra[:, 1:]]),
                                  path_steps=np.concatenate([s.path_steps,
                                                             extra[:, 0].astype(np.int64)]))

    def _state_of(self, trainer):
        """The problem with the trainer's current batch-norm running
        statistics and penalty (taken in the training thread, with theta)."""
        self.problem = self.problem.with_trainer_state(trainer)
        return self.problem

    def _request(self, step, theta, problem) -> None:
        with self._lock:
            self._pending = (step, theta, problem)
        self._wake.set()

    # ---------------------------------------------------------- settings
    def configure(self, *, directions=None, grid=None, extent_scale=None) -> None:
        """Change how slices are made (the UI thread); a new one follows."""
        if directions is not None:
            self.directions = directions
        if grid is not None:
            self.grid = int(grid)
        if extent_scale is not None:
            self.extent_scale = float(extent_scale)
        latest = self.trajectory.latest()
        if latest is not None:
            self._request(latest[0], latest[1], self.problem)

    def reset(self, trainer) -> None:
        """A new run started (reset, reseed): forget the old path."""
        self.trajectory.clear()
        self.initial = trainer.initial_theta.copy()
        with self._lock:
            self._extra = []
        self.latest = None
        self._last_step = -1
        self.after_steps(trainer, force=True)

    def compute_now(self, trainer) -> None:
        """The slice around the trainer's parameters, in the calling thread
        (screenshots and tests want the picture of that very moment)."""
        self.trajectory.append(trainer.step, trainer.theta)
        self._compute(trainer.step, trainer.theta.copy(), self._state_of(trainer))

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(5.0)

    # --------------------------------------------------- the surface thread
    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            with self._lock:
                job, self._pending = self._pending, None
            if job is None or self._stop.is_set():
                continue
            self._compute(*job)

    def _compute(self, step, theta, problem) -> None:
        t0 = time.perf_counter()
        kind = self.directions
        traj = self.trajectory if len(self.trajectory) else None
        # One thread: a slice on both cores starves the training thread's
        # BLAS calls (MNIST epochs went from 0.05 s to 2 s); in the
        # background a slice may take a second longer, nobody waits for it.
        opts = dict(trajectory=traj, grid=self.grid, seed=self.seed,
                    extent_scale=self.extent_scale, threads=1)
        try:
            s = surface_slice(problem, theta, directions=kind, **opts)
        except TrajectoryTooShort:
            # PCA needs a path that spans a plane: random directions meanwhile
            s = surface_slice(problem, theta, directions="random", **opts)
        line = loss_line(problem, self.initial, theta, LINE_TS, threads=1)
        state = SurfaceState(slice=s, path=s.path, path_steps=s.path_steps,
                             line_ts=LINE_TS, line_losses=np.asarray(line), step=int(step),
                             directions=kind, grid=self.grid,
                             seconds=time.perf_counter() - t0, samples=problem.n_samples)
        with self._lock:
            self._extra = []
            self._since = 0
            self.latest = state
