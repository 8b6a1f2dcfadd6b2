"""Scenario files: loading, every error path, round trips, bundled lookup, docs."""

import dataclasses
import json
from pathlib import Path
import re
import subprocess
import sys
import tomllib

import pytest

import simtreino
from simtreino.core.activations import ACTIVATION_PARAM
from simtreino.core.losses import LOSSES, LOSS_PARAMS
from simtreino.core.network import INITIALIZERS
from simtreino.core.optimizers import OPTIMIZERS
from simtreino.core.schedules import SCHEDULES
from simtreino.data.generators import GENERATORS
from simtreino.scenario import (
    SCHEMA_VERSION, DataSpec, EarlyStoppingSpec, ExpectSpec, InitSpec, LayerSpec, LossSpec,
    ModelSpec, OptimizerSpec, RegularizationSpec, Scenario, ScenarioError, ScheduleSpec, Split,
    TrainingSpec,
    bundled_dir, check_outputs, find_scenario, list_bundled, load_scenario,
    scenario_from_dict, scenario_to_dict,
)
from simtreino.scenario import bundled as bundled_mod
from simtreino.scenario import load as load_mod
from simtreino.scenario.load import LOSS_TARGETS

REPO = Path(simtreino.__file__).resolve().parents[1]
XOR = REPO / "scenarios" / "xor.toml"
DOCS = REPO / "docs" / "scenarios.md"

# A scenario like the XOR reference, with lines that the variants below edit.
BASE = """\
schema_version = 1
name = "XOR"
description = "test"
seed = 0
dtype = "float64"

[data]
source = "xor"
normalize = "none"
shuffle = false
split = { train = 1.0, val = 0.0, test = 0.0 }

[model]
init = "xavier_uniform"
layers = [ { units = 4, activation = "tanh" }, { units = 1, activation = "sigmoid" } ]

[loss]
kind = "bce"

[optimizer]
kind = "sgd"
lr = 0.5
momentum = 0.9

[schedule]
kind = "constant"

[training]
batch_size = "full"
epochs = 500

[expect]
loss_below = 0.05
accuracy_at_least = 1.0
"""

HIDDEN = '{ units = 4, activation = "tanh" }'
OUTPUT = '{ units = 1, activation = "sigmoid" }'


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def edit(*pairs) -> str:
    """BASE with each (old, new) replaced; old must be there exactly once."""
    text = BASE
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def with_layers(*layers: str, loss: str | None = None, data: str | None = None) -> str:
    pairs = [(f"layers = [ {HIDDEN}, {OUTPUT} ]", "layers = [ " + ", ".join(layers) + " ]")]
    if loss is not None:
        pairs.append(('kind = "bce"', loss))
    if data is not None:
        pairs.append(('source = "xor"', data))
        if "sine" in data:   # regression: an accuracy expectation is refused
            pairs.append(("accuracy_at_least = 1.0", "# (no accuracy for regression)"))
    return edit(*pairs)


def base_dict() -> dict:
    return tomllib.loads(BASE)


# ---------------------------------------------------------------------------
# The reference file

def test_xor_reference_file_loads_to_expected_values():
    s = load_scenario(XOR)
    assert s.source == XOR
    assert s.schema_version == SCHEMA_VERSION == 1
    assert s.name == "XOR"
    assert s.description.startswith("Two inputs, one hidden layer")
    assert "perceptron" in s.description_pt and "não" in s.description_pt
    assert s.seed == 0 and s.dtype == "float64"
    xor_decl = GENERATORS["xor"][1]
    assert s.data == DataSpec(source="xor", params={k: h.default for k, h in xor_decl.items()},
                              normalize="none", shuffle=False,
                              split=Split(1.0, 0.0, 0.0), seed=None)
    assert s.model == ModelSpec(
        layers=(LayerSpec(4, "tanh"), LayerSpec(1, "sigmoid")),
        init=InitSpec("xavier_uniform",
                      {k: h.default for k, h in INITIALIZERS["xavier_uniform"].items()}),
        bias_init=0.0)
    assert s.loss == LossSpec("bce", {})
    sgd = {k: h.default for k, h in OPTIMIZERS["sgd"][1].items()}
    sgd.update(lr=0.5, momentum=0.9)
    assert s.optimizer == OptimizerSpec("sgd", sgd)
    assert s.schedule == ScheduleSpec("constant", {})
    assert s.training == TrainingSpec(epochs=500, batch_size=None, record_every=None)
    assert s.expect == ExpectSpec(loss_below=0.05, accuracy_at_least=1.0)
    assert not s.expect.is_empty()


def test_xor_reference_file_keeps_the_issue_text():
    text = XOR.read_text(encoding="utf-8")
    for line in ('batch_size = "full"     # or an integer',
                 "loss_below = 0.05       # final training loss",
                 "accuracy_at_least = 1.0 # final training accuracy",
                 'split = { train = 1.0, val = 0.0, test = 0.0 }'):
        assert line in text
    lines = text.splitlines()
    assert lines[2].startswith("description = ") and lines[3].startswith("description_pt = ")


def test_scenario_is_frozen():
    s = load_scenario(XOR)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "other"


def test_str_path_and_path_both_work(tmp_path):
    p = write(tmp_path, BASE)
    assert load_scenario(str(p)) == load_scenario(p)


# ---------------------------------------------------------------------------
# Defaults come from the declarations in core and data

def test_minimal_scenario_fills_every_default(tmp_path):
    text = """
name = "min"
[data]
source = "moons"
[model]
layers = [ { units = 1, activation = "sigmoid" } ]
[loss]
kind = "bce"
[optimizer]
kind = "adam"
[training]
epochs = 3
"""
    s = load_scenario(write(tmp_path, text))
    assert s.description == "" and s.description_pt == "" and s.seed == 0
    assert s.dtype == "float64" and s.schema_version == 1
    assert s.data.params == {k: h.default for k, h in GENERATORS["moons"][1].items()}
    assert s.data.normalize == "none" and s.data.shuffle is True
    assert s.data.split == Split(1.0, 0.0, 0.0) and s.data.seed is None
    assert s.model.init.kind == "xavier_uniform" and s.model.bias_init == 0.0
    assert s.optimizer.params == {k: h.default for k, h in OPTIMIZERS["adam"][1].items()}
    assert s.optimizer.params["eps"] == OPTIMIZERS["adam"][1]["eps"].default
    assert s.schedule == ScheduleSpec()
    assert s.training.batch_size is None and s.training.record_every is None
    assert s.expect.is_empty()


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_every_optimizer_resolves_with_its_declared_defaults(kind):
    d = base_dict()
    d["optimizer"] = {"kind": kind}
    s = scenario_from_dict(d)
    assert s.optimizer.params == {k: h.default for k, h in OPTIMIZERS[kind][1].items()}


@pytest.mark.parametrize("kind", list(SCHEDULES))
def test_every_schedule_resolves_with_its_declared_defaults(kind):
    d = base_dict()
    d["schedule"] = {"kind": kind}
    assert scenario_from_dict(d).schedule.params == {
        k: h.default for k, h in SCHEDULES[kind][1].items()}


@pytest.mark.parametrize("kind", list(INITIALIZERS))
def test_every_initializer_by_name_and_by_table(kind):
    d = base_dict()
    d["model"]["init"] = kind
    by_name = scenario_from_dict(d).model.init
    d["model"]["init"] = {"kind": kind}
    by_table = scenario_from_dict(d).model.init
    assert by_name == by_table == InitSpec(kind, {k: h.default
                                                  for k, h in INITIALIZERS[kind].items()})


@pytest.mark.parametrize("act", list(ACTIVATION_PARAM))
def test_activation_parameter_default_and_value(act):
    key, default = ACTIVATION_PARAM[act]
    d = base_dict()
    d["model"]["layers"][0] = {"units": 4, "activation": act}
    assert scenario_from_dict(d).model.layers[0].activation_param == default
    d["model"]["layers"][0][key] = 0.25
    assert scenario_from_dict(d).model.layers[0].activation_param == 0.25


def test_schedule_table_is_optional_and_kind_defaults_to_constant():
    d = base_dict()
    del d["schedule"]
    assert scenario_from_dict(d).schedule == ScheduleSpec("constant", {})
    d["schedule"] = {}
    assert scenario_from_dict(d).schedule == ScheduleSpec("constant", {})


def test_split_train_defaults_to_the_rest():
    d = base_dict()
    d["data"]["split"] = {"val": 0.2, "test": 0.1}
    d["expect"] = {}
    assert scenario_from_dict(d).data.split == Split(0.7, 0.2, 0.1)
    d["data"]["split"] = {"val": 0.25}
    assert scenario_from_dict(d).data.split == Split(0.75, 0.25, 0.0)
    d["data"]["split"] = {"train": 0.5, "test": 0.5}
    assert scenario_from_dict(d).data.split == Split(0.5, 0.0, 0.5)


def test_batch_size_integer_and_full():
    d = base_dict()
    d["training"]["batch_size"] = 2
    assert scenario_from_dict(d).training.batch_size == 2
    del d["training"]["batch_size"]
    assert scenario_from_dict(d).training.batch_size is None


def test_integers_are_accepted_as_floats():
    d = base_dict()
    d["optimizer"]["lr"] = 1
    lr = scenario_from_dict(d).optimizer.params["lr"]
    assert lr == 1.0 and isinstance(lr, float)


def test_array_of_tables_syntax_for_layers(tmp_path):
    text = edit((f"layers = [ {HIDDEN}, {OUTPUT} ]\n", "")) + """
[[model.layers]]
units = 4
activation = "tanh"
init = { kind = "normal", std = 0.1 }

[[model.layers]]
units = 1
activation = "sigmoid"
bias_init = 0.5
"""
    s = load_scenario(write(tmp_path, text))
    assert s.model.layers[0].init == InitSpec("normal", {"mean": 0.0, "std": 0.1})
    assert s.model.layers[1].bias_init == 0.5 and s.model.layers[1].init is None


# ---------------------------------------------------------------------------
# Error paths: (id, file text, key, substrings of the message)

CSV_OK = 'source = "csv"\npath = "d.csv"\ntarget = "y"\ntask = "classification"'

VARIANTS = [
    # top level
    ("schema-version", edit(("schema_version = 1", "schema_version = 2")),
     "schema_version", ["expected 1", "got 2"]),
    ("schema-version-str", edit(("schema_version = 1", 'schema_version = "1"')),
     "schema_version", ["expected 1", 'got "1"']),
    ("name-missing", edit(('name = "XOR"\n', "")), "name", ["missing", "string"]),
    ("name-empty", edit(('name = "XOR"', 'name = ""')), "name", ["non-empty string", 'got ""']),
    ("name-number", edit(('name = "XOR"', "name = 3")), "name", ["string", "got 3"]),
    ("description-bool", edit(('description = "test"', "description = true")),
     "description", ["a string", "got true"]),
    ("description-pt-number", edit(('description = "test"', 'description_pt = 1')),
     "description_pt", ["a string", "got 1"]),
    ("unknown-top-key", edit(("seed = 0", "seed = 0\nsed = 1")), "sed",
     ["unknown key", "did you mean 'seed'?"]),
    ("unknown-top-table", edit(("[optimizer]", "[optimiser]")), "optimiser",
     ["unknown table", "did you mean 'optimizer'?"]),
    ("unknown-top-table-far", BASE + "\n[charts]\nx = 1\n", "charts",
     ["unknown table", "expected one of", "'training'"]),
    ("seed-negative", edit(("seed = 0", "seed = -1")), "seed", ["an integer >= 0", "got -1"]),
    ("seed-float", edit(("seed = 0", "seed = 1.5")), "seed", ["an integer >= 0", "got 1.5"]),
    ("seed-bool", edit(("seed = 0", "seed = true")), "seed", ["an integer >= 0", "got true"]),
    ("dtype", edit(('dtype = "float64"', 'dtype = "float16"')), "dtype",
     ["'float64', 'float32'", 'got "float16"']),
    # tables of the wrong type / missing
    ("data-missing", edit(("[data]", "[datum]")), "datum",
     ["unknown table", "did you mean 'data'?"]),
    ("training-missing", BASE.split("[training]")[0], "training",
     ["missing required table [training]"]),
    ("loss-not-table", edit(('[loss]\nkind = "bce"\n', ""), ('dtype = "float64"',
                                                            'dtype = "float64"\nloss = "bce"')),
     "loss", ["expected a table [loss]", 'got "bce"']),
    ("expect-not-table", edit(("[expect]\nloss_below = 0.05\naccuracy_at_least = 1.0\n", "")
                              ).replace('dtype = "float64"', 'dtype = "float64"\nexpect = 1'),
     "expect", ["expected a table", "got 1"]),
    # [data]
    ("source-missing", edit(('source = "xor"\n', "")), "data.source",
     ["missing required key", "'spirals'", "'csv'"]),
    ("source-misspelt-key", edit(('source = "xor"', 'sorce = "xor"')), "data.sorce",
     ["unknown key", "did you mean 'source'?"]),
    ("source-unknown", edit(('source = "xor"', 'source = "spiral"')), "data.source",
     ['got "spiral"', "did you mean 'spirals'?"]),
    ("source-number", edit(('source = "xor"', "source = 1")), "data.source",
     ["expected one of", "got 1"]),
    ("data-other-generator", edit(('source = "xor"', 'source = "xor"\narms = 3')),
     "data.arms", ["unknown key for source 'xor'", "spirals"]),
    ("data-csv-key-on-generator", edit(('source = "xor"', 'source = "xor"\ntarget = "y"')),
     "data.target", ["unknown key for source 'xor'", "csv"]),
    ("data-typo", edit(('source = "xor"', 'source = "xor"\nn_sample = 8')), "data.n_sample",
     ["unknown key", "did you mean 'n_samples'?"]),
    ("data-n-samples-low", edit(('source = "xor"', 'source = "xor"\nn_samples = 2')),
     "data.n_samples", ["an integer >= 4", "got 2"]),
    ("data-n-samples-bool", edit(('source = "xor"', 'source = "xor"\nn_samples = true')),
     "data.n_samples", ["an integer", "got true"]),
    ("data-noise-str", edit(('source = "xor"', 'source = "xor"\nnoise = "lots"')),
     "data.noise", ["a number >= 0", 'got "lots"']),
    ("data-factor-range", edit(('source = "xor"', 'source = "circles"\nfactor = 1.0'),
                               ), "data.factor", ["in (0, 1)", "got 1.0"]),
    ("normalize", edit(('normalize = "none"', 'normalize = "zscore"')), "data.normalize",
     ["'none', 'standard', 'minmax'", 'got "zscore"']),
    ("normalize-case", edit(('normalize = "none"', 'normalize = "Standard"')),
     "data.normalize", ["did you mean 'standard'?"]),
    ("shuffle-number", edit(("shuffle = false", "shuffle = 0")), "data.shuffle",
     ["true or false", "got 0"]),
    ("shuffle-string", edit(("shuffle = false", 'shuffle = "no"')), "data.shuffle",
     ["true or false", 'got "no"']),
    ("data-seed", edit(("shuffle = false", "shuffle = false\nseed = -3")), "data.seed",
     ["an integer >= 0", "got -3"]),
    ("split-not-table", edit(("split = { train = 1.0, val = 0.0, test = 0.0 }", "split = 0.8")),
     "data.split", ["expected a table", "got 0.8"]),
    ("split-sum", edit(("train = 1.0, val = 0.0", "train = 0.7, val = 0.2")), "data.split",
     ["train + val + test = 1", "got 0.9"]),
    ("split-sum-over", edit(("train = 1.0, val = 0.0", "train = 0.9, val = 0.2")),
     "data.split", ["train + val + test = 1", "got 1.1"]),
    ("split-train-zero", edit(("train = 1.0, val = 0.0, test = 0.0", "train = 0, val = 1.0")),
     "data.split.train", ["(0, 1]", "got 0"]),
    ("split-range", edit(("train = 1.0, val = 0.0, test = 0.0", "val = 1.5")),
     "data.split.val", ["in [0, 1]", "got 1.5"]),
    ("split-negative", edit(("test = 0.0 }", "test = -0.1 }")), "data.split.test",
     ["in [0, 1]", "got -0.1"]),
    ("split-nothing-left", edit(("train = 1.0, val = 0.0, test = 0.0", "val = 0.6, test = 0.5")),
     "data.split", ["val + test < 1", "val = 0.6", "test = 0.5"]),
    ("split-bool", edit(("val = 0.0", "val = false")), "data.split.val",
     ["a number", "got false"]),
    ("split-unknown", edit(("val = 0.0", "valid = 0.0")), "data.split.valid",
     ["unknown key", "did you mean 'val'?"]),
    ("csv-no-path", edit(('source = "xor"', 'source = "csv"\ntarget = "y"\ntask = "regression"')),
     "data.path", ["missing required key"]),
    ("csv-missing-file", edit(('source = "xor"',
                               'source = "csv"\npath = "data/iris.csv"\ntarget = "y"\n'
                               'task = "classification"')),
     "data.path", ["file not found: data/iris.csv"]),
    ("csv-path-number", edit(('source = "xor"', 'source = "csv"\npath = 3\ntarget = "y"\n'
                                                'task = "regression"')),
     "data.path", ["a non-empty string", "got 3"]),
    ("csv-no-target", edit(('source = "xor"', 'source = "csv"\npath = "d.csv"\n'
                                              'task = "regression"')),
     "data.target", ["missing required key"]),
    ("csv-bad-task", edit(('source = "xor"', 'source = "csv"\npath = "d.csv"\ntarget = "y"\n'
                                             'task = "classify"')),
     "data.task", ["'classification', 'regression'", 'got "classify"']),
    ("csv-generator-key", edit(('source = "xor"', CSV_OK + "\nnoise = 0.1")), "data.noise",
     ["unknown key for source 'csv'"]),
    ("csv-dir", edit(('source = "xor"', 'source = "csv"\npath = "."\ntarget = "y"\n'
                                        'task = "regression"')),
     "data.path", ["not a file"]),
    # [model]
    ("layers-missing", edit((f"layers = [ {HIDDEN}, {OUTPUT} ]\n", "")), "model.layers",
     ["missing required key", "array of tables"]),
    ("layers-misspelt", edit(("layers = [", "layer = [")), "model.layer",
     ["unknown key", "did you mean 'layers'?"]),
    ("layers-empty", edit((f"layers = [ {HIDDEN}, {OUTPUT} ]", "layers = []")), "model.layers",
     ["non-empty array of tables", "got []"]),
    ("layers-not-array", edit((f"layers = [ {HIDDEN}, {OUTPUT} ]", "layers = 3")),
     "model.layers", ["non-empty array of tables", "got 3"]),
    ("layer-not-table", with_layers("4", OUTPUT), "model.layers[0]",
     ["expected a table", "got 4"]),
    ("layer-units-zero", with_layers('{ units = 0, activation = "tanh" }', OUTPUT),
     "model.layers[0].units", ["an integer >= 1", "got 0"]),
    ("layer-units-float", with_layers('{ units = 2.5, activation = "tanh" }', OUTPUT),
     "model.layers[0].units", ["an integer >= 1", "got 2.5"]),
    ("layer-units-bool", with_layers('{ units = true, activation = "tanh" }', OUTPUT),
     "model.layers[0].units", ["an integer >= 1", "got true"]),
    ("layer-units-missing", with_layers('{ activation = "tanh" }', OUTPUT),
     "model.layers[0].units", ["missing required key", "an integer >= 1"]),
    ("layer-units-typo", with_layers('{ unit = 4, activation = "tanh" }', OUTPUT),
     "model.layers[0].unit", ["unknown key", "did you mean 'units'?"]),
    ("layer-activation-missing", with_layers("{ units = 4 }", OUTPUT),
     "model.layers[0].activation", ["missing required key", "'relu'"]),
    ("layer-activation-unknown", with_layers('{ units = 4, activation = "tanhh" }', OUTPUT),
     "model.layers[0].activation", ['got "tanhh"', "did you mean 'tanh'?"]),
    ("layer-softmax-hidden", with_layers('{ units = 4, activation = "softmax" }', OUTPUT),
     "model.layers[0].activation", ["'softmax' is only allowed on the output layer"]),
    ("layer-param-wrong-activation",
     with_layers('{ units = 4, activation = "relu", negative_slope = 0.1 }', OUTPUT),
     "model.layers[0].negative_slope", ["only allowed with activation 'leaky_relu'", "'relu'"]),
    ("layer-alpha-wrong-activation",
     with_layers('{ units = 4, activation = "leaky_relu", alpha = 1.0 }', OUTPUT),
     "model.layers[0].alpha", ["only allowed with activation 'elu'", "'leaky_relu'"]),
    ("layer-param-string",
     with_layers('{ units = 4, activation = "leaky_relu", negative_slope = "x" }', OUTPUT),
     "model.layers[0].negative_slope", ["a number", 'got "x"']),
    ("layer-param-nan",
     with_layers('{ units = 4, activation = "elu", alpha = nan }', OUTPUT),
     "model.layers[0].alpha", ["a finite number", "got nan"]),
    ("layer-bias-str", with_layers('{ units = 4, activation = "tanh", bias_init = "zero" }',
                                   OUTPUT),
     "model.layers[0].bias_init", ["a number", 'got "zero"']),
    ("model-bias-inf", edit(('init = "xavier_uniform"', 'bias_init = inf')), "model.bias_init",
     ["a finite number", "got inf"]),
    ("model-unknown-key", edit(('init = "xavier_uniform"', 'initializer = "zeros"')),
     "model.initializer", ["unknown key"]),
    ("init-unknown", edit(('init = "xavier_uniform"', 'init = "xavier"')), "model.init",
     ['got "xavier"', "did you mean 'xavier_"]),
    ("init-number", edit(('init = "xavier_uniform"', "init = 3")), "model.init",
     ["an initializer name or a table", "got 3"]),
    ("init-table-no-kind", edit(('init = "xavier_uniform"', "init = { std = 0.1 }")),
     "model.init.kind", ["missing required key", "'normal'"]),
    ("init-table-other-param", edit(('init = "xavier_uniform"',
                                     'init = { kind = "normal", gain = 2.0 }')),
     "model.init.gain", ["unknown key for initializer 'normal'", "xavier_uniform"]),
    ("init-table-typo", edit(('init = "xavier_uniform"', 'init = { kind = "normal", sd = 2.0 }')),
     "model.init.sd", ["unknown key", "did you mean 'std'?"]),
    ("init-std-negative", edit(('init = "xavier_uniform"',
                                'init = { kind = "normal", std = -1.0 }')),
     "model.init.std", ["a number >= 0", "got -1.0"]),
    ("init-uniform-a-gt-b", edit(('init = "xavier_uniform"',
                                  'init = { kind = "uniform", a = 1.0, b = 0.5 }')),
     "model.init.b", [">= a (1)", "got 0.5"]),
    ("layer-init-unknown", with_layers('{ units = 4, activation = "tanh", init = "glorot" }',
                                       OUTPUT),
     "model.layers[0].init", ['got "glorot"']),
    ("layer-init-param", with_layers('{ units = 4, activation = "tanh", '
                                     'init = { kind = "xavier_normal", gain = -1 } }', OUTPUT),
     "model.layers[0].init.gain", ["a number >= 0", "got -1"]),
    # [loss]
    ("loss-kind-missing", edit(('kind = "bce"', 'delta = 1.0')), "loss.kind",
     ["missing required key", "'mse'"]),
    ("loss-kind-unknown", edit(('kind = "bce"', 'kind = "crossentropy"')), "loss.kind",
     ['got "crossentropy"', "did you mean 'cross_entropy'?"]),
    ("loss-wrong-output", with_layers(HIDDEN, '{ units = 1, activation = "tanh" }'),
     "loss.kind",
     ["'bce' needs the output activation 'sigmoid' (model.layers[1].activation is 'tanh')"]),
    ("loss-softmax-mse", with_layers(HIDDEN, '{ units = 2, activation = "softmax" }',
                                     loss='kind = "mse"'),
     "loss.kind", ["'mse' needs one of the output activations", "'softmax'",
                   "cross_entropy or kl_div"]),
    ("loss-ce-sigmoid", with_layers(HIDDEN, '{ units = 2, activation = "sigmoid" }',
                                    loss='kind = "cross_entropy"'),
     "loss.kind", ["'cross_entropy' needs the output activation 'softmax'"]),
    ("loss-hinge-relu", with_layers(HIDDEN, '{ units = 1, activation = "relu" }',
                                    loss='kind = "hinge"'),
     "loss.kind", ["'hinge' needs one of the output activations 'identity', 'tanh'"]),
    ("loss-param-other", edit(('kind = "bce"', 'kind = "bce"\nlabel_smoothing = 0.1')),
     "loss.label_smoothing", ["unknown key for loss 'bce'", "cross_entropy"]),
    ("loss-huber-delta", with_layers(HIDDEN, '{ units = 1, activation = "sigmoid" }',
                                     loss='kind = "huber"\ndelta = 0'),
     "loss.delta", ["a number > 0", "got 0"]),
    # [optimizer]
    ("opt-lr-string", edit(("lr = 0.5", 'lr = "fast"')), "optimizer.lr",
     ['expected a number >= 0, got "fast"']),
    ("opt-lr-bool", edit(("lr = 0.5", "lr = true")), "optimizer.lr",
     ["a number >= 0", "got true"]),
    ("opt-lr-negative", edit(("lr = 0.5", "lr = -0.1")), "optimizer.lr",
     ["a number >= 0", "got -0.1"]),
    ("opt-typo", edit(("momentum = 0.9", "momentun = 0.9")), "optimizer.momentun",
     ["unknown key; did you mean 'momentum'?"]),
    ("opt-case", edit(("lr = 0.5", "LR = 0.5")), "optimizer.LR", ["did you mean 'lr'?"]),
    ("opt-other-param", edit(("momentum = 0.9", "betas = [0.9, 0.99]")), "optimizer.betas",
     ["unknown key for optimizer 'sgd'", "adam"]),
    ("opt-kind-missing", edit(('kind = "sgd"\n', "")), "optimizer.kind",
     ["missing required key", "'adam'"]),
    ("opt-kind-typo-key", edit(('kind = "sgd"', 'knd = "sgd"')), "optimizer.knd",
     ["did you mean 'kind'?"]),
    ("opt-kind-unknown", edit(('kind = "sgd"', 'kind = "adm"')), "optimizer.kind",
     ['got "adm"', "did you mean 'adam'?"]),
    ("opt-nesterov-no-momentum", edit(("momentum = 0.9", "nesterov = true")),
     "optimizer.nesterov", ["requires momentum > 0 and dampening = 0", "momentum = 0"]),
    ("opt-nesterov-dampening", edit(("momentum = 0.9", "momentum = 0.9\nnesterov = true\n"
                                                      "dampening = 0.1")),
     "optimizer.nesterov", ["dampening = 0", "dampening = 0.1"]),
    ("opt-nesterov-kind", edit(('kind = "sgd"', 'kind = "nesterov"'),
                               ("momentum = 0.9", "momentum = 0.0")),
     "optimizer.nesterov", ["requires momentum > 0"]),
    ("opt-nesterov-number", edit(("momentum = 0.9", "momentum = 0.9\nnesterov = 1")),
     "optimizer.nesterov", ["true or false", "got 1"]),
    ("opt-dampening-range", edit(("momentum = 0.9", "dampening = 2.0")), "optimizer.dampening",
     ["in [0, 1]", "got 2.0"]),
    ("opt-betas-short", edit(('kind = "sgd"', 'kind = "adam"'),
                             ("momentum = 0.9", "betas = [0.9]")),
     "optimizer.betas", ["a pair of numbers", "got [0.9]"]),
    ("opt-betas-one", edit(('kind = "sgd"', 'kind = "adam"'),
                           ("momentum = 0.9", "betas = [0.9, 1.0]")),
     "optimizer.betas", ["in [0, 1)", "got [0.9, 1.0]"]),
    ("opt-betas-bools", edit(('kind = "sgd"', 'kind = "adamw"'),
                             ("momentum = 0.9", "betas = [true, false]")),
     "optimizer.betas", ["a pair of numbers", "got [true, false]"]),
    ("opt-amsgrad-string", edit(('kind = "sgd"', 'kind = "adam"'),
                                ("momentum = 0.9", 'amsgrad = "yes"')),
     "optimizer.amsgrad", ["true or false", 'got "yes"']),
    ("opt-rmsprop-alpha", edit(('kind = "sgd"', 'kind = "rmsprop"'),
                               ("momentum = 0.9", "alpha = 1.5")),
     "optimizer.alpha", ["in [0, 1]", "got 1.5"]),
    # [schedule]
    ("sched-unknown", edit(('kind = "constant"', 'kind = "cosin"')), "schedule.kind",
     ['got "cosin"', "did you mean 'cosine'?"]),
    ("sched-param-on-constant", edit(('kind = "constant"', 'kind = "constant"\ngamma = 0.5')),
     "schedule.gamma", ["unknown key for schedule 'constant'", "step"]),
    ("sched-step-size", edit(('kind = "constant"', 'kind = "step"\nstep_size = 0')),
     "schedule.step_size", ["an integer >= 1", "got 0"]),
    ("sched-gamma-zero", edit(('kind = "constant"', 'kind = "exponential"\ngamma = 0')),
     "schedule.gamma", ["a number > 0", "got 0"]),
    ("sched-patience-float", edit(('kind = "constant"', 'kind = "plateau"\npatience = 2.5')),
     "schedule.patience", ["an integer >= 0", "got 2.5"]),
    ("sched-typo", edit(('kind = "constant"', 'kind = "cosine"\nt_maxx = 10')),
     "schedule.t_maxx", ["did you mean 't_max'?"]),
    # [training]
    ("epochs-missing", edit(("epochs = 500\n", "")), "training.epochs",
     ["missing required key", "an integer >= 1"]),
    ("epochs-typo", edit(("epochs = 500", "epoch = 500")), "training.epoch",
     ["did you mean 'epochs'?"]),
    ("epochs-zero", edit(("epochs = 500", "epochs = 0")), "training.epochs",
     ["an integer >= 1", "got 0"]),
    ("epochs-float", edit(("epochs = 500", "epochs = 5.0")), "training.epochs",
     ["an integer >= 1", "got 5.0"]),
    ("epochs-string", edit(("epochs = 500", 'epochs = "500"')), "training.epochs",
     ["an integer >= 1", 'got "500"']),
    ("batch-half", edit(('batch_size = "full"', 'batch_size = "half"')),
     "training.batch_size", ['"full" or an integer >= 1', 'got "half"']),
    ("batch-zero", edit(('batch_size = "full"', "batch_size = 0")), "training.batch_size",
     ['"full" or an integer >= 1', "got 0"]),
    ("batch-bool", edit(('batch_size = "full"', "batch_size = true")), "training.batch_size",
     ["got true"]),
    ("batch-float", edit(('batch_size = "full"', "batch_size = 2.0")), "training.batch_size",
     ["got 2.0"]),
    ("record-every", edit(("epochs = 500", "epochs = 500\nrecord_every = 0")),
     "training.record_every", ["an integer >= 1", "got 0"]),
    # [expect]
    ("expect-accuracy-range", edit(("accuracy_at_least = 1.0", "accuracy_at_least = 1.5")),
     "expect.accuracy_at_least", ["in [0, 1]", "got 1.5"]),
    ("expect-loss-negative", edit(("loss_below = 0.05", "loss_below = -1")),
     "expect.loss_below", ["a number >= 0", "got -1"]),
    ("expect-loss-bool", edit(("loss_below = 0.05", "loss_below = false")),
     "expect.loss_below", ["a number >= 0", "got false"]),
    ("expect-diverges-number", edit(("loss_below = 0.05", "diverges = 1")),
     "expect.diverges", ["true or false", "got 1"]),
    ("expect-typo", edit(("loss_below = 0.05", "loss_bellow = 0.05")), "expect.loss_bellow",
     ["did you mean 'loss_below'?"]),
    ("expect-val-without-split", edit(("loss_below = 0.05", "val_loss_below = 0.05")),
     "expect.val_loss_below", ["no val split", "data.split.val is 0"]),
    ("expect-test-without-split", edit(("loss_below = 0.05", "test_accuracy_at_least = 0.5")),
     "expect.test_accuracy_at_least", ["no test split"]),
    # the output layer against the data
    ("out-bce-two-units", with_layers(HIDDEN, '{ units = 2, activation = "sigmoid" }'),
     "model.layers[1].units", ["expected 1 unit", "'bce'", "got 2"]),
    ("out-ce-classes", with_layers(HIDDEN, '{ units = 2, activation = "softmax" }',
                                   loss='kind = "cross_entropy"',
                                   data='source = "spirals"\narms = 3'),
     "model.layers[1].units", ["expected 3 units", "3 classes", "got 2"]),
    ("out-ce-blobs", with_layers(HIDDEN, HIDDEN, '{ units = 3, activation = "softmax" }',
                                 loss='kind = "kl_div"',
                                 data='source = "blobs"\nclasses = 5'),
     "model.layers[2].units", ["expected 5 units", "got 3"]),
    ("out-bce-three-classes", with_layers(HIDDEN, OUTPUT, data='source = "spirals"\narms = 3'),
     "loss.kind", ["'bce' needs 2 classes", "has 3"]),
    ("out-hinge-two-units", with_layers(HIDDEN, '{ units = 2, activation = "tanh" }',
                                        loss='kind = "hinge"'),
     "model.layers[1].units", ["expected 1 unit", "got 2"]),
    ("out-mse-classes", with_layers(HIDDEN, '{ units = 2, activation = "sigmoid" }',
                                    loss='kind = "mse"', data='source = "blobs"'),
     "model.layers[1].units", ["expected 3 units", "one-hot", "got 2"]),
    ("out-mse-binary", with_layers(HIDDEN, '{ units = 3, activation = "sigmoid" }',
                                   loss='kind = "mse"'),
     "model.layers[1].units", ["1 unit", "2 units", "got 3"]),
    ("out-regression-units", with_layers(HIDDEN, '{ units = 2, activation = "identity" }',
                                         loss='kind = "mse"', data='source = "sine"'),
     "model.layers[1].units", ["expected 1 unit", "regression", "got 2"]),
    ("out-regression-ce", with_layers(HIDDEN, '{ units = 1, activation = "softmax" }',
                                      loss='kind = "cross_entropy"', data='source = "sine"'),
     "loss.kind", ["classification loss", "regression", "mse"]),
]


@pytest.mark.parametrize("text,key,parts", [v[1:] for v in VARIANTS],
                         ids=[v[0] for v in VARIANTS])
def test_broken_scenarios_name_file_key_and_expectation(tmp_path, text, key, parts):
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(p))
    err = info.value
    line = str(err)
    assert "\n" not in line
    assert err.file == str(p)
    assert err.key == key, line
    assert line == f"{p}: {key}: {err.message}"
    for part in parts:
        assert part in err.message, line


def test_variant_ids_are_unique():
    ids = [v[0] for v in VARIANTS]
    assert len(ids) == len(set(ids))


def test_unedited_base_is_valid(tmp_path):
    load_scenario(write(tmp_path, BASE))


def test_variants_without_the_error_load(tmp_path):
    """The ok neighbours of some variants load: the tests above fail for the
    reason they name, not for another one."""
    ok = [
        with_layers(HIDDEN, '{ units = 3, activation = "softmax" }',
                    loss='kind = "cross_entropy"', data='source = "spirals"\narms = 3'),
        with_layers(HIDDEN, '{ units = 2, activation = "sigmoid" }', loss='kind = "mse"'),
        with_layers(HIDDEN, '{ units = 1, activation = "sigmoid" }', loss='kind = "mse"'),
        with_layers(HIDDEN, '{ units = 1, activation = "identity" }',
                    loss='kind = "huber"', data='source = "sine"'),
        with_layers(HIDDEN, '{ units = 1, activation = "tanh" }', loss='kind = "hinge"'),
        with_layers('{ units = 4, activation = "leaky_relu", negative_slope = 0.2 }', OUTPUT),
        edit(("momentum = 0.9", "momentum = 0.9\nnesterov = true")),
        edit(('kind = "sgd"', 'kind = "nesterov"')),
        edit(('kind = "sgd"', 'kind = "adam"'), ("momentum = 0.9", "betas = [0.5, 0.9]")),
        edit(("train = 1.0, val = 0.0, test = 0.0", "train = 0.5, val = 0.5"),
             ("loss_below = 0.05", "val_loss_below = 0.05")),
        edit(('batch_size = "full"', "batch_size = 2")),
        edit(('init = "xavier_uniform"', 'init = { kind = "uniform", a = -0.5, b = 0.5 }')),
    ]
    for i, text in enumerate(ok):
        load_scenario(write(tmp_path, text, f"ok{i}.toml"))


@pytest.mark.parametrize("text,line", [
    ('schema_version = 1\nname = "x"\nseed = \n', 3),
    ('name = "x"\n[data\nsource = "xor"\n', 2),
    ('name = "x"\n\n\n\n\n\ndtype = float64\n', 7),
])
def test_invalid_toml_names_the_line(tmp_path, text, line):
    p = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    err = info.value
    assert err.line == line and err.key is None
    assert str(err).startswith(f"{p}: line {line}: invalid TOML: ")
    assert "\n" not in str(err)


def test_invalid_toml_at_end_of_document(tmp_path):
    p = write(tmp_path, 'name = "x"\nname = "y"')
    with pytest.raises(ScenarioError, match=r"invalid TOML: .*") as info:
        load_scenario(p)
    assert str(info.value).startswith(f"{p}: ")


def test_not_utf8(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_bytes(b'name = "x"\ndescription = "\xff"\n')
    with pytest.raises(ScenarioError, match="not UTF-8") as info:
        load_scenario(p)
    assert info.value.line == 2


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.toml")
    assert str(info.value) == f"{tmp_path / 'nope.toml'}: file not found"
    with pytest.raises(ScenarioError, match="directory"):
        load_scenario(tmp_path)


def test_file_is_named_as_the_user_named_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sc").mkdir()
    write(tmp_path / "sc", edit(("lr = 0.5", 'lr = "fast"')), "x.toml")
    with pytest.raises(ScenarioError) as info:
        load_scenario("sc/x.toml")
    assert str(info.value) == 'sc/x.toml: optimizer.lr: expected a number >= 0, got "fast"'


# ---------------------------------------------------------------------------
# Dicts, and bools vs numbers through the dict path

def test_scenario_from_dict_label_and_source():
    d = base_dict()
    d["optimizer"]["lr"] = "fast"
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d)
    assert str(info.value).startswith("<scenario>: optimizer.lr: ")
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d, file_label="trace.jsonl")
    assert info.value.file == "trace.jsonl"


def test_top_level_must_be_a_table():
    with pytest.raises(ScenarioError, match="expected a table"):
        scenario_from_dict([1, 2])


@pytest.mark.parametrize("where,key,value", [
    ("optimizer", "lr", True),
    ("optimizer", "momentum", False),
    ("optimizer", "nesterov", 1),
    ("optimizer", "nesterov", 0.0),
    ("training", "epochs", True),
    ("training", "batch_size", True),
    ("data", "shuffle", 1),
    ("data", "n_samples", True),
    ("expect", "diverges", 0),
    ("expect", "accuracy_at_least", True),
])
def test_bools_are_not_numbers_and_numbers_not_bools(where, key, value):
    d = base_dict()
    d[where][key] = value
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d)
    assert info.value.key == f"{where}.{key}"
    assert info.value.message.endswith(f"got {str(value).lower()}")


def test_error_is_picklable():
    import pickle
    e = ScenarioError("f.toml", "a.b", "bad", line=3)
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.file, e2.key, e2.message, e2.line) == ("f.toml", "a.b", "bad", 3)
    assert str(e2) == "f.toml: line 3: a.b: bad"
    assert str(ScenarioError("f.toml", None, "bad")) == "f.toml: bad"


def test_unknown_key_without_close_match_lists_the_keys():
    d = base_dict()
    d["training"]["zzz"] = 1
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d)
    assert "expected one of 'epochs', 'batch_size', 'record_every'" in info.value.message


# ---------------------------------------------------------------------------
# CSV data

def test_csv_path_is_relative_to_the_scenario_file(tmp_path, monkeypatch):
    folder = tmp_path / "sc"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "iris.csv").write_text("a,b,y\n1,2,0\n")
    text = with_layers(HIDDEN, '{ units = 3, activation = "softmax" }',
                       loss='kind = "cross_entropy"',
                       data='source = "csv"\npath = "data/iris.csv"\ntarget = "y"\n'
                            'task = "classification"')
    write(folder, text)
    monkeypatch.chdir(tmp_path)
    s = load_scenario("sc/s.toml")
    assert s.data.path == "data/iris.csv"
    assert s.data.resolved_path == (folder / "data" / "iris.csv").resolve()
    assert s.data.resolved_path.is_absolute()
    assert s.data.target == "y" and s.data.task == "classification" and s.data.params == {}
    # from another working directory, the same file
    monkeypatch.chdir(folder / "data")
    assert load_scenario(folder / "s.toml").data.resolved_path == s.data.resolved_path
    # the output layer is checked by the build code once the csv is read
    check_outputs(s, "classification", 3, None)
    with pytest.raises(ScenarioError) as info:
        check_outputs(s, "classification", 4, None)
    assert info.value.key == "model.layers[1].units"
    assert info.value.file == "sc/s.toml"
    assert "expected 4 units" in info.value.message and "data/iris.csv" in info.value.message
    with pytest.raises(ScenarioError) as info:
        check_outputs(s, "regression", None, 3)
    assert info.value.key == "loss.kind"


def test_check_outputs_regression_targets():
    d = base_dict()
    d["data"] = {"source": "sine"}
    d["loss"] = {"kind": "mae"}
    d["model"]["layers"][1] = {"units": 2, "activation": "identity"}
    d["expect"] = {}
    with pytest.raises(ScenarioError, match="expected 1 unit for 1 regression target"):
        scenario_from_dict(d)
    d["model"]["layers"][1]["units"] = 1
    s = scenario_from_dict(d)
    check_outputs(s, "regression", None, 1)
    with pytest.raises(ScenarioError, match="expected 2 units for 2 regression targets"):
        check_outputs(s, "regression", None, 2)


def test_every_loss_has_an_output_rule():
    assert set(LOSS_TARGETS) == set(LOSSES) == set(LOSS_PARAMS)


# ---------------------------------------------------------------------------
# Round trip

def _walk_plain(v, path="") -> None:
    if isinstance(v, dict):
        for k, x in v.items():
            assert isinstance(k, str), path
            _walk_plain(x, f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _walk_plain(x, f"{path}[{i}]")
    else:
        assert isinstance(v, (str, int, float, bool)), (path, v)


def _round_trip(s: Scenario) -> dict:
    d = scenario_to_dict(s)
    _walk_plain(d)
    assert scenario_from_dict(d, s.source) == s
    assert scenario_from_dict(json.loads(json.dumps(d)), s.source) == s
    assert s.to_dict() == d
    return d


@pytest.mark.parametrize("name,path", list_bundled(), ids=[n for n, _ in list_bundled()])
def test_round_trip_every_bundled_scenario(name, path):
    _round_trip(load_scenario(path))


FULL = """\
schema_version = 1
name = "Everything"
description = "every optional feature"
description_pt = "todas as opções"
seed = 42
dtype = "float32"

[data]
source = "csv"
path = "data/d.csv"
target = "label"
task = "classification"
normalize = "standard"
shuffle = true
split = { train = 0.6, val = 0.2, test = 0.2 }
seed = 7

[model]
init = { kind = "normal", mean = 0.1, std = 0.2 }
bias_init = 0.01
layers = [
  { units = 8, activation = "leaky_relu", negative_slope = 0.05, init = "he_normal", dropout = 0.2 },
  { units = 8, activation = "elu", alpha = 0.5, bias_init = -0.1, init = { kind = "uniform", a = -0.3, b = 0.3 }, batchnorm = true, residual = true },
  { units = 4, activation = "relu", batchnorm = true, dropout = 0.5 },
  { units = 3, activation = "softmax", init = { kind = "xavier_normal", gain = 2 } },
]

[loss]
kind = "cross_entropy"
label_smoothing = 0.1

[optimizer]
kind = "adam"
lr = 0.01
betas = [0.8, 0.95]
eps = 1e-7
weight_decay = 0.001
amsgrad = true

[schedule]
kind = "plateau"
factor = 0.5
patience = 3

[regularization]
l1 = 1e-5
l2 = 0.0005

[training]
epochs = 20
batch_size = 16
record_every = 5
clip_grad_norm = 2.5
clip_grad_value = 1

[training.early_stopping]
monitor = "val_accuracy"
patience = 7
min_delta = 0.001
restore_best = false

[expect]
loss_below = 0.3
accuracy_at_least = 0.9
val_loss_below = 0.4
val_accuracy_at_least = 0.8
test_loss_below = 0.5
test_accuracy_at_least = 0.75
diverges = false
stopped_early = false
"""


def test_round_trip_with_every_optional_feature(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.csv").write_text("a,label\n1,0\n")
    p = write(tmp_path, FULL, "full.toml")
    s = load_scenario(p)
    assert s.dtype == "float32" and s.data.seed == 7
    assert s.model.layers[0].activation_param == 0.05
    assert s.model.layers[1].init == InitSpec("uniform", {"a": -0.3, "b": 0.3})
    assert s.model.layers[3].init == InitSpec("xavier_normal", {"gain": 2.0})
    assert s.optimizer.params["betas"] == (0.8, 0.95)
    assert s.training == TrainingSpec(20, 16, 5, 2.5, 1.0, EarlyStoppingSpec(
        "val_accuracy", 7, 0.001, False))
    assert s.expect.diverges is False and s.expect.test_accuracy_at_least == 0.75
    assert s.expect.stopped_early is False
    assert s.regularization == RegularizationSpec(1e-5, 0.0005)
    assert [(l.dropout, l.batchnorm, l.residual) for l in s.model.layers] == [
        (0.2, False, False), (0.0, True, True), (0.5, True, False), (0.0, False, False)]
    d = _round_trip(s)
    # nothing machine-specific: the path as written, no resolved path
    assert d["data"]["path"] == "data/d.csv"
    assert str(tmp_path) not in json.dumps(d)
    assert d["optimizer"]["betas"] == [0.8, 0.95]
    assert d["training"]["batch_size"] == 16
    assert d["regularization"] == {"l1": 1e-5, "l2": 0.0005}
    assert d["training"]["early_stopping"]["monitor"] == "val_accuracy"
    assert d["model"]["layers"][1]["residual"] is True and d["expect"]["stopped_early"] is False


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_round_trip_every_optimizer(kind):
    d = base_dict()
    d["optimizer"] = {"kind": kind}
    _round_trip(scenario_from_dict(d))


@pytest.mark.parametrize("kind", list(SCHEDULES))
def test_round_trip_every_schedule(kind):
    d = base_dict()
    d["schedule"] = {"kind": kind}
    _round_trip(scenario_from_dict(d))


@pytest.mark.parametrize("source", list(GENERATORS))
def test_round_trip_every_generator(source):
    task = GENERATORS[source][0]
    d = base_dict()
    d["data"] = {"source": source}
    d["expect"] = {}
    if task == "regression":
        d["loss"] = {"kind": "mse"}
        d["model"]["layers"][1] = {"units": 1, "activation": "identity"}
    else:
        n = load_mod._n_classes(source, {k: h.default for k, h in GENERATORS[source][1].items()})
        d["loss"] = {"kind": "cross_entropy"}
        d["model"]["layers"][1] = {"units": n, "activation": "softmax"}
    out = _round_trip(scenario_from_dict(d))
    assert out["data"]["source"] == source


def test_serialized_defaults_are_complete():
    d = scenario_to_dict(load_scenario(XOR))
    assert d["optimizer"] == {"kind": "sgd", **{k: h.default for k, h in
                                                OPTIMIZERS["sgd"][1].items()},
                              "lr": 0.5, "momentum": 0.9}
    assert d["model"]["init"] == {"kind": "xavier_uniform", "gain": 1.0}
    assert d["data"]["split"] == {"train": 1.0, "val": 0.0, "test": 0.0}
    assert d["training"]["batch_size"] == "full"
    assert "record_every" not in d["training"] and "seed" not in d["data"]
    # the training craft is off: nothing of it is written
    assert "regularization" not in d and "early_stopping" not in d["training"]
    assert not any({"dropout", "batchnorm", "residual"} & set(l) for l in d["model"]["layers"])


# ---------------------------------------------------------------------------
# Bundled scenarios

def test_bundled_dir_and_list():
    folder = bundled_dir()
    assert folder.is_dir() and (folder / "xor.toml").is_file()
    names = list_bundled()
    assert names == sorted(names)
    assert ("xor", folder / "xor.toml") in names
    assert all(p.suffix == ".toml" for _, p in names)


def test_bundled_dir_prefers_the_installed_copy(tmp_path, monkeypatch):
    installed = tmp_path / "_bundled_scenarios"
    installed.mkdir()
    (installed / "b.toml").write_text("")
    (installed / "a.toml").write_text("")
    monkeypatch.setattr(bundled_mod.resources, "files", lambda pkg: tmp_path)
    assert bundled_dir() == installed
    assert list_bundled() == [("a", installed / "a.toml"), ("b", installed / "b.toml")]


def test_every_bundled_scenario_loads():
    for name, path in list_bundled():
        s = load_scenario(path)
        assert s.name and s.source == path, name


def test_find_scenario(tmp_path, monkeypatch):
    xor = dict(list_bundled())["xor"]
    assert find_scenario("xor") == xor
    assert find_scenario("xor.toml") == xor
    p = write(tmp_path, BASE, "mine.toml")
    assert find_scenario(str(p)) == p
    # an existing file wins over a bundled name
    monkeypatch.chdir(tmp_path)
    write(tmp_path, BASE, "xor.toml")
    assert find_scenario("xor.toml") == Path("xor.toml")
    assert find_scenario("xor") == xor


def test_find_scenario_unknown_lists_bundled_and_guesses():
    with pytest.raises(ScenarioError) as info:
        find_scenario("xr")
    line = str(info.value)
    assert line.startswith("xr: no such file or bundled scenario")
    assert "did you mean 'xor'?" in line
    assert "bundled: " in line and "xor" in line.split("bundled: ")[1]
    assert info.value.file == "xr" and info.value.key is None


def test_find_scenario_directory(tmp_path):
    with pytest.raises(ScenarioError, match="directory"):
        find_scenario(str(tmp_path))


# ---------------------------------------------------------------------------
# Package rules

def test_scenario_package_does_not_import_the_ui():
    code = ("import sys, simtreino.scenario as s; s.load_scenario(s.find_scenario('xor')); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'rich', 'plotext')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_only_the_scenario_loader_parses_toml():
    users = sorted(str(p.relative_to(REPO)) for p in (REPO / "simtreino").rglob("*.py")
                   if re.search(r"^\s*(import|from)\s+(tomllib|tomli|toml)\b",
                                p.read_text(encoding="utf-8"), flags=re.M))
    assert users == ["simtreino/scenario/load.py"]


# ---------------------------------------------------------------------------
# The documentation matches the declarations

def _doc_section(doc: str, heading: str) -> str:
    start = doc.index(heading + "\n")
    rest = doc[start + len(heading) + 1:]
    m = re.search(r"^#{1,4} ", rest, re.M)
    return rest[:m.start()] if m else rest


def _fmt_default(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "[" + ", ".join(f"{x:g}" for x in v) + "]"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


DECLARED = (
    [("generator", n, decl) for n, (_, decl) in GENERATORS.items()]
    + [("optimizer", n, decl) for n, (_, decl) in OPTIMIZERS.items()]
    + [("schedule", n, decl) for n, (_, decl) in SCHEDULES.items()]
    + [("loss", n, decl) for n, decl in LOSS_PARAMS.items()]
    + [("initializer", n, decl) for n, decl in INITIALIZERS.items()]
)


@pytest.mark.parametrize("what,name,decl", DECLARED,
                         ids=[f"{w}-{n}" for w, n, _ in DECLARED])
def test_docs_document_every_declared_setting(what, name, decl):
    doc = DOCS.read_text(encoding="utf-8")
    heading = next(h for h in re.findall(r"^#### .*$", doc, re.M)
                   if h.startswith(f"#### {what} `{name}`"))
    section = _doc_section(doc, heading)
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| `([^`]*)` \|", section, re.M)
    assert dict(rows) == {k: _fmt_default(h.default) for k, h in decl.items()}
    if not decl:
        assert "No settings." in section


def test_docs_document_every_scenario_key():
    doc = DOCS.read_text(encoding="utf-8")
    from simtreino.scenario import load
    from simtreino.core.regularization import REGULARIZATION
    keys = (load.TOP_KEYS + load.DATA_COMMON + load.CSV_KEYS + load.MODEL_KEYS
            + load.LAYER_KEYS + load.TRAINING_KEYS + load.EXPECT_KEYS
            + tuple(k for k, _ in ACTIVATION_PARAM.values()) + ("kind",) + load.RUN_KEYS
            + tuple(REGULARIZATION) + load.EARLY_STOPPING_KEYS)
    for k in keys:
        assert f"| `{k}` |" in doc, k
    for table in load.TABLES:
        assert f"## `[{table}]`" in doc, table


def test_docs_toml_examples_are_valid(tmp_path):
    doc = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.S)
    assert len(blocks) >= 5
    complete = 0
    for i, block in enumerate(blocks):
        if block.startswith("schema_version"):
            load_scenario(write(tmp_path, block, f"doc{i}.toml"))
            complete += 1
        else:
            for line in block.splitlines():  # fragments: each assignment parses
                if re.match(r"^\w+ = ", line) and not line.rstrip().endswith("["):
                    tomllib.loads(line)
    assert complete >= 2
    # the reference file in the docs is the bundled one
    assert XOR.read_text(encoding="utf-8") in blocks


def test_accuracy_expectation_on_regression_data_is_refused(tmp_path):
    from simtreino.scenario import ScenarioError, load_scenario
    f = tmp_path / "reg.toml"
    f.write_text('name = "r"\n[data]\nsource = "sine"\n'
                 '[model]\nlayers = [ { units = 1, activation = "identity" } ]\n'
                 '[loss]\nkind = "mse"\n[optimizer]\nkind = "sgd"\n[training]\nepochs = 1\n'
                 '[expect]\naccuracy_at_least = 0.5\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    assert "expect.accuracy_at_least" in str(e.value) and "regression" in str(e.value)
