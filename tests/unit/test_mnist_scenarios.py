"""MNIST in scenario files: the [data] keys of source = "mnist", their
validation, the dataset they build (sampling, pixels, split, data_dir),
round trips and traces; and the MNIST network on the full set.

The bundled scenarios themselves (mnist, mnist-sgd, mnist-tiny) are run to
their [expect] by test_bundled_scenarios.py.
"""

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import simtreino
import simtreino.api as api
from simtreino.cli import main
from simtreino.data.idx import IDX_FILES
from simtreino.data.mnist import (MNIST_MEAN, MNIST_SETTINGS, MNIST_STD, PIXEL_SCALINGS,
                                  bundled_sizes, class_quotas, load_bundled_mnist)
from simtreino.headless.explain import explain, render_text
from simtreino.headless.replay import compare_trace, scenario_of_trace
from simtreino.headless.trace import read_trace
from simtreino.scenario import (ScenarioError, load_scenario, scenario_from_dict,
                                scenario_to_dict)
from simtreino.scenario import load as load_mod
from simtreino.scenario.build import build_dataset, build_trainer

ROOT = Path(simtreino.__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "scenarios.md"
SHARED = ROOT.parent / "shared" / "data" / "mnist"
needs_shared = pytest.mark.skipif(
    not all((SHARED / f"{n}.gz").is_file() for n in IDX_FILES.values()),
    reason="the full MNIST files are not in ../shared/data/mnist")

# A small MNIST scenario; {data} is the body of its [data] table.
TEMPLATE = """\
schema_version = 1
name = "mnist test"
description = "a small MNIST scenario"
seed = 0
dtype = "float64"

[data]
source = "mnist"
{data}

[model]
layers = [ {{ units = 8, activation = "relu" }}, {{ units = {units}, activation = "softmax" }} ]

[loss]
kind = "cross_entropy"

[optimizer]
kind = "sgd"
lr = 0.05

[training]
epochs = 1
batch_size = 10
{expect}
"""

SMALL = "subset = 100\ntest_subset = 50"


def scenario_text(data: str = SMALL, *, units: int = 10, expect: str = "") -> str:
    return TEMPLATE.format(data=data, units=units, expect=expect)


def write(folder: Path, text: str, name: str = "s.toml") -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def load_text(tmp_path: Path, data: str = SMALL, **kw):
    return load_scenario(write(tmp_path, scenario_text(data, **kw)))


def error(tmp_path: Path, data: str, **kw) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_text(tmp_path, data, **kw)
    e = info.value
    assert "\n" not in str(e)
    assert e.file.endswith("s.toml")
    return e


def fake_mnist(n_train: int = 60, n_test: int = 30, seed: int = 0) -> dict:
    """Arrays shaped like MNIST (uint8 images, every digit present)."""
    rng = np.random.default_rng(seed)
    return {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "y_train": (np.arange(n_train) % 10).astype(np.uint8),
            "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "y_test": (np.arange(n_test) % 10).astype(np.uint8)}


# ---------------------------------------------------------------------------
# The keys, their defaults and the dataset they build

def test_defaults(tmp_path):
    s = load_text(tmp_path, "")
    assert s.data.source == "mnist"
    assert s.data.params == {"subset": None, "test_subset": None, "data_dir": None,
                             "flatten": True, "pixels": "unit"}
    assert s.data.resolved_path is None
    assert s.data.normalize == "none" and s.data.split.test == 0.0


def test_bundled_sizes_are_the_bundled_files():
    b = load_bundled_mnist()
    assert bundled_sizes() == (len(b["y_train"]), len(b["y_test"])) == (6000, 1000)


def test_without_subsets_every_bundled_image_is_used(tmp_path):
    s = load_text(tmp_path, "")
    ds = build_dataset(s)
    b = load_bundled_mnist()
    assert ds.x_train.shape == (6000, 784) and ds.x_test.shape == (1000, 784)
    assert ds.x_val.shape == (0, 784)
    assert np.array_equal(ds.y_train, b["y_train"]) and np.array_equal(ds.y_test, b["y_test"])
    assert ds.task == "classification" and ds.n_classes == 10 and ds.n_features == 784
    assert ds.class_names == tuple("0123456789") and ds.image_shape == (28, 28)
    assert len(ds.feature_names) == 784 and ds.feature_names[29] == "px1_1"
    assert ds.y_train.dtype == np.int64


def test_subsets_are_stratified_and_seeded(tmp_path):
    b = load_bundled_mnist()
    ds = build_dataset(load_text(tmp_path, "subset = 500\ntest_subset = 200"))
    assert len(ds.y_train) == 500 and len(ds.y_test) == 200
    for y, full in ((ds.y_train, b["y_train"]), (ds.y_test, b["y_test"])):
        want = class_quotas(np.bincount(full, minlength=10), len(y))
        assert np.bincount(y, minlength=10).tolist() == want.tolist()
    # every image is one of the bundled ones, each at most once
    rows = {r.tobytes() for r in (b["x_train"].reshape(6000, -1) / np.float64(255))}
    assert all(r.tobytes() in rows for r in ds.x_train)
    assert len({r.tobytes() for r in ds.x_train}) == 500

    again = build_dataset(load_text(tmp_path, "subset = 500\ntest_subset = 200"))
    assert np.array_equal(again.x_train, ds.x_train) and np.array_equal(again.x_test, ds.x_test)
    other = build_dataset(scenario_from_dict(
        {**scenario_to_dict(load_text(tmp_path, "subset = 500\ntest_subset = 200")), "seed": 1}))
    assert not np.array_equal(other.x_train, ds.x_train)
    assert not np.array_equal(other.x_test, ds.x_test)
    # data.seed overrides the scenario's seed for the data only
    own = build_dataset(load_text(tmp_path, "subset = 500\ntest_subset = 200\nseed = 1"))
    assert np.array_equal(own.x_train, other.x_train)
    # the test sample does not depend on the training sample's size
    more = build_dataset(load_text(tmp_path, "subset = 800\ntest_subset = 200"))
    assert np.array_equal(more.x_test, ds.x_test)


@pytest.mark.parametrize("pixels", PIXEL_SCALINGS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pixel_scaling(tmp_path, pixels, dtype):
    text = scenario_text(f'subset = 100\ntest_subset = 50\npixels = "{pixels}"')
    s = load_scenario(write(tmp_path, text.replace('dtype = "float64"', f'dtype = "{dtype}"')))
    assert s.data.params["pixels"] == pixels
    ds = build_dataset(s)
    raw = build_dataset(load_text(tmp_path)).x_train * 255    # unit, float64: exact
    assert np.array_equal(raw, np.round(raw)) and raw.min() == 0 and raw.max() == 255
    for x in (ds.x_train, ds.x_val, ds.x_test):
        assert x.dtype == np.dtype(dtype) and x.flags.c_contiguous
    want = raw / 255 if pixels == "unit" else (raw / 255 - MNIST_MEAN) / MNIST_STD
    tol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(ds.x_train, want, rtol=tol, atol=tol)
    if pixels == "unit":
        assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    else:
        assert ds.x_train.min() == pytest.approx(-MNIST_MEAN / MNIST_STD, rel=1e-6)


def test_validation_comes_out_of_the_training_images(tmp_path):
    s = load_text(tmp_path, "split = { val = 0.1 }")
    assert s.data.split.train == pytest.approx(0.9) and s.data.split.val == 0.1
    ds = build_dataset(s)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (5400, 600, 1000)
    # stratified: each digit is split 9 to 1, within one image
    counts = np.bincount(load_bundled_mnist()["y_train"], minlength=10)
    assert np.all(np.abs(np.bincount(ds.y_val, minlength=10) - counts * 0.1) <= 1)
    train_rows = {r.tobytes() for r in ds.x_train}
    assert not any(r.tobytes() in train_rows for r in ds.x_val)
    # the validation split moves with the seed
    other = build_dataset(load_text(tmp_path, "split = { val = 0.1 }\nseed = 3"))
    assert not np.array_equal(other.y_val, ds.y_val)


def test_a_training_split_missing_a_digit_is_refused(tmp_path):
    s = load_text(tmp_path, "subset = 10\nsplit = { val = 0.5 }")
    with pytest.raises(ScenarioError) as info:
        build_dataset(s)
    assert info.value.key == "data.subset"
    assert "no image of digit" in info.value.message


def test_ten_outputs_and_test_expectations_need_no_split(tmp_path):
    s = load_text(tmp_path, expect="[expect]\ntest_accuracy_at_least = 0.1\n"
                                   "test_loss_below = 10.0")
    assert s.expect.test_accuracy_at_least == 0.1
    e = error(tmp_path, SMALL, expect="[expect]\nval_accuracy_at_least = 0.5")
    assert e.key == "expect.val_accuracy_at_least" and "no val split" in e.message


# ---------------------------------------------------------------------------
# Every bad value names its key

BAD = [
    ("subset = 5", "data.subset", "expected an integer in [10, 60000], got 5"),
    ("subset = 7000", "data.subset", "expected an integer in [10, 6000] (the bundled subset "
     "has 6,000 training images; set data_dir to use the full MNIST), got 7000"),
    ("subset = 70000", "data.subset", "in [10, 60000]"),
    ('subset = "all"', "data.subset", 'got "all"'),
    ("subset = 100.0", "data.subset", "expected an integer"),
    ("subset = true", "data.subset", "expected an integer"),
    ("test_subset = 0", "data.test_subset", "expected an integer in [10, 10000], got 0"),
    ("test_subset = 1001", "data.test_subset", "the bundled subset has 1,000 test images"),
    ("flatten = false", "data.flatten", "expected true: the network's layers are dense"),
    ('flatten = "yes"', "data.flatten", 'expected true or false, got "yes"'),
    ('pixels = "minmax"', "data.pixels", "expected one of 'unit', 'standard', got \"minmax\""),
    ('pixels = "Standard"', "data.pixels", "did you mean 'standard'?"),
    ("pixels = 255", "data.pixels", "got 255"),
    ('data_dir = ""', "data.data_dir", 'expected a non-empty string, got ""'),
    ("data_dir = 3", "data.data_dir", "expected a non-empty string, got 3"),
    ('data_dir = "nowhere"', "data.data_dir", "not found: nowhere"),
    ('normalize = "standard"', "data.normalize", "pixels are scaled by data.pixels"),
    ("split = { test = 0.2 }", "data.split.test", "MNIST has its own test set"),
    ("split = { train = 0.8, test = 0.2 }", "data.split.test", "test_subset"),
    ("subsets = 100", "data.subsets", "unknown key; did you mean 'subset'?"),
    ("n_samples = 100", "data.n_samples", "unknown key for source 'mnist' (a setting of"),
    ("path = \"a.csv\"", "data.path", "unknown key for source 'mnist' (a setting of csv)"),
]


@pytest.mark.parametrize("data,key,part", BAD, ids=[b[0] for b in BAD])
def test_bad_values_name_the_key(tmp_path, data, key, part):
    e = error(tmp_path, data)
    assert e.key == key, str(e)
    assert part in e.message, str(e)


def test_mnist_keys_in_another_source_are_refused(tmp_path):
    p = write(tmp_path, 'name = "x"\n[data]\nsource = "xor"\nsubset = 10\n'
                        '[model]\nlayers = [ { units = 1, activation = "sigmoid" } ]\n'
                        '[loss]\nkind = "bce"\n[optimizer]\nkind = "sgd"\n'
                        '[training]\nepochs = 1\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert info.value.key == "data.subset"
    assert "unknown key for source 'xor' (a setting of mnist)" in info.value.message


def test_source_is_suggested(tmp_path):
    p = write(tmp_path, scenario_text("").replace('source = "mnist"', 'source = "mnsit"'))
    with pytest.raises(ScenarioError, match="did you mean 'mnist'"):
        load_scenario(p)


@pytest.mark.parametrize("units,layer,loss,part", [
    (16, '{ units = 16, activation = "softmax" }', "cross_entropy",
     "expected 10 units (one per class: MNIST has 10 classes) with loss 'cross_entropy', got 16"),
    (1, '{ units = 1, activation = "sigmoid" }', "bce", "'bce' needs 2 classes, but MNIST has 10"),
])
def test_output_layer_must_have_ten_units(tmp_path, units, layer, loss, part):
    text = scenario_text(units=units).replace(
        f'{{ units = {units}, activation = "softmax" }}', layer).replace(
        'kind = "cross_entropy"', f'kind = "{loss}"')
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text))
    assert part in info.value.message
    assert info.value.key in ("model.layers[1].units", "loss.kind")


# ---------------------------------------------------------------------------
# data_dir: a folder of IDX files, an .npz file or folder, "cache"

def _write_idx_folder(folder: Path, arrays: dict, gz: bool = True) -> None:
    import gzip
    import struct
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in IDX_FILES.items():
        a = arrays[key]
        magic = 2051 if a.ndim == 3 else 2049
        data = struct.pack(f">I{a.ndim}I", magic, *a.shape) + a.astype(np.uint8).tobytes()
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (folder / name).write_bytes(data)


@pytest.mark.parametrize("gz", [True, False])
def test_data_dir_folder_of_idx_files(tmp_path, gz):
    arrays = fake_mnist()
    _write_idx_folder(tmp_path / "data" / "mnist", arrays, gz=gz)
    s = load_text(tmp_path, 'data_dir = "data/mnist"')
    assert s.data.params["data_dir"] == "data/mnist"
    assert s.data.resolved_path == (tmp_path / "data" / "mnist").resolve()
    ds = build_dataset(s)
    assert np.array_equal(ds.x_train * 255, arrays["x_train"].reshape(60, -1))
    assert np.array_equal(ds.y_test, arrays["y_test"])
    # subset is checked against the files once they are read
    with pytest.raises(ScenarioError) as info:
        build_dataset(load_text(tmp_path, 'data_dir = "data/mnist"\nsubset = 61'))
    assert info.value.key == "data.subset"
    assert "subset = 61 is more than the 60 training images" in info.value.message
    ds = build_dataset(load_text(tmp_path, 'data_dir = "data/mnist"\nsubset = 20\n'
                                           'test_subset = 10'))
    assert np.bincount(ds.y_train).tolist() == [2] * 10 and len(ds.y_test) == 10


def test_data_dir_npz_file_and_folder(tmp_path):
    arrays = fake_mnist()
    np.savez(tmp_path / "digits.npz", **arrays)
    (tmp_path / "keras").mkdir()
    np.savez(tmp_path / "keras" / "mnist.npz", **arrays)
    for where in ("digits.npz", "keras", str(tmp_path / "digits.npz")):
        ds = build_dataset(load_text(tmp_path, f'data_dir = "{where}"'))
        assert np.array_equal(ds.y_train, arrays["y_train"]), where
        assert np.array_equal(ds.x_test * 255, arrays["x_test"].reshape(30, -1)), where


@pytest.mark.parametrize("setup,part", [
    ("empty", "holds no MNIST files (the four IDX files or mnist.npz)"),
    ("partial", "lacks t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]"),
    ("file", "expected a folder or an .npz file, got the file d/notes.txt"),
])
def test_data_dir_without_mnist_files(tmp_path, setup, part):
    d = tmp_path / "d"
    d.mkdir()
    where = "d"
    if setup == "partial":
        _write_idx_folder(d, fake_mnist())
        for n in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
            (d / f"{n}.gz").unlink()
    elif setup == "file":
        (d / "notes.txt").write_text("x")
        where = "d/notes.txt"
    e = error(tmp_path, f'data_dir = "{where}"')
    assert e.key == "data.data_dir" and part in e.message
    if setup != "file":
        assert f"`simtreino data fetch mnist --dir {where}` downloads them" in e.message


def test_a_damaged_npz_is_an_error_of_data_dir(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    s = load_text(tmp_path, 'data_dir = "bad.npz"')
    with pytest.raises(ScenarioError) as info:
        build_dataset(s)
    assert info.value.key == "data.data_dir" and "bad.npz" in info.value.message


def test_data_dir_cache_missing_says_how_to_fetch(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    e = error(tmp_path, 'data_dir = "cache"')
    assert e.key == "data.data_dir"
    folder = tmp_path / "xdg" / "simtreino" / "mnist"
    assert e.message == (f'"cache" is {folder}, which does not exist; download the files '
                         "with `simtreino data fetch mnist`")
    folder.mkdir(parents=True)
    e = error(tmp_path, 'data_dir = "cache"')
    assert "holds no MNIST files" in e.message and "simtreino data fetch mnist" in e.message
    # and `simtreino check` says so
    p = write(tmp_path, scenario_text('data_dir = "cache"'), "c.toml")
    assert main(["check", str(p)]) != 0
    err = capsys.readouterr().err
    assert "data.data_dir" in err and "`simtreino data fetch mnist`" in err


def test_data_dir_cache_with_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    arrays = fake_mnist()
    _write_idx_folder(tmp_path / "xdg" / "simtreino" / "mnist", arrays)
    s = load_text(tmp_path, 'data_dir = "cache"')
    assert s.data.resolved_path == tmp_path / "xdg" / "simtreino" / "mnist"
    assert np.array_equal(build_dataset(s).y_train, arrays["y_train"])
    d = scenario_to_dict(s)
    assert d["data"]["data_dir"] == "cache" and str(tmp_path) not in json.dumps(d)
    assert scenario_from_dict(d, s.source) == s


# ---------------------------------------------------------------------------
# Round trips and traces: only the settings, never the images

def _plain(v):
    if isinstance(v, dict):
        return all(isinstance(k, str) and _plain(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_plain(x) for x in v)
    return isinstance(v, (str, int, float, bool))


@pytest.mark.parametrize("data", [
    "",
    SMALL,
    'subset = 300\ntest_subset = 100\npixels = "standard"\nflatten = true\n'
    'split = { val = 0.2 }\nseed = 5\nshuffle = false\nnormalize = "none"',
])
def test_round_trip(tmp_path, data):
    s = load_text(tmp_path, data)
    d = scenario_to_dict(s)
    assert _plain(d)
    assert scenario_from_dict(d, s.source) == s
    assert scenario_from_dict(json.loads(json.dumps(d)), s.source) == s
    assert d["data"]["source"] == "mnist" and d["data"]["flatten"] is True
    assert ("subset" in d["data"]) == ("subset" in data)
    assert "data_dir" not in d["data"]


def test_round_trip_keeps_a_relative_data_dir_as_written(tmp_path):
    np.savez(tmp_path / "digits.npz", **fake_mnist())
    s = load_text(tmp_path, 'data_dir = "digits.npz"\nsubset = 20')
    d = scenario_to_dict(s)
    assert d["data"]["data_dir"] == "digits.npz" and str(tmp_path) not in json.dumps(d)
    assert scenario_from_dict(d, s.source) == s


def test_trace_holds_the_settings_not_the_images_and_replays(tmp_path):
    np.savez(tmp_path / "digits.npz", **fake_mnist(200, 40))
    p = write(tmp_path, scenario_text('data_dir = "digits.npz"\nsubset = 100\n'
                                      'split = { val = 0.2 }'))
    trace = tmp_path / "t.jsonl"
    r = api.run(load_scenario(p), epochs=2, record=trace)
    assert r.status == "finished"
    header = json.loads(trace.read_text().splitlines()[0])
    assert len(json.dumps(header)) < 5000
    assert header["scenario"]["data"] == {
        "source": "mnist", "subset": 100, "data_dir": "digits.npz", "flatten": True,
        "pixels": "unit", "normalize": "none", "shuffle": True,
        "split": {"train": 0.8, "val": 0.2, "test": 0.0}}
    ok, message, _ = compare_trace(read_trace(trace))
    assert ok, message
    # a trace moved next to a copy of the data still replays: data_dir is
    # looked for next to the original scenario, then next to the trace
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.move(trace, other / "t.jsonl")
    shutil.move(tmp_path / "digits.npz", other / "digits.npz")
    moved = read_trace(other / "t.jsonl")
    assert scenario_of_trace(moved).data.resolved_path == (other / "digits.npz").resolve()
    ok, message, _ = compare_trace(moved)
    assert ok, message


def test_cli_run_check_and_replay(tmp_path, capsys):
    p = write(tmp_path, scenario_text(expect="[expect]\naccuracy_at_least = 0.0"))
    assert main(["check", str(p)]) == 0
    assert main(["run", str(p), "--record", str(tmp_path / "t.jsonl")]) == 0
    assert main(["replay", str(tmp_path / "t.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "test_accuracy" in out and "1 passed" in out


# ---------------------------------------------------------------------------
# Stepping through 784 inputs stays readable

def test_explain_caps_the_784_inputs(tmp_path):
    s = load_text(tmp_path)
    d = explain(s, step=1)
    assert d["architecture"] == [784, 8, 10]
    assert len(d["batch"]["x"][0]) == 784       # the JSON keeps every number
    for lang in ("en", "pt"):
        text = render_text(d, lang)
        lines = text.splitlines()
        assert len(lines) < 600
        assert max(len(line) for line in lines) < 300
        assert "x₁₃" not in text           # tables stop at 12 of the 784 inputs


def test_gradcheck_of_a_small_mnist_network(tmp_path):
    from simtreino.analysis.gradcheck import gradient_check
    tr = build_trainer(load_text(tmp_path))
    gc = gradient_check(tr, max_params=400)
    assert gc.n_checked == 400 and gc.ok


# ---------------------------------------------------------------------------
# The documentation

def test_docs_document_every_mnist_key():
    doc = DOCS.read_text(encoding="utf-8")
    section = doc[doc.index("### MNIST\n"):doc.index("## `[model]`")]
    rows = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", section, re.M))
    assert set(rows) == set(load_mod.MNIST_KEYS)
    assert rows["flatten"].strip() == "`true`" and MNIST_SETTINGS["flatten"].default is True
    assert rows["pixels"].strip() == '`"unit"`'
    assert rows["subset"].strip() == rows["test_subset"].strip() == "all"
    for key in ("subset", "test_subset"):
        h = MNIST_SETTINGS[key]
        assert h.default is None and f"in [{h.low}, {h.high}]" in section
    assert '`"mnist"`' in doc


# ---------------------------------------------------------------------------
# The requirement: the mnist network on 10,000 images of the full set

FULL = """\
schema_version = 1
name = "MNIST, 10,000 images of the full set"
description = "the mnist network on the full files"
seed = 0
dtype = "float32"

[data]
source = "mnist"
data_dir = "{data_dir}"
subset = 10000              # of the 60,000 training images; the test set: all 10,000

[model]
init = "xavier_uniform"
layers = [
  {{ units = 128, activation = "relu" }},
  {{ units = 64, activation = "relu" }},
  {{ units = 10, activation = "softmax" }},
]

[loss]
kind = "cross_entropy"

[optimizer]
kind = "adam"
lr = 0.001

[training]
batch_size = 64
epochs = 15

[expect]
test_accuracy_at_least = 0.95
"""


@needs_shared
def test_mnist_network_reaches_95_percent_on_the_full_test_set(tmp_path):
    p = write(tmp_path, FULL.format(data_dir=SHARED), "full.toml")
    s = load_scenario(p)
    t0 = time.perf_counter()
    r = api.run(s)
    seconds = time.perf_counter() - t0
    assert r.status == "finished" and r.snapshot.epoch == 15
    ds = build_dataset(s)
    assert (len(r.trainer.train), len(ds.y_test)) == (10_000, 10_000)
    assert np.bincount(ds.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                               974, 1009]
    acc = r.metrics["test_accuracy"]
    print(f"full MNIST: test accuracy {acc:.4f} in {seconds:.1f} s")
    assert acc >= 0.95, acc
    assert r.passed, [c.message for c in r.failures]
