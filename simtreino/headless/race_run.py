"""Running an optimizer race headlessly: record a trace, check each racer's
``expect``, replay a race trace.

A race trace has the same lines as a training trace (header, records, end),
with ``"kind": "race"`` in the header and each record holding every racer's
point and loss at a step. Races are deterministic, so a replay compares
every recorded number.
"""

from dataclasses import dataclass, field, replace
import math
from pathlib import Path
import time

import numpy as np

import simtreino
from simtreino.core.functions2d import FUNCTIONS
from simtreino.scenario.build import build_race

from .compare import DEFAULT_ATOL, DEFAULT_RTOL, close
from .errors import TraceError
from .expect import CheckResult, fmt_value
from .runner import Verdict, _InterruptGuard, _positive_int
from .trace import TraceWriter, finite_or_none, none_to_nan

# The whole race is one compiled call per chunk; chunks keep Ctrl+C and the
# trace's record steps exact without costing anything measurable.
CHUNK = 10_000

MSG = {
    "found": "{label}: expected {what} {req}, found {found}",
    "ok": "{label}: {name} ok ({found})",
    "diverged": "{label}: diverged at step {step}",
    "expected_divergence": "{label}: expected to diverge, it did not",
    "diverged_before": "{label}: expected {what} {req}, but it diverged at step {step}",
    "racers": "the trace has {found} racers, the scenario {n}",
    "mismatch": "step {step}: {label} {key} recorded {a}, replay {b}",
    "end_status": "end: recorded {a} at step {step}, replay {b} at step {rstep}",
    "pass": "{n} record(s) to step {step}",
    "no_end": "no end record: the run was killed; compared up to step {step}",
    "interrupted": "the run was interrupted at step {step}; compared up to there",
}

# check name -> (what it reads, comparison, how the requirement reads)
CHECKS = {
    "distance_below": ("distance to the nearest minimum", "below", "< {limit:g}"),
    "distance_at_least": ("distance to the nearest minimum", "at_least", ">= {limit:g}"),
    "loss_below": ("loss", "below", "< {limit:g}"),
    "loss_at_least": ("loss", "at_least", ">= {limit:g}"),
}


@dataclass
class RacerResult:
    label: str
    optimizer: str
    point: tuple[float, float]
    loss: float
    distance: float           # to the nearest known minimum
    nearest: int              # index of that minimum in the function's list
    diverged_at: int | None   # the step it diverged at, None if it did not


@dataclass
class RaceResult(Verdict):
    scenario: object
    race: object
    status: str                    # finished | interrupted (a race never "diverges" as a whole)
    racers: list[RacerResult]
    checks: list[CheckResult] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    trace_path: str | None = None


def racer_results(race) -> list[RacerResult]:
    pts, losses = race.points(), race.current_losses()
    dist, nearest = race.distances(), race.nearest()
    out = []
    for i, r in enumerate(race.racers):
        div = int(race.diverged_at[i])
        out.append(RacerResult(r.label, r.optimizer, (float(pts[i, 0]), float(pts[i, 1])),
                               float(losses[i]), float(dist[i]), int(nearest[i]),
                               div if div >= 0 else None))
    return out


def check_racers(scenario, results: list[RacerResult]) -> list[CheckResult]:
    """One result per check a racer declares. A racer that diverges without
    ``diverges = true`` fails, checks or not."""
    out = []
    for spec, r in zip(scenario.racers, results):
        e = spec.expect
        diverged = r.diverged_at is not None
        name = f"{r.label}.diverges"
        if e.diverges is True:
            out.append(CheckResult(name, diverged, True, diverged,
                                   f"{r.label}: diverges ok" if diverged else
                                   MSG["expected_divergence"].format(label=r.label)))
        elif diverged:
            out.append(CheckResult(name, False, e.diverges, True,
                                   MSG["diverged"].format(label=r.label, step=r.diverged_at)))
        for key, (what, how, req) in CHECKS.items():
            limit = getattr(e, key)
            if limit is None:
                continue
            found = r.distance if key.startswith("distance") else r.loss
            ok = (found < limit) if how == "below" else (found >= limit)   # NaN fails both
            req_s = req.format(limit=limit)
            if ok:
                msg = MSG["ok"].format(label=r.label, name=key, found=fmt_value(found))
            elif diverged:
                msg = MSG["diverged_before"].format(label=r.label, what=what, req=req_s,
                                                    step=r.diverged_at)
            else:
                msg = MSG["found"].format(label=r.label, what=what, req=req_s,
                                          found=fmt_value(found))
            out.append(CheckResult(f"{r.label}.{key}", bool(ok), limit, found, msg))
        if e.ends_near is not None:
            minima = FUNCTIONS[scenario.surface.function].minima
            want = minima.index(tuple(e.ends_near))
            ok = not diverged and r.nearest == want
            got = minima[r.nearest]
            msg = (MSG["ok"].format(label=r.label, name="ends_near", found=_pt(got)) if ok else
                   MSG["diverged_before"].format(label=r.label, what="to end nearest",
                                                 req=_pt(e.ends_near), step=r.diverged_at)
                   if diverged else
                   MSG["found"].format(label=r.label, what="to end nearest", req=_pt(e.ends_near),
                                       found=f"nearest {_pt(got)}"))
            out.append(CheckResult(f"{r.label}.ends_near", ok, e.ends_near, got, msg))
    return out


def _pt(p) -> str:
    return f"({p[0]:.4g}, {p[1]:.4g})"


class RaceRunner:
    """One headless race, advanced by the caller, optionally recording."""

    def __init__(self, scenario, *, steps=None, record=None, record_every=None):
        if steps is not None:
            scenario = replace(scenario, steps=_positive_int("steps", steps))
        self.scenario = scenario
        self.race = build_race(scenario)
        k = record_every if record_every is not None else scenario.record_every
        self.record_every = _positive_int("record_every", k) if k is not None else 1
        self.seconds = 0.0
        self.status = None
        self.writer = None
        self._last_recorded = None
        if record is not None:
            self.writer = TraceWriter(record, self._header())
            self._record()

    def _header(self) -> dict:
        s = self.scenario
        return {
            "simtreino": simtreino.__version__,
            "kind": "race",
            "scenario": s.to_dict(),
            "scenario_file": str(Path(s.source).resolve()) if s.source is not None else None,
            "seed": s.seed,
            "record_every": self.record_every,
        }

    @property
    def done(self) -> bool:
        return self.status is not None or self.race.done

    def advance(self, n: int) -> int:
        """Up to ``n`` steps, stopping at the next record step when recording."""
        race = self.race
        if self.done:
            return 0
        if self.writer is not None:
            next_record = (race.step // self.record_every + 1) * self.record_every
            n = min(n, next_record - race.step)
        t0 = time.perf_counter()
        done = race.run(n)
        self.seconds += time.perf_counter() - t0
        if self.writer is not None and race.step % self.record_every == 0:
            self._record()
        return done

    def advance_to(self, step: int) -> None:
        while not self.done and self.race.step < step:
            self.advance(step - self.race.step)

    def _record(self) -> None:
        race = self.race
        if self.writer is None or self._last_recorded == race.step:
            return
        self._last_recorded = race.step
        pts, losses = race.points(), race.current_losses()
        self.writer.write({
            "type": "record", "step": race.step, "epoch": 0,
            "points": [[finite_or_none(x), finite_or_none(y)] for x, y in pts],
            "losses": [finite_or_none(v) for v in losses],
        })

    def finish(self, interrupted: bool = False) -> RaceResult:
        race = self.race
        if self.status is None:
            self.status = "interrupted" if interrupted else "finished"
        if self.writer is not None and not self.writer.closed:
            try:
                self._record()
                self.writer.end(self.status, race.step, 0)
            finally:
                self.writer.close()
        results = racer_results(race)
        checks = [] if self.status == "interrupted" else check_racers(self.scenario, results)
        return RaceResult(self.scenario, race, self.status, results, checks, race.step,
                          self.seconds, self.writer.path if self.writer else None)


def run_race(scenario, *, steps=None, record=None, record_every=None,
             handle_sigint: bool = False) -> RaceResult:
    """Run a race to its last step (or Ctrl+C), check every racer."""
    runner = RaceRunner(scenario, steps=steps, record=record, record_every=record_every)
    interrupted = False
    try:
        with _InterruptGuard(handle_sigint) as guard:
            while not runner.done:
                runner.advance(CHUNK)
                if guard.requested:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
    return runner.finish(interrupted=interrupted)


def summary_line(result: RaceResult) -> str:
    """``name: 200 steps; SGD 0.238 from the minimum (loss 0.000566), ...; expect: ...``"""
    parts = []
    for r in result.racers:
        if r.diverged_at is not None:
            parts.append(f"{r.label} diverged at step {r.diverged_at}")
        else:
            parts.append(f"{r.label} {fmt_value(r.distance)} from a minimum "
                         f"(loss {fmt_value(r.loss)})")
    if result.status == "interrupted":
        head = f"{result.scenario.name}: interrupted at step {result.steps}"
        extra = f"; trace kept in {result.trace_path}" if result.trace_path else ""
        return f"{head}; {', '.join(parts)}{extra}"
    if not result.checks:
        verdict = "expect: nothing to check"
    elif result.failures:
        verdict = "expect: FAILED: " + "; ".join(c.message for c in result.failures)
    else:
        verdict = f"expect: ok ({len(result.checks)} checks)"
    return (f"{result.scenario.name}: {result.steps} steps in {result.seconds:.3f} s; "
            f"{', '.join(parts)}; {verdict}")


# ------------------------------------------------------------------ replay
def compare_race_trace(trace, scenario, rtol: float = DEFAULT_RTOL,
                       atol: float = DEFAULT_ATOL):
    """Re-run a race trace; returns (ok, message, notes)."""
    race = build_race(scenario)
    notes = trace.notes()
    n_records = 0
    for line in trace.lines:
        step = line["step"]
        if line["type"] != "record":
            continue
        if step > race.capacity:
            return False, f"step {step}: past the race's {race.capacity} steps", notes
        race.run(step - race.step)
        if len(line["points"]) != len(race.racers):
            raise TraceError(trace.path, None, MSG["racers"].format(
                found=len(line["points"]), n=len(race.racers)))
        n_records += 1
        pts, losses = race.points(), race.current_losses()
        for i, r in enumerate(race.racers):
            for key, a, b in (("x", line["points"][i][0], pts[i, 0]),
                              ("y", line["points"][i][1], pts[i, 1]),
                              ("loss", line["losses"][i], losses[i])):
                a = none_to_nan(a)
                if not close(a, float(b), rtol, atol):
                    return False, MSG["mismatch"].format(step=step, label=r.label, key=key,
                                                         a=_show(a), b=_show(float(b))), notes
    end = trace.end
    if end is None:
        notes.append(MSG["no_end"].format(step=race.step))
    elif end["status"] == "interrupted":
        notes.append(MSG["interrupted"].format(step=end["step"]))
    else:
        race.run(end["step"] - race.step)
        if end["status"] != "finished" or race.step != end["step"]:
            return False, MSG["end_status"].format(a=end["status"], step=end["step"],
                                                   b="finished", rstep=race.step), notes
    return True, MSG["pass"].format(n=n_records, step=race.step), notes


def _show(x: float) -> str:
    return "null" if math.isnan(x) else repr(x)


def points_array(records: list) -> np.ndarray:
    """(records, racers, 2) from a race trace's records (for notebooks/tests)."""
    return np.array([[[none_to_nan(v) for v in p] for p in r["points"]] for r in records])
