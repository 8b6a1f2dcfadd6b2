"""Tests of simtreino.data: generators, CSV reading, splits, scaling, datasets."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simtreino.data import (GENERATOR_FUNCS, GENERATORS, DataError, load_dataset, n_classes_of,
                            n_targets_of)
from simtreino.data.csvdata import load_csv
from simtreino.data.prep import Normalizer, allocate, split_indices

FIXTURES = Path(__file__).parent / "fixtures"
CLASSIFIERS = [name for name, (task, _) in GENERATORS.items() if task == "classification"]
CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def settings(source, **given):
    """A generator's resolved settings: declared defaults overlaid with ``given``."""
    out = {k: h.default for k, h in GENERATORS[source][1].items()}
    out.update(given)
    return out


def generate(source, seed=0, **given):
    return GENERATOR_FUNCS[source](settings(source, **given), np.random.default_rng(seed))


def all_of(ds):
    """Every sample of a dataset, splits joined, in split order."""
    return (np.concatenate([ds.x_train, ds.x_val, ds.x_test]),
            np.concatenate([ds.y_train, ds.y_val, ds.y_test]))


# --- generators: shapes, types, reproducibility ---------------------------------------

def test_every_declared_generator_has_a_function():
    assert set(GENERATOR_FUNCS) == set(GENERATORS)


@pytest.mark.parametrize("source", list(GENERATORS))
def test_generator_shapes_and_dtypes(source):
    n = 37
    x, y = generate(source, n_samples=n)
    assert x.dtype == np.float64 and x.ndim == 2 and x.shape[0] == n
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    if GENERATORS[source][0] == "classification":
        assert y.dtype == np.int64 and y.shape == (n,)
        assert y.min() >= 0 and y.max() < n_classes_of(source, settings(source))
    else:
        assert y.dtype == np.float64 and y.shape == (n, 1)


@pytest.mark.parametrize("source", list(GENERATORS))
def test_same_seed_same_data_different_seed_different_data(source):
    # Noise on, so that every generator actually draws random numbers.
    params = {"noise": 0.2}
    a = load_dataset(source, params, split=(0.6, 0.2, 0.2), seed=7)
    b = load_dataset(source, params, split=(0.6, 0.2, 0.2), seed=7)
    c = load_dataset(source, params, split=(0.6, 0.2, 0.2), seed=8)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(all_of(a)[0], all_of(c)[0])


@pytest.mark.parametrize("source", ["circles", "moons", "spirals", "blobs"])
@pytest.mark.parametrize("n", [60, 61, 65])
def test_classes_are_balanced(source, n):
    x, y = generate(source, n_samples=n)
    counts = np.bincount(y, minlength=n_classes_of(source, settings(source)))
    assert counts.sum() == n
    assert counts.max() - counts.min() <= 1


def test_samples_come_out_in_a_fixed_order_grouped_by_class():
    _, y = generate("spirals", n_samples=30, arms=3)
    assert np.all(np.diff(y) >= 0)


def test_noise_zero_draws_nothing_so_seed_does_not_matter():
    for source in ("xor", "circles", "moons", "spirals"):
        a, _ = generate(source, seed=1, noise=0.0)
        b, _ = generate(source, seed=2, noise=0.0)
        assert np.array_equal(a, b), source


# --- logic gates -----------------------------------------------------------------------

def test_xor_four_corners_exactly_in_order():
    x, y = generate("xor", n_samples=4, noise=0.0)
    assert np.array_equal(x, CORNERS)
    assert y.tolist() == [0, 1, 1, 0]


def test_xor_dataset_keeps_corners_in_order_without_split():
    ds = load_dataset("xor", {}, seed=123)
    assert np.array_equal(ds.x_train, CORNERS)
    assert ds.y_train.tolist() == [0, 1, 1, 0]
    assert ds.x_val.shape == (0, 2) and ds.x_test.shape == (0, 2)


@pytest.mark.parametrize("source, op", [("xor", np.logical_xor), ("and", np.logical_and),
                                        ("or", np.logical_or)])
def test_logic_labels_follow_the_truth_table(source, op):
    x, y = generate(source, n_samples=13, noise=0.0)
    assert set(map(tuple, x)) <= set(map(tuple, CORNERS))
    # Corners are cycled: sample i sits on corner i % 4.
    assert np.array_equal(x, CORNERS[np.arange(13) % 4])
    assert np.array_equal(y, op(x[:, 0] == 1, x[:, 1] == 1).astype(np.int64))


def test_xor_many_samples_balanced_and_noise_has_requested_std():
    n, noise = 4000, 0.15
    x, y = generate("xor", n_samples=n, noise=noise)
    assert np.bincount(y).tolist() == [n // 2, n // 2]
    residual = x - CORNERS[np.arange(n) % 4]
    assert abs(residual.std() - noise) < 0.1 * noise
    assert abs(residual.mean()) < 0.1 * noise


# --- circles, moons, spirals, blobs, sine ------------------------------------------------

def test_circles_radii_without_noise():
    x, y = generate("circles", n_samples=101, noise=0.0, factor=0.3)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.allclose(r[y == 0], 1.0)
    assert np.allclose(r[y == 1], 0.3)


def test_circles_with_noise_keep_their_mean_radius():
    x, y = generate("circles", n_samples=4000, noise=0.05, factor=0.5)
    r = np.hypot(x[:, 0], x[:, 1])
    assert abs(r[y == 0].mean() - 1.0) < 0.02
    assert abs(r[y == 1].mean() - 0.5) < 0.02


def test_moons_lie_on_two_half_circles_without_noise():
    x, y = generate("moons", n_samples=50, noise=0.0)
    upper, lower = x[y == 0], x[y == 1]
    # Upper moon: unit half circle around the origin, y >= 0.
    assert np.allclose(np.hypot(*upper.T), 1.0) and np.all(upper[:, 1] >= -1e-12)
    # Lower moon: unit half circle around (1, 0.5), below its centre.
    assert np.allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)


@pytest.mark.parametrize("arms", [2, 3, 5])
def test_spirals_have_one_class_per_arm_and_arms_are_rotations(arms):
    m = 40
    x, y = generate("spirals", n_samples=m * arms, noise=0.0, arms=arms, turns=1.5)
    assert n_classes_of("spirals", settings("spirals", arms=arms)) == arms
    assert np.bincount(y).tolist() == [m] * arms
    first = x[y == 0]
    for j in range(1, arms):
        a = 2 * np.pi * j / arms
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        assert np.allclose(first @ rot.T, x[y == j])


def test_spiral_arm_grows_outwards_while_turning():
    turns = 2.0
    x, y = generate("spirals", n_samples=400, noise=0.0, arms=2, turns=turns)
    arm = x[y == 0]
    r = np.hypot(arm[:, 0], arm[:, 1])
    assert np.all(np.diff(r) > 0) and np.isclose(r.max(), 1.0)
    angle = np.unwrap(np.arctan2(arm[:, 1], arm[:, 0]))
    assert np.all(np.diff(angle) > 0)
    swept = (angle[-1] - angle[0]) / (2 * np.pi)
    assert abs(swept - turns) < 0.05 * turns


def test_blobs_form_one_tight_cluster_per_class():
    k, f = 5, 3
    x, y = generate("blobs", n_samples=500, noise=0.01, classes=k, features=f)
    assert x.shape == (500, f)
    assert np.array_equal(np.unique(y), np.arange(k))
    centres = np.array([x[y == c].mean(axis=0) for c in range(k)])
    assert np.all(np.abs(centres) <= 10.0 + 0.1)
    for c in range(k):
        assert np.abs(x[y == c] - centres[c]).max() < 0.1
    gaps = np.linalg.norm(centres[:, None] - centres[None, :], axis=-1)[np.triu_indices(k, 1)]
    # With this seed the centres are well apart, so the clusters are k distinct groups.
    assert gaps.min() > 1.0


def test_blob_centres_are_uniform_in_minus_ten_to_ten():
    k, f = 20, 10
    x, y = generate("blobs", n_samples=k, noise=0.0, classes=k, features=f)
    centres = x[np.argsort(y)]  # noise 0: each sample sits on its centre
    assert np.all(np.abs(centres) <= 10.0)
    # 200 uniform draws on [-10, 10]: mean near 0, std near 20 / sqrt(12) = 5.77.
    assert abs(centres.mean()) < 1.5
    assert abs(centres.std() - 20 / np.sqrt(12)) < 1.0
    assert centres.min() < -9 and centres.max() > 9


def test_blobs_spread_matches_noise():
    x, y = generate("blobs", n_samples=6000, noise=2.0, classes=3, features=2)
    residual = np.concatenate([x[y == c] - x[y == c].mean(axis=0) for c in range(3)])
    assert abs(residual.std() - 2.0) < 0.1


@pytest.mark.parametrize("periods", [1.0, 2.5])
def test_sine_without_noise_is_the_sine(periods):
    x, y = generate("sine", n_samples=300, noise=0.0, periods=periods)
    assert np.all((x >= -np.pi) & (x <= np.pi))
    assert np.allclose(y, np.sin(periods * x))


def test_sine_noise_has_requested_std():
    x, y = generate("sine", n_samples=5000, noise=0.1)
    residual = y - np.sin(x)
    assert abs(residual.std() - 0.1) < 0.01


def test_n_classes_of_matches_generated_labels():
    cases = {"xor": {}, "and": {}, "or": {}, "circles": {}, "moons": {},
             "spirals": {"arms": 4}, "blobs": {"classes": 6}}
    for source, given in cases.items():
        _, y = generate(source, n_samples=120, **given)
        assert n_classes_of(source, settings(source, **given)) == len(np.unique(y)), source
    assert n_classes_of("sine", settings("sine")) == 0
    assert n_classes_of("blobs", {}) == GENERATORS["blobs"][1]["classes"].default
    with pytest.raises(KeyError):
        n_classes_of("csv", {})


@pytest.mark.parametrize("source", list(GENERATORS))
def test_n_targets_of_matches_the_dataset(source):
    ds = load_dataset(source, {})
    assert n_targets_of(source, settings(source)) == ds.n_targets
    if ds.task == "regression":
        assert ds.y_train.shape[1] == ds.n_targets


# --- splits ------------------------------------------------------------------------------

def test_no_validation_or_test_keeps_original_order():
    y = np.array([3, 1, 2, 0, 1])
    tr, va, te = split_indices(y, (1.0, 0.0, 0.0), "classification", np.random.default_rng(0))
    assert tr.tolist() == [0, 1, 2, 3, 4]
    assert len(va) == 0 and len(te) == 0


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_split_loses_and_duplicates_nothing(seed, task):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 200))
    y = rng.integers(0, int(rng.integers(2, 6)), size=n)
    fractions = rng.dirichlet([2, 1, 1])
    parts = split_indices(y, fractions, task, np.random.default_rng(seed))
    joined = np.concatenate(parts)
    assert np.array_equal(np.sort(joined), np.arange(n))
    assert [len(p) for p in parts] == allocate(n, fractions).tolist()
    for p in parts:
        assert p.dtype == np.int64
        assert np.all(np.diff(p) > 0)  # sorted, no repeats


def test_stratification_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [600, 300, 100])
    fractions = (0.7, 0.2, 0.1)
    parts = split_indices(y, fractions, "classification", np.random.default_rng(3))
    for part, f in zip(parts, fractions):
        counts = np.bincount(y[part], minlength=3)
        assert np.all(np.abs(counts - f * np.array([600, 300, 100])) <= 1), counts


def test_stratification_with_uneven_shares_still_exact_sizes():
    y = np.repeat([0, 1, 2, 3], [7, 5, 3, 2])
    fractions = (0.5, 0.3, 0.2)
    parts = split_indices(y, fractions, "classification", np.random.default_rng(1))
    assert [len(p) for p in parts] == allocate(len(y), fractions).tolist()
    for c, size in enumerate([7, 5, 3, 2]):
        for part, f in zip(parts, fractions):
            assert abs(np.sum(y[part] == c) - f * size) < 1 + 1e-9


def test_split_is_seeded():
    y = np.repeat([0, 1], 50)
    a = split_indices(y, (0.6, 0.2, 0.2), "classification", np.random.default_rng(5))
    b = split_indices(y, (0.6, 0.2, 0.2), "classification", np.random.default_rng(5))
    c = split_indices(y, (0.6, 0.2, 0.2), "classification", np.random.default_rng(6))
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))


def test_small_positive_fraction_still_gets_a_sample():
    sizes = allocate(10, (0.9, 0.04, 0.06))
    assert sizes.sum() == 10 and sizes.min() >= 1
    y = np.repeat([0, 1], 5)
    tr, va, te = split_indices(y, (0.9, 0.04, 0.06), "classification", np.random.default_rng(0))
    assert len(va) >= 1 and len(te) >= 1 and len(tr) + len(va) + len(te) == 10


@pytest.mark.parametrize("f", [(0.8, 0.1, 0.1), (1 / 3, 1 / 3, 1 / 3), (0.5, 0.5, 0.0),
                               (0.98, 0.01, 0.01), (0.7, 0.0, 0.3)])
def test_allocate_sums_and_stays_close(f):
    f = np.array(f)
    for n in range(1, 80):
        sizes = allocate(n, f)
        assert sizes.sum() == n
        assert np.all(sizes[f == 0] == 0)
        if n >= np.count_nonzero(f):
            assert np.all(sizes[f > 0] >= 1)
        if np.all(n * f[f > 0] >= 1):  # no part needed topping up: plain rounding
            assert np.all(np.abs(sizes - n * f) < 1)


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.5, 0.3, 0.3), (0.0, 0.5, 0.5),
                                       (1.2, -0.1, -0.1), (float("nan"), 0.5, 0.5)])
def test_bad_split_fractions_are_refused(fractions):
    with pytest.raises(DataError, match="split|training"):
        split_indices(np.zeros(10, dtype=np.int64), fractions, "classification",
                      np.random.default_rng(0))


# --- normalizer ----------------------------------------------------------------------------

def _train_val_with_different_statistics():
    rng = np.random.default_rng(0)
    x_train = rng.normal([1.0, -5.0], [2.0, 0.5], size=(200, 2))
    x_val = rng.normal([10.0, 3.0], [7.0, 3.0], size=(50, 2))
    return x_train, x_val


def test_standard_normalizer_uses_training_statistics_only():
    x_train, x_val = _train_val_with_different_statistics()
    norm = Normalizer("standard").fit(x_train)
    t = norm.transform(x_train)
    assert np.allclose(t.mean(axis=0), 0.0) and np.allclose(t.std(axis=0), 1.0)
    v = norm.transform(x_val)
    assert np.allclose(v, (x_val - x_train.mean(axis=0)) / x_train.std(axis=0))
    assert not np.allclose(v.mean(axis=0), 0.0)  # val keeps its own offset
    assert np.allclose(norm.inverse_transform(v), x_val)


def test_minmax_normalizer_maps_train_to_unit_interval():
    x_train, x_val = _train_val_with_different_statistics()
    norm = Normalizer("minmax").fit(x_train)
    t = norm.transform(x_train)
    assert np.allclose(t.min(axis=0), 0.0) and np.allclose(t.max(axis=0), 1.0)
    lo, hi = x_train.min(axis=0), x_train.max(axis=0)
    assert np.allclose(norm.transform(x_val), (x_val - lo) / (hi - lo))


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_constant_column_is_not_divided_by_zero(kind):
    x = np.column_stack([np.full(5, 3.0), np.arange(5.0)])
    t = Normalizer(kind).fit(x).transform(x)
    assert np.all(np.isfinite(t))
    assert np.allclose(t[:, 0], 0.0)


def test_none_normalizer_is_identity_and_bad_kind_is_refused():
    x = np.arange(6.0).reshape(3, 2)
    assert np.array_equal(Normalizer("none").fit(x).transform(x), x)
    with pytest.raises(DataError, match="normalize"):
        Normalizer("zscore")
    with pytest.raises(RuntimeError):
        Normalizer("standard").transform(x)


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_dataset_normalizes_inputs_with_train_split_statistics(kind):
    common = dict(split=(0.6, 0.2, 0.2), seed=4)
    raw = load_dataset("blobs", {"features": 3}, normalize="none", **common)
    ds = load_dataset("blobs", {"features": 3}, normalize=kind, **common)
    ref = Normalizer(kind).fit(raw.x_train)
    for part in ("x_train", "x_val", "x_test"):
        assert np.allclose(getattr(ds, part), ref.transform(getattr(raw, part))), part
    assert np.array_equal(ds.y_val, raw.y_val)


def test_regression_targets_are_never_scaled():
    raw = load_dataset("sine", {"n_samples": 100}, split=(0.8, 0.2, 0.0), seed=2)
    ds = load_dataset("sine", {"n_samples": 100}, split=(0.8, 0.2, 0.0), seed=2,
                      normalize="standard")
    assert np.array_equal(ds.y_train, raw.y_train) and np.array_equal(ds.y_val, raw.y_val)
    assert not np.allclose(ds.x_train, raw.x_train)


# --- dataset ---------------------------------------------------------------------------------

def test_dataset_names_sizes_and_properties():
    ds = load_dataset("spirals", {"arms": 3, "n_samples": 90}, split=(0.6, 0.2, 0.2), seed=1)
    assert ds.task == "classification" and ds.n_classes == 3
    assert ds.feature_names == ("x1", "x2") and ds.class_names == ("0", "1", "2")
    assert ds.n_features == 2 and ds.n_targets == 1
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (54, 18, 18)
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert np.bincount(y, minlength=3).tolist() == [len(y) // 3] * 3

    sine = load_dataset("sine", {})
    assert sine.task == "regression" and sine.n_classes == 0 and sine.class_names == ()
    assert sine.n_targets == 1 and sine.y_train.shape == (200, 1)


def test_split_does_not_change_the_generated_points():
    whole = load_dataset("moons", {"noise": 0.3}, seed=9)
    parts = load_dataset("moons", {"noise": 0.3}, split=(0.5, 0.25, 0.25), seed=9)
    x, _ = all_of(parts)
    assert np.array_equal(np.sort(x, axis=0), np.sort(whole.x_train, axis=0))


def test_dataset_is_frozen():
    ds = load_dataset("xor", {})
    with pytest.raises(AttributeError):
        ds.n_classes = 3


@pytest.mark.parametrize("source, params, kwargs, words", [
    ("nope", {}, {}, ["unknown data source 'nope'", "xor"]),
    ("xor", {"nosie": 0.1}, {}, ["xor", "unknown setting 'nosie'"]),
    ("xor", {"n_samples": 2}, {}, ["xor", "'n_samples'", ">= 4"]),
    ("xor", {}, {"task": "regression"}, ["xor", "classification"]),
    ("blobs", {"classes": 5, "n_samples": 3}, {}, ["blobs", "fewer than", "5 classes"]),
    ("csv", {}, {"path": FIXTURES / "flowers.csv"}, ["csv", "target"]),
    ("csv", {"noise": 0.1}, {"path": FIXTURES / "flowers.csv", "target": "species",
                             "task": "classification"}, ["csv", "noise"]),
    ("xor", {}, {"normalize": "zscore"}, ["normalize"]),
])
def test_load_dataset_errors(source, params, kwargs, words):
    with pytest.raises(DataError) as err:
        load_dataset(source, params, **kwargs)
    msg = str(err.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


# --- CSV ---------------------------------------------------------------------------------------

def test_csv_string_labels_become_sorted_classes():
    x, y, features, classes = load_csv(FIXTURES / "flowers.csv", "species", "classification")
    assert features == ("petal_length", "petal_width")
    assert classes == ("setosa", "versicolor", "virginica")
    assert x.dtype == np.float64 and x.shape == (9, 2)
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2] * 3
    assert x[1].tolist() == [4.7, 1.4]  # second data row, target column skipped


def test_csv_whole_number_labels_sorted_by_value():
    x, y, features, classes = load_csv(FIXTURES / "numeric_labels.csv", "label", "classification")
    assert classes == ("1", "2", "10")  # by value, not alphabetically
    assert y.tolist() == [2, 1, 0, 2, 1]
    assert features == ("a", "b")


def test_csv_regression_skips_blank_lines():
    x, y, features, classes = load_csv(FIXTURES / "regression.csv", "y", "regression")
    assert x[:, 0].tolist() == [-1.0, 0.0, 1.0, 2.0]
    assert y.dtype == np.float64 and y.shape == (4, 1)
    assert y[:, 0].tolist() == [2.5, 0.5, -1.5, 3.25]
    assert features == ("x",) and classes == ()


def test_csv_dataset_is_stratified_and_named():
    ds = load_dataset("csv", {}, path=FIXTURES / "flowers.csv", target="species",
                      task="classification", split=(2 / 3, 1 / 3, 0.0), seed=0)
    assert ds.n_classes == 3 and ds.class_names == ("setosa", "versicolor", "virginica")
    assert ds.feature_names == ("petal_length", "petal_width")
    assert np.bincount(ds.y_train).tolist() == [2, 2, 2]
    assert np.bincount(ds.y_val).tolist() == [1, 1, 1]


@pytest.mark.parametrize("file, target, task, expected", [
    ("missing.csv", "y", "regression", "missing.csv: file not found"),
    ("empty.csv", "y", "regression", "empty.csv: the file is empty"),
    ("header_only.csv", "label", "classification", "header_only.csv: no data rows"),
    ("flowers.csv", "kind", "classification",
     "flowers.csv: no column 'kind' (columns: petal_length, species, petal_width)"),
    ("bad_number.csv", "species", "classification",
     "bad_number.csv: column 'sepal_length', row 4: 'abc' is not a number"),
    ("missing_value.csv", "label", "classification",
     "missing_value.csv: column 'b', row 3: missing value"),
    ("missing_label.csv", "label", "classification",
     "missing_label.csv: column 'label', row 3: missing value"),
    ("ragged.csv", "label", "classification",
     "ragged.csv: row 5: 2 values, expected 3"),
    ("one_class.csv", "label", "classification", "one_class.csv: column 'label' has only one class"),
    ("regression_text_target.csv", "y", "regression",
     "regression_text_target.csv: column 'y', row 2: 'high' is not a number"),
    ("fractional_label.csv", "label", "classification",
     "fractional_label.csv: column 'label', row 3: '1.5' is not a whole number"),
    ("duplicate_column.csv", "label", "classification",
     "duplicate_column.csv: column 'a' appears twice"),
    ("unnamed_column.csv", "label", "classification",
     "unnamed_column.csv: column 2 of the header has no name"),
    ("target_only.csv", "label", "classification",
     "target_only.csv: no feature columns besides the target 'label'"),
    ("decimal_comma.csv", "label", "classification",
     "decimal_comma.csv: column 'a', row 3: '2,5' is not a number (use '.'"),
    ("semicolons.csv", "label", "classification", "semicolons.csv: no column 'label'"),
    ("nan_value.csv", "label", "classification",
     "nan_value.csv: column 'a', row 3: 'nan' is not a finite number"),
    ("latin1.csv", "label", "classification", "latin1.csv: not UTF-8"),
    ("flowers.csv", "species", "clustering", "flowers.csv: task must be"),
])
def test_csv_errors_name_file_and_place(file, target, task, expected):
    with pytest.raises(DataError) as err:
        load_csv(FIXTURES / file, target, task)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(expected), msg


def test_csv_semicolon_file_gets_a_hint():
    with pytest.raises(DataError, match="';'"):
        load_csv(FIXTURES / "semicolons.csv", "label", "classification")


def test_csv_directory_is_refused(tmp_path):
    d = tmp_path / "folder.csv"
    d.mkdir()
    with pytest.raises(DataError, match=r"^folder\.csv: "):
        load_csv(d, "y", "regression")


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


# --- layering ------------------------------------------------------------------------------------

def test_data_package_imports_no_ui_or_heavy_libraries():
    code = ("import sys, simtreino.data; "
            "bad = [m for m in ('textual', 'rich', 'plotext', 'pandas', 'sklearn', 'scipy') "
            "if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
