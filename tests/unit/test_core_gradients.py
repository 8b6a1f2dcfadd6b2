"""Every gradient the validator allows, checked two ways: against a plain
NumPy forward pass differentiated by central finite differences, and loss
values against NumPy formulas of torch.nn's definitions."""

import numpy as np
import pytest

from simtreino.core.losses import LOSS_OUTPUT_ACTIVATIONS
from simtreino.core.trainer import SplitArrays

from coretools import make_trainer


def act_np(name, z, p):
    if name == "identity":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, p * z)
    if name == "elu":
        return np.where(z > 0, z, p * (np.exp(z) - 1))
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise AssertionError(name)


def loss_np(kind, z, a, t, delta=1.0):
    """torch.nn losses, reduction='mean', written from their documentation."""
    if kind == "mse":
        return np.mean((a - t) ** 2)
    if kind == "mae":
        return np.mean(np.abs(a - t))
    if kind == "huber":
        r = np.abs(a - t)
        return np.mean(np.where(r < delta, 0.5 * r ** 2, delta * (r - 0.5 * delta)))
    if kind == "bce":  # BCEWithLogitsLoss on the logits z
        return np.mean(-(t * np.log(1 / (1 + np.exp(-z))) + (1 - t) * np.log(1 - 1 / (1 + np.exp(-z)))))
    if kind == "cross_entropy":  # CrossEntropyLoss with probability targets
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return np.mean(-(t * logp).sum(axis=1))
    if kind == "kl_div":  # KLDivLoss(log_softmax(z), t), reduction='mean': over all elements
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return np.mean(np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - logp), 0.0))
    if kind == "hinge":
        return np.mean(np.maximum(0, 1 - t * a))
    raise AssertionError(kind)


PARAMS = {"leaky_relu": 0.1, "elu": 0.7}


def forward_np(tr, theta, x):
    a = x
    for i, s in enumerate(tr.arch.layers):
        w = tr.arch.weight(theta, i)
        b = tr.arch.bias(theta, i)
        z = a @ w.T + b
        a = act_np(s.activation, z, s.act_param)
    return z, a


PAIRS = [(loss, act) for loss, acts in LOSS_OUTPUT_ACTIVATIONS.items() for act in acts]


def targets_for(loss, rng, n, m):
    if loss in ("cross_entropy", "kl_div"):
        t = rng.random((n, m)) + 0.1
        return t / t.sum(axis=1, keepdims=True)
    if loss == "bce":
        return rng.random((n, m))
    if loss == "hinge":
        return rng.choice([-1.0, 1.0], size=(n, m))
    return rng.normal(size=(n, m))


@pytest.mark.parametrize("loss,out_act", PAIRS)
def test_gradient_matches_finite_differences(loss, out_act):
    rng = np.random.default_rng(hash((loss, out_act)) % 2**32)
    n, m = 7, (3 if out_act == "softmax" else (1 if loss in ("bce", "hinge") else 2))
    hidden = out_act if out_act not in ("softmax", "identity") else "tanh"
    layers = [(5, hidden, PARAMS.get(hidden)), (4, "elu", 0.7), (m, out_act, PARAMS.get(out_act))]
    x = rng.normal(size=(n, 3))
    t = targets_for(loss, rng, n, m)
    tr = make_trainer(layers, x, t, loss=loss, hyper={"lr": 0.0}, init="xavier_normal",
                      loss_param=0.8 if loss == "huber" else 0.0)
    theta0 = tr.theta.copy()
    records = tr.step_phases()
    grad = records[-1].tensors["grad"]
    reported = records[[r.phase for r in records].index("loss")].scalars["loss"]

    def f(theta):
        z, a = forward_np(tr, theta, x)
        return loss_np(loss, z, a, t, delta=0.8)

    assert reported == pytest.approx(f(theta0), rel=1e-12, abs=1e-14)
    h = 1e-6
    fd = np.empty_like(theta0)
    for i in range(len(theta0)):
        e = np.zeros_like(theta0)
        e[i] = h
        fd[i] = (f(theta0 + e) - f(theta0 - e)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)
    # the parameters did not move (lr = 0) and the trainer's own evaluation agrees
    assert np.array_equal(tr.theta, theta0)
    ev_loss, _ = tr.evaluate(SplitArrays(x, t, np.zeros(0, np.int64)))
    assert ev_loss == pytest.approx(f(theta0), rel=1e-12, abs=1e-14)


def test_stable_bce_and_cross_entropy_on_huge_logits():
    """Logits of +-800 overflow a naive exp; the losses stay finite and exact."""
    x = np.array([[1.0], [1.0]])
    t = np.array([[1.0], [0.0]])
    tr = make_trainer([(1, "sigmoid", None)], x, t, loss="bce", hyper={"lr": 0.0}, bias=0.0)
    tr.theta[:] = [800.0, 0.0]
    loss, _ = tr.evaluate(SplitArrays(x, t, np.zeros(0, np.int64)))
    # sample 1: logit 800, target 1 -> 0 ; sample 2: target 0 -> 800
    assert loss == pytest.approx(400.0)
    x3 = np.array([[1.0]])
    t3 = np.array([[0.0, 1.0, 0.0]])
    tr = make_trainer([(3, "softmax", None)], x3, t3, loss="cross_entropy", hyper={"lr": 0.0})
    tr.theta[:] = [800.0, -800.0, 0.0, 0.0, 0.0, 0.0]
    loss, _ = tr.evaluate(SplitArrays(x3, t3, np.zeros(0, np.int64)))
    assert loss == pytest.approx(1600.0)


def test_relu_and_leaky_relu_derivative_at_zero_follow_torch():
    from simtreino.core.activations import derivative, ACTIVATIONS
    z = np.zeros((1, 1))
    out = np.empty((1, 1))
    derivative(ACTIVATIONS["relu"], 0.0, z, z, out)
    assert out[0, 0] == 0.0
    derivative(ACTIVATIONS["leaky_relu"], 0.01, z, z, out)
    assert out[0, 0] == 0.01
