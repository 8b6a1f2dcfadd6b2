"""Running a scenario headlessly: in chunks, recording a trace as it goes.

``Runner`` owns one run: it builds the trainer, advances it in slices that
stop at every record step (so records land on exact steps, whatever the
chunk size), writes trainer events into the trace as they appear, and
closes the trace with an ``end`` line. ``run`` drives a Runner to the end
with a progress line, Ctrl+C handling and the ``[expect]`` verdict; the
``run`` command and ``simtreino.api.run`` are both this function.

A Runner also runs the training diagnostics (``analysis.diagnostics``):
a ``Diagnostician`` observes the trainer at its check steps (``advance``
stops there, inside one call), findings go into the trace as ``finding``
lines the moment they are raised, and ``RunResult.findings`` holds them
all (``[expect] diagnoses`` / ``no_diagnoses`` check them).
"""

from dataclasses import dataclass, field, replace
import math
import os
from pathlib import Path
import signal
import threading
import time

import numpy as np

import simtreino
from simtreino.analysis.diagnostics import Diagnostician
from simtreino.scenario.build import build_dataset, build_trainer, split_arrays

from .expect import CheckResult, check_expect
from .params import load_state, save_params
from .progress import CompileNotice, Progress
from .trace import TraceWriter

# Chunks adapt so each takes about this long: the progress line and Ctrl+C
# stay responsive on a 784-128-10 network and the per-call overhead stays
# negligible on XOR (hundreds of thousands of steps a second).
CHUNK_SECONDS = 0.05
MAX_CHUNK = 4096

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


class Verdict:
    """Pass/fail of a finished run from its ``status`` and ``checks`` (a
    network run's RunResult and a race's RaceResult)."""

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok]

    @property
    def passed(self) -> bool:
        """Finished (or diverged as expected) and every check holds."""
        return self.status != "interrupted" and not self.failures

    @property
    def exit_code(self) -> int:
        if self.status == "interrupted":
            return EXIT_INTERRUPTED
        return EXIT_OK if self.passed else EXIT_FAILED


@dataclass
class RunResult(Verdict):
    """The end of one run. ``status``: finished | diverged | interrupted (a
    run that early stopping ended is finished: ``stopped_early`` says so)."""
    scenario: object
    trainer: object
    snapshot: object
    status: str
    metrics: dict            # loss, accuracy, val_*, test_* (None: no such split)
    checks: list[CheckResult] = field(default_factory=list)
    steps: int = 0           # steps run by this run
    seconds: float = 0.0     # time spent training
    trace_path: str | None = None
    first_step_seconds: float = 0.0   # the first call loads or compiles the kernels
    findings: list = field(default_factory=list)   # analysis.diagnostics.Finding, as raised

    @property
    def steps_per_second(self) -> float:
        return steps_per_second(self.steps, self.seconds, self.first_step_seconds)

    @property
    def early_stop(self):
        """Where early stopping stands (``trainer.EarlyStop``), None when it is off."""
        return getattr(self.snapshot, "early_stop", None)

    @property
    def stopped_early(self) -> bool:
        """Early stopping ended the run before its last epoch."""
        return bool(getattr(self.snapshot, "stopped_early", False))


def steps_per_second(steps: int, seconds: float, first_step_seconds: float) -> float:
    """Speed after the first step: the first one loads (or compiles) the
    kernels and would make every short run look slow."""
    if steps > 1 and seconds > first_step_seconds:
        steps, seconds = steps - 1, seconds - first_step_seconds
    return steps / seconds if seconds > 0 else math.nan


def _positive_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


class Runner:
    """One run of a scenario, advanced by the caller.

    ``init_params``: a parameter file path or a flat array, loaded over the
    seeded initial weights (and embedded in the trace header, so a replay
    starts from the same numbers). ``record``: path of a trace to write.
    ``diagnose``: watch the run for training problems (``diagnostician``).
    """

    def __init__(self, scenario, *, epochs=None, seed=None, init_params=None, record=None,
                 record_every=None, dataset=None, diagnose: bool = True):
        s = scenario
        if epochs is not None:
            s = replace(s, training=replace(s.training, epochs=_positive_int("epochs", epochs)))
        if seed is not None:
            # The same as editing the file's seed: data and weights both follow it.
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
            s = replace(s, seed=int(seed))
        self.scenario = s
        self.dataset = dataset if dataset is not None else build_dataset(s)
        self.trainer = tr = build_trainer(s, dataset=self.dataset)
        self.init_theta = None
        if init_params is not None:
            if isinstance(init_params, (str, os.PathLike)):
                state = load_state(init_params, tr.arch, tr.dtype)
                theta = state.theta
                if state.bn_run is not None and len(state.bn_run):
                    tr.bn_run[...] = state.bn_run
                    tr.best_run[...] = state.bn_run
            else:
                theta = np.asarray(init_params, dtype=tr.dtype)
            tr.set_params(theta)
            self.init_theta = tr.theta.copy()
        self.target_epoch = s.training.epochs
        k = record_every if record_every is not None else s.training.record_every
        self.record_every = _positive_int("record_every", k) if k is not None else tr.steps_per_epoch
        self._next_record = self._after(tr.step)
        self._last_recorded = None
        self._with_penalty = False    # records carry the penalty once one has been on
        self._events_written = len(tr.events)
        self.steps = 0
        self.seconds = 0.0
        self.first_step_seconds = 0.0
        self.status = None       # set by finish()
        self.diagnose_seconds = 0.0
        # The diagnostics look at the initial parameters too (a poor
        # initialisation is named at step 0); checks are planned over the
        # scenario's epochs, and go on (ever sparser) past them.
        self.diagnostician = None
        if diagnose:
            t0 = time.perf_counter()
            self.diagnostician = Diagnostician.for_trainer(
                tr, scenario=s, planned_steps=s.training.epochs * tr.steps_per_epoch)
            self.diagnose_seconds += time.perf_counter() - t0
        self._findings_written = 0
        self.writer = None
        if record is not None:
            self.writer = TraceWriter(record, self._header())
            self._write_findings()

    def start_recording(self, path) -> None:
        """Start a trace in the middle of a run (the live UI's ``t``): the
        header describes the run from its start, every event so far is
        written, and records follow from the next record step. A replay
        re-runs from step 0 and compares from there."""
        self.stop_recording()
        self.writer = TraceWriter(path, self._header())
        self._events_written = 0
        self._findings_written = 0
        self._write_events()
        self._write_findings()
        self._last_recorded = None
        self._record()
        self._next_record = self._after(self.trainer.step)

    def stop_recording(self) -> str | None:
        """Close the current trace (final record and ``end`` line); returns its path."""
        w = self.writer
        if w is None or w.closed:
            return None
        tr = self.trainer
        try:
            self._record()
            self._write_events()
            status = "diverged" if tr.diverged else "finished"
            w.end(status, tr.step, tr.epoch, stopped_early=tr.stopped_early)
        finally:
            w.close()
        self.writer = None
        return w.path

    def _after(self, step: int) -> int:
        return (step // self.record_every + 1) * self.record_every

    def _header(self) -> dict:
        s = self.scenario
        theta = self.init_theta
        return {
            "simtreino": simtreino.__version__,
            "scenario": s.to_dict(),
            # Absolute: a replay from another folder still finds a csv next to
            # the scenario (replay falls back to the trace's own folder).
            "scenario_file": str(Path(s.source).resolve()) if s.source is not None else None,
            "seed": s.seed,
            "record_every": self.record_every,
            # float() of a float32 is exact and JSON floats round-trip float64
            # exactly, so the replay starts from the very same bits.
            "init_params": [float(v) for v in theta] if theta is not None else None,
            # where the diagnostics look: a replay observes at the same steps
            **({"diagnostics": {"every": self.diagnostician.every,
                                "planned": self.diagnostician.info.planned_steps}}
               if self.diagnostician is not None else {}),
        }

    # ------------------------------------------------------------- advancing
    @property
    def done(self) -> bool:
        tr = self.trainer
        return self.status is not None or tr.halted or tr.epoch >= self.target_epoch

    def advance(self, max_steps: int, stop_epoch: int | None = None) -> int:
        """Run up to ``max_steps`` steps, never past the next record step,
        the last epoch or the end of epoch ``stop_epoch``; returns the steps done."""
        if self.done or max_steps < 1:
            return 0
        tr = self.trainer
        self._write_events()
        self._with_penalty = self._with_penalty or tr.penalty_on
        n = max(1, int(max_steps))
        if self.writer is not None:   # without a trace there is nothing to stop for
            n = max(1, min(n, self._next_record - tr.step))
        t0 = time.perf_counter()
        diag0 = self.diagnose_seconds
        try:
            stop = self.target_epoch if stop_epoch is None else min(stop_epoch, self.target_epoch)
            done = run_diagnosed(tr, n, stop, self.diagnostician, self._on_findings,
                                 self._time_diagnosis)
        finally:
            dt = time.perf_counter() - t0 - (self.diagnose_seconds - diag0)
            self.seconds += dt
            if self.steps == 0:
                self.first_step_seconds = dt
        self.steps += done
        if tr.step >= self._next_record:
            self._record()
            self._next_record = self._after(tr.step)
        return done

    def advance_to(self, step: int) -> None:
        """Run until the trainer reaches ``step`` (or the run ends)."""
        while not self.done and self.trainer.step < step:
            self.advance(step - self.trainer.step)

    def _time_diagnosis(self, fn):
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            self.diagnose_seconds += time.perf_counter() - t0

    def _on_findings(self, new) -> None:
        self._write_findings()

    def _write_findings(self) -> None:
        d = self.diagnostician
        if d is None:
            return
        found = d.findings
        if self.writer is not None and not self.writer.closed:
            for f in found[self._findings_written:]:
                self.writer.finding(f)
        self._findings_written = len(found)

    @property
    def findings(self) -> list:
        """Every finding so far (``analysis.diagnostics.Finding``), as raised."""
        return self.diagnostician.findings if self.diagnostician is not None else []

    def _write_events(self) -> None:
        events = self.trainer.events
        if self.writer is not None:
            for e in events[self._events_written:]:
                self.writer.event(e.step, e.key, e.value)
        self._events_written = len(events)

    def _record(self) -> None:
        if self.writer is not None and self._last_recorded != self.trainer.step:
            self._write_events()
            self._with_penalty = self._with_penalty or self.trainer.penalty_on
            self.writer.record(self.trainer.snapshot(), penalty=self._with_penalty)
        self._last_recorded = self.trainer.step

    def run(self, **kwargs) -> "RunResult":
        """Go on to the end, like ``run(scenario, runner=self, **kwargs)``."""
        return run(self.scenario, runner=self, **kwargs)

    # --------------------------------------------------------------- ending
    def finish(self, interrupted: bool = False) -> RunResult:
        """Close the run: final record and ``end`` line, metrics and the
        [expect] checks (not evaluated for an interrupted run)."""
        tr = self.trainer
        if self.status is None:
            self.status = ("interrupted" if interrupted else
                           "diverged" if tr.diverged else "finished")
        d = self.diagnostician
        if d is not None and tr.step > d.last_step:
            # the end of a run is looked at too (a run and its replay end alike)
            self._time_diagnosis(lambda: d.observe(tr))
        snap = tr.snapshot()
        if self.writer is not None and not self.writer.closed:
            try:
                self._record()
                self._write_events()
                self._write_findings()
                self.writer.end(self.status, tr.step, tr.epoch, stopped_early=tr.stopped_early)
            finally:
                self.writer.close()
        metrics = self._metrics(snap)
        checks = []
        findings = self.findings
        if self.status != "interrupted":
            checks = check_expect(self.scenario.expect, metrics, self.status == "diverged",
                                  findings=[f.name for f in findings]
                                  if self.diagnostician is not None else None,
                                  early_stop=snap.early_stop)
        return RunResult(self.scenario, tr, snap, self.status, metrics, checks, self.steps,
                         self.seconds, self.writer.path if self.writer else None,
                         self.first_step_seconds, findings)

    def _metrics(self, snap) -> dict:
        tr = self.trainer
        m = {"loss": snap.loss, "accuracy": snap.accuracy}
        if tr.penalty_on or self._with_penalty:
            # the training loss includes the weight penalty: say how much of it
            m["penalty"] = snap.penalty
        test = split_arrays(self.scenario, self.dataset, tr.arch.n_outputs, "test")
        # Evaluate the final parameters only when they mean something: after
        # divergence they are NaN, after Ctrl+C the person wants out now.
        evaluate = self.status == "finished"
        for name, split in (("val", tr.val), ("test", test)):
            if split is None:
                m[f"{name}_loss"] = m[f"{name}_accuracy"] = None
            elif evaluate:
                m[f"{name}_loss"], m[f"{name}_accuracy"] = tr.evaluate(split)
            else:
                m[f"{name}_loss"] = m[f"{name}_accuracy"] = math.nan
        return m


def run_diagnosed(trainer, n: int, stop_epoch: int | None, diagnostician, on_findings=None,
                  timer=None) -> int:
    """``trainer.run_steps(n, stop_epoch)``, stopping at every check step of
    ``diagnostician`` (None: no diagnostics) to let it observe; also after a
    divergence. Early stopping ends it like a divergence (the runner
    observes the end of the run). The run and its replay both step through here, so their
    findings fall on the same steps. Returns the steps done."""
    if diagnostician is None:
        return trainer.run_steps(n, stop_epoch=stop_epoch)
    d = diagnostician
    done = 0
    while done < n and not trainer.halted:
        due = d.next_check(d.last_step)
        if due <= trainer.step:   # steps taken elsewhere went past it: the next one
            due = d.next_check(trainer.step)
        got = trainer.run_steps(min(n - done, due - trainer.step), stop_epoch=stop_epoch)
        done += got
        if trainer.step >= due or (trainer.diverged and trainer.step > d.last_step):
            new = timer(lambda: d.observe(trainer)) if timer else d.observe(trainer)
            if new and on_findings is not None:
                on_findings(new)
        if got == 0:
            break
    return done


class _InterruptGuard:
    """The first Ctrl+C asks the run to stop after the current chunk (the
    trainer is never cut off in the middle of its bookkeeping); a second
    one raises KeyboardInterrupt at once. Only the main thread can own
    signal handlers: elsewhere this does nothing."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested = False
        self._old = None

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if self.enabled:
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self.enabled:
            signal.signal(signal.SIGINT, self._old)
        return False


def run(scenario, *, epochs=None, seed=None, init_params=None, record=None, record_every=None,
        save_params_to=None, on_chunk=None, progress_stream=None, notice_stream=None,
        handle_sigint: bool = False, dataset=None, runner: Runner | None = None) -> RunResult:
    """Run ``scenario`` to its last epoch (or divergence, early stopping, or Ctrl+C).

    ``on_chunk(runner)`` is called between chunks (it may change settings
    with ``runner.trainer.set_hyper``; the change is recorded). Streams:
    ``progress_stream`` gets the redrawn progress line, ``notice_stream``
    the compile notice; None shows nothing. ``save_params_to`` is written
    even when the run is interrupted or diverges."""
    if runner is None:
        runner = Runner(scenario, epochs=epochs, seed=seed, init_params=init_params,
                        record=record, record_every=record_every, dataset=dataset)
    progress = Progress(progress_stream, runner.target_epoch, progress_stream is not None)
    interrupted = False
    chunk = 1          # the first call compiles (on a cold cache): keep it one step
    first = True
    try:
        with _InterruptGuard(handle_sigint) as guard:
            while not runner.done:
                t0 = time.perf_counter()
                if first:
                    with CompileNotice(notice_stream, notice_stream is not None):
                        runner.advance(chunk)
                    first = False
                else:
                    runner.advance(chunk)
                dt = time.perf_counter() - t0
                chunk = _next_chunk(chunk, dt)
                if progress.enabled:
                    progress.update(runner.trainer.snapshot(), steps_per_second(
                        runner.steps, runner.seconds, runner.first_step_seconds))
                if on_chunk is not None:
                    on_chunk(runner)
                if guard.requested:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
    except BaseException:
        # A failing on_chunk callback: the trace keeps every complete line
        # (it reads as a killed run); close it rather than leak it.
        if runner.writer is not None:
            runner.writer.close()
        raise
    finally:
        progress.clear()
    result = runner.finish(interrupted=interrupted)
    if save_params_to is not None:
        save_params(save_params_to, runner.trainer)
    return result


def _next_chunk(chunk: int, seconds: float) -> int:
    if seconds < CHUNK_SECONDS / 2:
        return min(chunk * 2, MAX_CHUNK)
    if seconds > CHUNK_SECONDS * 2:
        return max(1, chunk // 2)
    return chunk
