"""Replaying: re-run what a trace recorded and compare, number by number.

A trace item is re-run from its header (same scenario, seed and initial
parameters), its events applied when the trainer reaches their step, and
every recorded value compared at every recorded step; the first value
out of tolerance fails the item, naming the step and the key. When the
trace was diagnosed (``diagnostics`` in its header), the replay observes at
the same check steps and its findings must match the trace's ``finding``
lines: the same names, raised at the same steps, about the same layers
(the evidence numbers are not compared). A scenario item is run and judged
by its ``[expect]`` table.
"""

from dataclasses import dataclass, field
import math
from pathlib import Path
import time

import numpy as np

import simtreino
from simtreino.scenario import ScenarioError, find_scenario, load_scenario, scenario_from_dict
from simtreino.analysis.diagnostics import Diagnostician
from simtreino.scenario.build import build_dataset, build_trainer

from .compare import DEFAULT_ATOL, DEFAULT_RTOL, close
from .errors import InputError, TraceError
from .expect import fmt_value
from .race_run import compare_race_trace, run_race
from .runner import run, run_diagnosed
from .trace import OPTIONAL_RECORD_KEYS, RECORD_KEYS, Trace, none_to_nan, read_trace

MSG = {
    "empty_dir": "no *.toml or *.jsonl files in this folder",
    "mismatch": "step {step}: {key} recorded {a}, replay {b}",
    "diverged_early": "step {step}: the replay diverged ({why}) but the trace goes on to step {target}",
    "stopped_early": ("step {step}: early stopping ended the replay at epoch {epoch} but the "
                      "trace goes on to step {target}"),
    "backwards": "step {step} comes after step {prev}: steps must not go backwards",
    "bad_event": "event at step {step}: cannot set {key} = {value} ({why})",
    "end_status": "end: recorded {a} at step {step}, replay {b} at step {rstep}",
    "init_size": "init_params has {found} values, the network has {n}",
    "no_end": "no end record: the run was killed; compared up to step {step}",
    "interrupted": "the run was interrupted at step {step}; compared up to there",
    "pass_trace": "{n} record(s) to step {step}, {e} event(s)",
    "diverged": "diverged at step {step}",
    "stopped": "stopped early at epoch {epoch}",
    "version": "recorded by simtreino {theirs}, replayed by {ours}",
    "finding_missing": "finding {name}: recorded at step {step}, the replay did not raise it",
    "finding_extra": "finding {name}: raised by the replay at step {step}, not in the trace",
    "finding_step": "finding {name}: recorded at step {a}, replay at step {b}",
    "finding_layer": "finding {name} at step {step}: recorded for layer {a}, replay {b}",
}


@dataclass
class ItemResult:
    name: str
    kind: str                 # trace | scenario
    ok: bool
    message: str              # why it failed, or a short summary when it passed
    seconds: float = 0.0
    error: bool = False       # the item could not be used at all (bad input)
    notes: list = field(default_factory=list)


@dataclass
class Item:
    kind: str        # trace | scenario
    name: str        # as the person named it (a folder's files: their paths)
    obj: object      # the Trace or the Scenario, already read and checked


def prepare_items(items) -> list[Item]:
    """Read and check every item before anything runs, so bad input stops
    the command at once (exit 2) instead of after minutes of replays.
    A folder gives its ``*.toml`` and ``*.jsonl`` files, sorted by name.
    Raises InputError / ScenarioError / TraceError."""
    paths = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.iterdir()
                           if q.is_file() and q.suffix in (".toml", ".jsonl"))
            if not found:
                raise InputError(item, None, MSG["empty_dir"])
            paths.extend(str(q) for q in found)
        else:
            paths.append(str(item))
    out = []
    for name in paths:
        if name.endswith(".jsonl"):
            trace = read_trace(name)
            scenario_of_trace(trace)      # its scenario must validate too
            out.append(Item("trace", name, trace))
        else:
            out.append(Item("scenario", name, load_scenario(find_scenario(name))))
    return out


def scenario_of_trace(trace: Trace):
    """The scenario in a trace header. A relative csv path (or mnist
    data_dir) is looked for next to the original scenario file first, then
    next to the trace."""
    h = trace.header
    label = f"{trace.path}: header.scenario"
    original = h.get("scenario_file")
    candidates = []
    if original:
        candidates.append(Path(original))
    name = Path(original).name if original else "scenario.toml"
    candidates.append(Path(trace.path).resolve().parent / name)
    for i, source in enumerate(candidates):
        try:
            return scenario_from_dict(h["scenario"], source=source, file_label=label)
        except ScenarioError as e:
            if e.key in ("data.path", "data.data_dir") and i + 1 < len(candidates):
                continue
            raise


def compare_trace(trace: Trace, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL):
    """Re-run a trace; returns (ok, message, notes). Raises ScenarioError or
    TraceError when the trace cannot be replayed at all."""
    h = trace.header
    s = scenario_of_trace(trace)
    if s.kind == "race":
        return compare_race_trace(trace, s, rtol, atol)
    tr = build_trainer(s, seed=h["seed"])
    if h.get("init_params") is not None:
        theta = np.array(h["init_params"], dtype=tr.dtype)
        if theta.shape != tr.theta.shape:
            raise TraceError(trace.path, "header.init_params", MSG["init_size"].format(
                found=theta.size, n=tr.theta.size))
        tr.set_params(theta)
    diag = None
    dg = h.get("diagnostics")
    if dg is not None:
        diag = Diagnostician.for_trainer(tr, scenario=s, planned_steps=dg["planned"],
                                         every=dg["every"])
    notes = trace.notes()
    if h.get("simtreino") != simtreino.__version__:
        notes.append(MSG["version"].format(theirs=h.get("simtreino"), ours=simtreino.__version__))
    prev = 0
    n_records = n_events = 0
    for line in trace.lines:
        target = line["step"]
        if target < prev:
            raise TraceError(trace.path, None, MSG["backwards"].format(step=target, prev=prev))
        prev = target
        if tr.step < target:
            run_diagnosed(tr, target - tr.step, None, diag)
        if tr.step < target and tr.stopped_early:
            return False, MSG["stopped_early"].format(step=tr.step, epoch=tr.epoch,
                                                      target=target), notes
        if tr.step < target:
            why = tr.snapshot().divergence or "stopped"
            return False, MSG["diverged_early"].format(step=tr.step, why=why, target=target), notes
        if line["type"] == "event":
            n_events += 1
            try:
                tr.set_hyper(line["key"], line["value"])
            except (KeyError, ValueError) as e:
                return False, MSG["bad_event"].format(step=target, key=line["key"],
                                                      value=line["value"], why=e), notes
            continue
        n_records += 1
        snap = tr.snapshot()
        for key in ("epoch",):
            if line[key] != getattr(snap, key):
                return False, MSG["mismatch"].format(step=target, key=key, a=line[key],
                                                     b=getattr(snap, key)), notes
        for key in RECORD_KEYS + tuple(k for k in OPTIONAL_RECORD_KEYS if k in line):
            a, b = none_to_nan(line[key]), float(getattr(snap, key))
            if not close(a, b, rtol, atol):
                return False, MSG["mismatch"].format(step=target, key=key, a=_show(a),
                                                     b=_show(b)), notes
    end = trace.end
    if end is None:
        notes.append(MSG["no_end"].format(step=tr.step))
    elif end["status"] == "interrupted":
        notes.append(MSG["interrupted"].format(step=end["step"]))
    else:
        if tr.step < end["step"] and not tr.halted:
            run_diagnosed(tr, end["step"] - tr.step, None, diag)
        status = "diverged" if tr.diverged else "finished"
        recorded = end["status"] + (" (stopped early)" if end.get("stopped_early") else "")
        replayed = status + (" (stopped early)" if tr.stopped_early else "")
        if recorded != replayed or tr.step != end["step"] or tr.epoch != end["epoch"]:
            return False, MSG["end_status"].format(a=recorded, step=end["step"], b=replayed,
                                                   rstep=tr.step), notes
    if diag is not None:
        if end is not None and tr.step > diag.last_step:
            diag.observe(tr)      # the runner looks at the end of a run too
        problem = compare_findings(trace.findings, diag.findings, tr.step)
        if problem:
            return False, problem, notes
    return True, MSG["pass_trace"].format(n=n_records, step=tr.step, e=n_events), notes


def compare_findings(recorded: list, replayed: list, upto: int) -> str | None:
    """The first difference between a trace's finding lines and the
    replay's findings (those raised up to step ``upto``), or None."""
    mine = {f.name: f for f in replayed if f.raised_step <= upto}
    theirs = {}
    for line in recorded:
        theirs.setdefault(line["name"], line)
    for name, line in theirs.items():
        f = mine.get(name)
        if f is None:
            return MSG["finding_missing"].format(name=name, step=line["step"])
        if f.raised_step != line["step"]:
            return MSG["finding_step"].format(name=name, a=line["step"], b=f.raised_step)
        if f.layer != line.get("layer"):
            show = lambda x: "-" if x is None else x + 1   # noqa: E731 (as the UI counts)
            return MSG["finding_layer"].format(name=name, step=line["step"],
                                               a=show(line.get("layer")), b=show(f.layer))
    for name, f in mine.items():
        if name not in theirs:
            return MSG["finding_extra"].format(name=name, step=f.raised_step)
    return None


def _show(x: float) -> str:
    return "null" if math.isnan(x) else repr(x)


def replay_item(item: Item, rtol: float = DEFAULT_RTOL,
                atol: float = DEFAULT_ATOL) -> ItemResult:
    """Replay one item. A problem found only now (a csv that went missing,
    an event the trainer refuses) is reported in the result (``error``)."""
    t0 = time.perf_counter()
    try:
        if item.kind == "trace":
            ok, msg, notes = compare_trace(item.obj, rtol, atol)
        else:
            ok, msg, notes = _run_scenario(item.obj)
        error = False
    except (ScenarioError, InputError) as e:
        ok, msg, notes, error = False, str(e), [], True
    return ItemResult(item.name, item.kind, ok, msg, time.perf_counter() - t0, error, notes)


def _run_scenario(scenario, dataset=None):
    if scenario.kind == "race":
        r = run_race(scenario)
        if r.failures:
            return False, "; ".join(c.message for c in r.failures), []
        return True, f"{r.steps} steps, {len(r.checks)} checks", []
    if scenario.runs:
        # every run of the comparison must meet its checks; the data is
        # built (and checked against every run's batch size) once
        dataset = build_dataset(scenario)
        messages, ok = [], True
        for label, variant in scenario.variants():
            r_ok, msg, _ = _run_scenario(variant, dataset)
            ok = ok and r_ok
            messages.append(f"{label}: {msg}")
        return ok, "; ".join(messages), []
    result = run(scenario, dataset=dataset)
    if result.failures:
        return False, "; ".join(c.message for c in result.failures), []
    m = result.metrics
    parts = [f"{k} {fmt_value(m[k])}" for k in ("loss", "accuracy", "val_loss", "val_accuracy",
                                                  "test_loss", "test_accuracy")
             if m.get(k) is not None and not (k.endswith("accuracy") and math.isnan(m[k]))]
    if result.status == "diverged":
        parts = [MSG["diverged"].format(step=result.snapshot.step)]
    elif result.stopped_early:
        parts.append(MSG["stopped"].format(epoch=result.snapshot.epoch))
    return True, ", ".join(parts), []
