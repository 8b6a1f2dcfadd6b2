"""Trace files: a run, step by step, as JSON Lines.

Line 1 is a header (the fully resolved scenario, seed, initial parameters
when they did not come from the seed, where the diagnostics looked); then
``record`` lines (metrics at a step), ``event`` lines (a setting changed at
a step), ``finding`` lines (a training problem the diagnostics named, at
the step it was raised) in the order they happened, and last an ``end``
line. Every line is written and flushed on
its own, so a killed process leaves every complete line behind; the
reader accepts a cut-off last line and says so. NaN and infinities are
written as ``null``: the file stays strict JSON any tool can read.
"""

from dataclasses import dataclass, field
import json
import math

from .errors import TraceError

FORMAT = 1
RECORD_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "last_loss", "lr")
# Written only by runs that have them (a run without a weight penalty writes
# records exactly as before): the last epoch's mean penalty, part of loss.
OPTIONAL_RECORD_KEYS = ("penalty",)
END_STATUSES = ("finished", "diverged", "interrupted")

MSG = {
    "empty": "empty file, expected a trace header on line 1",
    "not_json": "not valid JSON",
    "not_object": "expected a JSON object",
    "no_header": "expected a header ({\"type\": \"header\", ...}) on line 1",
    "bad_type": "unknown record type {found}, expected one of record, event, finding, end",
    "newer": "trace format {found} is newer than this simtreino reads ({ours})",
    "field": "{key} is {found}, expected {what}",
    "missing": "missing {key} (expected {what})",
    "after_end": "lines after the end record",
    "header_again": "a second header",
    "truncated": "last line is incomplete (the run was killed while writing it); ignored",
    "unreadable": "cannot read the file ({reason})",
    "not_utf8": "not UTF-8 text",
}


def finite_or_none(x):
    """A float for JSON: NaN and infinities become None (null)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def none_to_nan(x) -> float:
    return math.nan if x is None else float(x)


def _plain(v):
    """Evidence and cures for JSON: non-finite numbers become null."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float):
        return finite_or_none(v)
    return v


class TraceWriter:
    """Writes one trace, a line at a time. The file is opened (and emptied)
    at once, so a bad path fails before any training is done."""

    def __init__(self, path, header: dict):
        self.path = str(path)
        self._f = open(path, "w", encoding="utf-8", newline="\n")
        self.closed = False
        self._write({"type": "header", "format": FORMAT, **header})

    def write(self, obj: dict) -> None:
        """One line (records of other shapes, e.g. a race's)."""
        self._write(obj)

    def _write(self, obj: dict) -> None:
        # allow_nan=False: a NaN that slipped through is a bug, not a file
        # some other tool cannot parse.
        self._f.write(json.dumps(obj, allow_nan=False, ensure_ascii=False) + "\n")
        self._f.flush()

    def record(self, snap, penalty: bool = False) -> None:
        """A record of ``snap``; ``penalty``: with the weight penalty."""
        keys = RECORD_KEYS + (("penalty",) if penalty else ())
        self._write({"type": "record", "step": snap.step, "epoch": snap.epoch,
                     **{k: finite_or_none(getattr(snap, k)) for k in keys}})

    def event(self, step: int, key: str, value) -> None:
        if hasattr(value, "item") and not isinstance(value, (list, tuple)):
            value = value.item()          # a NumPy scalar: JSON knows only Python numbers
        if isinstance(value, float):
            value = finite_or_none(value)
        elif isinstance(value, tuple):
            value = list(value)
        self._write({"type": "event", "step": int(step), "key": key, "value": value})

    def finding(self, f) -> None:
        """A finding (``analysis.diagnostics.Finding``) as it is raised:
        ``step`` is where it was raised, ``first_step``/``epoch`` where it
        was first seen."""
        self._write({"type": "finding", "step": int(f.raised_step), "name": f.name,
                     "first_step": int(f.step), "epoch": int(f.epoch),
                     "layer": None if f.layer is None else int(f.layer),
                     "evidence": _plain(f.evidence), "cure": _plain(f.cure)})

    def end(self, status: str, step: int, epoch: int, stopped_early: bool = False) -> None:
        """The last line; ``stopped_early`` (written only when true): early
        stopping ended the run (its status is still ``finished``)."""
        self._write({"type": "end", "status": status, "step": int(step), "epoch": int(epoch),
                     **({"stopped_early": True} if stopped_early else {})})

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._f.close()


@dataclass
class Trace:
    path: str
    header: dict
    lines: list = field(default_factory=list)   # records and events, in file order
    findings: list = field(default_factory=list)  # finding lines, in file order
    end: dict | None = None
    truncated: bool = False                     # the last line was cut off

    @property
    def records(self) -> list:
        return [r for r in self.lines if r["type"] == "record"]

    @property
    def events(self) -> list:
        return [r for r in self.lines if r["type"] == "event"]

    def notes(self) -> list[str]:
        out = []
        if self.truncated:
            out.append(MSG["truncated"])
        return out


def read_trace(path) -> Trace:
    """Read and check a trace; TraceError names the file and line at fault."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise TraceError(path, None, MSG["unreadable"].format(reason=e.strerror or e)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TraceError(path, None, MSG["not_utf8"]) from None
    raw = text.split("\n")
    # A complete file ends with "\n", leaving "" last; anything else there is
    # a line the writer did not finish.
    tail = raw.pop()
    if not raw and not tail:
        raise TraceError(path, None, MSG["empty"])
    trace = None
    n_lines = len(raw) + (1 if tail else 0)
    for i, line in enumerate(raw + ([tail] if tail else []), start=1):
        is_tail = bool(tail) and i == n_lines
        try:
            obj = json.loads(line)
        except ValueError:
            if is_tail and i > 1:
                trace.truncated = True
                break
            raise TraceError(path, f"line {i}", MSG["not_json"]) from None
        where = f"line {i}"
        if not isinstance(obj, dict):
            raise TraceError(path, where, MSG["not_object"])
        kind = obj.get("type")
        if i == 1:
            if kind != "header":
                raise TraceError(path, where, MSG["no_header"])
            _check_header(path, where, obj)
            trace = Trace(str(path), obj)
            continue
        if trace.end is not None:
            raise TraceError(path, where, MSG["after_end"])
        if kind == "record":
            _need(path, where, obj, "step", int)
            _need(path, where, obj, "epoch", int)
            if trace.header.get("kind") == "race":
                _check_race_record(path, where, obj)
            else:
                for k in RECORD_KEYS:
                    _need(path, where, obj, k, float, nullable=True)
                for k in OPTIONAL_RECORD_KEYS:
                    if k in obj:
                        _need(path, where, obj, k, float, nullable=True)
            trace.lines.append(obj)
        elif kind == "event":
            _need(path, where, obj, "step", int)
            _need(path, where, obj, "key", str)
            if "value" not in obj:
                raise TraceError(path, where, MSG["missing"].format(key="value", what="a value"))
            trace.lines.append(obj)
        elif kind == "finding":
            _need(path, where, obj, "step", int)
            _need(path, where, obj, "name", str)
            _need(path, where, obj, "first_step", int)
            _need(path, where, obj, "epoch", int)
            _need(path, where, obj, "layer", int, nullable=True)
            for key in ("evidence", "cure"):
                if not isinstance(obj.get(key, {}), dict):
                    raise TraceError(path, where, MSG["field"].format(
                        key=key, found=type(obj[key]).__name__, what="a JSON object"))
            trace.findings.append(obj)
        elif kind == "end":
            _need(path, where, obj, "status", str)
            if obj["status"] not in END_STATUSES:
                raise TraceError(path, where, MSG["field"].format(
                    key="status", found=json.dumps(obj["status"]), what=" | ".join(END_STATUSES)))
            _need(path, where, obj, "step", int)
            _need(path, where, obj, "epoch", int)
            if not isinstance(obj.get("stopped_early", False), bool):
                raise TraceError(path, where, MSG["field"].format(
                    key="stopped_early", found=json.dumps(obj["stopped_early"]),
                    what="true or false"))
            trace.end = obj
        elif kind == "header":
            raise TraceError(path, where, MSG["header_again"])
        else:
            raise TraceError(path, where, MSG["bad_type"].format(found=json.dumps(kind)))
    return trace


def _check_header(path, where, h: dict) -> None:
    _need(path, where, h, "format", int)
    if h["format"] > FORMAT:
        raise TraceError(path, where, MSG["newer"].format(found=h["format"], ours=FORMAT))
    _need(path, where, h, "scenario", dict)
    _need(path, where, h, "seed", int)
    _need(path, where, h, "record_every", int)
    _need(path, where, h, "scenario_file", str, nullable=True)
    if h.get("diagnostics") is not None:
        dg = h["diagnostics"]
        ok = (isinstance(dg, dict) and all(
            isinstance(dg.get(k), int) and not isinstance(dg.get(k), bool) and dg[k] >= lo
            for k, lo in (("every", 1), ("planned", 0))))
        if not ok:
            raise TraceError(path, where, MSG["field"].format(
                key="diagnostics", found=json.dumps(dg) if not isinstance(dg, (dict, list))
                else type(dg).__name__,
                what="an object with every (an integer >= 1) and planned (an integer >= 0)"))
    if h.get("init_params") is not None:
        p = h["init_params"]
        if not isinstance(p, list) or not all(_is_num(v) for v in p):
            raise TraceError(path, where, MSG["field"].format(
                key="init_params", found="not a list of numbers", what="a list of numbers or null"))


def _check_race_record(path, where, obj: dict) -> None:
    """A race record holds every racer's point and loss at its step."""
    pts, losses = obj.get("points"), obj.get("losses")
    ok = (isinstance(pts, list) and isinstance(losses, list) and len(pts) == len(losses)
          and all(isinstance(p, list) and len(p) == 2 and all(_num_or_null(v) for v in p)
                  for p in pts)
          and all(_num_or_null(v) for v in losses))
    if not ok:
        raise TraceError(path, where, "expected points (a list of [x, y]) and losses "
                         "(a list of numbers or null), one of each per racer")


def _num_or_null(v) -> bool:
    return v is None or _is_num(v)


_WHAT = {int: "an integer", float: "a number or null", str: "a string", dict: "a JSON object"}


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _need(path, where, obj: dict, key: str, typ, nullable: bool = False) -> None:
    what = _WHAT[typ]
    if nullable and typ is not float:
        what += " or null"
    if key not in obj:
        raise TraceError(path, where, MSG["missing"].format(key=key, what=what))
    v = obj[key]
    if v is None and nullable:
        return
    ok = (_is_num(v) if typ is float else
          (isinstance(v, int) and not isinstance(v, bool)) if typ is int else isinstance(v, typ))
    if not ok:
        found = json.dumps(v) if not isinstance(v, (dict, list)) else type(v).__name__
        raise TraceError(path, where, MSG["field"].format(key=key, found=found, what=what))
