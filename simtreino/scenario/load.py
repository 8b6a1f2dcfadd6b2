"""Scenario files: TOML in, validated frozen dataclasses out.

This is the only module of the program that parses TOML. Every setting's
type, default and range comes from the declarations in the core and data
packages (``Hyper`` objects), so a value is accepted or refused here by the
same rule as in the live hyperparameter form. Every problem is a
``ScenarioError`` naming the file, the dotted key and what was expected.
The format is documented in docs/scenarios.md.
"""

from dataclasses import fields
from pathlib import Path
import re
import tomllib

from simtreino.core.activations import ACTIVATIONS, ACTIVATION_PARAM, OUTPUT_ONLY
from simtreino.core.hyper import Hyper, resolve
from simtreino.core.losses import LOSSES, LOSS_PARAMS, LOSS_OUTPUT_ACTIVATIONS
from simtreino.core.network import INITIALIZERS
from simtreino.core.optimizers import OPTIMIZERS
from simtreino.core.regularization import (CLIPPING, DROPOUT, EARLY_STOPPING, MONITORS,
                                           REGULARIZATION)
from simtreino.core.schedules import SCHEDULES
from simtreino.data import generators as _generators
from simtreino.data.errors import DataError
from simtreino.data.generators import GENERATORS
from simtreino.data.idx import IDX_FILES
from simtreino.data.mnist import (DATA_DIR_CACHE, MNIST_SETTINGS, N_CLASSES as MNIST_CLASSES,
                                  PIXEL_SCALINGS, bundled_sizes)

from .errors import ScenarioError, did_you_mean, one_of, show
from .race_load import RACE_TABLES, race_from_dict
from .schema import (SCHEMA_VERSION, DataSpec, EarlyStoppingSpec, ExpectSpec, InitSpec,
                     LayerSpec, LossSpec, ModelSpec, OptimizerSpec, RaceScenario,
                     RegularizationSpec, RunSpec, Scenario, ScheduleSpec, Split, TrainingSpec)

__all__ = ["load_scenario", "scenario_from_dict", "check_outputs"]

# ---------------------------------------------------------------------------
# Settings of the scenario itself (the numeric ones of the model live in core)

DTYPES = ("float64", "float32")
NORMALIZE = ("none", "standard", "minmax")
TASKS = ("classification", "regression")
CSV = "csv"
CSV_KEYS = ("path", "target", "task")
MNIST = "mnist"
MNIST_KEYS = ("subset", "test_subset", "data_dir", "flatten", "pixels")
DATA_COMMON = ("source", "normalize", "shuffle", "split", "seed")
DEFAULT_INIT = "xavier_uniform"
SPLIT_TOLERANCE = 1e-9

_SEED = Hyper(0, type="int", low=0, doc="random seed")
_FRACTION = Hyper(0.0, low=0.0, high=1.0, doc="fraction of the samples")
_UNITS = Hyper(1, type="int", low=1, doc="units of the layer")
_BIAS = Hyper(0.0, doc="initial value of the biases")
_EPOCHS = Hyper(1, type="int", low=1, doc="epochs to train")
_BATCH = Hyper(None, type="int", low=1, doc="samples per step")
_RECORD = Hyper(None, type="int", low=1, doc="steps between trace records")
_SHUFFLE = Hyper(True, type="bool", doc="reshuffle the training set every epoch")
_ACCURACY = Hyper(None, low=0.0, high=1.0)
_LOSS_BOUND = Hyper(None, low=0.0)
_FLAG = Hyper(None, type="bool")
_BATCHNORM = Hyper(False, type="bool", doc="batch normalisation before the activation")
_RESIDUAL = Hyper(False, type="bool", doc="add the layer's input to its output")

TOP_KEYS = ("schema_version", "kind", "name", "name_pt", "description", "description_pt",
            "seed", "dtype")
KINDS = ("network", "race")
TABLES = ("data", "model", "loss", "optimizer", "schedule", "regularization", "training",
          "expect", "runs")
RUN_KEYS = ("label", "optimizer", "schedule", "batch_size", "expect")
MAX_RUNS = 6
MODEL_KEYS = ("layers", "init", "bias_init")
TRAINING_KEYS = ("epochs", "batch_size", "record_every") + tuple(CLIPPING) + ("early_stopping",)
LAYER_KEYS = ("units", "activation", "init", "bias_init", "dropout", "batchnorm", "residual")
HIDDEN_ONLY = ("dropout", "batchnorm", "residual")    # layer keys refused on the output layer
EARLY_STOPPING_KEYS = ("monitor",) + tuple(EARLY_STOPPING)
EXPECT_KEYS = tuple(f.name for f in fields(ExpectSpec))

# How each loss wants the output layer sized (see check_outputs):
#   per_class -- one unit per class (softmax losses);
#   binary    -- two classes, one output unit;
#   any       -- regression losses: n_targets units, or for class labels
#                one unit (two classes) or one unit per class (one-hot).
LOSS_TARGETS = {
    "cross_entropy": "per_class",
    "kl_div": "per_class",
    "bce": "binary",
    "hinge": "binary",
    "mse": "any",
    "mae": "any",
    "huber": "any",
}


# ---------------------------------------------------------------------------
# Public API

def load_scenario(path) -> Scenario | RaceScenario:
    """Read, parse and validate one scenario file.

    ``source`` of the result is ``Path(path)`` as given; errors name the file
    as given too.
    """
    label = str(path)
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(label, None, "file not found") from None
    except IsADirectoryError:
        raise ScenarioError(label, None, "is a directory, not a scenario file") from None
    except OSError as e:
        raise ScenarioError(label, None, f"cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ScenarioError(label, None, "invalid TOML: the file is not UTF-8 text",
                            line=line) from None
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _toml_error(label, e) from None
    return scenario_from_dict(d, source=p, file_label=label)


def scenario_from_dict(d: dict, source: Path | None = None,
                       file_label: str = "<scenario>") -> Scenario | RaceScenario:
    """Validate a scenario given as plain data (what ``tomllib`` returns, or
    ``scenario_to_dict``'s output). Relative csv paths are resolved against
    the folder of ``source`` (the current directory when None)."""
    source = Path(source) if source is not None else None
    return _Loader(file_label, source).scenario(d)


def check_outputs(scenario: Scenario, task: str, n_classes: int | None,
                  n_targets: int | None = 1) -> None:
    """Raise ScenarioError when the output layer does not fit the data.

    ``task`` is ``classification`` (``n_classes`` labels) or ``regression``
    (``n_targets`` target columns). Called by the loader for generated data
    and by the build code once a CSV file has been read.
    """
    file = str(scenario.source) if scenario.source is not None else "<scenario>"
    layers = scenario.model.layers
    last = len(layers) - 1
    units = layers[-1].units
    ukey = f"model.layers[{last}].units"
    kind = scenario.loss.kind
    rule = LOSS_TARGETS.get(kind)
    where = _data_name(scenario)

    def err(key, msg):
        return ScenarioError(file, key, msg)

    if task == "regression":
        if rule != "any":
            regression = [k for k, r in LOSS_TARGETS.items() if r == "any"]
            raise err("loss.kind", f"'{kind}' is a classification loss, but {where} is a "
                      f"regression task; use {_or(regression)}")
        n = int(n_targets or 1)
        if units != n:
            raise err(ukey, f"expected {n} unit{'s' * (n != 1)} for {n} regression "
                      f"target{'s' * (n != 1)} ({where}), got {units}")
        return
    if task != "classification":
        raise err("data.task", f"expected one of {one_of(TASKS)}, got {show(task)}")
    n = int(n_classes)
    if rule == "per_class":
        if units != n:
            raise err(ukey, f"expected {n} units (one per class: {where} has {n} "
                      f"classes) with loss '{kind}', got {units}")
    elif rule == "binary":
        if n != 2:
            multi = [k for k, r in LOSS_TARGETS.items() if r == "per_class"]
            raise err("loss.kind", f"'{kind}' needs 2 classes, but {where} has {n}; "
                      f"use {_or(multi)} with {n} softmax units")
        if units != 1:
            raise err(ukey, f"expected 1 unit with loss '{kind}' (2 classes), got {units}")
    elif rule == "any":
        ok = (1, n) if n == 2 else (n,)
        if units not in ok:
            want = "1 unit (labels 0/1) or 2 units (one-hot)" if n == 2 else \
                f"{n} units (one-hot targets: {where} has {n} classes)"
            raise err(ukey, f"expected {want} with loss '{kind}', got {units}")


# ---------------------------------------------------------------------------
# TOML syntax errors

_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def _toml_error(label: str, e: tomllib.TOMLDecodeError) -> ScenarioError:
    msg = str(e)
    m = _AT.search(msg)
    if m:
        return ScenarioError(label, None, f"invalid TOML: {msg[:m.start()]} "
                             f"(column {m.group(2)})", line=int(m.group(1)))
    return ScenarioError(label, None, f"invalid TOML: {msg}")


# ---------------------------------------------------------------------------
# The validator

def _key(prefix: str, name) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def _or(words) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _owners(key: str, mapping: dict) -> list[str]:
    """The names in ``mapping`` (name -> settings dict) that declare ``key``."""
    return [name for name, params in mapping.items() if key in params]


def _data_name(s: Scenario) -> str:
    if s.data.source == CSV:
        return s.data.path or "the csv file"
    if s.data.source == MNIST:
        return "MNIST"
    return f"the {s.data.source} data"


def _n_classes(source: str, params: dict) -> int:
    f = getattr(_generators, "n_classes_of", None)
    if f is not None:
        return int(f(source, params))
    if "arms" in params:        # spirals
        return int(params["arms"])
    if "classes" in params:     # blobs
        return int(params["classes"])
    return 2


def _n_targets(source: str, params: dict) -> int:
    f = getattr(_generators, "n_targets_of", None)
    return int(f(source, params)) if f is not None else 1


class _Loader:
    def __init__(self, file: str, source: Path | None):
        self.file = file
        self.source = source

    # -- small helpers -------------------------------------------------------

    def err(self, key: str | None, message: str) -> ScenarioError:
        return ScenarioError(self.file, key, message)

    def unknown_keys(self, tbl: dict, prefix: str, allowed, *, top=False,
                     explain=None) -> None:
        """Refuse keys not in ``allowed``. ``explain(key)`` may return a
        better message for a key that is valid somewhere else."""
        allowed = list(allowed)
        for k, v in tbl.items():
            if k in allowed:
                continue
            what = "table" if top and isinstance(v, dict) else "key"
            candidates = allowed
            if top:  # a table is a misspelt table, a value a misspelt key
                candidates = [a for a in allowed if (a in TABLES) == (what == "table")]
            msg = explain(k) if explain else None
            if msg is None:
                lower = [a for a in candidates if a.lower() == str(k).lower()]
                guess = lower[0] if lower else did_you_mean(k, candidates)
                if guess:
                    msg = f"unknown {what}; did you mean '{guess}'?"
                elif candidates:
                    msg = f"unknown {what}; expected one of {one_of(candidates)}"
                else:
                    msg = f"unknown {what}; this table takes no settings"
            raise self.err(_key(prefix, k), msg)

    def missing(self, tbl: dict, prefix: str, name: str, expected: str, known=()):
        # A misspelt required key reads better as "did you mean" than "missing".
        for k in tbl:
            if k not in known and did_you_mean(k, [name]):
                return self.err(_key(prefix, k), f"unknown key; did you mean '{name}'?")
        return self.err(_key(prefix, name), f"missing required key; expected {expected}")

    def table(self, parent: dict, name: str, prefix: str, required: bool) -> dict | None:
        key = _key(prefix, name)
        if name not in parent:
            if required:
                for k in parent:
                    if k not in TABLES and k not in TOP_KEYS and did_you_mean(k, [name]):
                        raise self.err(_key(prefix, k), f"unknown table; did you mean '{name}'?")
                raise self.err(key, f"missing required table [{key}]")
            return None
        t = parent[name]
        if not isinstance(t, dict):
            raise self.err(key, f"expected a table [{key}], got {show(t)}")
        return t

    def hyper(self, tbl: dict, name: str, prefix: str, h: Hyper, *, required=False,
              default=None, known=()):
        """The checked value of ``tbl[name]``; its default when absent."""
        if name not in tbl:
            if required:
                raise self.missing(tbl, prefix, name, _expected(h), known)
            return h.default if default is None else default
        try:
            return h.check(tbl[name])
        except ValueError as e:
            raise self.err(_key(prefix, name), f"expected {e}, got {show(tbl[name])}") from None

    def string(self, tbl: dict, name: str, prefix: str, *, required=False, default="",
               nonempty=False, known=()):
        what = "a non-empty string" if nonempty else "a string"
        if name not in tbl:
            if required:
                raise self.missing(tbl, prefix, name, what, known)
            return default
        v = tbl[name]
        if not isinstance(v, str) or (nonempty and not v.strip()):
            raise self.err(_key(prefix, name), f"expected {what}, got {show(v)}")
        return v

    def choice(self, tbl: dict, name: str, prefix: str, choices, *, required=False,
               default=None, known=(), what=None):
        choices = list(choices)
        expected = f"one of {one_of(choices)}"
        if name not in tbl:
            if required:
                raise self.missing(tbl, prefix, name, expected, known)
            return default
        v = tbl[name]
        if isinstance(v, str) and v in choices:
            return v
        msg = f"expected {what or expected}, got {show(v)}"
        if isinstance(v, str):
            lower = [c for c in choices if c.lower() == v.lower()]
            guess = lower[0] if lower else did_you_mean(v, choices)
            if guess:
                msg += f"; did you mean '{guess}'?"
            elif what:
                msg += f" ({expected})"
        raise self.err(_key(prefix, name), msg)

    def params(self, tbl: dict, prefix: str, decl: dict, *, skip=("kind",), owner_kind="",
               kind="", others: dict | None = None) -> dict:
        """``decl``'s settings resolved from ``tbl`` (unknown keys refused)."""
        def explain(k):
            owners = [o for o in _owners(k, others or {}) if o != kind]
            if owners:
                return (f"unknown key for {owner_kind} '{kind}' "
                        f"(a setting of {_or(owners)})")
            return None

        self.unknown_keys(tbl, prefix, list(skip) + list(decl), explain=explain)
        given = {k: v for k, v in tbl.items() if k not in skip}
        try:
            return resolve(kind, decl, given)
        except KeyError as e:  # cannot happen after unknown_keys; keep the message good
            raise self.err(_key(prefix, e.args[0]), "unknown key") from None
        except ValueError as e:
            k, expected = e.args[0]
            raise self.err(_key(prefix, k), f"expected {expected}, got {show(given[k])}") from None

    # -- the scenario --------------------------------------------------------

    def scenario(self, d) -> Scenario:
        if not isinstance(d, dict):
            raise self.err(None, f"expected a table of settings, got {show(d)}")
        version = d.get("schema_version", SCHEMA_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version != SCHEMA_VERSION:
            raise self.err("schema_version", f"expected {SCHEMA_VERSION} (the only version "
                           f"this simtreino reads), got {show(version)}")
        kind = self.choice(d, "kind", "", KINDS, default="network")
        if kind == "race":
            return race_from_dict(self, d)
        self.unknown_keys(d, "", TOP_KEYS + TABLES, top=True,
                          explain=lambda k: _race_only(k))

        name = self.string(d, "name", "", required=True, nonempty=True, known=TOP_KEYS + TABLES)
        description = self.string(d, "description", "")
        description_pt = self.string(d, "description_pt", "")
        name_pt = self.string(d, "name_pt", "")
        seed = self.hyper(d, "seed", "", _SEED)
        dtype = self.choice(d, "dtype", "", DTYPES, default="float64")

        data = self.data(self.table(d, "data", "", True))
        model = self.model(self.table(d, "model", "", True))
        loss = self.loss(self.table(d, "loss", "", True), model)
        optimizer = self.optimizer(self.table(d, "optimizer", "", True))
        schedule = self.schedule(self.table(d, "schedule", "", False))
        regularization = self.regularization(self.table(d, "regularization", "", False))
        training = self.training(self.table(d, "training", "", True), data, model)
        expect = self.expect(self.table(d, "expect", "", False), data, training=training)
        runs = self.runs(d, data, model, optimizer, schedule, training, expect)

        s = Scenario(
            name=name, description=description, seed=seed, dtype=dtype, data=data,
            model=model, loss=loss, optimizer=optimizer, schedule=schedule,
            training=training, expect=expect, description_pt=description_pt, name_pt=name_pt,
            schema_version=SCHEMA_VERSION, source=self.source, runs=runs,
            regularization=regularization,
        )
        if data.source == MNIST:
            try:
                check_outputs(s, "classification", MNIST_CLASSES)
            except ScenarioError as e:
                raise self.err(e.key, e.message) from None
        elif data.source != CSV:
            task = GENERATORS[data.source][0]
            if task == "classification":
                n_classes, n_targets = _n_classes(data.source, data.params), None
            else:
                n_classes, n_targets = None, _n_targets(data.source, data.params)
            try:
                check_outputs(s, task, n_classes, n_targets)
            except ScenarioError as e:
                raise self.err(e.key, e.message) from None
        # after the output checks: a wrong model is the first thing to fix
        for k, v in vars(expect).items():
            if "accuracy" in k and v is not None and _task(data) == "regression":
                raise self.err(_key("expect", k), "accuracy needs classification data "
                               f"('{data.source}' is a regression task); use a loss bound")
        return s

    # -- [data] --------------------------------------------------------------

    def data(self, t: dict) -> DataSpec:
        p = "data"
        sources = list(GENERATORS) + [CSV, MNIST]
        source = self.choice(t, "source", p, sources, required=True,
                             known=DATA_COMMON + CSV_KEYS + MNIST_KEYS)
        own = (CSV_KEYS if source == CSV else MNIST_KEYS if source == MNIST
               else tuple(GENERATORS[source][1]))

        def explain(k):
            owners = _owners(k, {g: decl for g, (_, decl) in GENERATORS.items()})
            if k in CSV_KEYS:
                owners.append(CSV)
            if k in MNIST_KEYS:
                owners.append(MNIST)
            owners = [o for o in owners if o != source]
            if owners:
                return (f"unknown key for source '{source}' "
                        f"(a setting of {_or(owners)})")
            return None

        self.unknown_keys(t, p, DATA_COMMON + own, explain=explain)

        params, path, resolved, target, task = {}, None, None, None, None
        if source == CSV:
            known = DATA_COMMON + CSV_KEYS
            path = self.string(t, "path", p, required=True, nonempty=True, known=known)
            target = self.string(t, "target", p, required=True, nonempty=True, known=known)
            task = self.choice(t, "task", p, TASKS, required=True, known=known)
            resolved = self._resolve_path(path)
        elif source == MNIST:
            params, resolved = self.mnist(t)
        else:
            decl = GENERATORS[source][1]
            params = self.params({k: t[k] for k in decl if k in t}, p, decl, skip=(),
                                 kind=source)

        normalize = self.choice(t, "normalize", p, NORMALIZE, default="none")
        if source == MNIST and normalize != "none":
            raise self.err("data.normalize", "expected \"none\" with source 'mnist' (its "
                           "pixels are scaled by data.pixels: \"unit\" or \"standard\"), "
                           f"got {show(normalize)}")
        split = self.split(t)
        if source == MNIST and split.test != 0.0:
            raise self.err("data.split.test", "expected 0 with source 'mnist': MNIST has its "
                           "own test set (data.test_subset says how many of its images); "
                           "split.val holds out validation images from the training subset")
        return DataSpec(
            source=source, params=params, path=path, resolved_path=resolved,
            target=target, task=task,
            normalize=normalize,
            shuffle=self.hyper(t, "shuffle", p, _SHUFFLE),
            split=split,
            seed=self.hyper(t, "seed", p, _SEED, default=None) if "seed" in t else None,
        )

    def mnist(self, t: dict) -> tuple[dict, Path | None]:
        """The settings of source = "mnist" (keys already checked) and the
        resolved data_dir (None: the bundled subset)."""
        p = "data"
        params = self.params({k: t[k] for k in MNIST_SETTINGS if k in t}, p, MNIST_SETTINGS,
                             skip=(), kind=MNIST)
        if not params["flatten"]:
            raise self.err("data.flatten", "expected true: the network's layers are dense "
                           "(fully connected), so each 28x28 image enters as a row of 784 "
                           "pixels; there are no convolutional layers that would use the "
                           "image's 2-D shape")
        params["pixels"] = self.choice(t, "pixels", p, PIXEL_SCALINGS, default="unit")
        data_dir = self.string(t, "data_dir", p, nonempty=True, default=None)
        params["data_dir"] = data_dir
        if data_dir is not None:
            return params, self._mnist_dir(data_dir)
        try:
            sizes = bundled_sizes()
        except DataError as e:
            raise self.err(p, str(e)) from None
        for key, part, n in zip(("subset", "test_subset"), ("training", "test"), sizes):
            v = params[key]
            if v is not None and v > n:
                lo = MNIST_SETTINGS[key].low
                raise self.err(_key(p, key), f"expected an integer in [{lo}, {n}] (the "
                               f"bundled subset has {n:,} {part} images; set data_dir to "
                               f"use the full MNIST), got {show(t[key])}")
        return params, None

    def _mnist_dir(self, value: str) -> Path:
        key = "data.data_dir"
        if value == DATA_DIR_CACHE:
            from simtreino.data.fetch import mnist_cache_dir
            folder = mnist_cache_dir()
            problem = _mnist_files_problem(folder)
            if problem:
                raise self.err(key, f"\"cache\" is {folder}, which {problem}; download "
                               "the files with `simtreino data fetch mnist`")
            return folder
        p = Path(value).expanduser()
        if not p.is_absolute():
            base = self.source.parent if self.source is not None else Path.cwd()
            p = base / p
        p = p.resolve()
        fetch = f"`simtreino data fetch mnist --dir {value}` downloads them"
        if not p.exists():
            raise self.err(key, f"not found: {value} (expected a folder holding the four "
                           f"MNIST files or mnist.npz, or an .npz file; {fetch})")
        if p.is_file():
            if p.suffix != ".npz":
                raise self.err(key, f"expected a folder or an .npz file, got the file {value}")
            return p
        problem = _mnist_files_problem(p)
        if problem:
            raise self.err(key, f"{value} {problem}; {fetch}")
        return p

    def _resolve_path(self, path: str) -> Path:
        p = Path(path)
        if not p.is_absolute():
            base = self.source.parent if self.source is not None else Path.cwd()
            p = base / p
        p = p.resolve()
        if not p.exists():
            raise self.err("data.path", f"file not found: {path}")
        if not p.is_file():
            raise self.err("data.path", f"not a file: {path}")
        return p

    def split(self, t: dict) -> Split:
        p = "data.split"
        if "split" not in t:
            return Split()
        s = t["split"]
        if not isinstance(s, dict):
            raise self.err(p, "expected a table like { train = 0.8, val = 0.2 }, "
                           f"got {show(s)}")
        self.unknown_keys(s, p, ("train", "val", "test"))
        val = self.hyper(s, "val", p, _FRACTION)
        test = self.hyper(s, "test", p, _FRACTION)
        if "train" in s:
            train = self.hyper(s, "train", p, _FRACTION)
            if train == 0.0:
                raise self.err(_key(p, "train"), f"expected a number in (0, 1], got {show(s['train'])}")
            total = train + val + test
            if abs(total - 1.0) > SPLIT_TOLERANCE:
                raise self.err(p, f"expected train + val + test = 1, got {total:.12g} "
                               f"(train = {train:g}, val = {val:g}, test = {test:g})")
        else:
            train = round(1.0 - val - test, 12)
            if train <= 0.0:
                raise self.err(p, f"expected val + test < 1 (train gets the rest), got "
                               f"val = {val:g}, test = {test:g}")
        return Split(train=train, val=val, test=test)

    # -- [model] -------------------------------------------------------------

    def model(self, t: dict) -> ModelSpec:
        p = "model"
        self.unknown_keys(t, p, MODEL_KEYS)
        if "layers" not in t:
            raise self.missing(t, p, "layers", "a non-empty array of tables like "
                               '{ units = 4, activation = "tanh" }', known=MODEL_KEYS)
        raw = t["layers"]
        if not isinstance(raw, (list, tuple)) or not raw:
            raise self.err("model.layers", "expected a non-empty array of tables like "
                           f'{{ units = 4, activation = "tanh" }}, got {show(raw)}')
        layers = tuple(self.layer(lt, i, len(raw)) for i, lt in enumerate(raw))
        for i in range(1, len(layers)):   # layer 0's input is the data: see build.py
            if layers[i].residual and layers[i - 1].units != layers[i].units:
                raise self.err(f"model.layers[{i}].residual", residual_mismatch(
                    f"the {layers[i - 1].units} units of model.layers[{i - 1}]",
                    layers[i].units))
        init = self.init(t["init"], "model.init") if "init" in t else \
            InitSpec(DEFAULT_INIT, {k: h.default for k, h in INITIALIZERS[DEFAULT_INIT].items()})
        bias = self.hyper(t, "bias_init", p, _BIAS)
        return ModelSpec(layers=layers, init=init, bias_init=bias)

    def layer(self, t, i: int, n: int) -> LayerSpec:
        p = f"model.layers[{i}]"
        if not isinstance(t, dict):
            raise self.err(p, f'expected a table like {{ units = 4, activation = "tanh" }}, '
                           f"got {show(t)}")
        param_keys = {key: act for act, (key, _) in ACTIVATION_PARAM.items()}
        all_keys = LAYER_KEYS + tuple(param_keys)
        self.unknown_keys(t, p, all_keys)
        units = self.hyper(t, "units", p, _UNITS, required=True, known=all_keys)
        act = self.choice(t, "activation", p, ACTIVATIONS, required=True, known=all_keys)
        if act in OUTPUT_ONLY and i != n - 1:
            raise self.err(_key(p, "activation"), f"'{act}' is only allowed on the output "
                           f"layer (model.layers[{n - 1}]), not on a hidden layer")
        for key, owner in param_keys.items():
            if key in t and owner != act:
                raise self.err(_key(p, key), f"only allowed with activation '{owner}' "
                               f"(this layer's activation is '{act}')")
        act_param = None
        if act in ACTIVATION_PARAM:
            key, default = ACTIVATION_PARAM[act]
            act_param = self.hyper(t, key, p, Hyper(default, doc=key))
        init = self.init(t["init"], _key(p, "init")) if "init" in t else None
        bias = self.hyper(t, "bias_init", p, _BIAS) if "bias_init" in t else None
        for key in HIDDEN_ONLY:
            if key in t and i == n - 1:
                raise self.err(_key(p, key), "only allowed on a hidden layer, not on the "
                               f"output layer (model.layers[{n - 1}])")
        return LayerSpec(units=units, activation=act, activation_param=act_param,
                         init=init, bias_init=bias,
                         dropout=self.hyper(t, "dropout", p, DROPOUT),
                         batchnorm=self.hyper(t, "batchnorm", p, _BATCHNORM),
                         residual=self.hyper(t, "residual", p, _RESIDUAL))

    def init(self, v, p: str) -> InitSpec:
        names = list(INITIALIZERS)
        if isinstance(v, str):
            kind = self.choice({"init": v}, "init", p.rsplit(".", 1)[0], names)
            return InitSpec(kind, {k: h.default for k, h in INITIALIZERS[kind].items()})
        if not isinstance(v, dict):
            raise self.err(p, "expected an initializer name or a table like "
                           f'{{ kind = "normal", std = 0.1 }}, got {show(v)}')
        kind = self.choice(v, "kind", p, names, required=True,
                           known={k for decl in INITIALIZERS.values() for k in decl})
        params = self.params(v, p, INITIALIZERS[kind], owner_kind="initializer", kind=kind,
                             others=INITIALIZERS)
        if kind == "uniform" and params["a"] > params["b"]:
            # torch.nn.init.uniform_ refuses a > b too
            raise self.err(_key(p, "b"), f"expected a number >= a ({params['a']:g}), "
                           f"got {show(v.get('b', params['b']))}")
        return InitSpec(kind, params)

    # -- [loss], [optimizer], [schedule] ---------------------------------------

    def loss(self, t: dict, model: ModelSpec) -> LossSpec:
        p = "loss"
        all_params = {k for decl in LOSS_PARAMS.values() for k in decl}
        kind = self.choice(t, "kind", p, LOSSES, required=True, known=all_params)
        params = self.params(t, p, LOSS_PARAMS[kind], owner_kind="loss", kind=kind,
                             others=LOSS_PARAMS)
        last = len(model.layers) - 1
        out = model.layers[-1].activation
        allowed = LOSS_OUTPUT_ACTIVATIONS[kind]
        if out not in allowed:
            need = (f"the output activation '{allowed[0]}'" if len(allowed) == 1
                    else f"one of the output activations {one_of(allowed)}")
            msg = f"'{kind}' needs {need} (model.layers[{last}].activation is '{out}')"
            takers = [k for k, acts in LOSS_OUTPUT_ACTIVATIONS.items() if out in acts]
            if out in OUTPUT_ONLY and takers:
                msg += f"; a {out} output needs loss {_or(takers)}"
            raise self.err("loss.kind", msg)
        return LossSpec(kind, params)

    def optimizer(self, t: dict, p: str = "optimizer") -> OptimizerSpec:
        decls = {name: decl for name, (_, decl) in OPTIMIZERS.items()}
        kind = self.choice(t, "kind", p, OPTIMIZERS, required=True,
                           known={k for decl in decls.values() for k in decl})
        params = self.params(t, p, decls[kind], owner_kind="optimizer", kind=kind,
                             others=decls)
        if params.get("nesterov"):
            # torch.optim.SGD: "Nesterov momentum requires a momentum and zero dampening"
            m, dmp = params.get("momentum", 0.0), params.get("dampening", 0.0)
            if m <= 0.0 or dmp != 0.0:
                raise self.err(f"{p}.nesterov", "Nesterov momentum requires momentum > 0 "
                               f"and dampening = 0, got momentum = {m:g}, dampening = {dmp:g}")
        return OptimizerSpec(kind, params)

    def schedule(self, t: dict | None, p: str = "schedule") -> ScheduleSpec:
        if t is None:
            return ScheduleSpec()
        decls = {name: decl for name, (_, decl) in SCHEDULES.items()}
        kind = self.choice(t, "kind", p, SCHEDULES, default=ScheduleSpec.kind)
        params = self.params(t, p, decls[kind], owner_kind="schedule", kind=kind,
                             others=decls)
        return ScheduleSpec(kind, params)

    # -- [training], [expect] ------------------------------------------------

    def runs(self, d: dict, data, model, optimizer, schedule, training, expect) -> tuple:
        """``[[runs]]``: runs compared from the same initial weights."""
        if "runs" not in d:
            return ()
        raw = d["runs"]
        example = '[[runs]] with label = "SGD" and optimizer = { kind = "sgd", lr = 0.01 }'
        if not isinstance(raw, list) or not raw or not all(isinstance(r, dict) for r in raw):
            raise self.err("runs", f"expected an array of tables ({example}), got {show(raw)}")
        if len(raw) > MAX_RUNS:
            raise self.err("runs", f"expected at most {MAX_RUNS} runs, got {len(raw)}")
        out, labels = [], {}
        for i, t in enumerate(raw):
            p = f"runs[{i}]"
            self.unknown_keys(t, p, RUN_KEYS)
            label = self.string(t, "label", p, required=True, nonempty=True, known=RUN_KEYS)
            if label in labels:
                raise self.err(f"{p}.label", f"'{label}' is already the label of "
                               f"runs[{labels[label]}]; give each run its own label")
            labels[label] = i
            opt = optimizer
            if "optimizer" in t:
                opt = self.optimizer(self.sub_table(t, "optimizer", p), f"{p}.optimizer")
            sched = schedule
            if "schedule" in t:
                sched = self.schedule(self.sub_table(t, "schedule", p), f"{p}.schedule")
            batch = training.batch_size
            if "batch_size" in t and t["batch_size"] != "full":
                try:
                    batch = _BATCH.check(t["batch_size"])
                except ValueError:
                    raise self.err(f"{p}.batch_size", 'expected "full" or an integer >= 1, '
                                   f"got {show(t['batch_size'])}") from None
            elif "batch_size" in t:
                batch = None
            if "batch_size" in t:
                self.batchnorm_batch(model, batch, f"{p}.batch_size")
            exp = expect
            if "expect" in t:
                exp = self.expect(self.sub_table(t, "expect", p), data, f"{p}.expect",
                                  training=training)
            out.append(RunSpec(label, opt, sched, batch, exp))
        return tuple(out)

    def diagnoses(self, v, key: str) -> tuple:
        return _diagnoses(self, v, key)

    def sub_table(self, t: dict, name: str, p: str) -> dict:
        v = t[name]
        if not isinstance(v, dict):
            raise self.err(f"{p}.{name}", f"expected a table like {{ kind = ... }}, got {show(v)}")
        return v

    def training(self, t: dict, data: DataSpec, model: ModelSpec) -> TrainingSpec:
        p = "training"
        self.unknown_keys(t, p, TRAINING_KEYS)
        epochs = self.hyper(t, "epochs", p, _EPOCHS, required=True, known=TRAINING_KEYS)
        batch = None
        if "batch_size" in t and t["batch_size"] != "full":
            v = t["batch_size"]
            try:
                batch = _BATCH.check(v)
            except ValueError:
                raise self.err("training.batch_size", 'expected "full" or an integer >= 1, '
                               f"got {show(v)}") from None
        self.batchnorm_batch(model, batch, "training.batch_size")
        record = self.hyper(t, "record_every", p, _RECORD)
        clip = {k: self.hyper(t, k, p, h) for k, h in CLIPPING.items()}
        es = None
        if "early_stopping" in t:
            es = self.early_stopping(t["early_stopping"], data)
        return TrainingSpec(epochs=epochs, batch_size=batch, record_every=record, **clip,
                            early_stopping=es)

    def batchnorm_batch(self, model: ModelSpec, batch: int | None, key: str) -> None:
        """Batch normalisation needs 2 samples or more in every batch: a batch
        size of 1 is refused here (the last batch of an epoch is checked
        once the number of training samples is known, see build.py)."""
        bn = first_batchnorm(model)
        if bn is not None and batch == 1:
            raise self.err(key, f"batch normalisation (model.layers[{bn}].batchnorm) needs "
                           "at least 2 samples in every batch, got 1; use a batch size "
                           '>= 2 or "full"')

    def early_stopping(self, v, data: DataSpec) -> EarlyStoppingSpec:
        p = "training.early_stopping"
        if not isinstance(v, dict):
            raise self.err(p, 'expected a table like { monitor = "val_loss", patience = 10 }, '
                           f"got {show(v)}")
        self.unknown_keys(v, p, EARLY_STOPPING_KEYS)
        monitor = self.choice(v, "monitor", p, MONITORS, default=EarlyStoppingSpec.monitor)
        given = "" if "monitor" in v else " (the default)"
        key = _key(p, "monitor")
        if monitor.startswith("val_") and data.split.val == 0.0:
            raise self.err(key, f"'{monitor}'{given} needs a validation split, and the data has "
                           f"none (data.split.val is 0); set data.split.val > 0 or monitor "
                           f"'{monitor[4:]}'")
        if monitor.endswith("accuracy") and _task(data) == "regression":
            loss = monitor.replace("accuracy", "loss")
            raise self.err(key, f"'{monitor}' needs classification data ('{data.source}' is a "
                           f"regression task); monitor '{loss}'")
        opts = {k: self.hyper(v, k, p, h) for k, h in EARLY_STOPPING.items()}
        return EarlyStoppingSpec(monitor=monitor, **opts)

    def regularization(self, t: dict | None) -> RegularizationSpec:
        if t is None:
            return RegularizationSpec()
        p = "regularization"

        def explain(k):
            if k == "weight_decay":   # the optimizer's, applied by it and never in the loss
                return ("unknown key; weight_decay is a setting of [optimizer]; the penalty "
                        "here is l2 (l2 = λ is torch SGD's weight_decay = 2λ)")
            return None

        self.unknown_keys(t, p, REGULARIZATION, explain=explain)
        return RegularizationSpec(**self.params(t, p, REGULARIZATION, skip=()))

    def expect(self, t: dict | None, data: DataSpec, p: str = "expect", *,
               training: TrainingSpec | None = None) -> ExpectSpec:
        if t is None:
            return ExpectSpec()
        self.unknown_keys(t, p, EXPECT_KEYS)
        out = {}
        for k in EXPECT_KEYS:
            if k not in t:
                continue
            if k == "diagnoses":
                out[k] = self.diagnoses(t[k], _key(p, k))
                continue
            h = (_FLAG if k in ("diverges", "no_diagnoses", "stopped_early") else
                 _ACCURACY if "accuracy" in k else _LOSS_BOUND)
            out[k] = self.hyper(t, k, p, h)
            for split in ("val", "test"):
                if data.source == MNIST and split == "test":
                    continue    # MNIST's own test set
                if k.startswith(split + "_") and getattr(data.split, split) == 0.0:
                    raise self.err(_key(p, k), f"the data has no {split} split "
                                   f"(data.split.{split} is 0)")
        if "overfitting" in (out.get("diagnoses") or ()) and data.split.val == 0.0:
            i = out["diagnoses"].index("overfitting")
            raise self.err(f"{_key(p, 'diagnoses')}[{i}]", "overfitting is seen on the "
                           "validation loss, and the data has no val split (data.split.val is 0)")
        if out.get("stopped_early") and training is not None and training.early_stopping is None:
            raise self.err(_key(p, "stopped_early"), "true needs early stopping, which is off "
                           "(add a [training.early_stopping] table)")
        if out.get("no_diagnoses") and out.get("diagnoses"):
            raise self.err(_key(p, "no_diagnoses"), "true contradicts diagnoses = "
                           f"{show(list(out['diagnoses']))} (findings that must be raised)")
        return ExpectSpec(**out)


def _diagnoses(ld: "_Loader", v, key: str) -> tuple:
    """``[expect] diagnoses``: a list of finding names, each known and once."""
    from simtreino.analysis.diagnostics import FINDINGS
    example = 'a list of finding names such as ["vanishing_gradients"]'
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ld.err(key, f"expected {example}, got {show(v)}")
    seen = []
    for i, name in enumerate(v):
        if name not in FINDINGS:
            guess = did_you_mean(name, FINDINGS)
            hint = f"; did you mean '{guess}'?" if guess else f" (expected one of {one_of(FINDINGS)})"
            raise ld.err(f"{key}[{i}]", f"unknown finding '{name}'{hint}")
        if name in seen:
            raise ld.err(f"{key}[{i}]", f"'{name}' is listed twice")
        seen.append(name)
    return tuple(seen)


def _mnist_files_problem(folder: Path) -> str | None:
    """None when ``folder`` holds MNIST as ``load_mnist`` reads it (the four
    IDX files, gzipped or raw, or mnist.npz alone); else what is wrong."""
    if not folder.is_dir():
        return "does not exist"
    present = [n for n in IDX_FILES.values()
               if (folder / n).is_file() or (folder / f"{n}.gz").is_file()]
    if not present:
        if (folder / "mnist.npz").is_file():
            return None
        return "holds no MNIST files (the four IDX files or mnist.npz)"
    missing = [f"{n}[.gz]" for n in IDX_FILES.values() if n not in present]
    if missing:
        return f"lacks {', '.join(missing)}"
    return None


def first_batchnorm(model: ModelSpec) -> int | None:
    """The index of the first layer with batch normalisation, or None."""
    return next((i for i, layer in enumerate(model.layers) if layer.batchnorm), None)


def residual_mismatch(input_text: str, units: int) -> str:
    return ("a residual layer adds its input to its output, so its input width must equal "
            f"its units: its input is {input_text}, its units are {units}")


def _race_only(key: str) -> str | None:
    if key in RACE_TABLES:
        return 'only used by race scenarios (add kind = "race" at the top)'
    return None


def _task(data: DataSpec) -> str:
    if data.source == "csv":
        return data.task
    if data.source == MNIST:
        return "classification"
    return GENERATORS[data.source][0]


def _expected(h: Hyper) -> str:
    noun = {"int": "an integer", "bool": "true or false",
            "pair": "a pair of numbers"}.get(h.type, "a number")
    return f"{noun} {h.describe_range()}".rstrip()
