"""Training craft in the core -- penalties, clipping, dropout, batch norm,
residual connections, early stopping -- against finite differences, plain
NumPy, and the fast path against the phase path."""

import math

import numpy as np
import pytest

from simtreino.analysis.gradcheck import gradient_check
from simtreino.core import engine as E
from simtreino.core.network import Architecture

from coretools import make_trainer


def data(n=12, d=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    labels = rng.integers(0, k, n)
    return x, np.eye(k)[labels], labels


def classifier(layers, *, n=12, batch_size=6, optimizer="sgd", lr=0.1, seed=0, **craft):
    x, t, labels = data(n, seed=seed)
    return make_trainer(layers, x, t, labels, loss="cross_entropy", optimizer=optimizer,
                        hyper={"lr": lr}, batch_size=batch_size, seed=seed, **craft)


SMOOTH = [(5, "tanh", None), (5, "elu", None), (2, "softmax", None)]
BN = [(5, "tanh", None, True, False), (5, "sigmoid", None, True, False), (2, "softmax", None)]
RES = [(5, "tanh", None), (5, "tanh", None, False, True), (5, "elu", None, False, True),
       (2, "softmax", None)]
ALL = [(5, "tanh", None, True, False), (5, "tanh", None, True, True), (2, "softmax", None)]

CASES = {
    "l1": (SMOOTH, {"l1": 0.01}),
    "l2": (SMOOTH, {"l2": 0.05}),
    "dropout": (SMOOTH, {"dropout": [0.5, 0.3]}),
    "batchnorm": (BN, {}),
    "residual": (RES, {}),
    "clip_norm": (SMOOTH, {"clip_grad_norm": 0.01}),
    "clip_value": (SMOOTH, {"clip_grad_value": 0.001}),
    "everything": (ALL, {"l1": 0.01, "l2": 0.02, "dropout": [0.4, 0.2], "clip_grad_norm": 0.5}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_gradient_agrees_with_finite_differences(case):
    layers, craft = CASES[case]
    tr = classifier(layers, **craft)
    tr.run_steps(3)                      # away from the initial point
    gc = gradient_check(tr)
    assert gc.ok, gc.rows(gc.worst(3))
    assert gc.n_checked == tr.arch.n_params
    assert np.abs(gc.backprop).max() > 1e-3   # something was checked


@pytest.mark.parametrize("case", ["l2", "dropout", "batchnorm"])
def test_the_check_catches_a_wrong_gradient(case):
    layers, craft = CASES[case]
    tr = classifier(layers, **craft)
    good = gradient_check(tr)
    wrong = good.backprop.copy()
    wrong[len(wrong) // 2] += 0.05
    assert not gradient_check(tr, backprop=wrong).ok


def test_batchnorm_gamma_and_beta_are_named_and_checked():
    tr = classifier(BN)
    gc = gradient_check(tr)
    assert "layers.0.norm.weight[0]" in gc.names and "layers.1.norm.bias[4]" in gc.names
    beta = [i for i, n in enumerate(gc.names) if n.startswith("layers.1.norm.bias")]
    assert np.abs(gc.backprop[beta]).max() > 1e-3


def test_the_bias_before_batchnorm_has_exactly_zero_gradient():
    tr = classifier(BN)
    tr.run_steps(2)
    assert not tr.arch.bias(tr.grad, 0).any() and not tr.arch.bias(tr.grad, 1).any()
    assert tr.arch.weight(tr.grad, 0).any()


# ------------------------------------------------------------ NumPy reference
def numpy_forward(tr, x, masks=None, train=True):
    """The network in plain NumPy: batch norm with batch (or running)
    statistics, masks as given, residual connections."""
    arch, a = tr.arch, x
    acts = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
            "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
            "relu": lambda z: np.maximum(z, 0), "softmax": lambda z: z}
    U = arch.n_bn_units
    for l, s in enumerate(arch.layers):
        z = a @ tr.weight(l).T + tr.bias(l)
        if s.batchnorm:
            if train:
                mu, var = z.mean(0), z.var(0)
            else:
                u = s.bn_unit
                mu, var = tr.bn_run[u:u + s.n_out], tr.bn_run[U + u:U + u + s.n_out]
            z = arch.gamma(tr.theta, l) * (z - mu) / np.sqrt(var + 1e-5) + arch.beta(tr.theta, l)
        out = acts[s.activation](z)
        if masks is not None and l < len(masks) and masks[l] is not None:
            out = out * masks[l]
        if s.residual:
            out = out + a
        a = out
    return a


def softmax_ce(z, t):
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -(t * logp).sum(1).mean()


def test_one_step_equals_numpy_with_every_feature():
    tr = classifier(ALL, l1=0.01, l2=0.02, dropout=[0.4, 0.2], lr=0.0)
    theta0 = tr.theta.copy()
    recs = tr.step_phases()
    batch = recs[0].tensors
    masks = [r.tensors.get("mask") for r in recs if r.phase == "forward"]
    assert masks[0] is not None and masks[1] is not None and masks[2] is None
    out = numpy_forward(tr, batch["x"], masks)
    w = np.concatenate([tr.weight(l).ravel() for l in range(3)])
    expected = softmax_ce(out, batch["targets"]) + 0.01 * np.abs(w).sum() + 0.02 * (w ** 2).sum()
    loss = next(r for r in recs if r.phase == "loss")
    assert loss.scalars["total"] == pytest.approx(expected, rel=1e-12)
    assert loss.scalars["penalty"] == pytest.approx(expected - softmax_ce(out, batch["targets"]),
                                                    rel=1e-12)
    assert np.array_equal(tr.theta, theta0)      # lr 0: nothing moved
    assert tr.snapshot().last_penalty == pytest.approx(loss.scalars["penalty"])


def test_dropout_masks_are_inverted_and_drop_at_rate_p():
    x, t, labels = data(400, seed=3)
    tr = make_trainer([(50, "relu", None), (2, "softmax", None)], x, t, labels,
                      loss="cross_entropy", hyper={"lr": 0.0}, dropout=[0.3])
    mask = next(r for r in tr.step_phases() if r.phase == "forward").tensors["mask"]
    assert set(np.unique(mask)) == {0.0, 1 / 0.7}
    assert (mask == 0).mean() == pytest.approx(0.3, abs=0.01)   # 20,000 draws


def test_evaluation_uses_running_statistics_and_no_dropout():
    tr = classifier(ALL, dropout=[0.5, 0.5])
    tr.run_steps(20)
    x = data(7, seed=9)[0]
    ours = tr.predict(x)
    ref = numpy_forward(tr, x, train=False)
    e = np.exp(ref - ref.max(1, keepdims=True))
    np.testing.assert_allclose(ours, e / e.sum(1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(tr.predict(x), ours)      # no randomness left


def test_running_statistics_follow_torch_momentum_and_unbiased_variance():
    tr = classifier(BN, lr=0.0)
    recs = tr.step_phases()
    z = next(r for r in recs if r.phase == "forward").tensors["z"]
    n = len(z)
    U = tr.arch.n_bn_units
    np.testing.assert_allclose(tr.bn_run[:5], 0.1 * z.mean(0), rtol=1e-12)
    np.testing.assert_allclose(tr.bn_run[U:U + 5], 0.9 + 0.1 * z.var(0) * n / (n - 1),
                               rtol=1e-12)


def test_residual_needs_equal_widths():
    with pytest.raises(ValueError, match="as many inputs as units"):
        Architecture(3, [(4, "tanh", None, False, True)])


# --------------------------------------------------------------- clipping
def test_clipping_by_norm_scales_the_applied_gradient():
    tr = classifier(SMOOTH, clip_grad_norm=0.05)
    upd = next(r for r in tr.step_phases() if r.phase == "update")
    g, applied = upd.tensors["loss_grad"], upd.tensors["grad"]
    norm = np.linalg.norm(g)
    assert norm > 0.05
    assert upd.scalars["grad_norm"] == pytest.approx(norm, rel=1e-12)
    np.testing.assert_allclose(applied, g * (0.05 / (norm + 1e-6)), rtol=1e-12)
    assert tr.snapshot().clip_coef == pytest.approx(0.05 / (norm + 1e-6))


def test_clipping_by_value_clamps_each_component():
    tr = classifier(SMOOTH, clip_grad_value=0.01)
    upd = next(r for r in tr.step_phases() if r.phase == "update")
    np.testing.assert_array_equal(upd.tensors["grad"], np.clip(upd.tensors["loss_grad"],
                                                               -0.01, 0.01))
    assert (np.abs(upd.tensors["loss_grad"]) > 0.01).any()


# ------------------------------------------------ fast path == phase path
FAST_CASES = {
    "everything-sgd": (ALL, {"l1": 0.01, "l2": 0.02, "dropout": [0.4, 0.2],
                             "clip_grad_norm": 0.5}, "sgd"),
    "bn-res-adam": (ALL, {"clip_grad_value": 0.05}, "adam"),
    "dropout-momentum": (SMOOTH, {"dropout": [0.5, 0.0], "l2": 0.01}, "momentum"),
}


@pytest.mark.parametrize("case", list(FAST_CASES))
@pytest.mark.parametrize("fused", [True, False])
def test_the_fast_path_equals_the_phase_path_bit_for_bit(case, fused):
    layers, craft, opt = FAST_CASES[case]
    fast = classifier(layers, optimizer=opt, lr=0.05, n=24, batch_size=5, **craft)
    slow = classifier(layers, optimizer=opt, lr=0.05, n=24, batch_size=5, **craft)
    fast.fuse_update = fused
    fast.run_steps(17)
    for _ in range(17):
        slow.step_phases()
    np.testing.assert_array_equal(fast.theta, slow.theta)
    np.testing.assert_array_equal(fast.bn_run, slow.bn_run)
    np.testing.assert_array_equal(fast.step_history()[1], slow.step_history()[1])
    np.testing.assert_array_equal(fast.epoch_log.array(), slow.epoch_log.array())


def test_fused_update_of_a_large_network_equals_the_unfused_one():
    x, t, labels = data(64, d=80, k=10, seed=4)
    layers = [(60, "relu", None, True, False), (60, "relu", None, False, True),
              (10, "softmax", None)]
    runs = []
    for fused in (True, False):
        tr = make_trainer(layers, x, t, labels, loss="cross_entropy", optimizer="adam",
                          hyper={"lr": 0.01}, batch_size=16, dropout=[0.2, 0.1], l2=1e-3,
                          clip_grad_value=0.5)
        assert tr.arch.n_params >= E.FUSE_MIN_PARAMS
        tr.fuse_update = fused
        tr.run_steps(12)
        runs.append(tr.theta.copy())
    np.testing.assert_array_equal(runs[0], runs[1])


# ----------------------------------------------------------- early stopping
def keras_early_stopping(values, patience, min_delta, lower=True):
    """(best epoch, stop epoch or None) by Keras' EarlyStopping rules."""
    best, best_epoch, wait = math.inf, 0, 0
    for epoch, v in enumerate(values, start=1):
        v = v if lower else -v
        if v < best - min_delta:
            best, best_epoch, wait = v, epoch, 0
            continue
        wait += 1
        if wait >= patience:
            return best_epoch, epoch
    return best_epoch, None


def overfitting_trainer(**es):
    x, t, labels = data(20, seed=5)
    xv, tv, lv = data(200, seed=6)
    from simtreino.core.trainer import SplitArrays
    return make_trainer([(32, "tanh", None), (32, "tanh", None), (2, "softmax", None)],
                        x, t, labels, loss="cross_entropy", optimizer="adam",
                        hyper={"lr": 0.01}, val=SplitArrays(xv, tv, lv),
                        early_stopping=es or None)


def test_early_stopping_stops_where_keras_would_and_restores_the_best_weights():
    free = overfitting_trainer()
    free.run_epochs(300)
    val = free.epoch_history()["val_loss"]
    best_epoch, stop_epoch = keras_early_stopping(val, patience=10, min_delta=0.001)
    assert stop_epoch is not None and stop_epoch < 300      # it does overfit

    tr = overfitting_trainer(monitor="val_loss", patience=10, min_delta=0.001)
    tr.run_epochs(300)
    assert tr.stopped_early and not tr.diverged and tr.halted
    assert tr.epoch == stop_epoch
    twin = overfitting_trainer()
    twin.run_epochs(best_epoch)
    np.testing.assert_array_equal(tr.theta, twin.theta)     # the best epoch's weights
    es = tr.snapshot().early_stop
    assert (es.best_epoch, es.stopped_epoch, es.restored) == (best_epoch, stop_epoch, True)
    assert es.best == pytest.approx(val[best_epoch - 1])
    assert tr.snapshot().status == "stopped"
    assert tr.run_steps(5) == 0                              # nothing more to do


def test_early_stopping_without_restoring_keeps_the_last_weights():
    tr = overfitting_trainer(monitor="val_accuracy", patience=5, restore_best=False)
    tr.run_epochs(300)
    acc = tr.epoch_history()["val_accuracy"]
    best_epoch, stop_epoch = keras_early_stopping(acc, 5, 0.0, lower=False)
    assert tr.epoch == stop_epoch
    twin = overfitting_trainer()
    twin.run_epochs(stop_epoch)
    np.testing.assert_array_equal(tr.theta, twin.theta)
    assert not tr.snapshot().early_stop.restored


def test_early_stopping_in_the_phase_path_stops_at_the_same_epoch():
    fast = overfitting_trainer(patience=3)
    fast.run_epochs(300)
    slow = overfitting_trainer(patience=3)
    while not slow.halted:
        slow.step_phases()
    assert slow.epoch == fast.epoch
    np.testing.assert_array_equal(slow.theta, fast.theta)


# --------------------------------------------------------------- live changes
def test_settings_change_mid_run_and_are_recorded():
    tr = classifier(SMOOTH)
    tr.run_steps(2)
    for key, value in (("l2", 0.1), ("dropout.1", 0.25), ("clip_grad_norm", 1.0),
                       ("clip_grad_value", 0.2), ("l1", 0.0)):
        tr.set_hyper(key, value)
    assert tr.drop_p[1] == 0.25 and tr.penalty_on
    assert [e.key for e in tr.events][-2:] == ["clip_grad_value", "l1"]
    with pytest.raises(ValueError):
        tr.set_hyper("dropout.2", 0.1)            # the output layer
    with pytest.raises(ValueError):
        tr.set_hyper("dropout.0", 1.0)
    with pytest.raises(ValueError):
        tr.set_hyper("early_stopping.patience", 3)  # off in this run
    tr.run_steps(3)
    assert math.isfinite(tr.snapshot().last_loss)


def test_penalty_is_in_the_training_loss_and_not_in_the_validation_loss():
    x, t, labels = data(12)
    from simtreino.core.trainer import SplitArrays
    val = SplitArrays(*data(10, seed=1))
    tr = make_trainer(SMOOTH, x, t, labels, loss="cross_entropy", hyper={"lr": 0.0}, l2=0.5,
                      val=val)
    tr.run_epochs(1)
    h = tr.epoch_history()
    w = np.concatenate([tr.weight(l).ravel() for l in range(3)])
    assert h["penalty"][0] == pytest.approx(0.5 * (w ** 2).sum(), rel=1e-12)
    plain = make_trainer(SMOOTH, x, t, labels, loss="cross_entropy", hyper={"lr": 0.0}, val=val)
    plain.run_epochs(1)
    assert h["val_loss"][0] == plain.epoch_history()["val_loss"][0]   # the data loss alone
    assert h["loss"][0] == pytest.approx(plain.epoch_history()["loss"][0] + h["penalty"][0],
                                         rel=1e-12)
