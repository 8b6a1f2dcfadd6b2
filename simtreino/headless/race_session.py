"""A live optimizer race: the engine room of the race screen.

Like ``LiveSession`` for networks: one worker thread owns the race and
advances it at the asked pace; other threads queue commands and read
``session.view``, an immutable ``RaceView`` replaced ~20 times a second.
A race is cheap (microseconds a step), so the pace is what keeps it
watchable: by default the whole race takes about ten seconds.
"""

from dataclasses import dataclass, field
import queue
import threading
import time

import numpy as np

from simtreino.core.functions2d import FUNCTIONS, grid_values

from .race_run import RaceRunner, racer_results

SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, None)
PUBLISH_SECONDS = 1 / 20
CHUNK_SECONDS = 1 / 50
SURFACE_SHAPE = (120, 200)       # rows, columns of the drawn surface (resampled by the widget)
# Paths longer than this are thinned for drawing (a terminal shows a few
# hundred cells across; copying 100,000 points 20 times a second is waste).
MAX_DRAWN_POINTS = 4000


@dataclass(frozen=True)
class Surface:
    values: np.ndarray            # (rows, cols); row 0 is y = ymax (drawing order)
    extent: tuple                 # (xmin, xmax, ymin, ymax)
    scale: str                    # linear | log


@dataclass(frozen=True)
class RaceView:
    version: int
    state: str                    # paused | training | finished
    scenario: object
    step: int
    steps: int                    # the race's length
    paths: np.ndarray             # (racers, step + 1, 2), a copy
    losses: np.ndarray            # (racers, step + 1)
    racers: tuple                 # RacerResult per racer (point, loss, distance, divergence)
    speed: int | None
    recording: str | None = None
    message: str = ""
    message_args: dict = field(default_factory=dict)


def surface_of(scenario, shape=SURFACE_SHAPE) -> Surface:
    """The function over the scenario's domain, ready to draw."""
    s = scenario.surface
    xmin, xmax, ymin, ymax = s.domain
    rows, cols = shape
    xs = np.linspace(xmin, xmax, cols)
    ys = np.linspace(ymax, ymin, rows)      # top row first
    return Surface(grid_values(s.function, xs, ys), (xmin, xmax, ymin, ymax), s.scale)


class RaceSession:
    def __init__(self, scenario, *, speed: int | None | str = "auto"):
        self.scenario = scenario
        self.spec = FUNCTIONS[scenario.surface.function]
        self.surface = surface_of(scenario)
        self._runner = RaceRunner(scenario)
        self.speed = self._auto_speed() if speed == "auto" else speed
        self.playing = False
        self.state = "paused"
        self._commands: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._due = None
        self._version = 0
        self._last_pub = 0.0
        self._message, self._message_args = "", {}
        self.view = self._make_view()
        self._thread = threading.Thread(target=self._loop, name="simtreino-race", daemon=True)

    @property
    def race(self):
        return self._runner.race

    def _auto_speed(self):
        want = self.scenario.steps / 10
        for s in SPEEDS[:-1]:
            if s >= want:
                return s
        return None

    # ------------------------------------------------------------ control
    def start(self) -> "RaceSession":
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._stop_recording()

    def _send(self, fn) -> None:
        self._commands.put(fn)
        self._wake.set()

    def toggle(self) -> None:
        self._send(lambda: self._set_playing(not self.playing))

    def play(self) -> None:
        self._send(lambda: self._set_playing(True))

    def pause(self) -> None:
        self._send(lambda: self._set_playing(False))

    def step(self, n: int = 1) -> None:
        self._send(lambda: self._step(n))

    def faster(self) -> None:
        self._send(lambda: self._change_speed(+1))

    def slower(self) -> None:
        self._send(lambda: self._change_speed(-1))

    def reset(self) -> None:
        self._send(self._reset)

    def toggle_recording(self, path) -> None:
        self._send(lambda: self._toggle_recording(path))

    def advance_now(self, n: int) -> None:
        """Run ``n`` steps in the calling thread, before the worker starts
        (screenshots: the picture shows the race at a chosen step)."""
        if self._thread.is_alive():
            raise RuntimeError("advance_now() is for a session whose worker has not started")
        self._step(n)
        self.view = self._make_view()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every queued command has run (tests, screenshots)."""
        done = threading.Event()
        self._send(done.set)
        done.wait(timeout)

    # ------------------------------------------------------ in the worker
    def _rest_state(self) -> str:
        return "finished" if self.race.done else "paused"

    def _set_playing(self, on: bool) -> None:
        if on and self.race.done:
            return
        self.playing = on
        self._due = None
        self.state = "training" if on else self._rest_state()

    def _step(self, n: int) -> None:
        self._set_playing(False)
        self._advance(n)
        self.state = self._rest_state()

    def _change_speed(self, direction: int) -> None:
        i = SPEEDS.index(self.speed) if self.speed in SPEEDS else len(SPEEDS) - 1
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i + direction))]
        self._due = None

    def _reset(self) -> None:
        path = self._stop_recording()
        self._runner = RaceRunner(self.scenario)
        self._set_playing(False)
        self._note("race_reset")
        if path:
            self._note("recording_stopped", path=path)

    def _toggle_recording(self, path) -> None:
        if self._runner.writer is not None:
            self._note("recording_stopped", path=self._stop_recording())
            return
        # A race has no events: a trace started now still replays from step 0.
        step = self.race.step
        runner = RaceRunner(self.scenario, record=path)
        runner.advance_to(step)
        self._runner = runner
        self._note("recording_started", path=str(path))

    def _stop_recording(self) -> str | None:
        w = self._runner.writer
        if w is None or w.closed:
            return None
        runner = self._runner
        runner.finish(interrupted=not self.race.done)
        runner.status = runner.writer = None    # finish() marks the runner done: the race goes on
        return w.path

    def _note(self, key: str, **args) -> None:
        self._message, self._message_args = key, args

    def _advance(self, n: int) -> int:
        done = 0
        while done < n and not self.race.done:
            k = self._runner.advance(n - done)
            if k == 0:
                break
            done += k
        return done

    def _loop(self) -> None:
        try:
            self._publish(force=True)
            while not self._stop.is_set():
                self._drain()
                if self.playing:
                    self._play_chunk()
                else:
                    self._wake.wait(0.1)
                    self._wake.clear()
                self._publish(force=False)
        finally:
            self._stop_recording()

    def _drain(self) -> None:
        while True:
            try:
                fn = self._commands.get_nowait()
            except queue.Empty:
                return
            fn()
            self._publish(force=True)

    def _play_chunk(self) -> None:
        if self.speed is None:
            self._advance(1000)
        else:
            now = time.perf_counter()
            due = now if self._due is None or self._due < now - 0.2 else self._due
            n = max(1, int(round(self.speed * CHUNK_SECONDS)))
            self._advance(n)
            self._due = due + n / self.speed
            rest = self._due - time.perf_counter()
            if rest > 0:
                self._wake.wait(rest)
                self._wake.clear()
        if self.race.done:
            self.playing = False
            self.state = "finished"

    def _publish(self, force: bool) -> None:
        now = time.perf_counter()
        if not force and (now - self._last_pub < PUBLISH_SECONDS or not self.playing and self.view.state == self.state):  # nothing new while idle
            return
        self._last_pub = now
        self.view = self._make_view()

    def _make_view(self) -> RaceView:
        race = self.race
        self._version += 1
        k = race.step
        idx = slice(0, k + 1)
        if k + 1 > MAX_DRAWN_POINTS:
            idx = np.unique(np.linspace(0, k, MAX_DRAWN_POINTS).round().astype(np.int64))
        w = self._runner.writer
        return RaceView(
            version=self._version, state=self.state, scenario=self.scenario, step=k,
            steps=race.capacity, paths=race.path[:, idx].copy(),
            losses=race.losses[:, idx].copy(), racers=tuple(racer_results(race)),
            speed=self.speed, recording=w.path if w is not None and not w.closed else None,
            message=self._message, message_args=dict(self._message_args))
