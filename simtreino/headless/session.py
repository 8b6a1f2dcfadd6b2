"""A live training session: the engine room of the terminal UI.

One worker thread owns the trainer and does every computation (training
steps, the decision-boundary grid, histograms); other threads only queue
commands and read ``session.view``, an immutable ``LiveView`` that the
worker replaces (one reference assignment) at most ~15 times a second.
Nothing here imports the UI, so the session is tested without a screen.
"""

from dataclasses import dataclass, field
import math
import queue
import threading
import time

import numpy as np

from simtreino.core.history import Decimated
from simtreino.core.jit import cache_is_warm
from simtreino.scenario.build import build_dataset

from .digits_view import digits_state
from .params import save_params
from .runner import Runner

# Conditions a run can be sent to ("run until ..."); those with a number take one.
BREAKPOINTS = ("loss_below", "loss_above", "grad_norm_above", "dead_relu", "nan")
BREAKPOINT_NEEDS_VALUE = ("loss_below", "loss_above", "grad_norm_above")

# Speed levels for + and - (steps per second; None = as fast as it goes).
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000, None)
PUBLISH_SECONDS = 1 / 20
CHUNK_SECONDS = 1 / 50
GRID_SECONDS = 0.25          # how often the decision boundary is recomputed
DIGITS_SECONDS = 0.5         # MNIST panels: ~4 ms per update, twice a second
GRID_SHAPE = (48, 96)        # rows, columns of the boundary field
CURVE_POINTS = 200           # a 1-D regression's predicted curve


@dataclass(frozen=True)
class Field:
    """The network's output over the input plane (2-D data) or line (1-D)."""
    kind: str                 # "classes" | "values" | "curve"
    values: np.ndarray        # classes: (rows, cols, k) probabilities; values: (rows, cols); curve: (n,)
    extent: tuple             # (xmin, xmax, ymin, ymax); row 0 is y = ymax
    xs: np.ndarray | None = None   # curve: the inputs


@dataclass(frozen=True)
class LiveView:
    """Everything the dashboard draws, as of one moment."""
    version: int
    state: str                     # compiling | paused | training | finished | diverged
                                   # | stopped (early stopping ended the run)
    scenario: object
    snapshot: object               # core Snapshot, with histograms
    target_epochs: int
    speed: int | None              # the speed asked for (steps/s), None = max
    measured_speed: float          # steps/s over the last second of training
    epochs: dict                   # epoch history columns (downsampled)
    steps: tuple                   # (step numbers, batch losses), downsampled
    grad_norms: np.ndarray         # (points, 1 + layers): step, then each layer's gradient norm
    weight_bands: tuple            # per layer: (points, 6): step, min, p25, median, p75, max
    field: Field | None
    data_points: dict              # "train" / "val": (x, labels-or-targets)
    recording: str | None
    message: str = ""
    message_args: dict = field(default_factory=dict)
    optimizer: str = ""
    hyper: dict = field(default_factory=dict)
    schedule: str = "constant"
    schedule_params: dict = field(default_factory=dict)
    batch_size: int = 0
    full_batch: bool = True
    n_train: int = 0
    breakpoint: tuple | None = None    # (kind, value) while running to one
    break_hit: tuple | None = None     # (kind, value, step, detail) of the last one reached
    break_id: int = 0
    inspection: dict | None = None     # the last step explained phase by phase
    inspection_id: int = 0
    gradcheck: object = None            # the last gradient check (analysis.GradCheck)
    gradcheck_id: int = 0
    surface: object = None             # headless.surface_watch.SurfaceState, when watched
    digits: object = None              # headless.digits_view.DigitsState, for image data (MNIST)
    sample_index: int = 0
    sample_values: tuple = ()      # the sample's values at the input and after each layer
    seed: int = 0
    runs: tuple = ()                   # (label, epoch history) of every run compared ([[runs]])
    findings: tuple = ()               # analysis.diagnostics.Finding of the run shown, as raised
    run_index: int = 0                 # the run the other panels show
    # the training craft in force (live-editable through set_hyper): l1, l2,
    # clip_grad_norm, clip_grad_value, dropout (a tuple, one p per layer) and
    # early_stopping ({monitor, patience, min_delta, restore_best}, or None);
    # where early stopping stands is snapshot.early_stop, the penalty
    # snapshot.penalty, the clipping snapshot.grad_norm / clip_coef
    craft: dict = field(default_factory=dict)


class LiveSession:
    def __init__(self, scenario, *, seed=None, speed: int | None | str = "auto"):
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self._commands: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.playing = False
        self.state = "paused"
        # On a cold Numba cache the first training call and the first
        # prediction compile for tens of seconds: say so meanwhile.
        self._warm = cache_is_warm()
        self.dataset = build_dataset(scenario)
        # [[runs]]: one runner per run, trained in lockstep from the same
        # initial weights; the panels show the selected one (key m)
        self._variants = scenario.variants()
        self._sel = 0
        self._new_runner()
        self.speed = self._auto_speed() if speed == "auto" else speed
        self._rates: list[tuple[float, int]] = []
        self.sample_index = 0
        self._last_grid = -math.inf
        self._field = None
        self._message, self._message_args = "", {}
        self._version = 0
        self._last_pub = -math.inf
        self._chunk = 1                 # steps per chunk at full speed (adapts)
        self._due = None                # the paced timeline (None: start afresh)
        self._breakpoint = None         # (kind, value) while running to one
        self._dead_at_start = set()
        self._break_hit, self._break_id = None, 0
        self._inspection, self._inspection_id = None, 0
        self._gradcheck_result, self._gradcheck_id = None, 0
        self._surface = None            # a SurfaceWatcher while someone looks at the surface
        self._digits = None
        self._digits_at, self._digits_step = -math.inf, None
        self.view: LiveView = self._make_view()
        self._thread = threading.Thread(target=self._loop, name="simtreino-trainer", daemon=True)

    # ------------------------------------------------------------ control
    def start(self) -> "LiveSession":
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker (closing an open trace) and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        else:
            self._runner.stop_recording()
        if self._surface is not None:
            self._surface.close()

    def watch_surface(self, on: bool = True) -> None:
        """Keep the loss surface around the parameters up to date (in a
        thread of its own) while ``on``; it costs nothing when off."""
        self._send(lambda: self._watch_surface(on))

    def configure_surface(self, **settings) -> None:
        """directions ('pca' | 'random'), grid (points per axis), extent_scale."""
        self._send(lambda: self._surface and self._surface.configure(**settings))

    def _send(self, fn) -> None:
        self._commands.put(fn)
        self._wake.set()

    def toggle(self) -> None:
        self._send(self._toggle)

    def play(self) -> None:
        self._send(lambda: self._set_playing(True))

    def pause(self) -> None:
        self._send(lambda: self._set_playing(False))

    def step(self, n: int = 1) -> None:
        self._send(lambda: self._advance_paused(n))

    def epoch(self) -> None:
        self._send(self._one_epoch)

    def faster(self) -> None:
        self._send(lambda: self._change_speed(+1))

    def slower(self) -> None:
        self._send(lambda: self._change_speed(-1))

    def reset(self, reseed: bool = False) -> None:
        self._send(lambda: self._reset(reseed))

    def set_hyper(self, changes: dict) -> None:
        """Apply settings (``lr``, optimizer hyperparameters, ``optimizer``,
        ``batch_size``) before the next step; each is recorded as an event."""
        self._send(lambda: self._set_hyper(changes))

    def run_until(self, kind: str, value: float | None = None) -> None:
        """Train (step by step, as fast as it goes) until ``kind`` happens —
        loss below/above ``value``, global gradient norm above ``value``, a
        ReLU unit silent on every training sample, or a NaN/Inf loss — and
        stop just BEFORE the step where it happened, so the inspector shows
        that very step. ``view.break_hit`` says what was reached."""
        if kind not in BREAKPOINTS:
            raise ValueError(f"unknown breakpoint {kind!r}; expected one of {', '.join(BREAKPOINTS)}")
        if kind in BREAKPOINT_NEEDS_VALUE and value is None:
            raise ValueError(f"breakpoint {kind} needs a value")
        self._send(lambda: self._start_break(kind, value))

    def inspect_step(self) -> None:
        """Pause and run ONE step phase by phase; its records arrive as
        ``view.inspection`` (``explain``'s dict) with a new ``inspection_id``."""
        self._send(self._inspect)

    def check_gradients(self, max_params: int = 300) -> None:
        """Finite differences against backprop for the next step's batch
        (``view.gradcheck``); the trainer is left as it was."""
        self._send(lambda: self._gradcheck(max_params))

    def select_sample(self, delta: int) -> None:
        """The training sample the network view shows (wraps around)."""
        self._send(lambda: self._select_sample(delta))

    def save_params(self, path) -> None:
        self._send(lambda: self._save(path))

    def toggle_recording(self, path) -> None:
        self._send(lambda: self._toggle_recording(path))

    def train_now(self, epochs: int, surface: bool = True) -> None:
        """Train ``epochs`` in the calling thread, then publish the view.
        Only before ``start()`` (screenshots, tests): afterwards the worker
        owns the trainer. ~200 chunks, so the per-layer histories (logged
        once a chunk) have points."""
        if self._thread.is_alive():
            raise RuntimeError("train_now() is for a session whose worker has not started")
        tr = self.trainer
        target = tr.epoch + epochs
        chunk = max(1, epochs * tr.steps_per_epoch // 200)
        if surface:
            self._watch_surface(True)
        while tr.epoch < target and not tr.halted:
            self._run(chunk, stop_epoch=target)
            if self._surface is not None:
                self._surface.after_steps(tr)
        self.state = self._rest_state()
        self._compute_field(force=True)
        if self._surface is not None:
            self._surface.compute_now(tr)
        self._publish(force=True)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until the worker has run every queued command (tests)."""
        done = threading.Event()
        self._send(done.set)
        done.wait(timeout)

    # ---------------------------------------------------- worker helpers
    @property
    def trainer(self):
        return self._runner.trainer

    @property
    def _runner(self) -> Runner:
        return self._runners[self._sel]

    @property
    def run_scenario(self):
        """The scenario of the selected run (the scenario itself without [[runs]])."""
        return self._variants[self._sel][1]

    def select_run(self, delta: int) -> None:
        self._send(lambda: self._select_run(delta))

    def _new_runner(self) -> None:
        self._runners = []
        for _, variant in self._variants:
            r = Runner(variant, seed=self.seed, dataset=self.dataset)
            r.target_epoch = 10 ** 12   # the person decides when to stop
            self._runners.append(r)
        self.target_epochs = self.scenario.training.epochs
        self._new_logs()

    def _new_logs(self) -> None:
        n_layers = len(self._runner.trainer.arch.layers)
        self._grad_log = Decimated(1 + n_layers, 2048)
        self._weight_logs = [Decimated(6, 1024) for _ in range(n_layers)]
        self._last_grid = -math.inf
        self._went_on = False

    def _select_run(self, delta: int):
        if len(self._runners) < 2:
            return
        if self._runner.writer is not None:          # a trace belongs to one run
            self._note("recording_stopped", path=self._runner.stop_recording())
        self._sel = (self._sel + delta) % len(self._runners)
        self._new_logs()
        if self._surface is not None:
            self._surface.reset(self.trainer)
        self._digits_step = None
        if not self.playing:
            self.state = self._rest_state()   # the run shown may have ended differently
        self._note("run_selected", label=self._variants[self._sel][0])

    def _keep_up(self) -> None:
        """The runs not shown follow the shown one: the same share of an
        epoch (their batch sizes may differ)."""
        main = self.trainer
        progress = main.step / max(1, main.steps_per_epoch)
        for r in self._runners:
            tr = r.trainer
            if r is self._runner or tr.halted:
                continue
            target = int(round(progress * tr.steps_per_epoch))
            while tr.step < target and not tr.halted:
                r.advance(target - tr.step)

    def _watch_surface(self, on: bool):
        from .surface_watch import SurfaceWatcher
        if on and self._surface is None:
            self._surface = SurfaceWatcher(self.trainer, seed=self.seed)
            self._surface.after_steps(self.trainer, force=True)
        elif not on and self._surface is not None:
            self._surface.close()
            self._surface = None

    def _auto_speed(self):
        """A pace that shows the planned run in about ten seconds."""
        total = self.target_epochs * self.trainer.steps_per_epoch
        want = total / 10
        for s in SPEEDS[:-1]:
            if s >= want:
                return s
        return None

    def _toggle(self):
        self._set_playing(not self.playing)

    def _set_playing(self, on: bool):
        if on and self.trainer.halted:
            return
        if not on:
            self._breakpoint = None     # pausing cancels a run to a breakpoint
        self.playing = on
        self.state = "training" if on else self._rest_state()

    def _rest_state(self) -> str:
        if self.trainer.diverged:
            return "diverged"
        if self.trainer.stopped_early:
            return "stopped"
        if self.trainer.epoch >= self.target_epochs:
            return "finished"
        return "paused"

    def _advance_paused(self, n: int):
        self._set_playing(False)
        self._run(n)
        self.state = self._rest_state()

    def _one_epoch(self):
        self._set_playing(False)
        tr = self.trainer
        target = tr.epoch + 1
        while tr.epoch < target and not tr.halted and not self._stop.is_set():
            self._run(max(1, tr.steps_per_epoch), stop_epoch=target)
            self._publish(force=False)
        self.state = self._rest_state()

    def _change_speed(self, direction: int):
        i = SPEEDS.index(self.speed) if self.speed in SPEEDS else len(SPEEDS) - 1
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i + direction))]

    def _reset(self, reseed: bool):
        path = self._runner.stop_recording()
        if reseed:
            self.seed = int(np.random.SeedSequence().generate_state(1)[0] % (2 ** 31))
        self._new_runner()
        if self._surface is not None:
            self._surface.reset(self.trainer)
        self._set_playing(False)
        self._note("reset_reseed" if reseed else "reset", seed=self.seed)
        if path:
            self._note("recording_stopped", path=path)

    def _set_hyper(self, changes: dict):
        tr = self.trainer
        # the optimizer first: its other settings belong to the new kind
        items = sorted(changes.items(), key=lambda kv: kv[0] != "optimizer")
        for key, value in items:
            if key == "batch_size":
                why = self._lone_sample_batch(value)
                if why:
                    self._note("setting_refused", key=key, why=why)
                    return
            try:
                tr.set_hyper(key, value)
            except (KeyError, ValueError) as e:
                self._note("setting_refused", key=key, why=str(e))
                return
        self._note("settings_applied", keys=", ".join(k for k, _ in items))

    def _lone_sample_batch(self, value) -> str | None:
        """Why batch normalisation refuses batches of ``value``, or None."""
        from simtreino.scenario.build import lone_sample_batch
        from simtreino.scenario.load import first_batchnorm
        bn = first_batchnorm(self.run_scenario.model)
        if bn is None or isinstance(value, bool) or not (value == "full" or isinstance(value, int)):
            return None    # the trainer judges the value itself
        problem = lone_sample_batch(len(self.trainer.train), None if value == "full" else value)
        if problem is None:
            return None
        return (f"batch normalisation (model.layers[{bn}].batchnorm) needs at least 2 "
                f"samples in every batch, {problem}")

    def _start_break(self, kind, value):
        if self.trainer.halted:
            return
        self._breakpoint = (kind, value)
        self._dead_at_start = set(self.trainer.dead_units()) if kind == "dead_relu" else set()
        self._set_playing(True)

    def _break_chunk(self):
        """Steps one at a time (each one undoable) until the condition holds."""
        kind, value = self._breakpoint
        tr = self.trainer
        end = time.perf_counter() + CHUNK_SECONDS
        while time.perf_counter() < end and self._commands.empty():
            saved = tr.save_state()
            self._runner.advance(1)
            step = tr.step
            detail = ""
            if kind == "nan" and not tr.stopped_early:
                hit = tr.diverged
            elif tr.halted:           # diverged or stopped early before the condition
                self._breakpoint = None
                self._set_playing(False)
                if tr.stopped_early:
                    self._note_stopped()
                return
            else:
                loss = float(tr.snapshot().last_loss)
                if kind == "loss_below":
                    hit, detail = loss < value, f"{loss:.6g}"
                elif kind == "loss_above":
                    hit, detail = loss > value, f"{loss:.6g}"
                elif kind == "grad_norm_above":
                    g = float(np.linalg.norm(tr.grad))
                    hit, detail = g > value, f"{g:.6g}"
                else:  # dead_relu
                    new = sorted(set(tr.dead_units()) - self._dead_at_start)
                    hit = bool(new)
                    detail = ", ".join(f"{l + 1}:{u + 1}" for l, u in new[:5])
            if hit:
                tr.restore_state(saved)     # back to just before the step it happened in
                self._breakpoint = None
                self._break_hit = (kind, value, step, detail)
                self._break_id += 1
                self._set_playing(False)
                self._note("breakpoint_hit", step=step, what=kind, detail=detail)
                self._log_layers()
                return
        self._log_layers()

    def _inspect(self):
        from .explain import explain_trainer
        self._set_playing(False)
        if self.trainer.halted:
            return
        before = self.trainer.step
        self._inspection = explain_trainer(self.trainer, name=self.run_scenario.name)
        self._inspection_id += 1
        self._rates.append((time.perf_counter(), self.trainer.step - before))
        self._log_layers()
        self.state = self._rest_state()

    def _gradcheck(self, max_params: int):
        from simtreino.analysis.gradcheck import gradient_check
        if self.trainer.halted:
            return
        self._gradcheck_result = gradient_check(self.trainer, max_params=max_params)
        self._gradcheck_id += 1

    def _select_sample(self, delta: int):
        self.sample_index = (self.sample_index + delta) % max(1, len(self.dataset.x_train))

    def _save(self, path):
        try:
            save_params(path, self.trainer)
            self._note("params_saved", path=str(path))
        except OSError as e:
            self._note("save_failed", path=str(path), why=e.strerror or str(e))

    def _toggle_recording(self, path):
        if self._runner.writer is not None:
            done = self._runner.stop_recording()
            self._note("recording_stopped", path=done)
        else:
            try:
                self._runner.start_recording(path)
                self._note("recording_started", path=str(path))
            except OSError as e:
                self._note("save_failed", path=str(path), why=e.strerror or str(e))

    def _note(self, message: str, /, **args):
        # positional-only: a note's own arguments may be called "key"
        self._message, self._message_args = message, args

    def _compiling(self, fn):
        """Run ``fn`` (which compiles kernels) under the "compiling" state."""
        self.state = "compiling"
        self.view = self._make_view()
        try:
            return fn()
        finally:
            self.state = "training" if self.playing else self._rest_state()

    def _run(self, n: int, stop_epoch: int | None = None) -> int:
        tr = self.trainer
        before = tr.step
        if self._warm:
            self._runner.advance(n, stop_epoch)
        else:
            self._compiling(lambda: self._runner.advance(n, stop_epoch))
            self._warm = True
        done = tr.step - before
        if len(self._runners) > 1:
            self._keep_up()
        self._rates.append((time.perf_counter(), done))
        self._log_layers()
        if tr.diverged:
            self.playing = False
            self.state = "diverged"
        elif tr.stopped_early:
            self.playing = False
            self.state = "stopped"
            if done:
                self._note_stopped()
        return done

    def _note_stopped(self):
        """The message for the end early stopping gave the run."""
        es = self.trainer.early_stop_state()
        if es is None:
            return
        args = {"monitor": es.monitor, "wait": es.wait, "epoch": es.stopped_epoch,
                "best_epoch": es.best_epoch, "best": f"{es.best:.4g}"}
        key = ("stopped_early" if es.restored else "stopped_early_kept" if es.best_epoch
               else "stopped_early_none")
        self._note(key, **args)

    def _log_layers(self):
        tr = self.trainer
        step = float(tr.step)
        arch = tr.arch
        norms = [step]
        for i in range(len(arch.layers)):
            gw, gb = arch.weight(tr.grad, i), arch.bias(tr.grad, i)
            norms.append(math.sqrt(float(np.dot(gw.ravel(), gw.ravel()) + np.dot(gb, gb))))
            w = arch.weight(tr.theta, i).ravel()
            if np.all(np.isfinite(w)):
                q = np.percentile(w, [0, 25, 50, 75, 100])
                self._weight_logs[i].extend(np.concatenate([[step], q])[None, :])
        self._grad_log.extend(np.array(norms)[None, :])

    def _measured_speed(self) -> float:
        now = time.perf_counter()
        self._rates = [(t, n) for t, n in self._rates if now - t < 1.0]
        if not self._rates or not self.playing:
            return 0.0
        span = max(now - self._rates[0][0], CHUNK_SECONDS)
        return sum(n for _, n in self._rates) / span

    # ----------------------------------------------------------- the loop
    def _loop(self):
        try:
            if not self._warm:
                # Compile the prediction kernels before anyone presses a key.
                self._compiling(lambda: self._compute_field(force=True))
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
            self._runner.stop_recording()

    def _drain(self):
        while True:
            try:
                fn = self._commands.get_nowait()
            except queue.Empty:
                return
            fn()
            self._publish(force=True)

    def _play_chunk(self):
        tr = self.trainer
        if self._breakpoint:
            self._break_chunk()
            return
        if self.speed is None:
            n = self._chunk
            t0 = time.perf_counter()
            self._run(n)
            dt = time.perf_counter() - t0
            self._chunk = max(1, min(1 << 16, int(n * 2 if dt < CHUNK_SECONDS / 2 else
                                                   (n // 2 if dt > CHUNK_SECONDS * 2 else n))))
        else:
            # keep the pace on a timeline, so the time spent drawing and
            # logging between chunks does not slow the asked speed down
            now = time.perf_counter()
            due = now if self._due is None else self._due
            if due < now - 0.2:          # fell behind (a pause, a slow chunk): start afresh
                due = now
            n = max(1, int(round(self.speed * CHUNK_SECONDS)))
            self._run(n)
            self._due = due + n / self.speed
            rest = self._due - time.perf_counter()
            if rest > 0:
                self._wake.wait(rest)    # a key press wakes it early
                self._wake.clear()
        if tr.epoch >= self.target_epochs and self.playing and not self._went_on:
            # the planned run is over: stop once; pressing play again goes on
            self.playing = False
            self.state = "finished"
            self._went_on = True

    def _publish(self, force: bool):
        now = time.perf_counter()
        if not force and now - self._last_pub < PUBLISH_SECONDS:
            return
        self._last_pub = now
        self._compute_field(force=False)
        self._compute_digits(force)
        if self._surface is not None and not self.trainer.diverged:
            self._surface.after_steps(self.trainer)
        self.view = self._make_view()

    def _compute_digits(self, force: bool):
        """The MNIST panels' data: twice a second while the weights change,
        at once after a command (step, reset, ...)."""
        if getattr(self.dataset, "image_shape", None) is None:
            return
        tr, now = self.trainer, time.perf_counter()
        if tr.step == self._digits_step or (not force and now - self._digits_at < DIGITS_SECONDS):
            return
        self._digits_at, self._digits_step = now, tr.step
        self._digits = digits_state(tr, self.dataset,
                                    pixels=self.scenario.data.params.get("pixels", "unit"))

    def _compute_field(self, force: bool):
        now = time.perf_counter()
        if not force and now - self._last_grid < GRID_SECONDS:
            return
        self._last_grid = now
        self._field = boundary_field(self.trainer, self.dataset)

    def _make_view(self) -> LiveView:
        tr = self.trainer
        self._version += 1
        ds = self.dataset
        return LiveView(
            version=self._version, state=self.state, scenario=self.run_scenario,
            snapshot=tr.snapshot(histograms=True, include_params=tr.arch.n_params <= 20_000), target_epochs=self.target_epochs,
            speed=self.speed, measured_speed=self._measured_speed(),
            epochs=tr.epoch_history(), steps=tr.step_history(),
            grad_norms=self._grad_log.array(), weight_bands=tuple(w.array() for w in self._weight_logs),
            field=self._field,
            data_points={"train": (ds.x_train, ds.y_train), "val": (ds.x_val, ds.y_val)},
            recording=self._runner.writer.path if self._runner.writer is not None else None,
            message=self._message, message_args=dict(self._message_args),
            optimizer=tr.optimizer, hyper=dict(tr.hyper), schedule=tr.schedule,
            schedule_params=dict(tr.schedule_params),
            batch_size=tr.batch_size, full_batch=tr.full_batch, n_train=len(tr.train),
            sample_index=self.sample_index, sample_values=self._sample_values(), seed=self.seed,
            breakpoint=self._breakpoint, break_hit=self._break_hit, break_id=self._break_id,
            inspection=self._inspection, inspection_id=self._inspection_id,
            gradcheck=self._gradcheck_result, gradcheck_id=self._gradcheck_id,
            surface=self._surface.latest if self._surface is not None else None,
            digits=self._digits,
            runs=tuple((label, r.trainer.epoch_history())
                       for (label, _), r in zip(self._variants, self._runners))
            if len(self._runners) > 1 else (),
            run_index=self._sel,
            findings=tuple(self._runner.diagnostician.findings)
            if self._runner.diagnostician is not None else (),
            craft=craft_of(tr))

    def _sample_values(self) -> tuple:
        tr, x = self.trainer, self.dataset.x_train
        if len(x) == 0 or max([tr.arch.n_inputs] + [s.n_out for s in tr.arch.layers]) > 12:
            return ()
        return tuple(tr.activations(x[self.sample_index % len(x)]))


def craft_of(trainer) -> dict:
    """The training craft a trainer has in force (``LiveView.craft``)."""
    from simtreino.core.regularization import R_CLIP_NORM, R_CLIP_VALUE, R_L1, R_L2
    reg = trainer.reg
    es = trainer.early_stopping
    return {"l1": float(reg[R_L1]), "l2": float(reg[R_L2]),
            "clip_grad_norm": float(reg[R_CLIP_NORM]),
            "clip_grad_value": float(reg[R_CLIP_VALUE]),
            "dropout": tuple(float(p) for p in trainer.drop_p),
            "early_stopping": dict(es) if es else None}


def boundary_field(trainer, ds) -> Field | None:
    """The network's output over the data's plane (2 inputs) or line (1 input)."""
    x = ds.x_train
    if x.shape[1] not in (1, 2) or len(x) == 0:
        return None
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = np.where(hi > lo, (hi - lo) * 0.1, 1.0)
    lo, hi = lo - pad, hi + pad
    if x.shape[1] == 1:
        xs = np.linspace(lo[0], hi[0], CURVE_POINTS)
        out = trainer.predict(xs[:, None])[:, 0]
        return Field("curve", out, (lo[0], hi[0], float(out.min()), float(out.max())), xs)
    rows, cols = GRID_SHAPE
    gx = np.linspace(lo[0], hi[0], cols)
    gy = np.linspace(hi[1], lo[1], rows)           # row 0 at the top: y = ymax
    X, Y = np.meshgrid(gx, gy)
    out = trainer.predict(np.column_stack([X.ravel(), Y.ravel()]))
    extent = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
    if ds.task == "regression":
        return Field("values", out[:, 0].reshape(rows, cols), extent)
    if out.shape[1] == 1:
        # one output: the probability (or score) of class 1, split at the threshold
        p1 = out[:, 0]
        if trainer.threshold == 0.0:       # hinge scores: squash for display
            p1 = 1 / (1 + np.exp(-2 * p1))
        p1 = np.clip(p1, 0, 1)
        probs = np.stack([1 - p1, p1], axis=1)
    else:
        probs = out
        if trainer.loss_name not in ("cross_entropy", "kl_div"):
            # not a softmax: normalise the scores for display
            e = np.exp(out - out.max(axis=1, keepdims=True))
            probs = e / e.sum(axis=1, keepdims=True)
    return Field("classes", probs.reshape(rows, cols, -1), extent)
