"""Scenario files and the training craft: dropout, batch normalisation and
residual layers, [regularization], gradient clipping, early stopping and the
stopped_early expectation -- accepted, refused (the exact one-line message),
round-tripped, documented and handed to the trainer."""

from dataclasses import replace
from pathlib import Path
import re

import numpy as np
import pytest

from simtreino.core.regularization import (CLIPPING, DROPOUT, EARLY_STOPPING, MONITORS,
                                           REGULARIZATION)
from simtreino.scenario import (EarlyStoppingSpec, LayerSpec, RegularizationSpec, ScenarioError,
                                load_scenario, scenario_from_dict, scenario_to_dict)
from simtreino.scenario import load as load_mod
from simtreino.scenario.build import (build_dataset, build_trainer, craft_settings,
                                      lone_sample_batch)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"

HID0 = '{ units = 8, activation = "relu" }'
HID1 = '{ units = 8, activation = "tanh" }'
OUT = '{ units = 1, activation = "sigmoid" }'

TEMPLATE = """\
name = "craft"
seed = 1

[data]
source = "moons"
n_samples = {n}
noise = 0.2
split = {split}

[model]
layers = [ {layers} ]

[loss]
kind = "bce"

[optimizer]
kind = "adam"
lr = 0.01
{tables}
[training]
epochs = 40
batch_size = {batch}
{training}
{expect}
"""


def text(layers=(HID0, HID1, OUT), *, n=100, split="{ train = 0.6, val = 0.4 }", batch=10,
         tables="", training="", expect=""):
    return TEMPLATE.format(layers=", ".join(layers), n=n, split=split, batch=batch,
                           tables=tables, training=training, expect=expect)


def write(tmp_path, body: str, name="s.toml") -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


def refused(tmp_path, body: str, key: str, message: str, *, build=False):
    """The file is refused with exactly ``{file}: {key}: {message}``."""
    p = write(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        s = load_scenario(p)
        if build:
            build_dataset(s)
    err = info.value
    assert (err.file, err.key) == (str(p), key), str(err)
    assert str(err) == f"{p}: {key}: {message}"


# ---------------------------------------------------------------------------
# Accepted

ALL = text(
    ('{ units = 8, activation = "relu", batchnorm = true, dropout = 0.1 }',
     '{ units = 8, activation = "relu", residual = true, dropout = 0.25, batchnorm = true }',
     OUT),
    tables="\n[regularization]\nl1 = 1e-5\nl2 = 0.001\n",
    training="clip_grad_norm = 1.5\nclip_grad_value = 2\n\n[training.early_stopping]\n"
             'monitor = "val_accuracy"\npatience = 4\nmin_delta = 0.001\nrestore_best = false\n',
    expect="[expect]\nstopped_early = true\n")


def test_every_feature_is_read(tmp_path):
    s = load_scenario(write(tmp_path, ALL))
    l0, l1, out = s.model.layers
    assert (l0.dropout, l0.batchnorm, l0.residual) == (0.1, True, False)
    assert (l1.dropout, l1.batchnorm, l1.residual) == (0.25, True, True)
    assert out == LayerSpec(1, "sigmoid")
    assert s.regularization == RegularizationSpec(l1=1e-5, l2=0.001)
    assert s.training.clip_grad_norm == 1.5
    assert s.training.clip_grad_value == 2.0 and isinstance(s.training.clip_grad_value, float)
    assert s.training.early_stopping == EarlyStoppingSpec("val_accuracy", 4, 0.001, False)
    assert s.expect.stopped_early is True


def test_defaults_are_off(tmp_path):
    s = load_scenario(write(tmp_path, text()))
    assert all((l.dropout, l.batchnorm, l.residual) == (0.0, False, False)
               for l in s.model.layers)
    assert s.regularization == RegularizationSpec(0.0, 0.0)
    assert (s.training.clip_grad_norm, s.training.clip_grad_value) == (0.0, 0.0)
    assert s.training.early_stopping is None and s.expect.stopped_early is None
    assert craft_settings(s) == {"l1": 0.0, "l2": 0.0, "clip_grad_norm": 0.0,
                                 "clip_grad_value": 0.0, "dropout": [0.0, 0.0],
                                 "early_stopping": None}


def test_an_empty_early_stopping_table_uses_the_declared_defaults(tmp_path):
    s = load_scenario(write(tmp_path, text(training="[training.early_stopping]\n")))
    es = s.training.early_stopping
    assert es == EarlyStoppingSpec(
        "val_loss", *(EARLY_STOPPING[k].default for k in ("patience", "min_delta",
                                                         "restore_best")))
    # the inline form is the same table
    s2 = load_scenario(write(tmp_path, text(training="early_stopping = {}\n"), "b.toml"))
    assert s2.training.early_stopping == es


@pytest.mark.parametrize("monitor", list(MONITORS))
def test_every_monitor_with_a_val_split(tmp_path, monitor):
    s = load_scenario(write(tmp_path, text(
        training=f'[training.early_stopping]\nmonitor = "{monitor}"\n')))
    assert s.training.early_stopping.monitor == monitor


def test_training_monitors_need_no_val_split(tmp_path):
    s = load_scenario(write(tmp_path, text(split="{ train = 1.0 }", training=(
        '[training.early_stopping]\nmonitor = "accuracy"\n'))))
    assert s.training.early_stopping.monitor == "accuracy"


def test_a_scenario_with_every_feature_builds_the_trainer_it_says(tmp_path):
    s = load_scenario(write(tmp_path, ALL))
    tr = build_trainer(s)
    assert [(l.batchnorm, l.residual) for l in tr.arch.layers] == [
        (True, False), (True, True), (False, False)]
    assert tr.arch.n_bn_units == 16
    np.testing.assert_array_equal(tr.drop_p, [0.1, 0.25, 0.0])
    assert tr.reg[:4].tolist() == [1e-5, 0.001, 1.5, 2.0]     # l1, l2, clip norm, clip value
    assert tr.penalty_on
    assert tr.early_stopping == {"monitor": "val_accuracy", "patience": 4,
                                 "min_delta": 0.001, "restore_best": False}
    es = tr.early_stop_state()
    assert (es.monitor, es.patience, es.stopped_epoch) == ("val_accuracy", 4, 0)
    assert tr.val is not None


def test_runs_inherit_the_craft(tmp_path):
    body = ALL + '\n[[runs]]\nlabel = "adam"\n\n[[runs]]\nlabel = "sgd"\n' \
                 'optimizer = { kind = "sgd", lr = 0.1 }\nbatch_size = 20\n'
    s = load_scenario(write(tmp_path, body))
    ds = build_dataset(s)
    for label, v in s.variants():
        assert v.model == s.model and v.regularization == s.regularization
        assert v.training.early_stopping == s.training.early_stopping
        assert v.training.clip_grad_norm == 1.5 and v.expect.stopped_early is True
        tr = build_trainer(v, dataset=ds)
        assert tr.reg[1] == 0.001 and tr.drop_p[1] == 0.25 and tr.early_stopping["patience"] == 4
        assert tr.batch_size == (20 if label == "sgd" else 10)


# ---------------------------------------------------------------------------
# Refused, with the exact message

EXPECTED_ONE_OF = "'val_loss', 'val_accuracy', 'loss', 'accuracy'"
ES = "[training.early_stopping]\n"

REFUSED = [
    # layers
    ("dropout-output", text((HID0, HID1, '{ units = 1, activation = "sigmoid", dropout = 0.2 }')),
     "model.layers[2].dropout", "only allowed on a hidden layer, not on the output layer "
     "(model.layers[2])"),
    ("batchnorm-output", text((HID0, '{ units = 1, activation = "sigmoid", batchnorm = true }')),
     "model.layers[1].batchnorm", "only allowed on a hidden layer, not on the output layer "
     "(model.layers[1])"),
    ("residual-output", text((HID0, '{ units = 1, activation = "sigmoid", residual = false }')),
     "model.layers[1].residual", "only allowed on a hidden layer, not on the output layer "
     "(model.layers[1])"),
    ("dropout-one", text(('{ units = 8, activation = "relu", dropout = 1.0 }', OUT)),
     "model.layers[0].dropout", "expected a number in [0, 1), got 1.0"),
    ("dropout-negative", text(('{ units = 8, activation = "relu", dropout = -0.1 }', OUT)),
     "model.layers[0].dropout", "expected a number in [0, 1), got -0.1"),
    ("dropout-string", text(('{ units = 8, activation = "relu", dropout = "some" }', OUT)),
     "model.layers[0].dropout", 'expected a number in [0, 1), got "some"'),
    ("dropout-bool", text(('{ units = 8, activation = "relu", dropout = true }', OUT)),
     "model.layers[0].dropout", "expected a number in [0, 1), got true"),
    ("batchnorm-number", text(('{ units = 8, activation = "relu", batchnorm = 1 }', OUT)),
     "model.layers[0].batchnorm", "expected true or false, got 1"),
    ("residual-string", text((HID0, '{ units = 8, activation = "relu", residual = "yes" }', OUT)),
     "model.layers[1].residual", 'expected true or false, got "yes"'),
    ("residual-widths", text((HID0, '{ units = 4, activation = "relu", residual = true }', OUT)),
     "model.layers[1].residual", "a residual layer adds its input to its output, so its input "
     "width must equal its units: its input is the 8 units of model.layers[0], its units are 4"),
    ("layer-typo", text(('{ units = 8, activation = "relu", dropuot = 0.1 }', OUT)),
     "model.layers[0].dropuot", "unknown key; did you mean 'dropout'?"),
    ("layer-batch-norm", text(('{ units = 8, activation = "relu", batch_norm = true }', OUT)),
     "model.layers[0].batch_norm", "unknown key; did you mean 'batchnorm'?"),
    # [regularization]
    ("l2-negative", text(tables="[regularization]\nl2 = -1\n"), "regularization.l2",
     "expected a number >= 0, got -1"),
    ("l1-string", text(tables='[regularization]\nl1 = "small"\n'), "regularization.l1",
     'expected a number >= 0, got "small"'),
    ("l1-inf", text(tables="[regularization]\nl1 = inf\n"), "regularization.l1",
     "expected a finite number >= 0, got inf"),
    ("l2-case", text(tables="[regularization]\nL2 = 0.1\n"), "regularization.L2",
     "unknown key; did you mean 'l2'?"),
    ("l3", text(tables="[regularization]\nl3 = 0.1\n"), "regularization.l3",
     "unknown key; expected one of 'l1', 'l2'"),
    ("weight-decay", text(tables="[regularization]\nweight_decay = 0.1\n"),
     "regularization.weight_decay", "unknown key; weight_decay is a setting of [optimizer]; "
     "the penalty here is l2 (l2 = λ is torch SGD's weight_decay = 2λ)"),
    ("regularization-not-table", text().replace('seed = 1\n', 'seed = 1\nregularization = 0.1\n'),
     "regularization", "expected a table [regularization], got 0.1"),
    ("regularisation", text(tables="[regularisation]\nl2 = 0.1\n"), "regularisation",
     "unknown table; did you mean 'regularization'?"),
    # clipping
    ("clip-norm-negative", text(training="clip_grad_norm = -1\n"), "training.clip_grad_norm",
     "expected a number >= 0, got -1"),
    ("clip-value-bool", text(training="clip_grad_value = true\n"), "training.clip_grad_value",
     "expected a number >= 0, got true"),
    ("clip-typo", text(training="clip_grad = 1\n"), "training.clip_grad",
     "unknown key; did you mean 'clip_grad_norm'?"),
    # [training.early_stopping]
    ("es-not-table", text(training="early_stopping = 5\n"), "training.early_stopping",
     'expected a table like { monitor = "val_loss", patience = 10 }, got 5'),
    ("es-bool", text(training="early_stopping = true\n"), "training.early_stopping",
     'expected a table like { monitor = "val_loss", patience = 10 }, got true'),
    ("es-patience-zero", text(training=ES + "patience = 0\n"),
     "training.early_stopping.patience", "expected an integer >= 1, got 0"),
    ("es-patience-float", text(training=ES + "patience = 2.5\n"),
     "training.early_stopping.patience", "expected an integer >= 1, got 2.5"),
    ("es-min-delta", text(training=ES + "min_delta = -0.1\n"),
     "training.early_stopping.min_delta", "expected a number >= 0, got -0.1"),
    ("es-restore-number", text(training=ES + "restore_best = 1\n"),
     "training.early_stopping.restore_best", "expected true or false, got 1"),
    ("es-typo", text(training=ES + "patiance = 3\n"), "training.early_stopping.patiance",
     "unknown key; did you mean 'patience'?"),
    ("es-monitor-typo", text(training=ES + 'monitor = "val_acc"\n'),
     "training.early_stopping.monitor",
     f"expected one of {EXPECTED_ONE_OF}, got \"val_acc\"; did you mean 'val_accuracy'?"),
    ("es-monitor-number", text(training=ES + "monitor = 1\n"), "training.early_stopping.monitor",
     f"expected one of {EXPECTED_ONE_OF}, got 1"),
    ("es-default-no-val", text(split="{ train = 1.0 }", training=ES),
     "training.early_stopping.monitor", "'val_loss' (the default) needs a validation split, "
     "and the data has none (data.split.val is 0); set data.split.val > 0 or monitor 'loss'"),
    ("es-val-accuracy-no-val", text(split="{ train = 0.8, test = 0.2 }",
                                    training=ES + 'monitor = "val_accuracy"\n'),
     "training.early_stopping.monitor", "'val_accuracy' needs a validation split, and the data "
     "has none (data.split.val is 0); set data.split.val > 0 or monitor 'accuracy'"),
    ("es-accuracy-regression",
     text((HID0, '{ units = 1, activation = "identity" }')).replace(
         'source = "moons"', 'source = "sine"').replace('kind = "bce"', 'kind = "mse"')
     + '\n[training.early_stopping]\nmonitor = "accuracy"\n',
     "training.early_stopping.monitor",
     "'accuracy' needs classification data ('sine' is a regression task); monitor 'loss'"),
    # batch normalisation and one-sample batches (known at load time)
    ("bn-batch-one", text(('{ units = 8, activation = "relu", batchnorm = true }', OUT), batch=1),
     "training.batch_size", "batch normalisation (model.layers[0].batchnorm) needs at least 2 "
     'samples in every batch, got 1; use a batch size >= 2 or "full"'),
    ("bn-run-batch-one", text((HID0, '{ units = 8, activation = "relu", batchnorm = true }', OUT))
     + '\n[[runs]]\nlabel = "a"\n\n[[runs]]\nlabel = "b"\nbatch_size = 1\n',
     "runs[1].batch_size", "batch normalisation (model.layers[1].batchnorm) needs at least 2 "
     'samples in every batch, got 1; use a batch size >= 2 or "full"'),
    # [expect] stopped_early
    ("expect-stopped-no-es", text(expect="[expect]\nstopped_early = true\n"),
     "expect.stopped_early", "true needs early stopping, which is off (add a "
     "[training.early_stopping] table)"),
    ("expect-stopped-number", text(training=ES, expect="[expect]\nstopped_early = 1\n"),
     "expect.stopped_early", "expected true or false, got 1"),
    ("expect-stopped-typo", text(training=ES, expect="[expect]\nstoped_early = true\n"),
     "expect.stoped_early", "unknown key; did you mean 'stopped_early'?"),
    ("run-expect-stopped-no-es", text() + '\n[[runs]]\nlabel = "a"\n'
     "expect = { stopped_early = true }\n",
     "runs[0].expect.stopped_early", "true needs early stopping, which is off (add a "
     "[training.early_stopping] table)"),
]


@pytest.mark.parametrize("body,key,message", [v[1:] for v in REFUSED],
                         ids=[v[0] for v in REFUSED])
def test_refused_with_file_key_and_expectation(tmp_path, body, key, message):
    refused(tmp_path, body, key, message)


def test_refused_ids_are_unique():
    ids = [v[0] for v in REFUSED]
    assert len(ids) == len(set(ids))


def test_the_neighbours_of_the_refused_load(tmp_path):
    """Close to the refused files, but right: each loads."""
    ok = [
        text(('{ units = 8, activation = "relu", dropout = 0.0 }', OUT)),
        text(('{ units = 8, activation = "relu", dropout = 0.999 }', OUT)),
        text((HID0, '{ units = 8, activation = "relu", residual = true }', OUT)),
        text(('{ units = 8, activation = "relu", batchnorm = true }', OUT), batch=2),
        text(('{ units = 8, activation = "relu", batchnorm = true }', OUT), batch='"full"'),
        text(tables="[regularization]\n"),
        text(tables="[regularization]\nl1 = 0\nl2 = 1\n"),
        text(training="clip_grad_norm = 0\nclip_grad_value = 0.5\n"),
        text(split="{ train = 1.0 }", training=ES + 'monitor = "loss"\n'),
        text(training=ES, expect="[expect]\nstopped_early = false\n"),
        text(expect="[expect]\nstopped_early = false\n"),
    ]
    for i, body in enumerate(ok):
        build_dataset(load_scenario(write(tmp_path, body, f"ok{i}.toml")))


# -- checked once the data is known (build time) -------------------------------

def test_a_residual_first_layer_must_match_the_input_features(tmp_path):
    body = text(('{ units = 8, activation = "relu", residual = true }', OUT))
    msg = ("a residual layer adds its input to its output, so its input width must equal its "
           "units: its input is the 2 input features of the moons data, its units are 8")
    refused(tmp_path, body, "model.layers[0].residual", msg, build=True)
    s = load_scenario(tmp_path / "s.toml")           # loads: the data decides
    with pytest.raises(ScenarioError) as info:
        build_trainer(s)
    assert str(info.value) == f"{tmp_path / 's.toml'}: model.layers[0].residual: {msg}"
    # two units on two features are fine
    ok = text(('{ units = 2, activation = "relu", residual = true }', OUT))
    tr = build_trainer(load_scenario(write(tmp_path, ok, "ok.toml")))
    assert tr.arch.layers[0].residual


BN = '{ units = 8, activation = "relu", batchnorm = true }'
LAST_ONE = ("batch normalisation (model.layers[0].batchnorm) needs at least 2 samples in every "
            "batch, but 97 training samples in batches of 32 leave a last batch of 1 sample; "
            "use a batch size that does not leave a single sample over (such as 31 or 33), "
            'or "full"')


def test_batchnorm_refuses_a_last_batch_of_one_sample(tmp_path):
    body = text((BN, OUT), n=97, split="{ train = 1.0 }", batch=32)
    refused(tmp_path, body, "training.batch_size", LAST_ONE, build=True)
    s = load_scenario(tmp_path / "s.toml")
    assert len(build_dataset(replace(s, model=replace(s.model, layers=(
        LayerSpec(8, "relu"), LayerSpec(1, "sigmoid"))))).x_train) == 97
    with pytest.raises(ScenarioError, match="leave a last batch of 1 sample"):
        build_trainer(s)
    # the suggested sizes and "full" build
    for batch in (31, 33, '"full"'):
        build_trainer(load_scenario(write(tmp_path, text((BN, OUT), n=97, split="{ train = 1.0 }",
                                                         batch=batch), f"b{batch}.toml")))
    # without batch normalisation a last batch of one is fine
    build_trainer(load_scenario(write(tmp_path, text((HID0, OUT), n=97, split="{ train = 1.0 }",
                                                     batch=32), "plain.toml")))


def test_batchnorm_checks_every_runs_batch_size(tmp_path):
    body = text((BN, OUT), n=97, split="{ train = 1.0 }", batch=10) + (
        '\n[[runs]]\nlabel = "a"\n\n[[runs]]\nlabel = "b"\nbatch_size = 32\n')
    refused(tmp_path, body, "runs[1].batch_size", LAST_ONE, build=True)


def test_a_variant_passed_a_dataset_is_checked_too(tmp_path):
    s = load_scenario(write(tmp_path, text((BN, OUT), n=97, split="{ train = 1.0 }", batch=10)))
    ds = build_dataset(s)
    bad = replace(s, training=replace(s.training, batch_size=32))
    with pytest.raises(ScenarioError) as info:
        build_trainer(bad, dataset=ds)
    assert info.value.key == "training.batch_size" and info.value.message == LAST_ONE


@pytest.mark.parametrize("n,batch,problem", [
    (97, 32, True), (97, 31, False), (97, 33, False), (97, None, False), (97, 200, False),
    (97, 96, True), (97, 1, True), (1, None, True), (2, None, False), (10, 3, True),
    (10, 9, True), (10, 4, False),
])
def test_lone_sample_batch(n, batch, problem):
    assert (lone_sample_batch(n, batch) is not None) == problem


# ---------------------------------------------------------------------------
# Round trips

def test_round_trip_of_every_feature(tmp_path):
    s = load_scenario(write(tmp_path, ALL))
    d = scenario_to_dict(s)
    assert scenario_from_dict(d, s.source) == s
    assert d["model"]["layers"][0] == {"units": 8, "activation": "relu", "dropout": 0.1,
                                       "batchnorm": True}
    assert d["model"]["layers"][1]["residual"] is True and "dropout" not in d["model"]["layers"][2]
    assert d["regularization"] == {"l1": 1e-5, "l2": 0.001}
    assert d["training"]["clip_grad_norm"] == 1.5 and d["training"]["clip_grad_value"] == 2.0
    assert d["training"]["early_stopping"] == {"monitor": "val_accuracy", "patience": 4,
                                               "min_delta": 0.001, "restore_best": False}
    assert d["expect"] == {"stopped_early": True}


def test_settings_that_are_off_are_not_written(tmp_path):
    """A scenario without the craft serialises exactly as before (trace
    headers of older runs stay what they were)."""
    body = text(('{ units = 8, activation = "relu", dropout = 0.0, batchnorm = false }', OUT),
                tables="[regularization]\nl1 = 0\n", training="clip_grad_norm = 0\n")
    s = load_scenario(write(tmp_path, body))
    d = scenario_to_dict(s)
    assert "regularization" not in d
    assert set(d["training"]) == {"epochs", "batch_size"}
    assert d["model"]["layers"][0] == {"units": 8, "activation": "relu"}
    assert scenario_from_dict(d, s.source) == s
    # only the non-zero penalty is written
    s2 = load_scenario(write(tmp_path, text(tables="[regularization]\nl2 = 0.5\n"), "b.toml"))
    assert scenario_to_dict(s2)["regularization"] == {"l2": 0.5}
    assert scenario_from_dict(scenario_to_dict(s2), s2.source) == s2


# ---------------------------------------------------------------------------
# The documentation

def _section(doc: str, heading: str) -> str:
    start = doc.index(heading + "\n")
    rest = doc[start + len(heading) + 1:]
    m = re.search(r"^#{1,4} ", rest, re.M)
    return rest[:m.start()] if m else rest


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _rows(section: str) -> dict:
    return dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| `([^`]*)` \|", section, re.M))


def test_docs_tables_match_the_declarations():
    doc = DOCS.read_text(encoding="utf-8")
    reg = _rows(_section(doc, "## `[regularization]` (optional)"))
    assert reg == {k: _fmt(h.default) for k, h in REGULARIZATION.items()}
    es = _rows(_section(doc, "### `[training.early_stopping]`"))
    assert es == {"monitor": '"val_loss"', **{k: _fmt(h.default) for k, h in
                                              EARLY_STOPPING.items()}}
    training = _rows(_section(doc, "## `[training]`"))
    for k, h in CLIPPING.items():
        assert training[k] == _fmt(h.default)
    model = _section(doc, "## `[model]`")
    assert _rows(model)["dropout"] == _fmt(DROPOUT.default)
    assert _rows(model)["batchnorm"] == _rows(model)["residual"] == "false"
    for name in MONITORS:
        assert f'`"{name}"`' in _section(doc, "### `[training.early_stopping]`"), name
    assert "| `stopped_early` |" in _section(doc, "## `[expect]` (optional)")


def test_docs_state_the_conventions():
    doc = DOCS.read_text(encoding="utf-8")
    conventions = _section(doc, "## Conventions")
    for words in ("weights only", "weight_decay = 2λ", "training** loss",
                  "between the layer's product and its", "inverted dropout",
                  "EarlyStopping", "only when it stops"):
        assert words in conventions, words


def test_the_loader_knows_the_documented_keys():
    assert set(load_mod.EARLY_STOPPING_KEYS) == {"monitor", *EARLY_STOPPING}
    assert set(CLIPPING) <= set(load_mod.TRAINING_KEYS)
    assert set(load_mod.HIDDEN_ONLY) <= set(load_mod.LAYER_KEYS)
    assert "regularization" in load_mod.TABLES
