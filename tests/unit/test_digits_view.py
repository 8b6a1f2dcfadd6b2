"""The numbers behind the MNIST panels (simtreino.headless.digits_view),
checked against plain NumPy: a hand-made network with known weights, then
mnist-tiny through the scenario layer."""

import subprocess
import sys

import numpy as np
import pytest

from coretools import make_trainer
from simtreino.data.mnist import MNIST_MEAN, MNIST_STD
from simtreino.headless import digits_view as dv
from simtreino.scenario import find_scenario, load_scenario
from simtreino.scenario.build import build_dataset, build_trainer, split_arrays

# A 2x2 "image" network: 4 pixels -> 3 classes, softmax, known weights.
W = np.array([[2.0, 0.0, 0.0, -1.0],
              [0.0, 1.5, 1.0, 0.0],
              [-1.0, 0.5, 0.0, 2.0]])
B = np.array([0.1, -0.2, 0.0])


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def tiny(activation="softmax", loss="cross_entropy"):
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (40, 4))
    labels = rng.integers(0, 3, 40)
    t = np.eye(3)[labels]
    tr = make_trainer([(3, activation, None)], x, t, labels, loss=loss)
    tr.weight(0)[...] = W
    tr.bias(0)[...] = B
    return tr, x, labels


def test_probabilities_and_classes_match_numpy():
    tr, x, _ = tiny()
    p = softmax(x @ W.T + B)
    np.testing.assert_allclose(dv.class_probabilities(tr, x), p, rtol=1e-12)
    c = dv.classify(tr, x)
    np.testing.assert_array_equal(c.predicted, p.argmax(axis=1))
    np.testing.assert_allclose(c.confidence, p.max(axis=1), rtol=1e-12)
    # an output that is not a softmax (mse on one-hot targets) is softmaxed for display
    tr2, x2, _ = tiny("identity", "mse")
    np.testing.assert_allclose(dv.class_probabilities(tr2, x2), softmax(x2 @ W.T + B),
                               rtol=1e-12)


def test_classify_in_chunks_gives_the_same_answer(monkeypatch):
    tr, x, _ = tiny()
    whole = dv.classify(tr, x)
    monkeypatch.setattr(dv, "CHUNK_ROWS", 7)
    parts = dv.classify(tr, x)
    np.testing.assert_array_equal(parts.predicted, whole.predicted)
    np.testing.assert_array_equal(parts.confidence, whole.confidence)


def test_digit_predictions_undo_the_pixel_scaling():
    tr, x, labels = tiny()
    idx = [5, 0, 17]
    p = softmax(x @ W.T + B)
    got = dv.digit_predictions(tr, x, labels, idx, image_shape=(2, 2))
    assert [d.index for d in got] == idx
    for d, i in zip(got, idx):
        np.testing.assert_allclose(d.image, x[i].reshape(2, 2))
        assert (d.label, d.predicted) == (labels[i], p[i].argmax())
        assert d.confidence == pytest.approx(p[i].max())
        image, label, predicted, confidence = d[:4]      # what DigitStrip draws
        assert image is d.image and label == d.label
    # "standard" pixels go back to 0..1
    raw = np.array([[0.0, 0.5, 1.0, 0.25]])
    std = (raw - MNIST_MEAN) / MNIST_STD
    np.testing.assert_allclose(dv.to_display(std, (2, 2), "standard"), raw.reshape(1, 2, 2),
                               atol=1e-12)
    # None: each image stretched to its own range
    np.testing.assert_allclose(dv.to_display(raw * 3 + 7, (2, 2), None), raw.reshape(1, 2, 2))
    np.testing.assert_array_equal(dv.to_display(np.full((1, 4), 5.0), (2, 2), None), 0.0)
    assert dv.digit_predictions(tr, x, labels, [], image_shape=(2, 2)) == []
    with pytest.raises(ValueError, match="pixels"):
        dv.to_display(raw, (2, 2), "weird")


def test_misclassified_most_confident_first_and_bounded():
    tr, x, labels = tiny()
    p = softmax(x @ W.T + B)
    pred, conf = p.argmax(axis=1), p.max(axis=1)
    wrong = np.flatnonzero(pred != labels)
    want = wrong[np.argsort(-conf[wrong], kind="stable")]
    assert len(want) > 5
    np.testing.assert_array_equal(dv.misclassified(tr, x, labels, 100), want)
    np.testing.assert_array_equal(dv.misclassified(tr, x, labels, 5), want[:5])
    assert len(dv.misclassified(tr, x, labels, 0)) == 0
    # all right: no mistakes
    assert len(dv.misclassified(tr, x, pred, 10)) == 0


def test_confusion_matrix_matches_np_add_at():
    tr, x, labels = tiny()
    pred = softmax(x @ W.T + B).argmax(axis=1)
    want = np.zeros((3, 3), np.int64)
    np.add.at(want, (labels, pred), 1)
    counts, recall = dv.confusion_matrix(tr, x, labels, 3)
    np.testing.assert_array_equal(counts, want)
    assert counts.dtype == np.int64 and counts.sum() == len(x)
    np.testing.assert_allclose(recall, np.diag(want) / want.sum(axis=1))
    # a class with no sample has no accuracy (NaN), not 0 or a division error
    counts4, recall4 = dv.confusion_matrix(tr, x, labels, 4)
    assert counts4[3].sum() == 0 and np.isnan(recall4[3])
    # max_samples: evenly spread rows, not the first ones
    sub = dv.evaluation_indices(len(x), 10)
    assert len(sub) == 10 and sub[0] == 0 and sub[-1] == len(x) - 1
    want_sub = np.zeros((3, 3), np.int64)
    np.add.at(want_sub, (labels[sub], pred[sub]), 1)
    np.testing.assert_array_equal(dv.confusion_matrix(tr, x, labels, 3, max_samples=10)[0],
                                  want_sub)
    np.testing.assert_array_equal(dv.evaluation_indices(5, None), np.arange(5))
    np.testing.assert_array_equal(dv.evaluation_indices(5, 50), np.arange(5))


def test_first_layer_images_are_weight_rows_and_copies():
    tr, _, _ = tiny()
    imgs = dv.first_layer_images(tr, 2, image_shape=(2, 2))
    np.testing.assert_array_equal(imgs, W[:2].reshape(2, 2, 2))
    np.testing.assert_array_equal(dv.first_layer_images(tr, [2, 0], (2, 2)),
                                  W[[2, 0]].reshape(2, 2, 2))
    assert dv.first_layer_images(tr, 99, (2, 2)).shape == (3, 2, 2)
    tr.weight(0)[...] = 0.0            # training goes on: what was handed out stays
    np.testing.assert_array_equal(imgs, W[:2].reshape(2, 2, 2))


def test_one_per_class():
    y = np.array([3, 1, 0, 1, 2, 0, 3])
    np.testing.assert_array_equal(dv.one_per_class(y, 4), [2, 1, 4, 0])
    np.testing.assert_array_equal(dv.one_per_class(y, 4, start=3), [5, 3, 4, 6])
    np.testing.assert_array_equal(dv.one_per_class(y, 5), [2, 1, 4, 0])   # no 4: skipped
    assert len(dv.one_per_class(np.array([], int), 10)) == 0


# ------------------------------------------------------------ through the scenario


@pytest.fixture(scope="module")
def tiny_mnist():
    s = load_scenario(find_scenario("mnist-tiny"))
    ds = build_dataset(s)
    tr = build_trainer(s, dataset=ds)
    tr.run_epochs(3)
    return s, ds, tr


def test_digits_state_on_mnist_tiny(tiny_mnist):
    s, ds, tr = tiny_mnist
    st = dv.digits_state(tr, ds, pixels=s.data.params["pixels"], n_mistakes=8)
    x, y = ds.x_test, ds.y_test
    p = tr.predict(x)
    pred = p.argmax(axis=1)
    assert st.split == "test" and st.n_evaluated == len(x) == 100 and st.step == tr.step
    want = np.zeros((10, 10), np.int64)
    np.add.at(want, (y, pred), 1)
    np.testing.assert_array_equal(st.confusion, want)
    # the accuracy agrees with the trainer's own evaluation of the test split
    _, acc = tr.evaluate(split_arrays(s, ds, 10, "test"))
    assert st.accuracy == pytest.approx(acc) == pytest.approx(np.mean(pred == y))
    # one sample of each digit, in order, drawn from the test images ("unit" pixels: x itself)
    assert [d.label for d in st.samples] == list(range(10))
    for d in st.samples:
        assert d.image.shape == (28, 28) and d.label == y[d.index]
        np.testing.assert_allclose(d.image, x[d.index].reshape(28, 28))
        assert d.predicted == pred[d.index]
    # the mistakes: really wrong, most confident first
    assert 0 < len(st.mistakes) <= 8
    conf = [m.confidence for m in st.mistakes]
    assert conf == sorted(conf, reverse=True)
    for m in st.mistakes:
        assert m.label == y[m.index] != m.predicted == pred[m.index]
        assert m.confidence == pytest.approx(p[m.index].max())
    np.testing.assert_array_equal(st.weights, tr.weight(0)[:16].reshape(16, 28, 28))
    np.testing.assert_array_equal(st.units, np.arange(16))      # the layer has 16 units


def test_digits_state_subset_reports_rows_of_the_whole_split(tiny_mnist):
    s, ds, tr = tiny_mnist
    st = dv.digits_state(tr, ds, max_samples=40, n_mistakes=40, units=[3, 1])
    assert st.n_evaluated == 40 == st.confusion.sum()
    x, y = ds.x_test, ds.y_test
    for m in st.mistakes:
        assert m.label == y[m.index]
        np.testing.assert_allclose(m.image, x[m.index].reshape(28, 28))
    assert {m.index for m in st.mistakes} <= set(dv.evaluation_indices(len(x), 40).tolist())
    assert st.weights.shape == (2, 28, 28) and list(st.units) == [3, 1]


def test_digits_state_survives_a_diverged_network(tiny_mnist):
    s, ds, tr = tiny_mnist
    saved = tr.save_state()
    try:
        tr.theta[:] = np.nan
        st = dv.digits_state(tr, ds)
        assert st.confusion.sum() == len(ds.x_test)
        assert all(np.isnan(d.confidence) for d in st.samples)
    finally:
        tr.restore_state(saved)


def test_digits_view_does_not_import_the_ui():
    code = ("import sys, simtreino.headless.digits_view; "
            "print(','.join(m for m in ('textual', 'rich', 'plotext') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
