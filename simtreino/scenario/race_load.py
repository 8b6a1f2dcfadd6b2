"""Validation of race scenarios (``kind = "race"``): a 2-D function, a start,
and several optimizers with their own hyperparameters.

``load.py`` parses the TOML and hands the table here; the checks use the
same loader helpers, so errors read like every other scenario error (file,
dotted key, what was expected). The format is in docs/scenarios.md.
"""

from dataclasses import fields
import math

from simtreino.core.functions2d import FUNCTIONS
from simtreino.core.hyper import Hyper
from simtreino.core.optimizers import OPTIMIZERS

from .errors import one_of, show
from .schema import (SCHEMA_VERSION, OptimizerSpec, RaceScenario, RacerExpect, RacerSpec,
                     SurfaceSpec)

RACE_TOP_KEYS = ("schema_version", "kind", "name", "name_pt", "description", "description_pt")
RACE_TABLES = ("surface", "training", "racers")
SURFACE_KEYS = ("function", "start", "domain", "scale")
RACE_TRAINING_KEYS = ("steps", "record_every")
RACER_OWN_KEYS = ("label", "kind", "expect")
RACER_EXPECT_KEYS = tuple(f.name for f in fields(RacerExpect))
SCALES = ("linear", "log")
# Every position is kept for drawing: 8 racers x 100,000 steps is 13 MB.
MAX_STEPS = 100_000
MAX_RACERS = 12
# ends_near names a known minimum; Himmelblau's are given to 6 decimals
MINIMUM_MATCH = 1e-3

_STEPS = Hyper(100, type="int", low=1, high=MAX_STEPS, doc="steps every optimizer takes")
_RECORD = Hyper(None, type="int", low=1, doc="steps between trace records")
_BOUND = Hyper(None, low=0.0)
_LOSS = Hyper(None)
_FLAG = Hyper(None, type="bool")


def race_from_dict(ld, d: dict) -> RaceScenario:
    """``ld``: the scenario loader (its ``err``/``hyper``/``choice`` helpers)."""
    network_tables = [k for k in d if k not in RACE_TOP_KEYS + RACE_TABLES
                      and k in ("data", "model", "loss", "optimizer", "schedule", "expect",
                                "regularization", "seed", "dtype")]
    if network_tables:
        k = network_tables[0]
        hint = ("each racer has its own optimizer: [[racers]] kind = ..." if k == "optimizer"
                else "each racer has its own checks: [[racers]] expect = { ... }"
                if k == "expect" else "a race has no data or network")
        raise ld.err(k, f"not used by a race scenario ({hint})")
    ld.unknown_keys(d, "", RACE_TOP_KEYS + RACE_TABLES, top=True)
    known = RACE_TOP_KEYS + RACE_TABLES
    name = ld.string(d, "name", "", required=True, nonempty=True, known=known)
    description = ld.string(d, "description", "")
    description_pt = ld.string(d, "description_pt", "")
    name_pt = ld.string(d, "name_pt", "")
    surface = _surface(ld, ld.table(d, "surface", "", True))
    steps, record_every = _training(ld, ld.table(d, "training", "", True))
    racers = _racers(ld, d, surface.function)
    return RaceScenario(name=name, description=description, surface=surface, steps=steps,
                        racers=racers, record_every=record_every,
                        description_pt=description_pt, name_pt=name_pt,
                        schema_version=SCHEMA_VERSION,
                        source=ld.source)


def _numbers(ld, v, key: str, n: int, example: str) -> tuple[float, ...]:
    ok = (isinstance(v, (list, tuple)) and len(v) == n
          and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                  for x in v))
    if not ok:
        raise ld.err(key, f"expected {n} finite numbers like {example}, got {show(v)}")
    return tuple(float(x) for x in v)


def _surface(ld, t: dict) -> SurfaceSpec:
    p = "surface"
    ld.unknown_keys(t, p, SURFACE_KEYS)
    fn = ld.choice(t, "function", p, FUNCTIONS, required=True, known=SURFACE_KEYS)
    spec = FUNCTIONS[fn]
    domain = spec.domain
    if "domain" in t:
        domain = _numbers(ld, t["domain"], "surface.domain", 4, "[-2, 2, -1, 3]")
        if not (domain[0] < domain[1] and domain[2] < domain[3]):
            raise ld.err("surface.domain", "expected [xmin, xmax, ymin, ymax] with "
                         f"xmin < xmax and ymin < ymax, got {show(t['domain'])}")
    start = spec.start
    if "start" in t:
        start = _numbers(ld, t["start"], "surface.start", 2, "[-1.5, 2.0]")
    default_scale = "log" if spec.log_scale else "linear"
    scale = ld.choice(t, "scale", p, SCALES, default=default_scale)
    return SurfaceSpec(function=fn, start=start, domain=domain, scale=scale)


def _training(ld, t: dict) -> tuple[int, int | None]:
    p = "training"
    ld.unknown_keys(t, p, RACE_TRAINING_KEYS, explain=lambda k: (
        "unknown key; a race counts steps, not epochs: use steps" if k in ("epochs", "batch_size")
        else None))
    steps = ld.hyper(t, "steps", p, _STEPS, required=True, known=RACE_TRAINING_KEYS)
    record = ld.hyper(t, "record_every", p, _RECORD)
    return steps, record


def _racers(ld, d: dict, function: str) -> tuple[RacerSpec, ...]:
    example = '[[racers]] with kind = "sgd", lr = 0.01'
    if "racers" not in d:
        raise ld.missing(d, "", "racers", f"an array of tables ({example})",
                         RACE_TOP_KEYS + RACE_TABLES)
    raw = d["racers"]
    if not isinstance(raw, list) or not raw or not all(isinstance(r, dict) for r in raw):
        raise ld.err("racers", f"expected a non-empty array of tables ({example}), "
                     f"got {show(raw)}")
    if len(raw) > MAX_RACERS:
        raise ld.err("racers", f"expected at most {MAX_RACERS} racers, got {len(raw)}")
    out, labels = [], {}
    for i, t in enumerate(raw):
        r = _racer(ld, t, f"racers[{i}]", function)
        if r.label in labels:
            raise ld.err(f"racers[{i}].label", f"'{r.label}' is already the label of "
                         f"racers[{labels[r.label]}]; give each racer its own label")
        labels[r.label] = i
        out.append(r)
    return tuple(out)


def _racer(ld, t: dict, p: str, function: str) -> RacerSpec:
    decls = {name: decl for name, (_, decl) in OPTIMIZERS.items()}
    params = {k for decl in decls.values() for k in decl}
    kind = ld.choice(t, "kind", p, OPTIMIZERS, required=True,
                     known=set(RACER_OWN_KEYS) | params)
    own = {k: v for k, v in t.items() if k not in ("label", "expect")}
    hp = ld.params(own, p, decls[kind], owner_kind="optimizer", kind=kind, others=decls)
    if hp.get("nesterov") and (hp.get("momentum", 0.0) <= 0.0 or hp.get("dampening", 0.0) != 0):
        raise ld.err(f"{p}.nesterov", "Nesterov momentum requires momentum > 0 and "
                     f"dampening = 0, got momentum = {hp['momentum']:g}, "
                     f"dampening = {hp['dampening']:g}")
    label = ld.string(t, "label", p, default=kind, nonempty=True)
    expect = (_expect(ld, t["expect"], f"{p}.expect", function) if "expect" in t
              else RacerExpect())
    return RacerSpec(label=label, optimizer=OptimizerSpec(kind, hp), expect=expect)


def _known_minimum(ld, v, key: str, function: str) -> tuple[float, float]:
    point = _numbers(ld, v, key, 2, "[3.0, 2.0]")
    minima = FUNCTIONS[function].minima
    for m in minima:
        if math.hypot(m[0] - point[0], m[1] - point[1]) <= MINIMUM_MATCH:
            return m
    listed = ", ".join(f"[{m[0]:g}, {m[1]:g}]" for m in minima)
    raise ld.err(key, f"expected one of the known minima of '{function}' ({listed}), "
                 f"got {show(v)}")


def _expect(ld, t, p: str, function: str) -> RacerExpect:
    if not isinstance(t, dict):
        raise ld.err(p, "expected a table like { distance_below = 0.01 }, "
                     f"got {show(t)}")
    ld.unknown_keys(t, p, RACER_EXPECT_KEYS)
    out = {}
    for k in RACER_EXPECT_KEYS:
        if k == "ends_near" and k in t:
            out[k] = _known_minimum(ld, t[k], f"{p}.ends_near", function)
        elif k in t:
            h = _FLAG if k == "diverges" else _LOSS if k.startswith("loss") else _BOUND
            out[k] = ld.hyper(t, k, p, h)
    if not out:
        raise ld.err(p, f"expected at least one check: {one_of(RACER_EXPECT_KEYS)}")
    return RacerExpect(**out)
